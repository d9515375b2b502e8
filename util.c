// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers declared in util.h: the time statistics that sysfs shows for
 * btree sorts and similar periodic work, bio mapping, the rate limiter,
 * and human-readable sizes. They depend on nothing else of the driver.
 */
#include "util.h"

#include <linux/bio.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sysfs.h>
#include <linux/time64.h>

/*
 * Fold @sample into the scaled average @avg: the new sample weighs
 * 1/TIME_STATS_EWMA_WEIGHT, and the average stays shifted left by
 * TIME_STATS_EWMA_SHIFT so short durations keep their precision.
 */
static u64 time_stats_ewma(u64 avg, u64 sample)
{
	u64 scaled = sample << TIME_STATS_EWMA_SHIFT;

	return (avg * (TIME_STATS_EWMA_WEIGHT - 1) + scaled) /
	       TIME_STATS_EWMA_WEIGHT;
}

/* Nanoseconds from @from to @to, or 0 if the clock went backwards. */
static u64 clock_delta(u64 from, u64 to)
{
	return time_after64(to, from) ? to - from : 0;
}

void bch_time_stats_update(struct time_stats *stats, u64 start_time)
{
	u64 now, took, since_last;

	spin_lock(&stats->lock);
	now = local_clock();
	took = clock_delta(start_time, now);
	since_last = clock_delta(stats->last, now);

	stats->max_duration = max(stats->max_duration, took);

	if (!stats->last) {
		/* First sample: nothing to average with, no interval yet. */
		stats->average_duration = took << TIME_STATS_EWMA_SHIFT;
	} else {
		stats->average_duration =
			time_stats_ewma(stats->average_duration, took);
		stats->average_frequency = stats->average_frequency ?
			time_stats_ewma(stats->average_frequency, since_last) :
			since_last << TIME_STATS_EWMA_SHIFT;
	}

	/* 0 means "never", so a clock reading of exactly 0 is nudged. */
	stats->last = now ? now : 1;
	spin_unlock(&stats->lock);
}

/*
 * Fill the bvecs of @bio for its bi_size bytes. A NULL @base keeps pages a
 * caller (bch_bio_alloc_pages()) put there and only sets lengths; otherwise
 * each page of @base is looked up, through vmalloc_to_page() when @base is
 * a vmalloc address, since btree nodes and journal sets may be either.
 */
void bch_bio_map(struct bio *bio, void *base)
{
	size_t left = bio->bi_iter.bi_size;
	struct bio_vec *bv = bio->bi_io_vec;

	bio->bi_vcnt = 0;
	while (left) {
		size_t off = base ? offset_in_page(base) : 0;
		size_t len = min_t(size_t, PAGE_SIZE - off, left);

		if (base)
			bv->bv_page = is_vmalloc_addr(base) ?
				vmalloc_to_page(base) : virt_to_page(base);
		bv->bv_offset = off;
		bv->bv_len = len;
		if (base)
			base += len;
		left -= len;
		bv++;
		bio->bi_vcnt++;
	}
}

int bch_bio_alloc_pages(struct bio *bio, gfp_t gfp)
{
	struct bio_vec *bv;
	int i;

	bch_bio_map(bio, NULL);
	for (i = 0; i < bio->bi_vcnt; i++) {
		bv = bio->bi_io_vec + i;
		bv->bv_page = alloc_page(gfp);
		if (!bv->bv_page) {
			while (--i >= 0)
				__free_page(bio->bi_io_vec[i].bv_page);
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * Advance the deadline by the time @done units take at the current rate
 * and return how far in the future it now lies. A deadline that fell far
 * behind (the work was idle) is pulled up to now so that idle time is not
 * spent later as a burst; one that ran far ahead is capped so a rate
 * change takes effect within a couple of seconds.
 */
u64 bch_next_delay(struct bch_ratelimit *d, u64 done)
{
	u64 rate = max_t(long, atomic_long_read(&d->rate), 1);
	u64 now = local_clock();

	d->next += div64_u64(done * NSEC_PER_SEC, rate);
	if (time_before64(d->next + NSEC_PER_SEC, now))
		d->next = now - NSEC_PER_SEC;
	if (time_after64(d->next, now + 2 * NSEC_PER_SEC))
		d->next = now + 2 * NSEC_PER_SEC;

	return time_after64(d->next, now) ?
		div_u64(d->next - now, NSEC_PER_SEC / HZ) : 0;
}

static const char human_units[] = "?kMGTPEZY";

/*
 * Divides by 1024 until at most three digits are left (at least once, so
 * bytes show as k), keeping one decimal of the last remainder: the format
 * of upstream's bch_hprint().
 */
void bch_format_human(char out[BCH_HUMAN_LEN], s64 v)
{
	u64 whole = v < 0 ? -(u64)v : (u64)v;
	unsigned int unit = 0, rem;

	for (;;) {
		rem = whole & 1023;
		whole >>= 10;
		unit++;
		if (whole < 1000)
			break;
	}

	snprintf(out, BCH_HUMAN_LEN, "%s%llu.%u%c", v < 0 ? "-" : "", whole,
		 rem * 10 / 1024, human_units[unit]);
}

ssize_t bch_sysfs_show_human(char *buf, s64 v)
{
	char h[BCH_HUMAN_LEN];

	bch_format_human(h, v);
	return sysfs_emit(buf, "%s\n", h);
}

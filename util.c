// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers declared in util.h: for now the time statistics that sysfs shows
 * for btree sorts and similar periodic work.
 */
#include "util.h"

#include <linux/jiffies.h>
#include <linux/minmax.h>

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

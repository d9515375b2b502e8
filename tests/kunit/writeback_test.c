// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of writeback.c's policy and rate controller, and of dirty.c's
 * per-stripe accounting of dirty sectors.
 *
 * bcache_writeback_decide: which writes may go to the cache dirty, as a
 * table over the cache mode, detach, the two cutoffs and their boundaries,
 * discards, dirty stripes and bypass: the rule is the kernel driver's, and
 * a write that goes the wrong way is either lost performance or dirty data
 * beyond the hard cutoff.
 *
 * bcache_writeback_rate: the dirty target and the PI controller's step.
 * Every expected number is what the kernel driver's controller computes
 * for the same inputs (its integer arithmetic, evaluated by hand), so the
 * rate a user tuned for keeps its meaning. The one intended difference is
 * the fragment term: the kernel driver divides dirty sectors by dirty
 * buckets before it multiplies, which rounds to zero once fewer sectors
 * than buckets are dirty; ours multiplies first. The integral is state
 * carried from step to step, so a sequence of steps is checked too.
 *
 * bcache_dirty_stripes: the counters of a device set up by hand: adds
 * within and across stripes, cleaning back to zero, the full-stripe bits,
 * a stripe size that is not a power of two, offsets past 2^32 sectors on
 * a 20 TB device, adds past the last stripe, and the 64-bit total, which
 * must always be the sum of the counters.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/slab.h>

#include "../../bcache.h"
#include "../../dirty.h"
#include "../../writeback.h"

/* ---- which writes go to the cache dirty ---- */

/* What is true of a write besides the mode and in_use. */
enum {
	W_DETACHING	= 1 << 0,
	W_DISCARD		= 1 << 1,
	W_STRIPE_DIRTY	= 1 << 2,
	W_BYPASS		= 1 << 3,
	W_SYNC		= 1 << 4,
};

struct decide_case {
	const char	*desc;
	unsigned int	mode;
	unsigned int	in_use;
	unsigned int	flags;
	bool		want;
};

#define WB	CACHE_MODE_WRITEBACK

/* With the default cutoffs: 40 and 70 percent in use. */
static const struct decide_case decide_cases[] = {
	{ "writethrough never", CACHE_MODE_WRITETHROUGH, 10, W_SYNC, false },
	{ "writearound never", CACHE_MODE_WRITEAROUND, 10,
	  W_STRIPE_DIRTY | W_SYNC, false },
	{ "mode none never", CACHE_MODE_NONE, 10, W_SYNC, false },
	{ "empty cache, async write", WB, 0, 0, true },
	{ "detaching", WB, 10, W_DETACHING | W_SYNC, false },
	{ "detaching, stripe dirty", WB, 10,
	  W_DETACHING | W_STRIPE_DIRTY | W_SYNC, false },
	{ "discard", WB, 10, W_DISCARD, false },
	{ "discard, stripe dirty", WB, 10, W_DISCARD | W_STRIPE_DIRTY | W_SYNC,
	  false },
	{ "in_use 40 = cutoff, async", WB, 40, 0, true },
	{ "in_use 41 > cutoff, async", WB, 41, 0, false },
	{ "in_use 41 > cutoff, sync", WB, 41, W_SYNC, true },
	{ "in_use 70 = cutoff_sync, async", WB, 70, 0, false },
	{ "in_use 70 = cutoff_sync, sync", WB, 70, W_SYNC, true },
	{ "in_use 71 > cutoff_sync, sync", WB, 71, W_SYNC, false },
	{ "in_use 71 > cutoff_sync, stripe dirty", WB, 71,
	  W_STRIPE_DIRTY | W_SYNC, false },
	{ "in_use 100, stripe dirty", WB, 100, W_STRIPE_DIRTY, false },
	{ "bypass, async", WB, 10, W_BYPASS, false },
	{ "bypass, sync", WB, 10, W_BYPASS | W_SYNC, false },
	{ "stripe dirty beats bypass", WB, 10, W_STRIPE_DIRTY | W_BYPASS, true },
	{ "stripe dirty above cutoff, async", WB, 55, W_STRIPE_DIRTY, true },
	{ "stripe dirty at cutoff_sync, bypass", WB, 70,
	  W_STRIPE_DIRTY | W_BYPASS, true },
};

static void decide_case_desc(const struct decide_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(decide, decide_cases, decide_case_desc);

static void writeback_test_decide(struct kunit *test)
{
	const struct decide_case *c = test->param_value;
	struct wb_decision w = {
		.mode		= c->mode,
		.detaching	= c->flags & W_DETACHING,
		.in_use		= c->in_use,
		.cutoff		= CUTOFF_WRITEBACK,
		.cutoff_sync	= CUTOFF_WRITEBACK_SYNC,
		.discard	= c->flags & W_DISCARD,
		.stripe_dirty	= c->flags & W_STRIPE_DIRTY,
		.bypass		= c->flags & W_BYPASS,
		.sync		= c->flags & W_SYNC,
	};

	KUNIT_EXPECT_EQ(test, bch_writeback_decide(&w), c->want);
}

/* The cutoffs are parameters: raised ones move both boundaries. */
static void writeback_test_decide_cutoffs(struct kunit *test)
{
	struct wb_decision w = {
		.mode = WB, .cutoff = 70, .cutoff_sync = 90,
	};

	w.in_use = 70;
	KUNIT_EXPECT_TRUE(test, bch_writeback_decide(&w));
	w.in_use = 71;
	KUNIT_EXPECT_FALSE(test, bch_writeback_decide(&w));
	w.sync = true;
	KUNIT_EXPECT_TRUE(test, bch_writeback_decide(&w));
	w.in_use = 90;
	KUNIT_EXPECT_TRUE(test, bch_writeback_decide(&w));
	w.in_use = 91;
	KUNIT_EXPECT_FALSE(test, bch_writeback_decide(&w));
}

#undef WB

static struct kunit_case bcache_writeback_decide_cases[] = {
	KUNIT_CASE_PARAM(writeback_test_decide, decide_gen_params),
	KUNIT_CASE(writeback_test_decide_cutoffs),
	{}
};

static struct kunit_suite bcache_writeback_decide_suite = {
	.name = "bcache_writeback_decide",
	.test_cases = bcache_writeback_decide_cases,
};

/* ---- the dirty target ---- */

struct target_case {
	const char	*desc;
	u64		cache_sectors, dev_sectors, all_dev_sectors;
	unsigned int	percent;
	u64		want;
};

static const struct target_case target_cases[] = {
	{ "one device, 10% of 512 GiB",
	  1ULL << 30, 1ULL << 31, 1ULL << 31, 10, 107374182 },
	{ "one of two equal devices",
	  1ULL << 30, 1ULL << 31, 1ULL << 32, 10, 53687091 },
	{ "a third of the backing sectors",
	  1ULL << 30, 1000000000, 3000000000ULL, 10, 35789209 },
	{ "a tiny device still gets one share",
	  1ULL << 30, 1000, 1ULL << 40, 10, 6553 },
	{ "writeback_percent 0",
	  1ULL << 30, 1ULL << 31, 1ULL << 31, 0, 0 },
	{ "32 TiB cache, 40%",
	  1ULL << 36, 1ULL << 40, 1ULL << 40, 40, 27487790694ULL },
	{ "32 TiB cache, 100%, three quarters",
	  1ULL << 36, 3ULL << 38, 1ULL << 40, 100, 51539607552ULL },
};

static void target_case_desc(const struct target_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(target, target_cases, target_case_desc);

static void writeback_test_target(struct kunit *test)
{
	const struct target_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, bch_writeback_target(c->cache_sectors,
						   c->dev_sectors,
						   c->all_dev_sectors,
						   c->percent), c->want);
}

/*
 * Before any backing sectors are counted the share is the minimum one
 * instead of a division by zero.
 */
static void writeback_test_target_no_devices(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, bch_writeback_target(1ULL << 30, 0, 0, 10),
			107374182ULL >> WRITEBACK_SHARE_SHIFT);
}

/* ---- one step of the controller ---- */

static const struct writeback_tuning default_tuning = {
	.percent		= 10,
	.delay			= 30,
	.update_seconds		= WRITEBACK_RATE_UPDATE_SECS_DEFAULT,
	.p_term_inverse		= 40,
	.i_term_inverse		= 10000,
	.fp_term		= { [FP_TERM_LOW] = 1, [FP_TERM_MID] = 10,
				    [FP_TERM_HIGH] = 1000 },
	.rate_minimum		= 8,
	.consider_fragment	= true,
};

struct rate_case {
	const char	*desc;
	/* input */
	u64		target, dirty;
	unsigned int	in_use;
	u64		dirty_buckets;
	unsigned int	bucket_size;
	bool		keeping_up;
	bool		no_fragment;	/* consider_fragment off */
	s64		integral;	/* before the step */
	/* the kernel driver's output */
	s64		want_p, want_integral, want_i;
	u32		want_rate;
};

static const struct rate_case rate_cases[] = {
	/*
	 * Below target the proportional term is negative, and stays so
	 * where the fragment term does not apply.
	 */
	{ "below target: minimum",
	  1000000, 500000, 30, 1000, 1024, true, false, 0,
	  -12500, 0, 0, 8 },
	{ "above target, keeping up: integral grows",
	  1000000, 1400000, 30, 1000, 1024, true, false, 0,
	  10000, 2000000, 200, 10200 },
	{ "above target, behind: integral kept",
	  1000000, 1400000, 30, 1000, 1024, false, false, 3000000,
	  10000, 3000000, 300, 10300 },
	/*
	 * A positive integral shrinks below target, and the negative
	 * proportional term pulls the rate down with it.
	 */
	{ "below target, positive integral shrinks",
	  1000000, 800000, 30, 1000, 1024, true, false, 5000000,
	  -5000, 4000000, 400, 8 },
	{ "above target, negative integral rises",
	  1000000, 1400000, 30, 1000, 1024, true, false, -3000000,
	  10000, -1000000, -100, 9900 },
	{ "integral scaled toward zero",
	  1000000, 1400000, 30, 1000, 1024, false, false, -19999,
	  10000, -19999, -1, 9999 },
	{ "39 sectors over: proportional 0",
	  1000000, 1000039, 30, 1000, 1024, false, false, 0,
	  0, 0, 0, 8 },
	{ "at target: integral kept, alone",
	  1000000, 1000000, 30, 1000, 1024, true, false, 250000,
	  0, 250000, 25, 25 },
	{ "saturates at NSEC_PER_SEC",
	  0, 44000000000ULL, 30, 1000, 1024, false, false, 0,
	  1100000000, 0, 0, 1000000000 },
	/* 2,000,000 dirty sectors in 10,000 buckets of 1,024: fragment 5 */
	{ "fragment, in_use 51",
	  10000000, 2000000, 51, 10000, 1024, true, false, 0,
	  200, 0, 0, 200 },
	{ "fragment, in_use 55",
	  10000000, 2000000, 55, 10000, 1024, true, false, 0,
	  1000, 0, 0, 1000 },
	{ "fragment, in_use 57: low term's last",
	  10000000, 2000000, 57, 10000, 1024, true, false, 0,
	  1400, 0, 0, 1400 },
	{ "fragment, in_use 60",
	  10000000, 2000000, 60, 10000, 1024, true, false, 0,
	  6000, 0, 0, 6000 },
	{ "fragment, in_use 64: mid term's last",
	  10000000, 2000000, 64, 10000, 1024, true, false, 0,
	  14000, 0, 0, 14000 },
	{ "fragment, in_use 65",
	  10000000, 2000000, 65, 10000, 1024, true, false, 0,
	  200000, 0, 0, 200000 },
	{ "fragment, in_use 68",
	  10000000, 2000000, 68, 10000, 1024, true, false, 0,
	  800000, 0, 0, 800000 },
	{ "fragment, in_use 60, with the integral",
	  10000000, 2000000, 60, 10000, 1024, true, false, 1000000,
	  6000, -39000000, -3900, 2100 },
	{ "fragment above target, keeping up",
	  1000000, 2000000, 68, 10000, 1024, true, false, 0,
	  800000, 5000000, 500, 800500 },
	/* 2,000,000 sectors in 1,000 buckets of 8,192: fragment 4 */
	{ "in_use 50: no fragment term yet",
	  1990000, 2000000, 50, 1000, 8192, false, false, 0,
	  250, 0, 0, 250 },
	{ "in_use 51: fragment term",
	  1990000, 2000000, 51, 1000, 8192, false, false, 0,
	  2000, 0, 0, 2000 },
	{ "in_use 68, consider_fragment off",
	  1990000, 2000000, 68, 1000, 8192, false, true, 0,
	  250, 0, 0, 250 },
	{ "fragment 3: not fragmented enough",
	  1000000, 1024000, 68, 3000, 1024, false, false, 0,
	  600, 0, 0, 600 },
	{ "fragment term below the proportional",
	  10000000, 20000000, 55, 100000, 1024, false, false, 0,
	  250000, 0, 0, 250000 },
};

static void rate_case_desc(const struct rate_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(rate, rate_cases, rate_case_desc);

static void writeback_test_rate_step(struct kunit *test)
{
	const struct rate_case *c = test->param_value;
	struct writeback_tuning t = default_tuning;
	struct wb_rate_input in = {
		.target		= c->target,
		.dirty		= c->dirty,
		.in_use		= c->in_use,
		.dirty_buckets	= c->dirty_buckets,
		.bucket_size	= c->bucket_size,
		.keeping_up	= c->keeping_up,
	};
	struct wb_rate_output out;
	s64 integral = c->integral;

	t.consider_fragment = !c->no_fragment;
	bch_writeback_rate_step(&t, &in, &integral, &out);

	KUNIT_EXPECT_EQ(test, out.proportional, c->want_p);
	KUNIT_EXPECT_EQ(test, integral, c->want_integral);
	KUNIT_EXPECT_EQ(test, out.integral_scaled, c->want_i);
	KUNIT_EXPECT_EQ(test, out.rate, c->want_rate);
}

/*
 * The tail of writeback on a full, fragmented cache: 68% in use, 2,000
 * buckets of 1,024 sectors held by 1,000 dirty sectors, below the target.
 * The kernel driver's fragment term is (1,000 / 2,000) * 4,000 = 0, so it
 * writes back at the minimum of 8 sectors/s while the buckets stay full
 * and writes are kept out of the cache; that is the collapse ours fixes
 * with 1,000 * 4,000 / 2,000 = 2,000 sectors/s.
 */
static void writeback_test_rate_fragment_tail(struct kunit *test)
{
	const struct wb_rate_input in = {
		.target		= 10000,
		.dirty		= 1000,
		.in_use		= 68,
		.dirty_buckets	= 2000,
		.bucket_size	= 1024,
		.keeping_up	= true,
	};
	/*
	 * The kernel driver's terms for these inputs: the proportional
	 * -9,000 / 40 is replaced by the larger fragment term, which it
	 * divides first: 1,000 / 2,000 * (1,000 * (68 - 64)).
	 */
	const s64 kernel_p = max(div_s64(-9000, 40),
				 div_s64(1000, 2000) * 1000 * (68 - 64));
	const u32 kernel_rate = clamp_t(s64, kernel_p, 8, NSEC_PER_SEC);
	struct wb_rate_output out;
	s64 integral = 0;

	bch_writeback_rate_step(&default_tuning, &in, &integral, &out);

	KUNIT_EXPECT_EQ(test, kernel_p, 0);
	KUNIT_EXPECT_EQ(test, kernel_rate, 8U);
	KUNIT_EXPECT_EQ(test, out.proportional, 2000);
	KUNIT_EXPECT_EQ(test, integral, 0);
	KUNIT_EXPECT_EQ(test, out.rate, 2000);
	KUNIT_EXPECT_GT(test, out.rate, 100 * kernel_rate);
}

/*
 * The integral across steps: it accumulates only while the thread keeps
 * up, stops at the target, shrinks only while positive (and may overshoot
 * below zero doing so), and a negative one then holds the rate down.
 */
static void writeback_test_rate_sequence(struct kunit *test)
{
	static const struct {
		u64	dirty;
		bool	keeping_up;
		s64	want_integral;
		u32	want_rate;
	} steps[] = {
		{ 1200000, true,   1000000, 5100 },
		{ 1200000, false,  1000000, 5100 },
		{ 1100000, true,   1500000, 2650 },
		{ 1000000, true,   1500000, 150 },
		{  600000, true,   -500000, 8 },
		{  500000, true,   -500000, 8 },
		{ 1040000, true,   -300000, 970 },
	};
	struct wb_rate_input in = {
		.target		= 1000000,
		.in_use		= 30,
		.dirty_buckets	= 1000,
		.bucket_size	= 1024,
	};
	struct wb_rate_output out;
	s64 integral = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		in.dirty = steps[i].dirty;
		in.keeping_up = steps[i].keeping_up;
		bch_writeback_rate_step(&default_tuning, &in, &integral, &out);

		KUNIT_EXPECT_EQ_MSG(test, integral, steps[i].want_integral,
				    "step %u", i);
		KUNIT_EXPECT_EQ_MSG(test, out.integral_scaled,
				    div_s64(steps[i].want_integral, 10000),
				    "step %u", i);
		KUNIT_EXPECT_EQ_MSG(test, out.rate, steps[i].want_rate,
				    "step %u", i);
	}
}

static struct kunit_case bcache_writeback_rate_cases[] = {
	KUNIT_CASE_PARAM(writeback_test_target, target_gen_params),
	KUNIT_CASE(writeback_test_target_no_devices),
	KUNIT_CASE_PARAM(writeback_test_rate_step, rate_gen_params),
	KUNIT_CASE(writeback_test_rate_fragment_tail),
	KUNIT_CASE(writeback_test_rate_sequence),
	{}
};

static struct kunit_suite bcache_writeback_rate_suite = {
	.name = "bcache_writeback_rate",
	.test_cases = bcache_writeback_rate_cases,
};

/* ---- per-stripe dirty sectors ---- */

KUNIT_DEFINE_ACTION_WRAPPER(kvfree_action, kvfree, const void *);

/* A device with only what dirty.c uses: stripes, counters, bits, total. */
static struct bcache_device *new_dev(struct kunit *test,
				     unsigned int stripe_size,
				     unsigned int nr_stripes)
{
	struct bcache_device *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, d);
	d->stripe_size = stripe_size;
	d->nr_stripes = nr_stripes;
	/* Millions of stripes for a 20 TB device: too big for kmalloc. */
	d->stripe_sectors_dirty = kvcalloc(nr_stripes, sizeof(atomic_t),
					   GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d->stripe_sectors_dirty);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, kvfree_action,
							d->stripe_sectors_dirty),
			0);
	d->full_dirty_stripes = kvcalloc(BITS_TO_LONGS(nr_stripes),
					 sizeof(unsigned long), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d->full_dirty_stripes);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, kvfree_action,
							d->full_dirty_stripes),
			0);
	atomic64_set(&d->sectors_dirty, 0);
	return d;
}

static int stripe_count(struct bcache_device *d, unsigned int stripe)
{
	return atomic_read(d->stripe_sectors_dirty + stripe);
}

static bool stripe_full(struct bcache_device *d, unsigned int stripe)
{
	return test_bit(stripe, d->full_dirty_stripes);
}

/*
 * What must hold after any sequence of adds: the total is the sum of the
 * counters, and a stripe's bit is set exactly when its count is the
 * stripe size.
 */
static void expect_consistent(struct kunit *test, struct bcache_device *d)
{
	unsigned int i, wrong_bits = 0;
	s64 sum = 0;

	for (i = 0; i < d->nr_stripes; i++) {
		int n = stripe_count(d, i);

		sum += n;
		if (stripe_full(d, i) != ((unsigned int)n == d->stripe_size))
			wrong_bits++;
	}
	KUNIT_EXPECT_EQ(test, atomic64_read(&d->sectors_dirty), sum);
	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), (u64)sum);
	KUNIT_EXPECT_EQ(test, wrong_bits, 0U);
}

static void dirty_test_within_stripe(struct kunit *test)
{
	struct bcache_device *d = new_dev(test, 8192, 16);

	bch_dirty_add(d, 100, 50);
	bch_dirty_add(d, 3 * 8192 + 10, 8);
	bch_dirty_add(d, 3 * 8192 + 100, 8);

	KUNIT_EXPECT_EQ(test, stripe_count(d, 0), 50);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 1), 0);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 3), 16);
	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), 66ULL);
	KUNIT_EXPECT_FALSE(test, stripe_full(d, 0));
	expect_consistent(test, d);

	/* Nothing to add, nothing changes. */
	bch_dirty_add(d, 200, 0);
	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), 66ULL);
}

static void dirty_test_spanning(struct kunit *test)
{
	struct bcache_device *d = new_dev(test, 8192, 16);

	/* 100 sectors at the end of stripe 0, two whole ones, 100 more. */
	bch_dirty_add(d, 8192 - 100, 2 * 8192 + 200);

	KUNIT_EXPECT_EQ(test, stripe_count(d, 0), 100);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 1), 8192);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 2), 8192);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 3), 100);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 4), 0);
	KUNIT_EXPECT_FALSE(test, stripe_full(d, 0));
	KUNIT_EXPECT_TRUE(test, stripe_full(d, 1));
	KUNIT_EXPECT_TRUE(test, stripe_full(d, 2));
	KUNIT_EXPECT_FALSE(test, stripe_full(d, 3));
	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), 2 * 8192ULL + 200);
	expect_consistent(test, d);

	/* Cleaning the same range, in two pieces, brings all back to 0. */
	bch_dirty_add(d, 8192 - 100, -8192);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 0), 0);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 1), 100);
	KUNIT_EXPECT_FALSE(test, stripe_full(d, 1));
	KUNIT_EXPECT_TRUE(test, stripe_full(d, 2));
	expect_consistent(test, d);

	bch_dirty_add(d, 2 * 8192 - 100, -(8192 + 200));
	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), 0ULL);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(d->full_dirty_stripes,
					     d->nr_stripes));
	expect_consistent(test, d);
}

/* The full bit follows the count exactly, one sector either way. */
static void dirty_test_full_bit(struct kunit *test)
{
	struct bcache_device *d = new_dev(test, 8192, 4);

	bch_dirty_add(d, 8192, 8191);
	KUNIT_EXPECT_FALSE(test, stripe_full(d, 1));
	bch_dirty_add(d, 2 * 8192 - 1, 1);
	KUNIT_EXPECT_TRUE(test, stripe_full(d, 1));
	bch_dirty_add(d, 8192 + 4000, -1);
	KUNIT_EXPECT_FALSE(test, stripe_full(d, 1));
	bch_dirty_add(d, 8192 + 4000, 1);
	KUNIT_EXPECT_TRUE(test, stripe_full(d, 1));
	KUNIT_EXPECT_EQ(test, bitmap_weight(d->full_dirty_stripes,
					    d->nr_stripes), 1U);
	expect_consistent(test, d);
}

/*
 * A raid5 of three data disks with 1,344 KiB chunks: 8,064-sector stripes.
 * A mask of stripe_size - 1 would put these offsets in the wrong stripes.
 */
static void dirty_test_non_power_of_two(struct kunit *test)
{
	const unsigned int s = 8064;
	struct bcache_device *d = new_dev(test, s, 10);

	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, 0), 0L);
	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, s - 1), 0L);
	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, s), 1L);
	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, 2 * s - 1), 1L);
	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, 2 * s), 2L);
	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, 9 * s + 4000), 9L);
	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, 10 * s - 1), 9L);
	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, 10 * s), -1L);

	bch_dirty_add(d, s - 10, 20);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 0), 10);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 1), 10);

	bch_dirty_add(d, 2 * s, s);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 2), (int)s);
	KUNIT_EXPECT_TRUE(test, stripe_full(d, 2));
	KUNIT_EXPECT_FALSE(test, stripe_full(d, 3));

	/* 64 sectors of stripe 3, all of stripe 4, 10 of stripe 5. */
	bch_dirty_add(d, 4 * s - 64, 64 + s + 10);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 3), 64);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 4), (int)s);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 5), 10);
	KUNIT_EXPECT_TRUE(test, stripe_full(d, 4));
	expect_consistent(test, d);

	KUNIT_EXPECT_FALSE(test, bch_dirty_stripes_touched(d, 6 * s, s));
	KUNIT_EXPECT_TRUE(test, bch_dirty_stripes_touched(d, 6 * s - 1, 1));
	KUNIT_EXPECT_TRUE(test, bch_dirty_stripes_touched(d, 6 * s - 1, 2));
}

static void dirty_test_stripes_touched(struct kunit *test)
{
	struct bcache_device *d = new_dev(test, 8064, 8);

	KUNIT_EXPECT_FALSE(test, bch_dirty_stripes_touched(d, 0, 8 * 8064));

	/* One dirty sector, the first of stripe 2. */
	bch_dirty_add(d, 2 * 8064, 1);

	KUNIT_EXPECT_FALSE(test, bch_dirty_stripes_touched(d, 8064, 8064));
	KUNIT_EXPECT_TRUE(test, bch_dirty_stripes_touched(d, 8064, 8065));
	/* Any sector of a dirty stripe touches it. */
	KUNIT_EXPECT_TRUE(test, bch_dirty_stripes_touched(d, 3 * 8064 - 1, 1));
	KUNIT_EXPECT_FALSE(test, bch_dirty_stripes_touched(d, 3 * 8064, 8));
	KUNIT_EXPECT_TRUE(test, bch_dirty_stripes_touched(d, 0, 8 * 8064));
	/* No sectors touch nothing. */
	KUNIT_EXPECT_FALSE(test, bch_dirty_stripes_touched(d, 2 * 8064, 0));
	/* Past the device: nothing; running off its end: up to the last. */
	KUNIT_EXPECT_FALSE(test, bch_dirty_stripes_touched(d, 8 * 8064, 8));
	KUNIT_EXPECT_TRUE(test, bch_dirty_stripes_touched(d, 8064, UINT_MAX));

	bch_dirty_add(d, 8 * 8064 - 1, 1);
	KUNIT_EXPECT_TRUE(test, bch_dirty_stripes_touched(d, 7 * 8064, UINT_MAX));
}

/*
 * 20 TB with 4 MiB stripes: 39,062,500,000 sectors in 4,768,372 stripes,
 * so stripe numbers, offsets and the total all pass 2^32.
 */
static void dirty_test_20tb(struct kunit *test)
{
	const u64 sectors = 20000000000000ULL >> SECTOR_SHIFT;
	const unsigned int s = 8192;
	const unsigned int nr = DIV_ROUND_UP_ULL(sectors, s);
	const u64 big = (1ULL << 32) + s;
	struct bcache_device *d = new_dev(test, s, nr);

	KUNIT_ASSERT_EQ(test, nr, 4768372U);
	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, 1ULL << 32), 524288L);
	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, sectors - 1),
			(long)nr - 1);
	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, (u64)nr * s), -1L);

	/* The last sector of the device, and one past 2^32. */
	bch_dirty_add(d, sectors - 1, 1);
	bch_dirty_add(d, (1ULL << 32) + 7, 1);
	KUNIT_EXPECT_EQ(test, stripe_count(d, nr - 1), 1);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 524288), 1);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 0), 0);
	KUNIT_EXPECT_TRUE(test, bch_dirty_stripes_touched(d, 1ULL << 32, s));
	KUNIT_EXPECT_FALSE(test, bch_dirty_stripes_touched(d, 1ULL << 31, s));

	/* More than 2^32 sectors in one add: 524,289 stripes fill up. */
	bch_dirty_add(d, 1ULL << 33, big);
	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), big + 2);
	KUNIT_EXPECT_EQ(test, bitmap_weight(d->full_dirty_stripes, nr),
			524289U);
	KUNIT_EXPECT_TRUE(test, stripe_full(d, 1048576));
	KUNIT_EXPECT_TRUE(test, stripe_full(d, 1048576 + 524288));
	KUNIT_EXPECT_FALSE(test, stripe_full(d, 1048576 + 524289));
	expect_consistent(test, d);

	bch_dirty_add(d, 1ULL << 33, -(s64)big);
	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), 2ULL);
	KUNIT_EXPECT_EQ(test, bitmap_weight(d->full_dirty_stripes, nr), 0U);
	expect_consistent(test, d);

	bch_dirty_reset(d);
	KUNIT_EXPECT_EQ(test, stripe_count(d, nr - 1), 0);
	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), 0ULL);
}

/* An add that starts past the last stripe is dropped whole. */
static void dirty_test_past_end(struct kunit *test)
{
	struct bcache_device *d = new_dev(test, 8192, 4);

	bch_dirty_add(d, 8192 + 5, 10);
	bch_dirty_add(d, 4 * 8192, 100);
	bch_dirty_add(d, 1ULL << 40, -5);
	bch_dirty_add(d, U64_MAX, 1);

	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), 10ULL);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 1), 10);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 3), 0);
	expect_consistent(test, d);
	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, 4 * 8192), -1L);
}

/*
 * An add that starts in the last stripe and runs past it counts the part
 * inside, and the total must stay the sum of the counters.
 */
static void dirty_test_straddles_end(struct kunit *test)
{
	struct bcache_device *d = new_dev(test, 8192, 4);

	bch_dirty_add(d, 3 * 8192 + 8000, 400);
	KUNIT_EXPECT_EQ(test, stripe_count(d, 3), 192);
	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), 192ULL);
	expect_consistent(test, d);
}

/*
 * Overlapping adds at pseudo-random places on a non power of two stripe
 * size, then their cleaning in reverse: after each add the counters must
 * equal a per-sector count summed by stripe, and be consistent.
 */
static void dirty_test_random(struct kunit *test)
{
	const unsigned int s = 1000, nr = 8, ops = 64;
	struct bcache_device *d = new_dev(test, s, nr);
	u8 *sector = kunit_kzalloc(test, s * nr, GFP_KERNEL);
	u32 *off = kunit_kcalloc(test, ops, sizeof(*off), GFP_KERNEL);
	u32 *len = kunit_kcalloc(test, ops, sizeof(*len), GFP_KERNEL);
	u32 seed = 12345;
	unsigned int i, j, bad;
	int k;

	KUNIT_ASSERT_NOT_NULL(test, sector);
	KUNIT_ASSERT_NOT_NULL(test, off);
	KUNIT_ASSERT_NOT_NULL(test, len);

	for (i = 0; i < ops; i++) {
		seed = seed * 1103515245 + 12345;
		off[i] = (seed >> 8) % (s * nr);
		seed = seed * 1103515245 + 12345;
		len[i] = min((seed >> 8) % (3 * s) + 1, s * nr - off[i]);
		/* Every eighth a whole, aligned stripe. */
		if (!(i % 8)) {
			off[i] = off[i] / s * s;
			len[i] = s;
		}
	}

	for (k = 0; k < 2 * ops; k++) {
		bool cleaning = k >= ops;

		i = cleaning ? 2 * ops - 1 - k : k;
		bch_dirty_add(d, off[i], cleaning ? -(s64)len[i] : len[i]);
		for (j = off[i]; j < off[i] + len[i]; j++)
			sector[j] += cleaning ? -1 : 1;

		bad = 0;
		for (j = 0; j < nr; j++) {
			unsigned int n = 0, x;

			for (x = j * s; x < (j + 1) * s; x++)
				n += sector[x];
			if ((unsigned int)stripe_count(d, j) != n)
				bad++;
		}
		KUNIT_EXPECT_EQ_MSG(test, bad, 0U, "after add %d", k);
		expect_consistent(test, d);
	}
	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), 0ULL);
}

static void dirty_test_reset(struct kunit *test)
{
	struct bcache_device *d = new_dev(test, 8064, 8);

	bch_dirty_add(d, 0, 3 * 8064 + 5);
	bch_dirty_add(d, 7 * 8064, 8064);
	KUNIT_EXPECT_EQ(test, bitmap_weight(d->full_dirty_stripes, 8), 4U);

	bch_dirty_reset(d);
	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), 0ULL);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(d->full_dirty_stripes, 8));
	KUNIT_EXPECT_FALSE(test, bch_dirty_stripes_touched(d, 0, 8 * 8064));
	expect_consistent(test, d);

	/* And counts again from zero. */
	bch_dirty_add(d, 8064, 8064);
	KUNIT_EXPECT_TRUE(test, stripe_full(d, 1));
	expect_consistent(test, d);
}

/* A device without stripes (not set up yet) counts nothing. */
static void dirty_test_no_stripes(struct kunit *test)
{
	struct bcache_device *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, d);
	d->stripe_size = 8192;
	bch_dirty_add(d, 0, 8);
	KUNIT_EXPECT_EQ(test, bcache_dev_sectors_dirty(d), 0ULL);
	KUNIT_EXPECT_EQ(test, bch_dirty_stripe_of(d, 0), -1L);
	KUNIT_EXPECT_FALSE(test, bch_dirty_stripes_touched(d, 0, 8));
}

static struct kunit_case bcache_dirty_stripes_cases[] = {
	KUNIT_CASE(dirty_test_within_stripe),
	KUNIT_CASE(dirty_test_spanning),
	KUNIT_CASE(dirty_test_full_bit),
	KUNIT_CASE(dirty_test_non_power_of_two),
	KUNIT_CASE(dirty_test_stripes_touched),
	KUNIT_CASE(dirty_test_20tb),
	KUNIT_CASE(dirty_test_past_end),
	KUNIT_CASE(dirty_test_straddles_end),
	KUNIT_CASE(dirty_test_random),
	KUNIT_CASE(dirty_test_reset),
	KUNIT_CASE(dirty_test_no_stripes),
	{}
};

static struct kunit_suite bcache_dirty_stripes_suite = {
	.name = "bcache_dirty_stripes",
	.test_cases = bcache_dirty_stripes_cases,
};

kunit_test_suites(&bcache_writeback_decide_suite,
		  &bcache_writeback_rate_suite,
		  &bcache_dirty_stripes_suite);

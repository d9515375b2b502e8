// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of stats.c: what a fold does to the stats_* windows.
 *
 * The counts a request path leaves pending are folded into every window,
 * which then decay at their own pace; the numbers must come out as the
 * kernel's driver shows them, except where its arithmetic wraps: it
 * shifts a fold's counts left by 16 in 32 bits, so 65,536 requests or
 * sectors in one fold (13.6 s) came out as garbage, the "bypassed" of a
 * sequential reader at 2.4 MB/s and more included.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "../../stats.h"

static struct bch_accounting *new_accounting(struct kunit *test)
{
	/* Zeroed, without the fold work: the test folds by hand. */
	struct bch_accounting *acc = kunit_kzalloc(test, sizeof(*acc),
						   GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, acc);
	return acc;
}

struct fold_case {
	const char	*desc;
	enum bch_stat	stat;
	int		pending;
};

static const struct fold_case fold_cases[] = {
	{ "one hit", BCH_STAT_HITS, 1 },
	{ "65,535 misses: upstream's last exact count", BCH_STAT_MISSES, 65535 },
	{ "65,536 bypass misses: upstream wraps to 0", BCH_STAT_BYPASS_MISSES,
	  65536 },
	{ "1 GiB bypassed in one fold", BCH_STAT_SECTORS_BYPASSED, 1 << 21 },
	{ "INT_MAX sectors bypassed", BCH_STAT_SECTORS_BYPASSED, INT_MAX },
};

static void fold_case_desc(const struct fold_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(fold, fold_cases, fold_case_desc);

/* @n after one decay step, in the 16-bit fixed point windows keep. */
static unsigned long decayed_once(unsigned long n)
{
	u64 fixed = (u64)n << 16;

	return (fixed - fixed / 32) >> 16;
}

/*
 * One fold brings every pending count, whole, into every window; the
 * five-minute window, which decays at every fold, shows it decayed once.
 */
static void stats_test_fold_exact(struct kunit *test)
{
	const struct fold_case *c = test->param_value;
	struct bch_accounting *acc = new_accounting(test);
	enum bch_stat_window w;
	enum bch_stat s;

	atomic_set(&acc->pending[c->stat], c->pending);
	bch_stats_fold(acc);

	for (w = 0; w < BCH_WINDOW_NR; w++) {
		for (s = 0; s < BCH_STAT_NR; s++) {
			unsigned long want = s == c->stat ? c->pending : 0;

			if (w == BCH_WINDOW_FIVE_MINUTE)
				want = decayed_once(want);

			KUNIT_EXPECT_EQ(test, bch_stat_value(acc, w, s), want);
		}
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&acc->pending[c->stat]), 0);
}

/*
 * Decay: the five-minute window loses 1/32 each fold and so halves in
 * five minutes (22 folds); the hour window decays every 12th fold, the
 * day window every 288th; the total never does.
 */
static void stats_test_decay(struct kunit *test)
{
	struct bch_accounting *acc = new_accounting(test);
	const unsigned long n = 1 << 20;
	unsigned long five, hour;
	unsigned int i;

	atomic_set(&acc->pending[BCH_STAT_HITS], n);
	bch_stats_fold(acc);
	for (i = 1; i < 22; i++)
		bch_stats_fold(acc);

	five = bch_stat_value(acc, BCH_WINDOW_FIVE_MINUTE, BCH_STAT_HITS);
	hour = bch_stat_value(acc, BCH_WINDOW_HOUR, BCH_STAT_HITS);
	/* (31/32)^22 = 0.4975 */
	KUNIT_EXPECT_GE(test, five, n * 49 / 100);
	KUNIT_EXPECT_LE(test, five, n * 50 / 100);
	/* 22 folds: the hour window has decayed once. */
	KUNIT_EXPECT_EQ(test, hour, n - n / 32);
	KUNIT_EXPECT_EQ(test, bch_stat_value(acc, BCH_WINDOW_DAY,
					     BCH_STAT_HITS), n);
	KUNIT_EXPECT_EQ(test, bch_stat_value(acc, BCH_WINDOW_TOTAL,
					     BCH_STAT_HITS), n);
}

/* clear_stats restarts the total alone, as upstream's does. */
static void stats_test_clear(struct kunit *test)
{
	struct bch_accounting *acc = new_accounting(test);

	atomic_set(&acc->pending[BCH_STAT_MISSES], 7);
	bch_stats_fold(acc);
	bch_accounting_clear(acc);

	KUNIT_EXPECT_EQ(test, bch_stat_value(acc, BCH_WINDOW_TOTAL,
					     BCH_STAT_MISSES), 0UL);
	KUNIT_EXPECT_EQ(test, bch_stat_value(acc, BCH_WINDOW_HOUR,
					     BCH_STAT_MISSES), 7UL);
	KUNIT_EXPECT_EQ(test, bch_stat_value(acc, BCH_WINDOW_FIVE_MINUTE,
					     BCH_STAT_MISSES), decayed_once(7));
}

static struct kunit_case bcache_stats_cases[] = {
	KUNIT_CASE_PARAM(stats_test_fold_exact, fold_gen_params),
	KUNIT_CASE(stats_test_decay),
	KUNIT_CASE(stats_test_clear),
	{}
};

static struct kunit_suite bcache_stats_suite = {
	.name = "bcache_stats",
	.test_cases = bcache_stats_cases,
};

kunit_test_suites(&bcache_stats_suite);

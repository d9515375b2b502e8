// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of super.c's pure pieces: which cache geometries run, and
 * the stripe geometry a backing device's dirty data is counted in.
 * Upstream computed the stripe count in 32 bits, so a huge device with a
 * small optimal I/O size wrapped round to a small count and the
 * dirty-data accounting indexed past its arrays; ours computes it in 64
 * bits and refuses a count an int cannot index.
 */
#include <kunit/test.h>

#include "../../bcache.h"
#include "../../backing.h"
#include "../../super.h"

struct stripe_case {
	const char	*desc;
	u64		sectors;
	unsigned int	io_opt;		/* sectors */
	int		ret;
	unsigned int	stripe_size, nr_stripes;
};

#define TIB	BIT_ULL(31)		/* sectors */

static const struct stripe_case stripe_cases[] = {
	{ "no io_opt: one 1 TiB stripe", 8 << 20, 0, 0, 1U << 31, 1 },
	{ "no io_opt, 3 TiB + 1 sector", 3 * TIB + 1, 0, 0, 1U << 31, 4 },
	{ "64 KiB io_opt rounds up to 4 MiB", 1 << 20, 128, 0, 8192, 128 },
	{ "io_opt 3 sectors: a multiple of it", 8193, 3, 0, 8193, 1 },
	{ "8 MiB io_opt is kept", 16385, 16384, 0, 16384, 2 },
	{ "an empty device is refused", 0, 128, -EINVAL, 0, 0 },
	{ "INT_MAX stripes of 4 MiB: accepted", (u64)INT_MAX * 8192, 128,
	  0, 8192, INT_MAX },
	{ "one sector more is refused", (u64)INT_MAX * 8192 + 1, 128,
	  -EINVAL, 0, 0 },
	/* 2^32 + 1 stripes: upstream's 32-bit count wrapped round to 1. */
	{ "2^32 + 1 stripes do not wrap to 1", ((1ULL << 32) + 1) * 8192, 128,
	  -EINVAL, 0, 0 },
	{ "the largest sector_t", U64_MAX, 128, -EINVAL, 0, 0 },
	{ "the largest sector_t, no io_opt", U64_MAX, 0, -EINVAL, 0, 0 },
};

KUNIT_ARRAY_PARAM_DESC(stripe, stripe_cases, desc);

static void super_test_stripe_geometry(struct kunit *test)
{
	const struct stripe_case *c = test->param_value;
	unsigned int size = 0, n = 0;
	int ret;

	ret = bch_stripe_geometry(c->sectors, c->io_opt, &size, &n);
	KUNIT_ASSERT_EQ(test, ret, c->ret);
	if (ret)
		return;
	KUNIT_EXPECT_EQ(test, size, c->stripe_size);
	KUNIT_EXPECT_EQ(test, n, c->nr_stripes);
	/* Every sector lies in a stripe, and the last stripe is not empty. */
	KUNIT_EXPECT_GE(test, (u64)n * size, c->sectors);
	KUNIT_EXPECT_LT(test, (u64)(n - 1) * size, c->sectors);
}

/* Cache geometries make-bcache accepts: each runs, or is refused saying why. */
struct cache_geometry_case {
	const char	*desc;
	unsigned int	block, bucket;		/* sectors */
	u64		incompat;
	const char	*refused;		/* in the reason, or NULL */
};

static const struct cache_geometry_case cache_geometry_cases[] = {
	{ "512 B blocks in 4 KiB buckets", 1, 8, 0, NULL },
	{ "4 KiB blocks in 8 KiB buckets", 8, 16, 0, NULL },
	{ "4 KiB blocks in 4 KiB buckets", 8, 8, 0, "two blocks" },
	{ "2 KiB blocks in 4 KiB buckets", 4, 8, 0, NULL },
	{ "16 MiB buckets", 8, 1U << 15, 0, NULL },
	{ "32 MiB buckets, large-bucket feature", 8, 1U << 16,
	  BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET_SIZE, NULL },
	{ "4 GiB buckets, large-bucket feature", 8, 1U << 23,
	  BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET_SIZE, NULL },
	{ "an unknown incompatible feature", 8, 1024, 1ULL << 40,
	  "Unsupported" },
};

KUNIT_ARRAY_PARAM_DESC(cache_geometry, cache_geometry_cases, desc);

static void super_test_cache_geometry(struct kunit *test)
{
	const struct cache_geometry_case *g = test->param_value;
	struct cache_sb *sb = kunit_kzalloc(test, sizeof(*sb), GFP_KERNEL);
	const char *why;

	KUNIT_ASSERT_NOT_NULL(test, sb);
	sb->nr_in_set = 1;
	sb->block_size = g->block;
	sb->bucket_size = g->bucket;
	sb->nbuckets = 1024;
	sb->first_bucket = 1;
	sb->feature_incompat = g->incompat;
	why = bch_check_cache_sb(sb);

	if (!g->refused) {
		KUNIT_EXPECT_NULL(test, why);
		return;
	}
	KUNIT_ASSERT_NOT_NULL(test, why);
	KUNIT_EXPECT_NOT_NULL(test, strstr(why, g->refused));
}

static struct kunit_case super_test_cases[] = {
	KUNIT_CASE_PARAM(super_test_stripe_geometry, stripe_gen_params),
	KUNIT_CASE_PARAM(super_test_cache_geometry, cache_geometry_gen_params),
	{}
};

static struct kunit_suite bcache_super_suite = {
	.name = "bcache_super",
	.test_cases = super_test_cases,
};

kunit_test_suites(&bcache_super_suite);

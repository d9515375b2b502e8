// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the formats of bcache's sysfs files (sysfs.c).
 *
 * Scripts and bcache-tools read and write these files, so what they show
 * and what they accept is ABI: sizes in upstream's human-readable form
 * ("4.0M"), choice lists with the current one in brackets, the
 * permissive uuid syntax `attach` has always taken, the units of the
 * time statistics and the text of priority_stats. Expected strings are
 * worked out by hand from upstream's rules.
 */

#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/string.h>
#include <linux/time64.h>

#include "../../sysfs_attr.h"
#include "../../util.h"

/* Human-readable sizes: shown */

struct human_case {
	s64 bytes;
	const char *shown;
};

static const struct human_case human_cases[] = {
	{ 0,			"0.0k\n" },
	{ 512,			"0.5k\n" },
	{ 1023,			"0.9k\n" },
	{ 1024,			"1.0k\n" },
	{ 999 * 1024,		"999.0k\n" },
	{ 1000 * 1024,		"0.9M\n" },
	{ 4 << 20,		"4.0M\n" },
	{ 1536LL << 20,		"1.5G\n" },
	{ 1LL << 40,		"1.0T\n" },
	{ -(4LL << 20),		"-4.0M\n" },
	{ S64_MAX,		"7.9E\n" },
};

static void human_case_desc(const struct human_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%lld", c->bytes);
}

KUNIT_ARRAY_PARAM(human, human_cases, human_case_desc);

static void sysfs_test_show_human(struct kunit *test)
{
	const struct human_case *c = test->param_value;
	char *page = (char *)__get_free_page(GFP_KERNEL);
	ssize_t len;

	KUNIT_ASSERT_NOT_NULL(test, page);
	len = bch_sysfs_show_human(page, c->bytes);
	KUNIT_EXPECT_STREQ(test, page, c->shown);
	KUNIT_EXPECT_EQ(test, len, (ssize_t)strlen(c->shown));
	free_page((unsigned long)page);
}

/* Choice lists */

static void sysfs_test_choices(struct kunit *test)
{
	static const char * const modes[] = {
		"writethrough", "writeback", "writearound", "none", NULL
	};
	char *page = (char *)__get_free_page(GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, page);
	bch_sysfs_show_choices(page, modes, 0);
	KUNIT_EXPECT_STREQ(test, page,
			   "[writethrough] writeback writearound none\n");
	bch_sysfs_show_choices(page, modes, 3);
	KUNIT_EXPECT_STREQ(test, page,
			   "writethrough writeback writearound [none]\n");
	free_page((unsigned long)page);
}

/* uuids for `attach` */

static void sysfs_test_parse_uuid(struct kunit *test)
{
	static const u8 want[16] = {
		0x6f, 0x8f, 0xd9, 0xa0, 0x19, 0x2d, 0x44, 0x31,
		0xb9, 0xa2, 0x1a, 0x7a, 0xcb, 0xce, 0xd6, 0xfe,
	};
	static const char full[] = "6f8fd9a0-192d-4431-b9a2-1a7acbced6fe\n";
	static const char longer[] = "6f8fd9a0192d4431b9a21a7acbced6fe00112233";
	u8 uuid[16];

	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_uuid(full, uuid), 36);
	KUNIT_EXPECT_MEMEQ(test, uuid, want, 16);

	/* Anything but hex, '-' and ':' ends it. */
	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_uuid("6f8f zz", uuid), 4);
	KUNIT_EXPECT_EQ(test, uuid[0], 0x6f);
	KUNIT_EXPECT_EQ(test, uuid[1], 0x8f);
	KUNIT_EXPECT_EQ(test, uuid[2], 0);

	/* It stops after 32 digits, whatever follows. */
	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_uuid(longer, uuid), 32);
	KUNIT_EXPECT_MEMEQ(test, uuid, want, 16);
}

/* Sizes written to flash_vol_create and the like */

static void sysfs_test_parse_human(struct kunit *test)
{
	u64 v = 0;

	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_human("4096", &v), 0);
	KUNIT_EXPECT_EQ(test, v, 4096ULL);
	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_human("16M\n", &v), 0);
	KUNIT_EXPECT_EQ(test, v, 16ULL << 20);
	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_human("3g", &v), 0);
	KUNIT_EXPECT_EQ(test, v, 3ULL << 30);
	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_human("15E", &v), 0);
	KUNIT_EXPECT_EQ(test, v, 15ULL << 60);

	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_human("16E", &v), -EINVAL);
	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_human("1Z", &v), -EINVAL);
	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_human("M", &v), -EINVAL);
	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_human("12q", &v), -EINVAL);
	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_human("1k\nx", &v), -EINVAL);
	KUNIT_EXPECT_EQ(test, bch_sysfs_parse_human("-1", &v), -EINVAL);
}

/* Time statistics: the averages are stored scaled by 2^8. */

static void sysfs_test_time_stats(struct kunit *test)
{
	const u64 now = 100 * NSEC_PER_SEC;
	struct time_stats ts = {
		.max_duration		= 5 * NSEC_PER_MSEC + 999,
		.average_duration	= (2 * NSEC_PER_MSEC) << 8,
		.average_frequency	= (3 * NSEC_PER_SEC) << 8,
		.last			= now - 7 * NSEC_PER_SEC,
	};

	KUNIT_EXPECT_EQ(test, bch_time_stat_value(&ts, BCH_TIME_AVERAGE_FREQUENCY,
						  NSEC_PER_SEC, now), 3);
	KUNIT_EXPECT_EQ(test, bch_time_stat_value(&ts, BCH_TIME_AVERAGE_FREQUENCY,
						  NSEC_PER_MSEC, now), 3000);
	KUNIT_EXPECT_EQ(test, bch_time_stat_value(&ts, BCH_TIME_AVERAGE_DURATION,
						  NSEC_PER_USEC, now), 2000);
	KUNIT_EXPECT_EQ(test, bch_time_stat_value(&ts, BCH_TIME_MAX_DURATION,
						  NSEC_PER_MSEC, now), 5);
	KUNIT_EXPECT_EQ(test, bch_time_stat_value(&ts, BCH_TIME_LAST,
						  NSEC_PER_SEC, now), 7);
	KUNIT_EXPECT_EQ(test, bch_time_stat_value(&ts, BCH_TIME_LAST,
						  NSEC_PER_MSEC, now), 7000);

	/* Never updated: "last" is -1, not the time since boot. */
	ts.last = 0;
	KUNIT_EXPECT_EQ(test, bch_time_stat_value(&ts, BCH_TIME_LAST,
						  NSEC_PER_SEC, now), -1);
}

/* priority_stats */

static void sysfs_test_priority_stats(struct kunit *test)
{
	/*
	 * Two btree buckets (65535) and two never used (0) are cut off;
	 * the four left are 0, 8, 768 and 2768 away from 32768, averaging
	 * 886, and each takes a quarter of the 31 quantiles (7, 8, 8, 8:
	 * quantile i looks at element 4 * (i + 1) / 32).
	 */
	u16 prios[] = { 0, 65535, 32768, 32760, 32000, 0, 65535, 30000 };
	const struct bch_prio_census census = {
		.nbuckets	= 8,
		.unused		= 2,
		.clean		= 3,
		.dirty		= 1,
		.metadata	= 2,
		.bucket_size	= 1024,
	};
	static const char head[] =
		"Unused:\t\t25%\nClean:\t\t37%\nDirty:\t\t12%\n"
		"Metadata:\t25%\nAverage:\t886\nSectors per Q:\t128\n"
		"Quantiles:\t[";
	static const unsigned int step[] = { 0, 8, 768, 2768 };
	char *page = (char *)__get_free_page(GFP_KERNEL);
	char *want = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	size_t wlen;
	ssize_t len;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_ASSERT_NOT_NULL(test, want);
	wlen = strscpy(want, head, PAGE_SIZE);
	for (i = 0; i < 31; i++)
		wlen += scnprintf(want + wlen, PAGE_SIZE - wlen, i ? " %u" : "%u",
				  step[(4 * (i + 1) / 32)]);
	strlcat(want, "]\n", PAGE_SIZE);

	len = bch_sysfs_show_priority_stats(page, &census, prios,
					    ARRAY_SIZE(prios));
	KUNIT_EXPECT_STREQ(test, page, want);
	KUNIT_EXPECT_EQ(test, len, (ssize_t)strlen(want));

	/* Nothing cached at all: every quantile is the initial prio. */
	memset(prios, 0, sizeof(prios));
	bch_sysfs_show_priority_stats(page, &census, prios, ARRAY_SIZE(prios));
	KUNIT_EXPECT_NOT_NULL(test, strstr(page, "Average:\t0\n"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(page, "Sectors per Q:\t0\n"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(page, "[32768 32768 "));
	free_page((unsigned long)page);
}

static struct kunit_case bcache_sysfs_cases[] = {
	KUNIT_CASE_PARAM(sysfs_test_show_human, human_gen_params),
	KUNIT_CASE(sysfs_test_choices),
	KUNIT_CASE(sysfs_test_parse_uuid),
	KUNIT_CASE(sysfs_test_parse_human),
	KUNIT_CASE(sysfs_test_time_stats),
	KUNIT_CASE(sysfs_test_priority_stats),
	{}
};

static struct kunit_suite bcache_sysfs_suite = {
	.name = "bcache_sysfs",
	.test_cases = bcache_sysfs_cases,
};

kunit_test_suites(&bcache_sysfs_suite);

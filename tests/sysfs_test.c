// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the formats of bcache's sysfs files (sysfs.c).
 *
 * Scripts and bcache-tools read and write these files, so what they show
 * and what they accept is ABI: sizes in upstream's human-readable form
 * ("4.0M"), choice lists with the current one in brackets, and the
 * permissive uuid syntax `attach` has always taken. Expected strings are
 * worked out by hand from upstream's rules.
 */

#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/string.h>

#include "../sysfs.h"

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

static struct kunit_case bcache_sysfs_cases[] = {
	KUNIT_CASE_PARAM(sysfs_test_show_human, human_gen_params),
	KUNIT_CASE(sysfs_test_choices),
	KUNIT_CASE(sysfs_test_parse_uuid),
	{}
};

static struct kunit_suite bcache_sysfs_suite = {
	.name = "bcache_sysfs",
	.test_cases = bcache_sysfs_cases,
};

kunit_test_suites(&bcache_sysfs_suite);

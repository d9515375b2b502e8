// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests against a btree node the kernel's own bcache wrote
 * (tests/kunit/btree_vectors.h, captured by tools/jobs/capture-btree.sh).
 *
 * The bset and extent suites check our code against the format as we
 * understand it; a node from the real driver checks that understanding.
 * The leaf holds the extents of a handful of known writes, so every key
 * is spelled out below from what the capture job did, and the node must
 * pass the checks a node read from disk gets: magic of its cache set,
 * bset version, checksum seeded by the pointer its parent (here the
 * journal's root) holds, and every key a valid extent under the cache
 * device's geometry.
 */

#include <kunit/test.h>
#include <linux/crc64.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../../bcache_ondisk.h"
#include "../../extents.h"
#include "btree_vectors.h"

/* Sectors of a backing device that come before its data (make-bcache -B). */
#define VEC_DATA_OFFSET		16
/* A 4 KiB block of /dev/bcache0, as the extent's end on the backing device. */
#define VEC_BLOCK_END(n)	(VEC_DATA_OFFSET + 8 * ((n) + 1))

/*
 * The keys the captured leaf holds, in order. All are clean (writethrough),
 * of backing device 0, with one pointer into cache device 0, gen 1 (every
 * bucket of a fresh set is on its first generation).
 */
struct captured_extent {
	u64		end;
	unsigned int	size;
	u64		cache_sector;
	const char	*text;		/* bch_extent_to_text() */
};

static const struct captured_extent captured_extents[] = {
	/*
	 * Block 0 was never written: the kernel's partition scan read it
	 * when bcache0 appeared, the read miss was cached right before the
	 * write of block 1, next to it on the cache, and gc merged the two.
	 */
	{ VEC_BLOCK_END(1), 16, 51200, "0:16 len 16 -> [0:51200 gen 1]" },
	/* Blocks 10 and 11, written one after the other: merged. */
	{ VEC_BLOCK_END(11), 16, 66560, "0:96 len 16 -> [0:66560 gen 1]" },
	{ VEC_BLOCK_END(100), 8, 53248, "0:816 len 8 -> [0:53248 gen 1]" },
	{ VEC_BLOCK_END(1000), 8, 46080, "0:8016 len 8 -> [0:46080 gen 1]" },
	{ VEC_BLOCK_END(4097), 8, 67584, "0:32792 len 8 -> [0:67584 gen 1]" },
};

/* What a cache set knows of its device; no live state is needed here. */
static struct bch_ptr_checker captured_geometry = {
	.bucket_size	= BTREE_VEC_BUCKET_SIZE,
	.first_bucket	= BTREE_VEC_FIRST_BUCKET,
	.nbuckets	= BTREE_VEC_NBUCKETS,
};

/*
 * The vector in memory a node buffer would give it: u64-aligned, and
 * writable so that a case may corrupt it.
 */
static struct bset *load_leaf(struct kunit *test)
{
	void *buf = kunit_kmalloc(test, sizeof(btree_vec_leaf), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	memcpy(buf, btree_vec_leaf, sizeof(btree_vec_leaf));
	return buf;
}

static struct bkey *load_root_key(struct kunit *test)
{
	void *buf = kunit_kmalloc(test, sizeof(btree_vec_root_key),
				  GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	memcpy(buf, btree_vec_root_key, sizeof(btree_vec_root_key));
	return buf;
}

/*
 * A version 1 bset's checksum: crc64 seeded with the node's first pointer
 * word (so a node read from the wrong place fails it), over the bset from
 * its magic to the end of its keys, inverted.
 */
static u64 node_bset_csum(const struct bkey *node_key, const struct bset *i)
{
	const u8 *from = (const u8 *)&i->magic;
	const u8 *to = (const u8 *)bset_bkey_last(i);

	return ~crc64_be(le64_to_cpu(node_key->ptr[0]), from, to - from);
}

static void expect_captured_extent(struct kunit *test, const struct bkey *k,
				   const struct captured_extent *want)
{
	char text[128];

	KUNIT_EXPECT_EQ(test, KEY_INODE(k), 0);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(k), want->end);
	KUNIT_EXPECT_EQ(test, KEY_SIZE(k), want->size);
	KUNIT_EXPECT_EQ(test, KEY_PTRS(k), 1);
	KUNIT_EXPECT_FALSE(test, KEY_DIRTY(k));
	KUNIT_EXPECT_EQ(test, KEY_CSUM(k), 0);
	KUNIT_EXPECT_EQ(test, PTR_DEV(k, 0), 0);
	KUNIT_EXPECT_EQ(test, PTR_OFFSET(k, 0), want->cache_sector);
	KUNIT_EXPECT_EQ(test, PTR_GEN(k, 0), 1);

	bch_extent_to_text(text, sizeof(text), k);
	KUNIT_EXPECT_STREQ(test, text, want->text);

	KUNIT_EXPECT_FALSE_MSG(test,
			       __bch_extent_invalid(&captured_geometry, k),
			       "key %s", text);
}

/* The leaf decodes, key by key, to the extents of the captured writes. */
static void vectors_leaf_keys(struct kunit *test)
{
	struct bset *i = load_leaf(test);
	const struct bkey *k, *end = bset_bkey_last(i);
	u64 prev_end = 0;
	size_t n = 0;

	KUNIT_EXPECT_EQ(test, le64_to_cpu(i->magic),
			BTREE_VEC_SET_MAGIC ^ BSET_MAGIC);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(i->version), BCACHE_BSET_VERSION);
	KUNIT_ASSERT_EQ(test, le32_to_cpu(i->keys), 15);
	KUNIT_ASSERT_EQ(test, sizeof(struct bset) + 15 * sizeof(u64),
			sizeof(btree_vec_leaf));

	for (k = bset_start(i); k < end; k = bkey_next(k), n++) {
		KUNIT_ASSERT_LT(test, n, ARRAY_SIZE(captured_extents));
		expect_captured_extent(test, k, &captured_extents[n]);
		/* A written bset is sorted and, for extents, overlap free. */
		KUNIT_EXPECT_GE(test, KEY_START(k), prev_end);
		prev_end = KEY_OFFSET(k);
	}
	KUNIT_EXPECT_PTR_EQ(test, k, end);
	KUNIT_EXPECT_EQ(test, n, ARRAY_SIZE(captured_extents));
}

/*
 * The root pointer from the journal is a valid btree pointer, and the
 * node's checksum is the one seeded by it -- not the plain one of
 * version 0 bsets -- and catches a single flipped bit.
 */
static void vectors_leaf_checksum(struct kunit *test)
{
	struct bset *i = load_leaf(test);
	struct bkey *root = load_root_key(test);
	u8 *keys = (u8 *)bset_start(i);

	KUNIT_EXPECT_EQ(test, KEY_INODE(root), MAX_KEY_INODE);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(root), MAX_KEY_OFFSET);
	KUNIT_EXPECT_EQ(test, KEY_PTRS(root), 1);
	KUNIT_EXPECT_EQ(test, PTR_DEV(root, 0), 0);
	KUNIT_EXPECT_EQ(test, PTR_OFFSET(root, 0), 165888);
	KUNIT_EXPECT_EQ(test, PTR_GEN(root, 0), 1);
	KUNIT_EXPECT_FALSE(test,
			   __bch_btree_ptr_invalid(&captured_geometry, root));

	KUNIT_EXPECT_EQ(test, le64_to_cpu(i->csum), node_bset_csum(root, i));
	KUNIT_EXPECT_NE(test, le64_to_cpu(i->csum),
			bch_csum_range(i, bset_bkey_last(i)));

	keys[3] ^= 0x10;
	KUNIT_EXPECT_NE(test, le64_to_cpu(i->csum), node_bset_csum(root, i));
}

static struct kunit_case vectors_cases[] = {
	KUNIT_CASE(vectors_leaf_keys),
	KUNIT_CASE(vectors_leaf_checksum),
	{}
};

static struct kunit_suite vectors_suite = {
	.name = "bcache_vectors",
	.test_cases = vectors_cases,
};

kunit_test_suites(&vectors_suite);

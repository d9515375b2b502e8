// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the pure decisions of btree.c: whether a node read from
 * disk is sound (bch_btree_node_verify()), when an insert no longer fits
 * and a node must split, where it is cut, and the order nodes are locked
 * in.
 *
 * The verifier is fed the leaf the kernel's own bcache wrote
 * (tests/btree_vectors.h; tests/vectors_test.c decodes its keys), laid
 * out in a node buffer of the size its key gives, as a read would leave
 * it. It must pass as is; each case below then damages one thing and
 * expects the errno, the reason and the block that bch_btree_node_read_done()
 * would report. The check of a node's open set before it is written
 * (bch_btree_node_verify_write()) must refuse the same sets for the same
 * reasons, bar the version and checksum the write has yet to set. No cache
 * set is built and nothing does I/O.
 */

#include <kunit/test.h>
#include <linux/crc64.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../../bcache.h"
#include "../../btree.h"
#include "../../btree_node.h"
#include "../../extents.h"
#include "btree_vectors.h"

/* make-bcache's default block size on the captured set: one sector. */
#define VEC_BLOCK_BYTES		512

/* The captured node, in a buffer as a read of the whole node fills it. */
struct vec_node {
	struct bch_node_geometry	geo;
	void				*buf;
	size_t				bytes;
};

static struct bset *vec_set_at(struct vec_node *n, unsigned int block)
{
	return n->buf + (size_t)block * n->geo.block_bytes;
}

static struct vec_node *vec_node_load(struct kunit *test)
{
	struct vec_node *n = kunit_kzalloc(test, sizeof(*n), GFP_KERNEL);
	struct bkey *root = kunit_kmalloc(test, sizeof(btree_vec_root_key),
					  GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, n);
	KUNIT_ASSERT_NOT_NULL(test, root);
	memcpy(root, btree_vec_root_key, sizeof(btree_vec_root_key));

	n->geo.magic = BTREE_VEC_SET_MAGIC ^ BSET_MAGIC;
	n->geo.csum_seed = le64_to_cpu(root->ptr[0]);
	n->geo.block_bytes = VEC_BLOCK_BYTES;
	n->geo.node_bytes = KEY_SIZE(root) << SECTOR_SHIFT;
	KUNIT_ASSERT_GE(test, n->geo.node_bytes, sizeof(btree_vec_leaf));

	n->bytes = n->geo.node_bytes;
	n->buf = kunit_kzalloc(test, n->bytes, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, n->buf);
	memcpy(n->buf, btree_vec_leaf, sizeof(btree_vec_leaf));
	return n;
}

/* Recompute the version 1 checksum of @i after a deliberate edit. */
static void vec_reseal(struct vec_node *n, struct bset *i)
{
	const u8 *from = (const u8 *)&i->magic;
	const u8 *to = (const u8 *)bset_bkey_last(i);

	i->csum = cpu_to_le64(~crc64_be(n->geo.csum_seed, from, to - from));
}

/*
 * Write a second set at @block as a later write of the node would: the
 * node's magic, @seq, and one key (a copy of the leaf's first).
 */
static struct bset *vec_append(struct vec_node *n, unsigned int block,
			       __le64 seq)
{
	struct bset *first = vec_set_at(n, 0), *i = vec_set_at(n, block);
	const struct bkey *k = bset_start(first);

	memset(i, 0, n->geo.block_bytes);
	i->magic = first->magic;
	i->seq = seq;
	i->version = first->version;
	memcpy(bset_start(i), k, bkey_bytes(k));
	bset_set_u64s(i, bkey_u64s(k));
	vec_reseal(n, i);
	return i;
}

/* ---- The captured node as it is ---- */

static void verify_captured_node(struct kunit *test)
{
	struct vec_node *n = vec_node_load(test);
	struct bch_node_verdict v;

	KUNIT_EXPECT_EQ(test, bch_btree_node_verify(&n->geo, n->buf, n->bytes,
						    &v), 0);
	KUNIT_EXPECT_NULL(test, v.reason);
	/* 32 header bytes and 15 words: one 512-byte block. */
	KUNIT_EXPECT_EQ(test, v.written, 1);
}

/* The verifier reads only; the caller sorts the very bytes it checked. */
static void verify_leaves_node_alone(struct kunit *test)
{
	struct vec_node *n = vec_node_load(test);
	struct bch_node_verdict v;

	bch_btree_node_verify(&n->geo, n->buf, n->bytes, &v);
	KUNIT_EXPECT_MEMEQ(test, n->buf, btree_vec_leaf,
			   sizeof(btree_vec_leaf));
}

/* A node a later write appended to: the log spans both sets. */
static void verify_two_writes(struct kunit *test)
{
	struct vec_node *n = vec_node_load(test);
	struct bch_node_verdict v;

	vec_append(n, 1, vec_set_at(n, 0)->seq);
	KUNIT_EXPECT_EQ(test, bch_btree_node_verify(&n->geo, n->buf, n->bytes,
						    &v), 0);
	KUNIT_EXPECT_EQ(test, v.written, 2);
}

/*
 * A stale set of the bucket's previous node (another seq) right after
 * the log is where the log ends, not a fault.
 */
static void verify_stale_set_ends_log(struct kunit *test)
{
	struct vec_node *n = vec_node_load(test);
	struct bch_node_verdict v;

	vec_append(n, 1, cpu_to_le64(0x1234));
	KUNIT_EXPECT_EQ(test, bch_btree_node_verify(&n->geo, n->buf, n->bytes,
						    &v), 0);
	KUNIT_EXPECT_EQ(test, v.written, 1);
}

/* Version 0 sets (old bcache) carry the plain, unseeded checksum. */
static void verify_version_zero(struct kunit *test)
{
	struct vec_node *n = vec_node_load(test);
	struct bset *i = vec_set_at(n, 0);
	struct bch_node_verdict v;

	i->version = 0;
	i->csum = cpu_to_le64(bch_csum_range(i, bset_bkey_last(i)));
	KUNIT_EXPECT_EQ(test, bch_btree_node_verify(&n->geo, n->buf, n->bytes,
						    &v), 0);
	KUNIT_EXPECT_EQ(test, v.written, 1);
}

/* A set may run up to the very end of the node, not a word further. */
static void verify_set_at_node_end(struct kunit *test)
{
	struct vec_node *n = vec_node_load(test);
	struct bset *i = vec_set_at(n, 0);
	unsigned int most = (n->geo.node_bytes - sizeof(*i)) / sizeof(u64);
	struct bch_node_verdict v;

	/*
	 * The words past the captured keys are zero: empty keys of two
	 * words. A key with a pointer, three, evens out an odd remainder.
	 */
	if ((most - bset_u64s(i)) % 2)
		SET_KEY_PTRS(bset_bkey_last(i), 1);
	bset_set_u64s(i, most);
	vec_reseal(n, i);
	KUNIT_EXPECT_EQ(test, bch_btree_node_verify(&n->geo, n->buf, n->bytes,
						    &v), 0);
	KUNIT_EXPECT_EQ(test, v.written, n->geo.node_bytes / VEC_BLOCK_BYTES);

	/* Not resealed: the checksum would read past the node buffer. */
	bset_set_u64s(i, most + 1);
	KUNIT_EXPECT_EQ(test, bch_btree_node_verify(&n->geo, n->buf, n->bytes,
						    &v), -EIO);
	KUNIT_EXPECT_STREQ(test, v.reason, "bad btree header");
}

/* ---- One fault at a time ---- */

struct node_fault {
	const char	*name;
	void		(*damage)(struct vec_node *n);
	int		err;
	const char	*reason;
	unsigned int	bad_block;
};

static void damage_magic(struct vec_node *n)
{
	vec_set_at(n, 0)->magic ^= cpu_to_le64(1);
}

/* Another cache set's node: its magic, sealed with its own checksum. */
static void damage_foreign_set(struct vec_node *n)
{
	struct bset *i = vec_set_at(n, 0);

	i->magic = cpu_to_le64(BSET_MAGIC ^ 0x0123456789abcdefULL);
	vec_reseal(n, i);
}

static void damage_key_byte(struct vec_node *n)
{
	((u8 *)bset_start(vec_set_at(n, 0)))[20] ^= 0x40;
}

static void damage_csum(struct vec_node *n)
{
	vec_set_at(n, 0)->csum ^= cpu_to_le64(1ULL << 63);
}

/* Read from the wrong place: the pointer seeding the checksum differs. */
static void damage_seed(struct vec_node *n)
{
	n->geo.csum_seed ^= 1ULL << 20;
}

static void damage_version(struct vec_node *n)
{
	vec_set_at(n, 0)->version = cpu_to_le32(BCACHE_BSET_VERSION + 1);
}

/* Claimed version 0, but sealed as version 1. */
static void damage_version_zero(struct vec_node *n)
{
	vec_set_at(n, 0)->version = 0;
}

/*
 * Left with its old checksum: the size must be refused before anything
 * past the header is read, the checksum included.
 */
static void damage_keys_past_node(struct vec_node *n)
{
	bset_set_u64s(vec_set_at(n, 0), U32_MAX);
}

/* The last key claims more pointers than the set has words for. */
static void damage_key_overruns_set(struct vec_node *n)
{
	struct bset *i = vec_set_at(n, 0);
	struct bkey *k = bset_start(i), *last = k;

	for (; k < bset_bkey_last(i); k = bkey_next(k))
		last = k;
	SET_KEY_PTRS(last, KEY_PTRS(last) + 1);
	vec_reseal(n, i);
}

static void damage_second_set_csum(struct vec_node *n)
{
	struct bset *i = vec_append(n, 1, vec_set_at(n, 0)->seq);

	i->csum ^= cpu_to_le64(1);
}

/*
 * The first set spans all but the last block, the second one two blocks.
 * (The first ends a word short of its last block, so that the zero words
 * past the captured keys come out as whole empty keys.)
 */
static void damage_second_set_past_node(struct vec_node *n)
{
	unsigned int last = n->geo.node_bytes / n->geo.block_bytes - 1;
	struct bset *i = vec_set_at(n, 0);

	bset_set_u64s(i, (last * n->geo.block_bytes - sizeof(*i)) /
		      sizeof(u64) - 1);
	vec_reseal(n, i);
	/* Not resealed, as it would have to read past the node. */
	i = vec_append(n, last, vec_set_at(n, 0)->seq);
	bset_set_u64s(i, n->geo.block_bytes / sizeof(u64));
}

/* Only a node's first write may be empty. */
static void damage_second_set_empty(struct vec_node *n)
{
	struct bset *i = vec_append(n, 1, vec_set_at(n, 0)->seq);

	bset_set_u64s(i, 0);
	vec_reseal(n, i);
}

/* A lost write: a set of this node past one that is not. */
static void damage_hole_in_log(struct vec_node *n)
{
	vec_append(n, 1, cpu_to_le64(0x1234));
	vec_append(n, 2, vec_set_at(n, 0)->seq);
}

/* Seq 0 is never a written node's: a bucket of zeroes. */
static void damage_zeroed_node(struct vec_node *n)
{
	memset(n->buf, 0, n->bytes);
}

static void damage_zero_length(struct vec_node *n)
{
	n->geo.node_bytes = 0;
}

static void damage_truncated_buffer(struct vec_node *n)
{
	n->bytes = n->geo.node_bytes - n->geo.block_bytes;
}

static void damage_odd_node_size(struct vec_node *n)
{
	n->geo.node_bytes -= SECTOR_SIZE / 2;
}

static void damage_block_size(struct vec_node *n)
{
	n->geo.block_bytes = 3 * SECTOR_SIZE;
}

static const struct node_fault node_faults[] = {
	{ "bad magic", damage_magic, -EIO, "bad magic", 0 },
	{ "other cache set", damage_foreign_set, -EIO, "bad magic", 0 },
	{ "flipped key byte", damage_key_byte, -EIO, "bad checksum", 0 },
	{ "flipped csum bit", damage_csum, -EIO, "bad checksum", 0 },
	{ "wrong bucket", damage_seed, -EIO, "bad checksum", 0 },
	{ "version 2", damage_version, -EIO, "unsupported bset version", 0 },
	{ "version 0, v1 csum", damage_version_zero, -EIO, "bad checksum", 0 },
	{ "keys past node", damage_keys_past_node, -EIO, "bad btree header",
	  0 },
	{ "key past set", damage_key_overruns_set, -EIO, "bad key length", 0 },
	{ "2nd set csum", damage_second_set_csum, -EIO, "bad checksum", 1 },
	/* The captured node's key gives it 512 sectors: 512 blocks. */
	{ "2nd set past node", damage_second_set_past_node, -EIO,
	  "bad btree header", 511 },
	{ "2nd set empty", damage_second_set_empty, -EIO, "empty set", 1 },
	{ "seq after a hole", damage_hole_in_log, -EIO, "corrupted btree", 2 },
	{ "zeroed node", damage_zeroed_node, -EIO, "bad btree header", 0 },
	{ "zero-length node", damage_zero_length, -EINVAL,
	  "bad btree key size", 0 },
	{ "partial block node", damage_odd_node_size, -EINVAL,
	  "bad btree key size", 0 },
	{ "truncated buffer", damage_truncated_buffer, -EINVAL,
	  "node buffer too short", 0 },
	{ "block size 3 sectors", damage_block_size, -EINVAL,
	  "bad block size", 0 },
};

static void node_fault_desc(const struct node_fault *f, char *desc)
{
	strscpy(desc, f->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(node_fault, node_faults, node_fault_desc);

static void verify_fault(struct kunit *test)
{
	const struct node_fault *f = test->param_value;
	struct vec_node *n = vec_node_load(test);
	struct bch_node_verdict v;
	int err;

	f->damage(n);
	err = bch_btree_node_verify(&n->geo, n->buf, n->bytes, &v);
	KUNIT_EXPECT_EQ(test, err, f->err);
	KUNIT_ASSERT_NOT_NULL(test, v.reason);
	KUNIT_EXPECT_STREQ(test, v.reason, f->reason);
	KUNIT_EXPECT_EQ(test, v.bad_block, f->bad_block);
}

/* ---- The open set, before it is written ---- */

/*
 * Each row makes a node's open set and says where in the node it starts;
 * the write check must give the reason the read would give for that set,
 * or accept it (why NULL).
 */
struct write_case {
	const char	*desc;
	struct bset	*(*prepare)(struct vec_node *n, unsigned int *block);
	const char	*why;
};

static struct bset *write_first(struct vec_node *n, unsigned int *block)
{
	*block = 0;
	return vec_set_at(n, 0);
}

static struct bset *write_second(struct vec_node *n, unsigned int *block)
{
	*block = 1;
	return vec_append(n, 1, vec_set_at(n, 0)->seq);
}

static unsigned int last_block(struct vec_node *n)
{
	return n->geo.node_bytes / n->geo.block_bytes - 1;
}

/* Zero words past the copied key tile as empty keys, as at the node's end. */
static struct bset *write_fills_node(struct vec_node *n, unsigned int *block)
{
	struct bset *i = vec_append(n, last_block(n), vec_set_at(n, 0)->seq);
	unsigned int most = (n->geo.block_bytes - sizeof(*i)) / sizeof(u64);

	*block = last_block(n);
	if ((most - bset_u64s(i)) % 2)
		SET_KEY_PTRS(bset_bkey_last(i), 1);
	bset_set_u64s(i, most);
	return i;
}

/* Nothing of it is sealed yet: any version, any csum. */
static struct bset *write_unsealed(struct vec_node *n, unsigned int *block)
{
	struct bset *i = write_second(n, block);

	i->version = cpu_to_le32(U32_MAX);
	i->csum = cpu_to_le64(0xdeadbeefdeadbeefULL);
	return i;
}

static struct bset *write_unsealed_first(struct vec_node *n,
					 unsigned int *block)
{
	struct bset *i = write_first(n, block);

	i->version = cpu_to_le32(BCACHE_BSET_VERSION + 1);
	i->csum = 0;
	return i;
}

/* A fresh node's first write: nothing in it yet. */
static struct bset *write_empty_first(struct vec_node *n, unsigned int *block)
{
	struct bset *i = write_first(n, block);

	bset_set_u64s(i, 0);
	return i;
}

static struct bset *write_bad_magic(struct vec_node *n, unsigned int *block)
{
	struct bset *i = write_second(n, block);

	i->magic ^= cpu_to_le64(1);
	return i;
}

static struct bset *write_bad_magic_first(struct vec_node *n,
					  unsigned int *block)
{
	struct bset *i = write_first(n, block);

	i->magic = cpu_to_le64(BSET_MAGIC ^ 0x0123456789abcdefULL);
	return i;
}

static struct bset *write_empty_second(struct vec_node *n,
				       unsigned int *block)
{
	struct bset *i = write_second(n, block);

	bset_set_u64s(i, 0);
	return i;
}

/* A word more than the last block holds; the keys are never read. */
static struct bset *write_past_node(struct vec_node *n, unsigned int *block)
{
	struct bset *i = write_fills_node(n, block);

	bset_set_u64s(i, bset_u64s(i) + 1);
	return i;
}

/* What the whole node would hold from block 0, but it starts at block 1. */
static struct bset *write_past_node_late(struct vec_node *n,
					 unsigned int *block)
{
	struct bset *i = write_second(n, block);

	bset_set_u64s(i, (n->geo.node_bytes - sizeof(*i)) / sizeof(u64));
	return i;
}

static struct bset *write_u64s_max(struct vec_node *n, unsigned int *block)
{
	struct bset *i = write_second(n, block);

	bset_set_u64s(i, U32_MAX);
	return i;
}

static void key_overruns(struct bset *i)
{
	struct bkey *k = bset_start(i), *last = k;

	for (; k < bset_bkey_last(i); k = bkey_next(k))
		last = k;
	SET_KEY_PTRS(last, KEY_PTRS(last) + 1);
}

static struct bset *write_key_overruns(struct vec_node *n,
				       unsigned int *block)
{
	struct bset *i = write_second(n, block);

	key_overruns(i);
	return i;
}

static struct bset *write_key_overruns_first(struct vec_node *n,
					     unsigned int *block)
{
	struct bset *i = write_first(n, block);

	key_overruns(i);
	return i;
}

static const struct write_case write_cases[] = {
	{ "first set", write_first, NULL },
	{ "second set", write_second, NULL },
	{ "set filling the node", write_fills_node, NULL },
	{ "unsealed second set", write_unsealed, NULL },
	{ "unsealed first set", write_unsealed_first, NULL },
	{ "empty first set", write_empty_first, NULL },
	{ "bad magic", write_bad_magic, "bad magic" },
	{ "other cache set's magic", write_bad_magic_first, "bad magic" },
	{ "empty second set", write_empty_second, "empty set" },
	{ "a word past the node", write_past_node, "bad btree header" },
	{ "node's words from block 1", write_past_node_late,
	  "bad btree header" },
	{ "u64s U32_MAX", write_u64s_max, "bad btree header" },
	{ "key past set", write_key_overruns, "bad key length" },
	{ "key past first set", write_key_overruns_first, "bad key length" },
};

KUNIT_ARRAY_PARAM_DESC(write, write_cases, desc);

static void verify_write_set(struct kunit *test)
{
	const struct write_case *c = test->param_value;
	struct vec_node *n = vec_node_load(test);
	const char *why = "unset";
	unsigned int block;
	struct bset *i = c->prepare(n, &block);

	KUNIT_EXPECT_EQ(test, bch_btree_node_verify_write(&n->geo, i, block,
							  &why),
			c->why ? -EIO : 0);
	if (c->why) {
		KUNIT_ASSERT_NOT_NULL(test, why);
		KUNIT_EXPECT_STREQ(test, why, c->why);
	} else {
		KUNIT_EXPECT_NULL(test, why);
	}
}

/*
 * The version and csum the write check lets through are what a read
 * refuses: the write sets them after the check, so they are not the
 * check's to judge.
 */
static void verify_write_before_seal(struct kunit *test)
{
	struct vec_node *n = vec_node_load(test);
	struct bset *i = vec_append(n, 1, vec_set_at(n, 0)->seq);
	struct bch_node_verdict v;
	const char *why;

	i->version = cpu_to_le32(BCACHE_BSET_VERSION + 1);
	KUNIT_EXPECT_EQ(test, bch_btree_node_verify_write(&n->geo, i, 1, &why),
			0);
	KUNIT_EXPECT_EQ(test, bch_btree_node_verify(&n->geo, n->buf, n->bytes,
						    &v), -EIO);
	KUNIT_EXPECT_STREQ(test, v.reason, "unsupported bset version");
	KUNIT_EXPECT_EQ(test, v.bad_block, 1);

	i->version = vec_set_at(n, 0)->version;
	i->csum ^= cpu_to_le64(1);
	KUNIT_EXPECT_EQ(test, bch_btree_node_verify_write(&n->geo, i, 1, &why),
			0);
	KUNIT_EXPECT_EQ(test, bch_btree_node_verify(&n->geo, n->buf, n->bytes,
						    &v), -EIO);
	KUNIT_EXPECT_STREQ(test, v.reason, "bad checksum");

	/* Sealed, the node reads back whole. */
	vec_reseal(n, i);
	KUNIT_EXPECT_EQ(test, bch_btree_node_verify(&n->geo, n->buf, n->bytes,
						    &v), 0);
	KUNIT_EXPECT_EQ(test, v.written, 2);
}

/* ---- Splitting ---- */

/*
 * A set of keys with the given numbers of pointers (a key is two words
 * plus one per pointer), as a node being split holds them: one set.
 */
static struct bset *keys_set(struct kunit *test, const u8 *ptrs,
			     unsigned int nr)
{
	struct bset *i = kunit_kzalloc(test, sizeof(*i) +
				       nr * BKEY_PAD * sizeof(u64),
				       GFP_KERNEL);
	unsigned int n;

	KUNIT_ASSERT_NOT_NULL(test, i);
	for (n = 0; n < nr; n++) {
		struct bkey *k = bset_bkey_last(i);

		*k = KEY(1, 8 * (n + 1), 8);
		SET_KEY_PTRS(k, ptrs[n]);
		bset_set_u64s(i, bset_u64s(i) + bkey_u64s(k));
	}
	return i;
}

struct split_case {
	const char	*name;
	u8		ptrs[16];
	unsigned int	nr;
	unsigned int	pivot;		/* word offset of the left's last key */
	unsigned int	left_keys;
};

static const struct split_case split_cases[] = {
	/* 30 words: 3/5 is 18, exactly a key boundary, which stays left. */
	{ "ten extents", { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, 10, 18, 7 },
	/* 10 words, mark 6. */
	{ "five bare keys", { 0, 0, 0, 0, 0 }, 5, 6, 4 },
	/* 28 words, mark 16, boundaries 0 3 7 10 14 17. */
	{ "mixed sizes", { 1, 2, 1, 2, 1, 2, 1, 2 }, 8, 17, 6 },
	/* 39 words, mark 23: the key across it ends at 24, the pivot. */
	{ "big keys", { 6, 6, 6, 1, 1, 1, 1, 1 }, 8, 24, 4 },
	/* One-block nodes: the pivot stays on a key, the right is empty. */
	{ "one key", { 1 }, 1, 0, 1 },
	{ "two keys", { 1, 1 }, 2, 3, 2 },
	/* 11 words, mark 6: the last key (from 3) is the furthest. */
	{ "one big key last", { 1, 6 }, 2, 3, 2 },
};

static void split_case_desc(const struct split_case *s, char *desc)
{
	strscpy(desc, s->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(split, split_cases, split_case_desc);

static void split_pivot_cases(struct kunit *test)
{
	const struct split_case *s = test->param_value;
	struct bset *i = keys_set(test, s->ptrs, s->nr);
	unsigned int pivot = bch_btree_split_pivot(i);
	const struct bkey *k = bset_start(i);
	unsigned int left = 0;

	KUNIT_EXPECT_EQ(test, pivot, s->pivot);

	/* The pivot is a key boundary, and the keys up to it go left. */
	while ((const u64 *)k < (const u64 *)bset_start(i) + pivot) {
		k = bkey_next(k);
		left++;
	}
	KUNIT_EXPECT_PTR_EQ(test, (const u64 *)k,
			    (const u64 *)bset_start(i) + pivot);
	KUNIT_EXPECT_EQ(test, left + 1, s->left_keys);
}

/*
 * Whatever the keys, the pivot is the first key boundary at or past 3/5
 * of the words, and a real key: the right node never comes out empty.
 */
static void split_pivot_bounds(struct kunit *test)
{
	u8 ptrs[64];
	unsigned int n, nr;

	/* From eight keys on, no single key holds 2/5 of the words. */
	for (nr = 8; nr <= ARRAY_SIZE(ptrs); nr++) {
		unsigned int pivot, mark, at = 0, before = 0;
		struct bset *i;

		for (n = 0; n < nr; n++)
			ptrs[n] = (n * 7 + nr) % 4;
		i = keys_set(test, ptrs, nr);
		mark = bset_u64s(i) * 3 / 5;
		pivot = bch_btree_split_pivot(i);

		while (at < pivot) {
			before = at;
			at += bkey_u64s(bset_bkey_idx(i, at));
		}
		KUNIT_EXPECT_EQ(test, at, pivot);
		KUNIT_EXPECT_GE(test, pivot, mark);
		if (pivot)
			KUNIT_EXPECT_LT(test, before, mark);
		KUNIT_EXPECT_LT(test,
				pivot + bkey_u64s(bset_bkey_idx(i, pivot)),
				bset_u64s(i));
	}
}

/*
 * A node rewritten with the new keys is split only if that one compacted
 * set would still fill more than 4/5 of it.
 */
static void split_needs_two_threshold(struct kunit *test)
{
	struct bset *i = kunit_kzalloc(test, sizeof(*i), GFP_KERNEL);
	const unsigned int bb = 512, blocks = 10;
	/* Words that make the set exactly 8 blocks (4/5 of 10). */
	unsigned int eight = (8 * bb - sizeof(*i)) / sizeof(u64);

	KUNIT_ASSERT_NOT_NULL(test, i);

	bset_set_u64s(i, 0);
	KUNIT_EXPECT_FALSE(test, bch_btree_split_needs_two(i, bb, blocks));
	bset_set_u64s(i, eight);
	KUNIT_EXPECT_FALSE(test, bch_btree_split_needs_two(i, bb, blocks));
	bset_set_u64s(i, eight + 1);
	KUNIT_EXPECT_TRUE(test, bch_btree_split_needs_two(i, bb, blocks));

	/*
	 * A node of one block (block size equal to bucket size): any set
	 * rounds up to all of it, so the words decide, or every insert
	 * would split it down to empty nodes.
	 */
	bset_set_u64s(i, 0);
	KUNIT_EXPECT_FALSE(test, bch_btree_split_needs_two(i, 4096, 1));
	bset_set_u64s(i, (4096 * 4 / 5 - sizeof(*i)) / sizeof(u64));
	KUNIT_EXPECT_FALSE(test, bch_btree_split_needs_two(i, 4096, 1));
	bset_set_u64s(i, bset_u64s(i) + 1);
	KUNIT_EXPECT_TRUE(test, bch_btree_split_needs_two(i, 4096, 1));

	/* The captured node's size: 512 blocks, 409 of them may be used. */
	bset_set_u64s(i, (409 * bb - sizeof(*i)) / sizeof(u64));
	KUNIT_EXPECT_FALSE(test, bch_btree_split_needs_two(i, bb, 512));
	bset_set_u64s(i, bset_u64s(i) + 1);
	KUNIT_EXPECT_TRUE(test, bch_btree_split_needs_two(i, bb, 512));
}

/* ---- When an insert no longer fits ---- */

static void keys_free_action(void *p)
{
	bch_btree_keys_free(p);
}

static struct btree_keys *open_node(struct kunit *test,
				    const struct btree_keys_ops *ops)
{
	struct btree_keys *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_EQ(test, bch_btree_keys_alloc(b, 0, GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, keys_free_action,
							b), 0);
	bch_btree_keys_init(b, ops, NULL);
	bch_bset_init_next(b, b->set[0].data, BSET_MAGIC);
	return b;
}

/*
 * A leaf keeps room for one more extent (an overlapping insert may cut
 * one in two); an interior node can use every word.
 */
static void insert_room_reserve(struct kunit *test)
{
	struct btree_keys *leaf = open_node(test, &bch_extent_keys_ops);
	struct btree_keys *inner = open_node(test, &bch_btree_keys_ops);
	size_t words = bch_btree_keys_u64s_remaining(leaf);

	KUNIT_EXPECT_EQ(test, words,
			(btree_keys_bytes(leaf) - sizeof(struct bset)) /
			sizeof(u64));
	KUNIT_EXPECT_EQ(test, bch_btree_insert_room(leaf),
			words - KEY_MAX_U64S);
	KUNIT_EXPECT_EQ(test, bch_btree_insert_room(inner),
			bch_btree_keys_u64s_remaining(inner));
}

/* Within KEY_MAX_U64S of the end a leaf is full; a split must follow. */
static void insert_room_full(struct kunit *test)
{
	struct btree_keys *leaf = open_node(test, &bch_extent_keys_ops);
	struct btree_keys *inner = open_node(test, &bch_btree_keys_ops);
	size_t words = bch_btree_keys_u64s_remaining(leaf);
	unsigned int used;

	for (used = words - KEY_MAX_U64S - 1; used <= words; used++) {
		size_t left = words - used;

		bset_set_u64s(leaf->set[0].data, used);
		bset_set_u64s(inner->set[0].data, used);
		KUNIT_EXPECT_EQ(test, bch_btree_insert_room(leaf),
				left > KEY_MAX_U64S ? left - KEY_MAX_U64S : 0);
		KUNIT_EXPECT_EQ(test, bch_btree_insert_room(inner), left);
	}
}

/* ---- Insert and split, in memory ---- */

#define SPLIT_SECTORS		4096
#define SPLIT_VERSION_SHIFT	16

static void sort_state_free_action(void *p)
{
	bch_bset_sort_state_free(p);
}

/* Where sector @s of version @v is said to live: both can be read back. */
static u64 split_loc(u32 v, u64 s)
{
	return ((u64)v << SPLIT_VERSION_SHIFT) + s;
}

/*
 * Check the keys of one plain sorted set against the model: @seen[s]
 * counts the keys that hold sector s, which must carry its newest
 * version. Returns the end of the last key, or @from if the set is empty.
 */
static u64 split_check_set(struct kunit *test, struct bset *i, u64 from,
			   const u32 *model, u8 *seen)
{
	struct bkey *k;
	u64 s;

	for (k = bset_start(i); k < bset_bkey_last(i); k = bkey_next(k)) {
		KUNIT_ASSERT_GE(test, KEY_START(k), from);
		from = KEY_OFFSET(k);
		for (s = KEY_START(k); s < KEY_OFFSET(k); s++) {
			u64 loc = PTR_OFFSET(k, 0) + s - KEY_START(k);

			KUNIT_ASSERT_LT(test, s, (u64)SPLIT_SECTORS);
			KUNIT_EXPECT_EQ(test, loc >> SPLIT_VERSION_SHIFT,
					(u64)model[s]);
			seen[s]++;
		}
	}
	return from;
}

/*
 * A leaf in memory takes overlapping extents until bch_btree_insert_room()
 * turns the next one away, is compacted into one set as a split's
 * replacement node is, and, being still more than 4/5 full, is cut in
 * two. The halves together hold every sector at its newest version
 * exactly once, the left one ends at the key that becomes its node's
 * key, and the right one starts past it.
 */
static void insert_then_split(struct kunit *test)
{
	struct btree_keys *leaf = open_node(test, &bch_extent_keys_ops);
	size_t node_bytes = btree_keys_bytes(leaf);
	struct bset *right = kunit_kzalloc(test, node_bytes, GFP_KERNEL);
	u32 *model = kunit_kcalloc(test, SPLIT_SECTORS, sizeof(u32),
				   GFP_KERNEL);
	u8 *seen = kunit_kzalloc(test, SPLIT_SECTORS, GFP_KERNEL);
	struct bset_sort_state *sort = kunit_kzalloc(test, sizeof(*sort),
						     GFP_KERNEL);
	unsigned int words, v, nr = 0, s, blocks;
	struct bkey *left_end;
	struct bset *left;
	u32 rnd = 1;
	u64 end;

	KUNIT_ASSERT_NOT_NULL(test, right);
	KUNIT_ASSERT_NOT_NULL(test, model);
	KUNIT_ASSERT_NOT_NULL(test, seen);
	KUNIT_ASSERT_NOT_NULL(test, sort);
	KUNIT_ASSERT_EQ(test, bch_bset_sort_state_init(sort, 0), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							sort_state_free_action,
							sort), 0);

	for (v = 1; bch_btree_insert_room(leaf) >= 3; v++) {
		BKEY_PADDED(key) k;
		u32 size, start;

		rnd = rnd * 1103515245 + 12345;
		size = 1 + (rnd >> 16) % 4;
		start = (rnd >> 8) % (SPLIT_SECTORS - size);

		k.key = KEY(1, start + size, size);
		SET_KEY_PTRS(&k.key, 1);
		k.key.ptr[0] = MAKE_PTR(0, split_loc(v, start), 0);
		KUNIT_ASSERT_NE(test, bch_btree_insert_key(leaf, &k.key, NULL),
				(unsigned int)BTREE_INSERT_STATUS_NO_INSERT);
		for (s = start; s < start + size; s++)
			model[s] = v;
		nr++;
	}
	/* The node really filled up, past the words one key needs. */
	KUNIT_EXPECT_GT(test, nr, 100U);

	bch_btree_sort(leaf, sort);
	left = leaf->set[0].data;
	words = bset_u64s(left);
	blocks = node_bytes / 512;
	KUNIT_ASSERT_TRUE(test, bch_btree_split_needs_two(left, 512, blocks));

	left_end = bch_btree_split_bset(left, right);
	KUNIT_EXPECT_PTR_EQ(test, (u64 *)bkey_next(left_end),
			    (u64 *)bset_bkey_last(left));
	KUNIT_EXPECT_EQ(test, bset_u64s(left) + bset_u64s(right), words);
	KUNIT_EXPECT_GE(test, bset_u64s(left), words * 3 / 5);
	KUNIT_EXPECT_GT(test, bset_u64s(right), 0U);

	end = split_check_set(test, left, 0, model, seen);
	KUNIT_EXPECT_EQ(test, end, KEY_OFFSET(left_end));
	KUNIT_EXPECT_GE(test, KEY_START(bset_start(right)), KEY_OFFSET(left_end));
	split_check_set(test, right, end, model, seen);

	for (s = 0; s < SPLIT_SECTORS; s++)
		KUNIT_EXPECT_EQ_MSG(test, seen[s], model[s] ? 1 : 0,
				    "sector %u", s);
}

/* ---- Lock order ---- */

static struct btree *bare_node(struct kunit *test, u8 level, u64 end)
{
	struct btree *b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, b);
	b->level = level;
	b->key = KEY(1, end, 0);
	return b;
}

static void lock_order_levels_then_keys(struct kunit *test)
{
	struct btree *root = bare_node(test, 2, 100);
	struct btree *left = bare_node(test, 1, 50);
	struct btree *right = bare_node(test, 1, 100);
	struct btree *leaf = bare_node(test, 0, 10);

	/* Higher levels first, whatever the keys. */
	KUNIT_EXPECT_LT(test, btree_node_lock_cmp(root, left), 0);
	KUNIT_EXPECT_GT(test, btree_node_lock_cmp(leaf, right), 0);
	KUNIT_EXPECT_LT(test, btree_node_lock_cmp(right, leaf), 0);
	/* Siblings left to right. */
	KUNIT_EXPECT_LT(test, btree_node_lock_cmp(left, right), 0);
	KUNIT_EXPECT_GT(test, btree_node_lock_cmp(right, left), 0);
	/* A node and itself are not ordered. */
	KUNIT_EXPECT_EQ(test, btree_node_lock_cmp(left, left), 0);
}

/* Keys compare by inode before offset. */
static void lock_order_inodes(struct kunit *test)
{
	struct btree *a = bare_node(test, 0, 1000);
	struct btree *b = bare_node(test, 0, 8);

	b->key = KEY(2, 8, 0);
	KUNIT_EXPECT_LT(test, btree_node_lock_cmp(a, b), 0);
	KUNIT_EXPECT_GT(test, btree_node_lock_cmp(b, a), 0);
}

static struct kunit_case bcache_btree_cases[] = {
	KUNIT_CASE(verify_captured_node),
	KUNIT_CASE(verify_leaves_node_alone),
	KUNIT_CASE(verify_two_writes),
	KUNIT_CASE(verify_stale_set_ends_log),
	KUNIT_CASE(verify_version_zero),
	KUNIT_CASE(verify_set_at_node_end),
	KUNIT_CASE_PARAM(verify_fault, node_fault_gen_params),
	KUNIT_CASE_PARAM(verify_write_set, write_gen_params),
	KUNIT_CASE(verify_write_before_seal),
	KUNIT_CASE_PARAM(split_pivot_cases, split_gen_params),
	KUNIT_CASE(split_pivot_bounds),
	KUNIT_CASE(split_needs_two_threshold),
	KUNIT_CASE(insert_room_reserve),
	KUNIT_CASE(insert_room_full),
	KUNIT_CASE(insert_then_split),
	KUNIT_CASE(lock_order_levels_then_keys),
	KUNIT_CASE(lock_order_inodes),
	{}
};

static struct kunit_suite bcache_btree_suite = {
	.name = "bcache_btree",
	.test_cases = bcache_btree_cases,
};

kunit_test_suites(&bcache_btree_suite);

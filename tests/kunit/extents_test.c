// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of extents.c: what inserting an extent does to the extents
 * it overlaps (each overlap case, over written and unwritten keys),
 * compare-and-replace inserts, overlap resolution while sorting, trimming
 * and merging keys, the key text format, and pointer validity through the
 * pointer checker.
 *
 * Expected node contents are listed key by key in iteration order,
 * zero-sized leftovers included: they are what gets written to disk.
 * Extents point at sector (version << 20) + s for each sector s, so a
 * trimmed key shows where its pointer moved.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "../../bset.h"
#include "../../extents.h"

#define TEST_MAGIC		0x1234abcd5678ef90ULL
#define TEST_BLOCK_BYTES	512
#define VERSION_SHIFT		20
#define TEST_INODE		1

/* A key slot with room for the most pointers, as a declarable type. */
struct pkey {
	BKEY_PADDED(key);
};

struct enode {
	struct btree_keys	b;
	struct bset_sort_state	sort;
};

static void keys_free_action(void *p)
{
	bch_btree_keys_free(p);
}

static void sort_state_free_action(void *p)
{
	bch_bset_sort_state_free(p);
}

static struct enode *enode_new(struct kunit *test,
			       const struct btree_keys_ops *ops,
			       struct bch_ptr_checker *pc)
{
	struct enode *n = kunit_kzalloc(test, sizeof(*n), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, n);
	KUNIT_ASSERT_EQ(test, bch_btree_keys_alloc(&n->b, 0, GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, keys_free_action,
							&n->b), 0);
	KUNIT_ASSERT_EQ(test, bch_bset_sort_state_init(&n->sort, 0), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							sort_state_free_action,
							&n->sort), 0);
	bch_btree_keys_init(&n->b, ops, NULL);
	bch_btree_keys_set_checker(&n->b, pc);
	bch_bset_init_next(&n->b, n->b.set->data, TEST_MAGIC);
	return n;
}

/* An empty iterator over up to MAX_BSETS sets, for pushing sets by hand. */
static struct btree_iter *new_iter(struct kunit *test, struct btree_keys *b)
{
	struct btree_iter *iter = kunit_kzalloc(test,
						bch_btree_iter_bytes(MAX_BSETS),
						GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, iter);
	bch_btree_iter_init(iter, b, MAX_BSETS);
	return iter;
}

/* Freeze the open set (as if written) and open the next one. */
static void enode_freeze(struct enode *n)
{
	struct bset *i = bset_tree_last(&n->b)->data;

	bch_bset_build_written_tree(&n->b);
	bch_bset_init_next(&n->b, (void *)i + roundup(set_bytes(i),
						      TEST_BLOCK_BYTES),
			   TEST_MAGIC);
}

static u64 version_loc(u32 version, u64 sector)
{
	return ((u64)version << VERSION_SHIFT) + sector;
}

static void mk_extent(struct bkey *k, u64 start, u64 end, u32 version)
{
	*k = KEY(TEST_INODE, end, end - start);
	if (version) {
		SET_KEY_PTRS(k, 1);
		k->ptr[0] = MAKE_PTR(0, version_loc(version, start), 0);
	}
}

/* A key as the tests describe it: [start, end) of a version (0: none). */
struct xkey {
	u32	start, end, version;
};

#define MAX_XKEYS	6

static void expect_keys(struct kunit *test, struct btree_keys *b,
			const struct xkey *want)
{
	struct btree_iter_stack iter;
	unsigned int i = 0;
	struct bkey *k;

	for_each_key(b, k, &iter) {
		u32 v = 0;

		if (i >= MAX_XKEYS || !want[i].end) {
			KUNIT_FAIL(test, "unexpected key %u: %llu..%llu", i,
				   KEY_START(k), KEY_OFFSET(k));
			return;
		}
		if (KEY_PTRS(k))
			v = PTR_OFFSET(k, 0) >> VERSION_SHIFT;
		KUNIT_EXPECT_EQ_MSG(test, KEY_START(k), (u64)want[i].start,
				    "key %u", i);
		KUNIT_EXPECT_EQ_MSG(test, KEY_OFFSET(k), (u64)want[i].end,
				    "key %u", i);
		KUNIT_EXPECT_EQ_MSG(test, v, want[i].version, "key %u", i);
		/* The pointer still addresses the key's first sector. */
		if (KEY_PTRS(k) && KEY_SIZE(k))
			KUNIT_EXPECT_EQ(test, PTR_OFFSET(k, 0),
					version_loc(v, KEY_START(k)));
		i++;
	}
	if (i < MAX_XKEYS)
		KUNIT_EXPECT_EQ_MSG(test, want[i].end, 0U,
				    "missing keys from %u", i);
}

/*
 * What a full sort must leave of @want: nonzero keys by start, adjacent
 * ones of the same version (contiguous pointers) merged.
 */
static void expect_sorted(struct kunit *test, struct btree_keys *b,
			  const struct xkey *want)
{
	struct xkey live[MAX_XKEYS] = {};
	unsigned int i, j, nr = 0;

	for (i = 0; i < MAX_XKEYS && want[i].end; i++) {
		struct xkey x = want[i];

		if (x.start == x.end)
			continue;
		for (j = nr; j && live[j - 1].start > x.start; j--)
			live[j] = live[j - 1];
		live[j] = x;
		nr++;
	}
	for (i = 1; i < nr;) {
		if (live[i - 1].end == live[i].start &&
		    live[i - 1].version == live[i].version) {
			live[i - 1].end = live[i].end;
			memmove(&live[i], &live[i + 1],
				(nr - i - 1) * sizeof(live[0]));
			live[--nr] = (struct xkey) {};
		} else {
			i++;
		}
	}
	expect_keys(test, b, live);
}

/* Overlap cases: an existing extent, then an insert over it. */

struct overlap_case {
	const char	*name;
	bool		written;	/* existing key already written */
	struct xkey	insert;
	unsigned int	status;
	struct xkey	want[MAX_XKEYS];
};

#define EXISTING	{ 100, 200, 1 }

static const struct overlap_case overlap_cases[] = {
	{ "front/written", true, { 50, 150, 2 }, BTREE_INSERT_STATUS_INSERT,
	  { { 50, 150, 2 }, { 150, 200, 1 } } },
	{ "front/open", false, { 50, 150, 2 }, BTREE_INSERT_STATUS_INSERT,
	  { { 50, 150, 2 }, { 150, 200, 1 } } },
	{ "back/written", true, { 150, 250, 2 }, BTREE_INSERT_STATUS_INSERT,
	  { { 100, 150, 1 }, { 150, 250, 2 } } },
	{ "back/open", false, { 150, 250, 2 }, BTREE_INSERT_STATUS_INSERT,
	  { { 100, 150, 1 }, { 150, 250, 2 } } },
	{ "middle/written", true, { 120, 160, 2 }, BTREE_INSERT_STATUS_INSERT,
	  { { 100, 120, 1 }, { 120, 160, 2 }, { 160, 200, 1 } } },
	{ "middle/open", false, { 120, 160, 2 }, BTREE_INSERT_STATUS_INSERT,
	  { { 100, 120, 1 }, { 120, 160, 2 }, { 160, 200, 1 } } },
	{ "middle-delete/written", true, { 120, 160, 0 },
	  BTREE_INSERT_STATUS_INSERT,
	  { { 100, 120, 1 }, { 120, 160, 0 }, { 160, 200, 1 } } },
	/* A written key covered whole is zeroed where it is ... */
	{ "whole/written", true, { 50, 250, 2 }, BTREE_INSERT_STATUS_INSERT,
	  { { 200, 200, 1 }, { 50, 250, 2 } } },
	/* ... an open one is cut back to the insert's start. */
	{ "whole/open", false, { 50, 250, 2 }, BTREE_INSERT_STATUS_INSERT,
	  { { 50, 50, 1 }, { 50, 250, 2 } } },
	/* Same end: the newer set's key comes first. */
	{ "exact/written", true, { 100, 200, 2 }, BTREE_INSERT_STATUS_INSERT,
	  { { 100, 200, 2 }, { 200, 200, 1 } } },
	{ "exact/open", false, { 100, 200, 2 }, BTREE_INSERT_STATUS_INSERT,
	  { { 100, 100, 1 }, { 100, 200, 2 } } },
	{ "disjoint", false, { 0, 50, 2 }, BTREE_INSERT_STATUS_INSERT,
	  { { 0, 50, 2 }, { 100, 200, 1 } } },
	/* Continuing version 1's pointers: merges into the open key. */
	{ "append/open", false, { 200, 210, 1 },
	  BTREE_INSERT_STATUS_BACK_MERGE, { { 100, 210, 1 } } },
	{ "prepend/open", false, { 90, 100, 1 },
	  BTREE_INSERT_STATUS_FRONT_MERGE, { { 90, 200, 1 } } },
	/* Only keys of the open set merge. */
	{ "append/written", true, { 200, 210, 1 },
	  BTREE_INSERT_STATUS_INSERT, { { 100, 200, 1 }, { 200, 210, 1 } } },
	/* Touching but not continuing the pointer: no merge. */
	{ "append-other/open", false, { 200, 210, 2 },
	  BTREE_INSERT_STATUS_INSERT, { { 100, 200, 1 }, { 200, 210, 2 } } },
};

static void overlap_case_desc(const struct overlap_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(overlap, overlap_cases, overlap_case_desc);

static void extents_test_overlap(struct kunit *test)
{
	const struct overlap_case *c = test->param_value;
	struct enode *n = enode_new(test, &bch_extent_keys_ops, NULL);
	const struct xkey existing = EXISTING;
	struct pkey k;

	mk_extent(&k.key, existing.start, existing.end, existing.version);
	KUNIT_ASSERT_EQ(test, bch_btree_insert_key(&n->b, &k.key, NULL),
			BTREE_INSERT_STATUS_INSERT);
	if (c->written)
		enode_freeze(n);

	mk_extent(&k.key, c->insert.start, c->insert.end, c->insert.version);
	KUNIT_EXPECT_EQ(test, bch_btree_insert_key(&n->b, &k.key, NULL),
			c->status);
	expect_keys(test, &n->b, c->want);

	/* Sorting drops the zero-sized leftovers and merges neighbours. */
	bch_btree_sort(&n->b, &n->sort);
	expect_sorted(test, &n->b, c->want);
}

/* One insert across several existing keys of both kinds of set. */
static void extents_test_overlap_many(struct kunit *test)
{
	static const struct xkey want[] = {
		{ 0, 10, 1 }, { 10, 95, 9 }, { 95, 100, 4 }, {}
	};
	struct enode *n = enode_new(test, &bch_extent_keys_ops, NULL);
	struct pkey k;

	mk_extent(&k.key, 0, 20, 1);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	mk_extent(&k.key, 30, 40, 2);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	enode_freeze(n);
	mk_extent(&k.key, 50, 60, 3);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	enode_freeze(n);
	mk_extent(&k.key, 70, 100, 4);
	bch_btree_insert_key(&n->b, &k.key, NULL);

	mk_extent(&k.key, 10, 95, 9);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	bch_btree_sort(&n->b, &n->sort);
	expect_keys(test, &n->b, want);
}

/* Compare-and-replace inserts (writeback and moving gc use these). */

struct replace_case {
	const char	*name;
	struct xkey	replace;
	struct xkey	insert;
	unsigned int	status;
	struct xkey	want[MAX_XKEYS];
};

/* Existing: [100, 150) of version 1, then [150, 200) rewritten as 3. */
static const struct replace_case replace_cases[] = {
	{ "matches", { 100, 150, 1 }, { 100, 150, 2 },
	  BTREE_INSERT_STATUS_INSERT, { { 100, 150, 2 }, { 150, 200, 3 } } },
	{ "partly-changed", { 100, 200, 1 }, { 100, 200, 2 },
	  BTREE_INSERT_STATUS_INSERT, { { 100, 150, 2 }, { 150, 200, 3 } } },
	{ "all-changed", { 150, 200, 1 }, { 150, 200, 2 },
	  BTREE_INSERT_STATUS_NO_INSERT,
	  { { 100, 150, 1 }, { 150, 200, 3 } } },
	{ "gone", { 300, 400, 1 }, { 300, 400, 2 },
	  BTREE_INSERT_STATUS_NO_INSERT,
	  { { 100, 150, 1 }, { 150, 200, 3 } } },
	{ "sub-range", { 100, 150, 1 }, { 110, 130, 2 },
	  BTREE_INSERT_STATUS_INSERT,
	  { { 100, 110, 1 }, { 110, 130, 2 }, { 130, 150, 1 },
	    { 150, 200, 3 } } },
};

static void replace_case_desc(const struct replace_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(replace, replace_cases, replace_case_desc);

static void extents_test_replace(struct kunit *test)
{
	const struct replace_case *c = test->param_value;
	struct enode *n = enode_new(test, &bch_extent_keys_ops, NULL);
	struct pkey k;
	struct pkey r;

	mk_extent(&k.key, 100, 200, 1);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	enode_freeze(n);
	mk_extent(&k.key, 150, 200, 3);
	bch_btree_insert_key(&n->b, &k.key, NULL);

	mk_extent(&r.key, c->replace.start, c->replace.end, c->replace.version);
	/* The data moved to version 2 at the same sectors. */
	mk_extent(&k.key, c->insert.start, c->insert.end, c->insert.version);
	KUNIT_EXPECT_EQ(test, bch_btree_insert_key(&n->b, &k.key, &r.key),
			c->status);
	bch_btree_sort(&n->b, &n->sort);
	expect_keys(test, &n->b, c->want);
}

/* Overlaps between sets, resolved by sorting with the extent fixup. */

struct sortfix_case {
	const char	*name;
	struct xkey	older[3];
	struct xkey	newer[3];
	struct xkey	want[MAX_XKEYS];
};

static const struct sortfix_case sortfix_cases[] = {
	/* Newer inside older: older split around it (emitted in pieces). */
	{ "inside", { { 0, 100, 1 } }, { { 50, 60, 2 } },
	  { { 0, 50, 1 }, { 50, 60, 2 }, { 60, 100, 1 } } },
	{ "same", { { 0, 100, 1 } }, { { 0, 100, 2 } }, { { 0, 100, 2 } } },
	{ "newer-first", { { 50, 150, 1 } }, { { 0, 100, 2 } },
	  { { 0, 100, 2 }, { 100, 150, 1 } } },
	{ "older-first", { { 0, 60, 1 } }, { { 50, 100, 2 } },
	  { { 0, 50, 1 }, { 50, 100, 2 } } },
	{ "covers-two", { { 10, 20, 1 }, { 30, 40, 1 } }, { { 0, 50, 2 } },
	  { { 0, 50, 2 } } },
	{ "two-inside", { { 0, 100, 1 } }, { { 10, 20, 2 }, { 40, 50, 3 } },
	  { { 0, 10, 1 }, { 10, 20, 2 }, { 20, 40, 1 }, { 40, 50, 3 },
	    { 50, 100, 1 } } },
	{ "delete-inside", { { 0, 100, 1 } }, { { 50, 60, 0 } },
	  { { 0, 50, 1 }, { 50, 60, 0 }, { 60, 100, 1 } } },
	{ "same-start", { { 0, 100, 1 } }, { { 0, 30, 2 } },
	  { { 0, 30, 2 }, { 30, 100, 1 } } },
};

static void sortfix_case_desc(const struct sortfix_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(sortfix, sortfix_cases, sortfix_case_desc);

/* Write @keys as a bset at @i (raw, as read from disk). */
static struct bkey *write_raw_set(struct bset *i, const struct xkey *keys)
{
	struct bkey *k = bset_start(i);
	unsigned int j;

	for (j = 0; j < 3 && keys[j].end; j++) {
		mk_extent(k, keys[j].start, keys[j].end, keys[j].version);
		k = bkey_next(k);
	}
	bset_set_u64s(i, (__le64 *)k - i->d);
	return k;
}

static void extents_test_sort_fixup(struct kunit *test)
{
	const struct sortfix_case *c = test->param_value;
	struct enode *n = enode_new(test, &bch_extent_keys_ops, NULL);
	struct btree_iter *iter = new_iter(test, &n->b);
	struct bset *older = n->b.set->data, *newer;
	struct bkey *end;

	/* As a node read: both sets pushed, then sorted with fixups. */
	end = write_raw_set(older, c->older);
	bch_btree_iter_push(iter, bset_start(older), end);
	newer = (void *)older + roundup(set_bytes(older), TEST_BLOCK_BYTES);
	end = write_raw_set(newer, c->newer);
	bch_btree_iter_push(iter, bset_start(newer), end);

	n->b.nsets = 0;
	bch_btree_sort_and_fix_extents(&n->b, iter, &n->sort);
	expect_keys(test, &n->b, c->want);
}

/* Trimming */

struct cut_case {
	const char	*name;
	bool		back;
	u32		where;
	bool		changed;
	struct xkey	want;
};

/* All cut [100, 200) of version 1. */
static const struct cut_case cut_cases[] = {
	{ "front-inside", false, 150, true, { 150, 200, 1 } },
	{ "front-at-start", false, 100, false, { 100, 200, 1 } },
	{ "front-before", false, 50, false, { 100, 200, 1 } },
	{ "front-at-end", false, 200, true, { 200, 200, 1 } },
	{ "back-inside", true, 150, true, { 100, 150, 1 } },
	{ "back-at-end", true, 200, false, { 100, 200, 1 } },
	{ "back-past-end", true, 250, false, { 100, 200, 1 } },
	{ "back-at-start", true, 100, true, { 100, 100, 1 } },
};

static void cut_case_desc(const struct cut_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(cut, cut_cases, cut_case_desc);

static void extents_test_cut(struct kunit *test)
{
	const struct cut_case *c = test->param_value;
	struct bkey where = KEY(TEST_INODE, c->where, 0);
	struct pkey k;
	bool changed;

	mk_extent(&k.key, 100, 200, 1);
	SET_KEY_PTRS(&k.key, 2);
	k.key.ptr[1] = MAKE_PTR(5, version_loc(1, 100) + 1000, 3);

	changed = c->back ? __bch_cut_back(&where, &k.key)
			  : __bch_cut_front(&where, &k.key);
	KUNIT_EXPECT_EQ(test, changed, c->changed);
	KUNIT_EXPECT_EQ(test, KEY_START(&k.key), (u64)c->want.start);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&k.key), (u64)c->want.end);
	/* Pointers move with the start, generations and devices stay. */
	KUNIT_EXPECT_EQ(test, PTR_OFFSET(&k.key, 0),
			version_loc(1, c->want.start));
	KUNIT_EXPECT_EQ(test, PTR_OFFSET(&k.key, 1),
			version_loc(1, c->want.start) + 1000);
	KUNIT_EXPECT_EQ(test, PTR_GEN(&k.key, 1), 5);
	KUNIT_EXPECT_EQ(test, PTR_DEV(&k.key, 1), 3U);
}

/* Merging */

struct merge_case {
	const char	*name;
	u32		lsize, rsize;
	s32		ptr_skew;	/* r's pointer off by this */
	bool		r_dirty;
	bool		csum;
	u32		bucket_size;	/* geometry; 0 none */
	bool		merged;
	u32		want_lsize;	/* after the call */
	u32		want_rsize;
};

static const struct merge_case merge_cases[] = {
	{ "contiguous", 10, 20, 0, false, false, 0, true, 30, 20 },
	{ "gap-in-pointer", 10, 20, 1, false, false, 0, false, 10, 20 },
	{ "other-header", 10, 20, 0, true, false, 0, false, 10, 20 },
	{ "size-overflow", 60000, 10000, 0, false, false, 0, false,
	  MAX_KEY_SIZE, 70000 - MAX_KEY_SIZE },
	{ "exactly-max", 60000, 5535, 0, false, false, 0, true,
	  MAX_KEY_SIZE, 5535 },
	{ "checksums", 10, 20, 0, false, true, 0, true, 30, 20 },
	/* l ends at a bucket boundary: r starts in the next bucket. */
	{ "crosses-bucket", 16, 16, 0, false, false, 64, false, 16, 16 },
	{ "same-bucket", 16, 16, 0, false, false, 128, true, 32, 16 },
};

static void merge_case_desc(const struct merge_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(merge, merge_cases, merge_case_desc);

static void extents_test_merge(struct kunit *test)
{
	const struct merge_case *c = test->param_value;
	struct bch_ptr_checker pc = {
		.bucket_size = c->bucket_size,
		.nbuckets = 1 << 20,
	};
	struct enode *n = enode_new(test, &bch_extent_keys_ops, &pc);
	/* Start l so that, with 64-sector buckets, it ends on a boundary. */
	u64 lstart = 48;
	struct pkey l;
	struct pkey r;

	l.key = KEY(TEST_INODE, lstart + c->lsize, c->lsize);
	r.key = KEY(TEST_INODE, lstart + c->lsize + c->rsize, c->rsize);
	SET_KEY_PTRS(&l.key, 1);
	SET_KEY_PTRS(&r.key, 1);
	l.key.ptr[0] = MAKE_PTR(1, lstart, 0);
	r.key.ptr[0] = MAKE_PTR(1, lstart + c->lsize + c->ptr_skew, 0);
	SET_KEY_DIRTY(&r.key, c->r_dirty);
	if (c->csum) {
		SET_KEY_CSUM(&l.key, 1);
		SET_KEY_CSUM(&r.key, 1);
		l.key.ptr[1] = cpu_to_le64(0x8000000000000001ULL);
		r.key.ptr[1] = cpu_to_le64(0x0000000000000002ULL);
	}

	KUNIT_EXPECT_EQ(test, bch_bkey_try_merge(&n->b, &l.key, &r.key),
			c->merged);
	KUNIT_EXPECT_EQ(test, KEY_SIZE(&l.key), c->want_lsize);
	KUNIT_EXPECT_EQ(test, KEY_SIZE(&r.key), c->want_rsize);
	KUNIT_EXPECT_EQ(test, KEY_START(&l.key), lstart);
	if (!c->merged && c->want_rsize != c->rsize)
		/* The part l took is gone from r, which still ends in place. */
		KUNIT_EXPECT_EQ(test, KEY_START(&r.key), KEY_OFFSET(&l.key));
	if (c->csum)
		KUNIT_EXPECT_EQ(test, le64_to_cpu(l.key.ptr[1]), 3ULL);
}

/* Merging can be switched off through the checker (a debug knob). */
static bool merging_off(struct bch_ptr_checker *pc)
{
	return true;
}

static void extents_test_merge_disabled(struct kunit *test)
{
	static const struct bch_ptr_checker_ops ops = {
		.merging_disabled = merging_off,
	};
	struct bch_ptr_checker pc = { .ops = &ops };
	struct enode *n = enode_new(test, &bch_extent_keys_ops, &pc);
	struct pkey l;
	struct pkey r;

	mk_extent(&l.key, 0, 10, 1);
	mk_extent(&r.key, 10, 20, 1);
	KUNIT_EXPECT_FALSE(test, bch_bkey_try_merge(&n->b, &l.key, &r.key));
	/* Btree pointers never merge. */
	n->b.ops = &bch_btree_keys_ops;
	bch_btree_keys_set_checker(&n->b, NULL);
	KUNIT_EXPECT_FALSE(test, bch_bkey_try_merge(&n->b, &l.key, &r.key));
}

/* Text */

struct text_case {
	const char	*name;
	void		(*make)(struct bkey *k);
	const char	*want;
};

static void text_plain(struct bkey *k)
{
	*k = KEY(3, 4096, 8);
	SET_KEY_PTRS(k, 1);
	k->ptr[0] = MAKE_PTR(7, 123456, 0);
}

static void text_two_dirty(struct bkey *k)
{
	*k = KEY(0, 16, 16);
	SET_KEY_PTRS(k, 2);
	SET_KEY_DIRTY(k, 1);
	k->ptr[0] = MAKE_PTR(1, 8, 2);
	k->ptr[1] = MAKE_PTR(255, 1ULL << 40, 5);
}

static void text_check_dev(struct bkey *k)
{
	*k = KEY(1, 10, 10);
	SET_KEY_PTRS(k, 1);
	k->ptr[0] = MAKE_PTR(0, 0, PTR_CHECK_DEV);
}

static void text_no_ptrs(struct bkey *k)
{
	*k = KEY(MAX_KEY_INODE, 100, 0);
}

static void text_csum(struct bkey *k)
{
	*k = KEY(2, 20, 4);
	SET_KEY_PTRS(k, 1);
	SET_KEY_CSUM(k, 2);
	k->ptr[0] = MAKE_PTR(0, 64, 0);
	k->ptr[1] = cpu_to_le64(0xdeadbeefULL);
}

static const struct text_case text_cases[] = {
	{ "one-ptr", text_plain, "3:4088 len 8 -> [0:123456 gen 7]" },
	{ "two-ptrs-dirty", text_two_dirty,
	  "0:0 len 16 -> [2:8 gen 1, 5:1099511627776 gen 255] dirty" },
	{ "check-dev", text_check_dev, "1:0 len 10 -> [check dev]" },
	{ "no-ptrs", text_no_ptrs, "1048575:100 len 0 -> []" },
	{ "csum", text_csum, "2:16 len 4 -> [0:64 gen 0] cs2 deadbeef" },
};

static void text_case_desc(const struct text_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(text, text_cases, text_case_desc);

static void extents_test_to_text(struct kunit *test)
{
	const struct text_case *c = test->param_value;
	struct pkey k;
	char buf[80];

	c->make(&k.key);
	bch_extent_to_text(buf, sizeof(buf), &k.key);
	KUNIT_EXPECT_STREQ(test, buf, c->want);

	/* Truncates, always terminated. */
	bch_extent_to_text(buf, 8, &k.key);
	KUNIT_EXPECT_EQ(test, strlen(buf), min_t(size_t, 7, strlen(c->want)));
}

/* Pointer checks */

struct check_state {
	struct bch_ptr_checker	pc;
	unsigned int		reports;
	char			last[160];
	u8			gens[100];
	long			dirty;
	unsigned int		btree_inserts;
};

static void note_inconsistent(struct bch_ptr_checker *pc, const char *msg)
{
	struct check_state *s = container_of(pc, struct check_state, pc);

	s->reports++;
	strscpy(s->last, msg, sizeof(s->last));
}

static void add_dirty(struct bch_ptr_checker *pc, unsigned int inode,
		      u64 offset, int sectors)
{
	container_of(pc, struct check_state, pc)->dirty += sectors;
}

static void note_btree_insert(struct btree_keys *bk, const struct bkey *k)
{
	container_of(bk->checker, struct check_state, pc)->btree_inserts++;
}

static const struct bch_ptr_checker_ops test_checker_ops = {
	.inconsistent		= note_inconsistent,
	.sectors_dirty_add	= add_dirty,
	.btree_ptr_insert	= note_btree_insert,
};

/* Geometry: 1024-sector buckets, 10 .. 99 usable. */
static void check_state_init(struct check_state *s)
{
	memset(s, 0, sizeof(*s));
	s->pc.ops = &test_checker_ops;
	s->pc.bucket_size = 1024;
	s->pc.first_bucket = 10;
	s->pc.nbuckets = 100;
	s->pc.nr_devs = MAX_CACHES_PER_SET;
	s->pc.gens = s->gens;
	s->pc.gen_stride = 1;
}

struct validity_case {
	const char	*name;
	bool		btree_ptr;
	u32		end, size;
	u64		ptr_offset;
	u32		ptr_dev;
	u32		nptrs;
	bool		dirty;
	u8		stale;
	bool		invalid, bad;
	const char	*report;	/* start of the logged message */
	const char	*status;	/* and the reason it ends with */
};

static const struct validity_case validity_cases[] = {
	{ "good", false, 100, 8, 20 * 1024, 0, 1, false, 0, false, false },
	{ "zero-size", false, 100, 0, 20 * 1024, 0, 1, false, 0, true, true },
	{ "size-past-zero", false, 4, 8, 20 * 1024, 0, 1, false, 0,
	  true, true, "spotted extent 1:18446744073709551612 len 8" },
	{ "leaves-bucket", false, 100, 8, 21 * 1024 - 4, 0, 1, false, 0,
	  true, true, "spotted extent 1:92 len 8 -> [0:21500 gen 0]: ",
	  "bad, length too big" },
	{ "below-first-bucket", false, 100, 8, 5 * 1024, 0, 1, false, 0,
	  true, true, "spotted extent 1:92 len 8 -> [0:5120 gen 0]: ",
	  "bad, short offset" },
	{ "past-device", false, 100, 8, 100 * 1024, 0, 1, false, 0,
	  true, true, "spotted extent 1:92 len 8 -> [0:102400 gen 0]: ",
	  "bad, offset past end of device" },
	{ "too-many-ptrs", false, 100, 8, 20 * 1024, 0, 7, false, 0,
	  true, true, "spotted extent" },
	{ "no-ptrs", false, 100, 8, 0, 0, 0, false, 0, false, true },
	{ "unavailable-dev", false, 100, 8, 20 * 1024, 9, 1, false, 0,
	  false, true },
	{ "stale", false, 100, 8, 20 * 1024, 0, 1, false, 1, false, true },
	{ "stale-dirty", false, 100, 8, 20 * 1024, 0, 1, true, 3, false, true },
	{ "too-stale", false, 100, 8, 20 * 1024, 0, 1, false, 100,
	  false, true, "key too stale: 100" },
	/* A bucket gen "behind" the pointer's by modular order: not stale. */
	{ "gen-wrapped", false, 100, 8, 20 * 1024, 0, 1, false, 200,
	  false, false },
	{ "btree-good", true, 100, 8, 20 * 1024, 0, 1, false, 0, false, false },
	{ "btree-dirty", true, 100, 8, 20 * 1024, 0, 1, true, 0,
	  true, true, "spotted btree ptr" },
	{ "btree-no-ptrs", true, 100, 8, 0, 0, 0, false, 0,
	  true, true, "spotted btree ptr 1:92 len 8 -> []: bad, no pointers" },
	{ "btree-zero-size", true, 100, 0, 20 * 1024, 0, 1, false, 0,
	  true, true, "spotted btree ptr" },
	{ "btree-stale", true, 100, 8, 20 * 1024, 0, 1, false, 1,
	  false, true },
};

static void validity_case_desc(const struct validity_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(validity, validity_cases, validity_case_desc);

static void extents_test_validity(struct kunit *test)
{
	const struct validity_case *c = test->param_value;
	struct check_state *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	struct enode *n;
	struct pkey k;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, s);
	check_state_init(s);
	/* Every test pointer has gen 0: each bucket is this far ahead. */
	memset(s->gens, c->stale, sizeof(s->gens));
	n = enode_new(test, c->btree_ptr ? &bch_btree_keys_ops
					 : &bch_extent_keys_ops, &s->pc);

	memset(&k, 0, sizeof(k));
	k.key = KEY(TEST_INODE, c->end, c->size);
	SET_KEY_PTRS(&k.key, c->nptrs);
	SET_KEY_DIRTY(&k.key, c->dirty);
	for (i = 0; i < c->nptrs && i < BKEY_PAD - 2; i++)
		k.key.ptr[i] = MAKE_PTR(0, c->ptr_offset, c->ptr_dev);

	/* Journal replay's test: the same verdict, and nothing reported. */
	if (!c->btree_ptr) {
		KUNIT_EXPECT_EQ(test,
				!!bch_extent_invalid_reason(&s->pc, &k.key),
				c->invalid);
		KUNIT_EXPECT_EQ(test, s->reports, 0U);
	}
	KUNIT_EXPECT_EQ(test, bch_ptr_invalid(&n->b, &k.key), c->invalid);
	KUNIT_EXPECT_EQ(test, bch_ptr_bad(&n->b, &k.key), c->bad);
	if (c->report) {
		KUNIT_EXPECT_GT(test, s->reports, 0U);
		KUNIT_EXPECT_EQ_MSG(test, strncmp(s->last, c->report,
						  strlen(c->report)), 0,
				    "got \"%s\"", s->last);
		if (c->status)
			KUNIT_EXPECT_STREQ(test, s->last + strlen(c->report),
					   c->status);
	} else {
		KUNIT_EXPECT_EQ_MSG(test, s->reports, 0U, "got \"%s\"",
				    s->last);
	}
}

/* Without a checker only layout is checked, and pointers are live. */
static void extents_test_no_checker(struct kunit *test)
{
	struct enode *n = enode_new(test, &bch_extent_keys_ops, NULL);
	struct pkey k;

	mk_extent(&k.key, 0, 8, 1);
	SET_PTR_DEV(&k.key, 0, 200);
	KUNIT_EXPECT_FALSE(test, bch_ptr_invalid(&n->b, &k.key));
	KUNIT_EXPECT_FALSE(test, bch_ptr_bad(&n->b, &k.key));
	k.key = KEY(TEST_INODE, 4, 8);
	KUNIT_EXPECT_TRUE(test, bch_ptr_invalid(&n->b, &k.key));
}

/* Bad keys in a node are dropped by sorting, not trusted or fatal. */
static void extents_test_sort_drops_invalid(struct kunit *test)
{
	static const struct xkey want[] = { { 0, 10, 1 }, { 30, 40, 3 }, {} };
	struct check_state *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	struct btree_iter *iter;
	struct enode *n;
	struct bset *i;
	struct bkey *k;

	KUNIT_ASSERT_NOT_NULL(test, s);
	check_state_init(s);
	s->pc.bucket_size = 0;	/* no geometry: offsets unchecked */
	n = enode_new(test, &bch_extent_keys_ops, &s->pc);
	iter = new_iter(test, &n->b);
	i = n->b.set->data;

	k = bset_start(i);
	mk_extent(k, 0, 10, 1);
	k = bkey_next(k);
	*k = KEY(TEST_INODE, 15, 20);		/* size past zero */
	k = bkey_next(k);
	mk_extent(k, 30, 40, 3);
	k = bkey_next(k);
	bset_set_u64s(i, (__le64 *)k - i->d);

	bch_btree_iter_push(iter, bset_start(i), k);
	n->b.nsets = 0;
	bch_btree_sort_and_fix_extents(&n->b, iter, &n->sort);
	expect_keys(test, &n->b, want);
	KUNIT_EXPECT_EQ(test, s->reports, 1U);
}

/* Dirty sectors are accounted as they are written over. */
static void extents_test_dirty_accounting(struct kunit *test)
{
	struct check_state *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	struct enode *n;
	struct pkey k;

	KUNIT_ASSERT_NOT_NULL(test, s);
	check_state_init(s);
	s->pc.bucket_size = 0;
	n = enode_new(test, &bch_extent_keys_ops, &s->pc);

	mk_extent(&k.key, 0, 100, 1);
	SET_KEY_DIRTY(&k.key, 1);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	KUNIT_EXPECT_EQ(test, s->dirty, 100L);

	enode_freeze(n);
	/* Clean data over the middle: 20 dirty sectors gone (split). */
	mk_extent(&k.key, 40, 60, 2);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	KUNIT_EXPECT_EQ(test, s->dirty, 80L);

	/* Dirty over the front and part of the clean key. */
	mk_extent(&k.key, 0, 50, 3);
	SET_KEY_DIRTY(&k.key, 1);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	KUNIT_EXPECT_EQ(test, s->dirty, 80L - 40 + 50);

	/* A delete over everything. */
	mk_extent(&k.key, 0, 100, 0);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	KUNIT_EXPECT_EQ(test, s->dirty, 0L);
}

/* Interior nodes: keys do not overlap-fix; offset 0 is reported. */
static void extents_test_btree_ptr_insert(struct kunit *test)
{
	struct check_state *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	struct btree_iter_stack iter;
	struct enode *n;
	struct pkey k;
	unsigned int count = 0;
	struct bkey *p;

	KUNIT_ASSERT_NOT_NULL(test, s);
	check_state_init(s);
	n = enode_new(test, &bch_btree_keys_ops, &s->pc);

	k.key = KEY(TEST_INODE, 500, 100);
	SET_KEY_PTRS(&k.key, 1);
	k.key.ptr[0] = MAKE_PTR(0, 20 * 1024, 0);
	KUNIT_EXPECT_EQ(test, bch_btree_insert_key(&n->b, &k.key, NULL),
			BTREE_INSERT_STATUS_INSERT);
	SET_KEY_OFFSET(&k.key, 0);
	SET_KEY_INODE(&k.key, 0);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	KUNIT_EXPECT_EQ(test, s->btree_inserts, 1U);

	/* A second pointer to the same position sorts ahead of the older. */
	k.key = KEY(TEST_INODE, 500, 100);
	SET_KEY_PTRS(&k.key, 1);
	k.key.ptr[0] = MAKE_PTR(0, 30 * 1024, 0);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	for_each_key(&n->b, p, &iter) {
		if (count == 1)
			KUNIT_EXPECT_EQ(test, PTR_OFFSET(p, 0), 30ULL * 1024);
		count++;
	}
	KUNIT_EXPECT_EQ(test, count, 3U);
}

static void extents_test_key_dump(struct kunit *test)
{
	struct check_state *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	struct enode *n;
	struct pkey k;

	KUNIT_ASSERT_NOT_NULL(test, s);
	check_state_init(s);
	n = enode_new(test, &bch_extent_keys_ops, &s->pc);
	mk_extent(&k.key, 0, 8, 1);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	/* Only must not crash or read out of bounds. */
	bch_dump_bset(&n->b, n->b.set->data, 0);
	KUNIT_EXPECT_EQ(test, bch_ptr_bucket(&s->pc, &k.key, 0),
			version_loc(1, 0) >> 10);
}

static struct kunit_case extents_test_cases[] = {
	KUNIT_CASE_PARAM(extents_test_overlap, overlap_gen_params),
	KUNIT_CASE(extents_test_overlap_many),
	KUNIT_CASE_PARAM(extents_test_replace, replace_gen_params),
	KUNIT_CASE_PARAM(extents_test_sort_fixup, sortfix_gen_params),
	KUNIT_CASE_PARAM(extents_test_cut, cut_gen_params),
	KUNIT_CASE_PARAM(extents_test_merge, merge_gen_params),
	KUNIT_CASE(extents_test_merge_disabled),
	KUNIT_CASE(extents_test_dirty_accounting),
	{}
};

static struct kunit_suite extents_test_suite = {
	.name = "bcache_extents",
	.test_cases = extents_test_cases,
};

static struct kunit_case extents_ptr_test_cases[] = {
	KUNIT_CASE_PARAM(extents_test_to_text, text_gen_params),
	KUNIT_CASE_PARAM(extents_test_validity, validity_gen_params),
	KUNIT_CASE(extents_test_no_checker),
	KUNIT_CASE(extents_test_sort_drops_invalid),
	KUNIT_CASE(extents_test_btree_ptr_insert),
	KUNIT_CASE(extents_test_key_dump),
	{}
};

static struct kunit_suite extents_ptr_test_suite = {
	.name = "bcache_extents_ptrs",
	.test_cases = extents_ptr_test_cases,
};

kunit_test_suites(&extents_test_suite, &extents_ptr_test_suite);

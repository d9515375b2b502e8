// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of bset.c: the sorted sets of a btree node, their search
 * indexes, the node iterator, sorting, and keylists.
 *
 * The heart is a model-based run: fixed-seed random extent inserts,
 * overwrites and deletes go into a node that is "written" (frozen and
 * lazily sorted) and rewritten (compacted into a fresh node) the way
 * btree.c does it, and after every sort and compaction the node's keys
 * must say exactly what a plain sector -> version array says. Searches are
 * checked against a linear scan at every position, including sets built
 * so that the packed search tree nodes cannot be packed and fall back to
 * full key compares.
 *
 * Extent keys made here point at sector (version << 20) + s for each
 * sector s they cover, so any trimmed, split or merged key still tells
 * which insert each of its sectors came from.
 */
#include <kunit/test.h>
#include <linux/prandom.h>
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

/* A btree node as btree.c drives it: blocks written so far, sort state. */
struct tnode {
	struct btree_keys	b;
	struct btree_keys	spare;		/* target of rewrites */
	struct bset_sort_state	sort;
	unsigned int		written;	/* blocks */
	unsigned int		order;
};

static void keys_free_action(void *p)
{
	bch_btree_keys_free(p);
}

static void sort_state_free_action(void *p)
{
	bch_bset_sort_state_free(p);
}

static void alloc_keys(struct kunit *test, struct btree_keys *b,
		       unsigned int order, const struct btree_keys_ops *ops)
{
	KUNIT_ASSERT_EQ(test, bch_btree_keys_alloc(b, order, GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, keys_free_action,
							b), 0);
	bch_btree_keys_init(b, ops, NULL);
}

static struct tnode *tnode_new(struct kunit *test, unsigned int order,
			       const struct btree_keys_ops *ops)
{
	struct tnode *n = kunit_kzalloc(test, sizeof(*n), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, n);
	n->order = order;
	alloc_keys(test, &n->b, order, ops);
	alloc_keys(test, &n->spare, order, ops);
	KUNIT_ASSERT_EQ(test, bch_bset_sort_state_init(&n->sort, order), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							sort_state_free_action,
							&n->sort), 0);

	bch_bset_init_next(&n->b, n->b.set->data, TEST_MAGIC);
	return n;
}

static unsigned int tnode_blocks(struct tnode *n)
{
	return btree_keys_bytes(&n->b) / TEST_BLOCK_BYTES;
}

/*
 * Write the open set as btree.c does: account its blocks, sort lazily
 * (which freezes it), and open a new set after it if blocks are left.
 * False when the node is full.
 */
static bool tnode_write(struct tnode *n)
{
	struct bset *i = bset_tree_last(&n->b)->data;

	n->written = bset_byte_offset(&n->b, i) / TEST_BLOCK_BYTES +
		     set_blocks(i, TEST_BLOCK_BYTES);
	bch_btree_sort_lazy(&n->b, &n->sort);
	if (n->written >= tnode_blocks(n))
		return false;

	bch_bset_init_next(&n->b, (void *)n->b.set->data +
			   n->written * TEST_BLOCK_BYTES, TEST_MAGIC);
	return true;
}

/* Compact into a fresh node, as a btree node rewrite (gc) does. */
static void tnode_rewrite(struct tnode *n)
{
	struct btree_keys tmp;

	bch_btree_keys_init(&n->spare, n->b.ops, NULL);
	bch_bset_init_next(&n->spare, n->spare.set->data, TEST_MAGIC);
	bch_btree_sort_into(&n->b, &n->spare, &n->sort);

	tmp = n->b;
	n->b = n->spare;
	n->spare = tmp;
	n->written = 0;
}

static u64 version_loc(u32 version, u64 sector)
{
	return ((u64)version << VERSION_SHIFT) + sector;
}

/* An extent [start, start + size) of version @version (0: no pointer). */
static void mk_extent(struct bkey *k, u32 inode, u64 start, u32 size,
		      u32 version)
{
	*k = KEY(inode, start + size, size);
	if (version) {
		SET_KEY_PTRS(k, 1);
		k->ptr[0] = MAKE_PTR(0, version_loc(version, start), 0);
	}
}

/*
 * Compare the node with the model: nonzero extents must not overlap, and
 * every sector's version must match.
 */
static void check_model(struct kunit *test, struct btree_keys *b,
			const u32 *model, u32 *seen, unsigned int nsect)
{
	struct btree_iter_stack iter;
	u64 prev_end = 0;
	struct bkey *k;
	unsigned int s;

	memset(seen, 0, nsect * sizeof(*seen));

	for_each_key(b, k, &iter) {
		if (!KEY_SIZE(k))
			continue;
		KUNIT_ASSERT_EQ(test, KEY_INODE(k), TEST_INODE);
		KUNIT_ASSERT_GE_MSG(test, KEY_START(k), prev_end,
				    "overlapping extents at %llu", KEY_START(k));
		KUNIT_ASSERT_LE(test, KEY_OFFSET(k), (u64)nsect);
		prev_end = KEY_OFFSET(k);
		if (!KEY_PTRS(k))
			continue;

		for (s = KEY_START(k); s < KEY_OFFSET(k); s++) {
			u64 loc = PTR_OFFSET(k, 0) + (s - KEY_START(k));

			KUNIT_ASSERT_EQ(test, loc & ((1 << VERSION_SHIFT) - 1),
					(u64)s);
			seen[s] = loc >> VERSION_SHIFT;
		}
	}

	for (s = 0; s < nsect; s++)
		KUNIT_ASSERT_EQ_MSG(test, seen[s], model[s], "sector %u", s);
}

/* Insert, making room by writing or rewriting the node when it is full. */
static unsigned int tnode_insert(struct kunit *test, struct tnode *n,
				 struct bkey *k, const u32 *model, u32 *seen,
				 unsigned int nsect)
{
	struct pkey copy;
	unsigned int status;

	unsigned int tries;

	for (tries = 0; tries < 4; tries++) {
		bkey_copy(&copy.key, k);
		status = bch_btree_insert_key(&n->b, &copy.key, NULL);
		if (status != BTREE_INSERT_STATUS_NO_INSERT)
			return status;

		/* Full: write the open set, or compact when out of blocks. */
		if (!tnode_write(n)) {
			check_model(test, &n->b, model, seen, nsect);
			tnode_rewrite(n);
		}
		check_model(test, &n->b, model, seen, nsect);
	}
	KUNIT_FAIL(test, "no room even in a compacted node");
	return status;
}

struct model_run {
	const char	*name;
	u32		seed;
	unsigned int	order;
	unsigned int	nsect;
	unsigned int	ops;
	unsigned int	max_len;
	unsigned int	write_every;	/* inserts between writes, about */
};

static const struct model_run model_runs[] = {
	{ "small-node", 1, 0, 512, 20000, 24, 24 },
	{ "medium-node", 2, 1, 2048, 30000, 64, 40 },
	{ "short-keys", 3, 2, 768, 25000, 4, 64 },
	{ "long-keys-rare-writes", 4, 2, 4096, 25000, 200, 150 },
};

static void model_run_desc(const struct model_run *r, char *desc)
{
	strscpy(desc, r->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(model_run, model_runs, model_run_desc);

static void bset_test_model(struct kunit *test)
{
	const struct model_run *r = test->param_value;
	struct tnode *n = tnode_new(test, r->order, &bch_extent_keys_ops);
	u32 *model = kunit_kcalloc(test, r->nsect, sizeof(u32), GFP_KERNEL);
	u32 *seen = kunit_kcalloc(test, r->nsect, sizeof(u32), GFP_KERNEL);
	unsigned int op, version = 0, merges = 0, sorts = 0;
	struct rnd_state rnd;

	KUNIT_ASSERT_NOT_NULL(test, model);
	KUNIT_ASSERT_NOT_NULL(test, seen);
	prandom_seed_state(&rnd, r->seed);

	for (op = 0; op < r->ops; op++) {
		u32 dice = prandom_u32_state(&rnd) % 100;
		u32 len = 1 + prandom_u32_state(&rnd) % r->max_len;
		u32 start = prandom_u32_state(&rnd) % r->nsect;
		struct pkey k;
		unsigned int s, status, v;

		if (!(prandom_u32_state(&rnd) % r->write_every)) {
			if (!tnode_write(n))
				tnode_rewrite(n);
			check_model(test, &n->b, model, seen, r->nsect);
			sorts++;
			continue;
		}

		len = min(len, r->nsect - start);
		if (dice < 15)		/* delete: a pointerless key */
			v = 0;
		else if (dice < 40 && start && model[start - 1])
			v = model[start - 1];	/* continue a neighbour */
		else
			v = ++version;
		mk_extent(&k.key, TEST_INODE, start, len, v);

		status = tnode_insert(test, n, &k.key, model, seen, r->nsect);
		merges += status == BTREE_INSERT_STATUS_BACK_MERGE ||
			  status == BTREE_INSERT_STATUS_FRONT_MERGE;
		for (s = start; s < start + len; s++)
			model[s] = v;
	}

	bch_btree_sort(&n->b, &n->sort);
	check_model(test, &n->b, model, seen, r->nsect);
	tnode_rewrite(n);
	check_model(test, &n->b, model, seen, r->nsect);
	KUNIT_EXPECT_GT(test, sorts, 0U);
	kunit_info(test, "%u ops, %u sorts, %u merges\n", r->ops, sorts,
		   merges);
}

/*
 * Contiguous appends of one version merge into the key before them
 * (back merge) or after them (front merge).
 */
static void bset_test_insert_status(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 0, &bch_extent_keys_ops);
	struct btree_iter_stack iter;
	struct pkey k;
	struct bkey *p;
	unsigned int count = 0;

	mk_extent(&k.key, TEST_INODE, 100, 10, 7);
	KUNIT_EXPECT_EQ(test, bch_btree_insert_key(&n->b, &k.key, NULL),
			BTREE_INSERT_STATUS_INSERT);
	mk_extent(&k.key, TEST_INODE, 130, 10, 7);
	KUNIT_EXPECT_EQ(test, bch_btree_insert_key(&n->b, &k.key, NULL),
			BTREE_INSERT_STATUS_INSERT);
	/* Right after the first: continues its pointer, merges backwards. */
	mk_extent(&k.key, TEST_INODE, 110, 10, 7);
	KUNIT_EXPECT_EQ(test, bch_btree_insert_key(&n->b, &k.key, NULL),
			BTREE_INSERT_STATUS_BACK_MERGE);
	/* Right before the second: it merges the second into itself. */
	mk_extent(&k.key, TEST_INODE, 125, 5, 7);
	KUNIT_EXPECT_EQ(test, bch_btree_insert_key(&n->b, &k.key, NULL),
			BTREE_INSERT_STATUS_FRONT_MERGE);

	for_each_key(&n->b, p, &iter)
		count++;
	KUNIT_EXPECT_EQ(test, count, 2U);
	p = bset_start(n->b.set->data);
	KUNIT_EXPECT_EQ(test, KEY_START(p), 100ULL);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(p), 120ULL);
	p = bkey_next(p);
	KUNIT_EXPECT_EQ(test, KEY_START(p), 125ULL);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(p), 140ULL);
	KUNIT_EXPECT_EQ(test, PTR_OFFSET(p, 0), version_loc(7, 125));
}

/* The open set refuses keys once it cannot take one more (and a split). */
static void bset_test_node_full(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 0, &bch_extent_keys_ops);
	unsigned int inserted = 0, i;
	struct pkey k;
	size_t before;

	for (i = 0; i < 10000; i++) {
		/* Gaps between keys so nothing merges. */
		mk_extent(&k.key, TEST_INODE, i * 4, 2, i + 1);
		before = bch_btree_keys_u64s_remaining(&n->b);
		if (bch_btree_insert_key(&n->b, &k.key, NULL) ==
		    BTREE_INSERT_STATUS_NO_INSERT) {
			KUNIT_EXPECT_LT(test, before,
					(size_t)bkey_u64s(&k.key) +
					KEY_MAX_U64S);
			break;
		}
		KUNIT_EXPECT_EQ(test, bch_btree_keys_u64s_remaining(&n->b),
				before - bkey_u64s(&k.key));
		inserted++;
	}

	KUNIT_EXPECT_LT(test, i, 10000U);
	KUNIT_EXPECT_EQ(test, bset_u64s(n->b.set->data), inserted * 3);
	KUNIT_EXPECT_LE(test, set_bytes(n->b.set->data),
			btree_keys_bytes(&n->b));

	/* Still refused on retry; a frozen node refuses everything. */
	mk_extent(&k.key, TEST_INODE, 1 << 19, 2, 1);
	KUNIT_EXPECT_EQ(test, bch_btree_insert_key(&n->b, &k.key, NULL),
			BTREE_INSERT_STATUS_NO_INSERT);
	bch_bset_build_written_tree(&n->b);
	KUNIT_EXPECT_EQ(test, bch_btree_keys_u64s_remaining(&n->b), (size_t)0);
	KUNIT_EXPECT_EQ(test, bch_btree_insert_key(&n->b, &k.key, NULL),
			BTREE_INSERT_STATUS_NO_INSERT);
}

/* Searching */

/* Fill set 0 with @nr keys from @pos (sorted) and freeze it. */
static void fill_frozen_set(struct btree_keys *b, const struct bkey *keys,
			    unsigned int nr)
{
	struct bset *i = b->set->data;
	struct bkey *dst;
	unsigned int j;

	bch_btree_keys_init(b, b->ops, NULL);
	bch_bset_init_next(b, i, TEST_MAGIC);
	dst = bset_start(i);
	for (j = 0; j < nr; j++) {
		const struct bkey *src = bkey_idx(keys, j * BKEY_PAD);

		if (WARN_ON((void *)bkey_next(dst) - (void *)i +
			    bkey_bytes(src) > btree_keys_bytes(b)))
			break;
		bkey_copy(dst, src);
		dst = bkey_next(dst);
	}
	bset_set_u64s(i, (__le64 *)dst - i->d);
	bch_bset_build_written_tree(b);
}

/*
 * For every position between @from and @to (same inode), the search
 * must find what a linear scan finds: the first key after it.
 */
static void check_search_range(struct kunit *test, struct btree_keys *b,
			       struct bset_tree *t, u32 inode, u64 from, u64 to,
			       u64 step)
{
	struct bkey *lin = bset_start(t->data), *end = bset_bkey_last(t->data);
	u64 p;

	for (p = from; p <= to; p += step) {
		struct bkey search = KEY(inode, p, 0);
		struct bkey *got = __bch_bset_search(b, t, &search);

		while (lin < end && bkey_cmp(lin, &search) <= 0)
			lin = bkey_next(lin);
		KUNIT_ASSERT_PTR_EQ_MSG(test, got, lin, "inode %u pos %llu",
					inode, p);
	}
}

/* Random keys with 0..3 pointers, gaps of 1..@gap, in one inode. */
static struct bkey *random_keys(struct kunit *test, struct rnd_state *rnd,
				unsigned int nr, u32 inode, u64 base,
				unsigned int gap)
{
	__le64 *store = kunit_kcalloc(test, nr, BKEY_PAD * sizeof(u64),
				      GFP_KERNEL);
	u64 pos = base;
	unsigned int j;

	KUNIT_ASSERT_NOT_NULL(test, store);
	for (j = 0; j < nr; j++) {
		struct bkey *k = (struct bkey *)(store + j * BKEY_PAD);
		unsigned int p, nptrs = prandom_u32_state(rnd) % 4;

		pos += 1 + prandom_u32_state(rnd) % gap;
		*k = KEY(inode, pos, 1);
		SET_KEY_PTRS(k, nptrs);
		for (p = 0; p < nptrs; p++)
			k->ptr[p] = MAKE_PTR(p, pos, 0);
	}
	return (struct bkey *)store;
}

static void bset_test_search_frozen(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 3, &bch_btree_keys_ops);
	struct rnd_state rnd;
	struct bkey *keys;
	unsigned int gap;
	struct bset_stats st = {};

	prandom_seed_state(&rnd, 11);
	for (gap = 1; gap <= 64; gap *= 8) {
		keys = random_keys(test, &rnd, 700, TEST_INODE, 0, gap);
		fill_frozen_set(&n->b, keys, 700);
		KUNIT_EXPECT_GT(test, n->b.set[0].size, 100U);
		check_search_range(test, &n->b, n->b.set, TEST_INODE, 0,
				   700 * gap + 3, 1);
		check_search_range(test, &n->b, n->b.set, 0, 0, 3, 1);
		check_search_range(test, &n->b, n->b.set, TEST_INODE + 1, 0,
				   3, 1);
	}
	bch_btree_keys_stats(&n->b, &st);
	KUNIT_EXPECT_EQ(test, st.sets_written, (size_t)1);
	KUNIT_EXPECT_EQ(test, st.floats, (size_t)n->b.set[0].size - 1);
}

/*
 * Keys that no window of BKEY_MANTISSA_BITS bits can separate: a set
 * spanning a huge range whose neighbours differ only in the lowest bit,
 * or only in the inode. Their nodes must be marked failed and searches
 * still be right.
 */
static void bset_test_search_unpackable(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 2, &bch_btree_keys_ops);
	__le64 *store = kunit_kcalloc(test, 800, BKEY_PAD * sizeof(u64),
				      GFP_KERNEL);
	struct bset_stats st = {};
	unsigned int j;

	KUNIT_ASSERT_NOT_NULL(test, store);
	/*
	 * Runs of 16 consecutive offsets, 2^40 apart: a run spans two
	 * cachelines, whose boundary keys differ by one while the range
	 * around them spans runs.
	 */
	for (j = 0; j < 800; j++) {
		struct bkey *k = (struct bkey *)(store + j * BKEY_PAD);

		*k = KEY(TEST_INODE, ((u64)(j / 16) << 40) + (j % 16) + 1, 0);
	}
	fill_frozen_set(&n->b, (struct bkey *)store, 800);
	bch_btree_keys_stats(&n->b, &st);
	KUNIT_EXPECT_GT(test, st.failed, (size_t)0);
	for (j = 0; j <= 50; j++)
		check_search_range(test, &n->b, n->b.set, TEST_INODE,
				   (u64)j << 40, ((u64)j << 40) + 18, 1);
	check_search_range(test, &n->b, n->b.set, TEST_INODE,
			   0, 52ULL << 40, 1ULL << 33);

	/* Neighbours in consecutive inodes at the same offsets. */
	for (j = 0; j < 800; j++) {
		struct bkey *k = (struct bkey *)(store + j * BKEY_PAD);

		*k = KEY(j / 2, (j % 2) ? MAX_KEY_OFFSET : 0, 0);
	}
	fill_frozen_set(&n->b, (struct bkey *)store, 800);
	memset(&st, 0, sizeof(st));
	bch_btree_keys_stats(&n->b, &st);
	KUNIT_EXPECT_GT(test, st.floats, (size_t)0);
	for (j = 0; j < 401; j++) {
		check_search_range(test, &n->b, n->b.set, j, 0, 2, 1);
		check_search_range(test, &n->b, n->b.set, j,
				   MAX_KEY_OFFSET - 2, MAX_KEY_OFFSET, 1);
	}
}

/* The open set's table, grown by inserts at random places. */
static void bset_test_search_open(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 2, &bch_btree_keys_ops);
	struct bset_tree *t = n->b.set;
	struct rnd_state rnd;
	unsigned int j;

	prandom_seed_state(&rnd, 5);
	for (j = 0; j < 1500; j++) {
		u64 pos = 1 + prandom_u32_state(&rnd) % 100000;
		struct bkey search = KEY(TEST_INODE, pos, 0);
		struct pkey k;
		struct bkey *where = bch_bset_search(&n->b, t, &search);

		k.key = KEY(TEST_INODE, pos, 1);
		SET_KEY_PTRS(&k.key, prandom_u32_state(&rnd) % 3);
		k.key.ptr[0] = MAKE_PTR(0, pos, 0);
		k.key.ptr[1] = MAKE_PTR(1, pos, 0);
		if (bch_btree_keys_u64s_remaining(&n->b) < BKEY_PAD)
			break;
		KUNIT_ASSERT_TRUE(test, bch_bset_insert(&n->b, where, &k.key));
	}
	KUNIT_EXPECT_GT(test, t->size, 10U);
	check_search_range(test, &n->b, t, TEST_INODE, 0, 100002, 1);
}

/* Freeze the open set in place and open the next, without sorting. */
static void freeze_and_open(struct tnode *n)
{
	struct bset *i = bset_tree_last(&n->b)->data;

	bch_bset_build_written_tree(&n->b);
	bch_bset_init_next(&n->b, (void *)i + roundup(set_bytes(i),
						      TEST_BLOCK_BYTES),
			   TEST_MAGIC);
}

/* Searches in every set of a node with several sets of both kinds. */
static void bset_test_search_multiset(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 2, &bch_extent_keys_ops);
	struct rnd_state rnd;
	unsigned int j, sets = 0;

	prandom_seed_state(&rnd, 99);
	for (j = 0; sets < MAX_BSETS; j++) {
		struct pkey k;

		mk_extent(&k.key, TEST_INODE, prandom_u32_state(&rnd) % 50000,
			  1 + prandom_u32_state(&rnd) % 8, j + 1);
		KUNIT_ASSERT_NE(test, bch_btree_insert_key(&n->b, &k.key, NULL),
				BTREE_INSERT_STATUS_NO_INSERT);
		if (j % 120 == 119 && ++sets < MAX_BSETS)
			freeze_and_open(n);
	}
	KUNIT_EXPECT_EQ(test, n->b.nsets, MAX_BSETS - 1);
	for (j = 0; j <= n->b.nsets; j++)
		check_search_range(test, &n->b, &n->b.set[j], TEST_INODE, 0,
				   50010, 1);
}

static unsigned int set_of(struct btree_keys *b, const struct bkey *k)
{
	unsigned int i;

	for (i = 0; i < b->nsets; i++)
		if ((void *)k < (void *)bset_bkey_last(b->set[i].data))
			break;
	return i;
}

/* The iterator yields every key once, in order, newer sets first on ties. */
static void bset_test_iter_order(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 2, &bch_btree_keys_ops);
	struct btree_iter_stack iter;
	struct bkey *k, *prev = NULL;
	struct rnd_state rnd;
	unsigned int set, j, total = 0, count = 0;

	prandom_seed_state(&rnd, 7);
	for (set = 0; set < MAX_BSETS; set++) {
		struct bset_tree *t = bset_tree_last(&n->b);

		for (j = 0; j < 120; j++) {
			struct bkey search, *where;
			struct pkey nk;

			nk.key = KEY(TEST_INODE, 1 + prandom_u32_state(&rnd) % 500,
				     1);
			SET_KEY_PTRS(&nk.key, 1);
			nk.key.ptr[0] = MAKE_PTR(set, j, 0);
			search = nk.key;
			where = bch_bset_search(&n->b, t, &search);
			KUNIT_ASSERT_TRUE(test, bch_bset_insert(&n->b, where,
								&nk.key));
			total++;
		}
		if (set + 1 < MAX_BSETS)
			freeze_and_open(n);
	}

	for_each_key(&n->b, k, &iter) {
		if (prev) {
			s64 c = bkey_cmp(prev, k);

			KUNIT_ASSERT_LE(test, c, 0LL);
			/*
			 * Equal keys of different sets: the newer set (higher
			 * address) first; within a set, set order.
			 */
			if (!c && set_of(&n->b, prev) != set_of(&n->b, k))
				KUNIT_ASSERT_TRUE(test, prev > k);
		}
		prev = k;
		count++;
	}
	KUNIT_EXPECT_EQ(test, count, total);

	/* Starting from a search key skips exactly the keys up to it. */
	{
		struct bkey search = KEY(TEST_INODE, 250, 0);

		bch_btree_iter_stack_init(&n->b, &iter, &search);
		k = bch_btree_iter_next(&iter.iter);
		KUNIT_ASSERT_NOT_NULL(test, k);
		KUNIT_EXPECT_GT(test, bkey_cmp(k, &search), 0LL);
	}
}

static bool filter_odd_ptr_dev(struct btree_keys *b, const struct bkey *k)
{
	return PTR_DEV(k, 0) & 1;
}

static void bset_test_iter_filter(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 0, &bch_btree_keys_ops);
	struct btree_iter_stack iter;
	struct bkey *k;
	unsigned int j, count = 0;

	for (j = 0; j < 40; j++) {
		struct pkey nk;

		nk.key = KEY(TEST_INODE, j + 1, 1);
		SET_KEY_PTRS(&nk.key, 1);
		nk.key.ptr[0] = MAKE_PTR(0, j, j & 1);
		SET_PTR_DEV(&nk.key, 0, j & 1);
		bch_bset_insert(&n->b, bset_bkey_last(n->b.set->data), &nk.key);
	}
	for_each_key_filter(&n->b, k, &iter, filter_odd_ptr_dev) {
		KUNIT_EXPECT_EQ(test, PTR_DEV(k, 0), 0U);
		count++;
	}
	KUNIT_EXPECT_EQ(test, count, 20U);
}

/* A heap-sized iterator as btree.c uses for reading a node. */
static void bset_test_iter_heap(struct kunit *test)
{
	struct btree_iter *iter = kunit_kzalloc(test, bch_btree_iter_bytes(8),
						GFP_KERNEL);
	__le64 (*words)[2 * 8] = kunit_kcalloc(test, 8, sizeof(*words),
					       GFP_KERNEL);
	unsigned int s, j, count = 0;
	struct bkey *k, *prev = NULL;

	KUNIT_ASSERT_NOT_NULL(test, iter);
	KUNIT_ASSERT_NOT_NULL(test, words);
	bch_btree_iter_init(iter, NULL, 8);
	for (s = 0; s < 8; s++) {
		for (j = 0; j < 8; j++) {
			struct bkey *key = (struct bkey *)&words[s][2 * j];

			*key = KEY(0, j * 8 + s, 0);
		}
		bch_btree_iter_push(iter, (struct bkey *)words[s],
				    (struct bkey *)words[s] + 8);
	}
	/* An empty set is not pushed. */
	bch_btree_iter_push(iter, (struct bkey *)words[0],
			    (struct bkey *)words[0]);
	while ((k = bch_btree_iter_next(iter))) {
		if (prev)
			KUNIT_EXPECT_EQ(test, KEY_OFFSET(k), KEY_OFFSET(prev) + 1);
		prev = k;
		count++;
	}
	KUNIT_EXPECT_EQ(test, count, 64U);
	KUNIT_EXPECT_TRUE(test, bch_btree_iter_end(iter));
}

/*
 * Node read: several sets of overlapping extents from different writes,
 * sorted with the extent fixup, must read as if applied oldest first.
 */
static void bset_test_sort_fix_extents(struct kunit *test)
{
	const unsigned int nsect = 3000, rounds = 40;
	struct tnode *n = tnode_new(test, 2, &bch_extent_keys_ops);
	struct btree_iter *iter = kunit_kzalloc(test, bch_btree_iter_bytes(16),
						GFP_KERNEL);
	u32 *model = kunit_kcalloc(test, nsect, sizeof(u32), GFP_KERNEL);
	u32 *seen = kunit_kcalloc(test, nsect, sizeof(u32), GFP_KERNEL);
	struct rnd_state rnd;
	unsigned int round, version = 0;

	KUNIT_ASSERT_NOT_NULL(test, iter);
	KUNIT_ASSERT_NOT_NULL(test, model);
	KUNIT_ASSERT_NOT_NULL(test, seen);
	prandom_seed_state(&rnd, 1234);

	for (round = 0; round < rounds; round++) {
		unsigned int nsets = 2 + prandom_u32_state(&rnd) % 10, s, j;
		void *pos = n->b.set->data;

		/* As btree.c reads a node: every set of the buffer pushed. */
		bch_btree_iter_init(iter, &n->b, 16);
		memset(model, 0, nsect * sizeof(u32));
		for (s = 0; s < nsets; s++) {
			struct bset *i = pos;
			struct bkey *k = bset_start(i);
			u64 at = prandom_u32_state(&rnd) % 64;

			/* One sorted, non-overlapping set per "write". */
			for (j = 0; j < 40; j++) {
				u32 len = 1 + prandom_u32_state(&rnd) % 64;
				u32 v = prandom_u32_state(&rnd) % 8 ?
					++version : 0;
				unsigned int x;

				if (at + len > nsect)
					break;
				mk_extent(k, TEST_INODE, at, len, v);
				for (x = at; x < at + len; x++)
					model[x] = v;
				k = bkey_next(k);
				at += len + prandom_u32_state(&rnd) % 80;
			}
			bset_set_u64s(i, (__le64 *)k - i->d);
			bch_btree_iter_push(iter, bset_start(i), k);
			pos += roundup(set_bytes(i), TEST_BLOCK_BYTES);
		}

		n->b.nsets = 0;
		bch_btree_sort_and_fix_extents(&n->b, iter, &n->sort);
		check_model(test, &n->b, model, seen, nsect);
		KUNIT_EXPECT_EQ(test, n->b.nsets, 0);
	}
}

/*
 * A crafted node: one old extent, then a set of small newer ones, each
 * inside it. Resolving the overlaps cuts the old one into a piece per
 * gap, so the sorted keys need about twice the words read. The sort
 * stops where the node ends and says so, rather than writing past it.
 */
static void bset_test_sort_fix_overflow(struct kunit *test)
{
	const unsigned int small = 120;
	struct tnode *n = tnode_new(test, 0, &bch_extent_keys_ops);
	struct btree_iter *iter = kunit_kzalloc(test, bch_btree_iter_bytes(4),
						GFP_KERNEL);
	struct bset *old = n->b.set->data, *new;
	size_t room = (btree_keys_bytes(&n->b) - sizeof(struct bset)) / 8;
	struct bkey *k;
	unsigned int j;

	KUNIT_ASSERT_NOT_NULL(test, iter);
	bch_btree_iter_init(iter, &n->b, 4);

	k = bset_start(old);
	mk_extent(k, TEST_INODE, 0, 8 * small, 1);
	k = bkey_next(k);
	bset_set_u64s(old, (__le64 *)k - old->d);
	bch_btree_iter_push(iter, bset_start(old), k);

	new = (void *)old + roundup(set_bytes(old), TEST_BLOCK_BYTES);
	k = bset_start(new);
	for (j = 0; j < small; j++) {
		mk_extent(k, TEST_INODE, 8 * j + 2, 1, 2 + j);
		k = bkey_next(k);
	}
	bset_set_u64s(new, (__le64 *)k - new->d);
	KUNIT_ASSERT_LE(test, bset_byte_offset(&n->b, new) + set_bytes(new),
			btree_keys_bytes(&n->b));
	bch_btree_iter_push(iter, bset_start(new), k);

	n->b.nsets = 0;
	KUNIT_EXPECT_FALSE(test, bch_btree_sort_and_fix_extents(&n->b, iter,
								&n->sort));
	KUNIT_EXPECT_LE(test, (size_t)bset_u64s(n->b.set->data), room);
}

/* Lazy sorting keeps at most MAX_BSETS sets and merges small ones. */
static void bset_test_sort_lazy(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 3, &bch_extent_keys_ops);
	unsigned int j, max_nsets = 0, inserted = 0;
	struct pkey k;

	for (j = 0; j < 2000; j++) {
		mk_extent(&k.key, TEST_INODE, j * 3, 2, j + 1);
		KUNIT_ASSERT_NE(test, bch_btree_insert_key(&n->b, &k.key, NULL),
				BTREE_INSERT_STATUS_NO_INSERT);
		inserted++;
		if (j % 10 == 9) {
			if (!tnode_write(n))
				break;
			max_nsets = max_t(unsigned int, max_nsets,
					  n->b.nsets);
			KUNIT_ASSERT_LT(test, n->b.nsets, (u8)MAX_BSETS);
		}
	}
	/* Small sets are merged into their predecessors right away. */
	KUNIT_EXPECT_LE(test, max_nsets, 2U);
	bch_btree_sort(&n->b, &n->sort);
	KUNIT_EXPECT_EQ(test, n->b.nsets, 0);
	KUNIT_EXPECT_EQ(test, bset_u64s(n->b.set->data), inserted * 3);
}

/* sort_into drops pointerless and zero-sized keys; sort_partial only the latter. */
static void bset_test_sort_into_drops_bad(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 1, &bch_extent_keys_ops);
	struct btree_iter_stack iter;
	struct pkey k;
	unsigned int count = 0;
	struct bkey *p;

	mk_extent(&k.key, TEST_INODE, 0, 50, 1);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	KUNIT_ASSERT_TRUE(test, tnode_write(n));
	/* Overwrites the middle: a split, plus a pointerless key. */
	mk_extent(&k.key, TEST_INODE, 10, 10, 0);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	/* Overwrites the written key's tail whole: leaves it zero-sized. */
	mk_extent(&k.key, TEST_INODE, 20, 30, 2);
	bch_btree_insert_key(&n->b, &k.key, NULL);

	bch_btree_sort(&n->b, &n->sort);
	for_each_key(&n->b, p, &iter)
		count++;
	KUNIT_EXPECT_EQ(test, count, 3U);	/* 0-10, 10-20 (no ptr), 20-50 */

	tnode_rewrite(n);
	count = 0;
	for_each_key(&n->b, p, &iter) {
		KUNIT_EXPECT_EQ(test, KEY_PTRS(p), 1U);
		count++;
	}
	KUNIT_EXPECT_EQ(test, count, 2U);
}

/*
 * The bytes of a written bset: a node holding two extents, captured in
 * upstream's on-disk layout and decoded by hand below.
 */
static const u8 bset_vector[] = {
	/* csum (not covered here) */
	0, 0, 0, 0, 0, 0, 0, 0,
	/* magic 0x1234abcd5678ef90 */
	0x90, 0xef, 0x78, 0x56, 0xcd, 0xab, 0x34, 0x12,
	/* seq 0x0102030405060708 */
	0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	/* version 0, keys 7 (u64s) */
	0, 0, 0, 0, 7, 0, 0, 0,
	/*
	 * 1:8 len 8 -> [0:1000 gen 3] dirty
	 * high = header bit 63 | 1 ptr << 60 | dirty << 36 | 8 << 20 | 1
	 */
	0x01, 0x00, 0x80, 0x00, 0x10, 0x00, 0x00, 0x90,
	0x10, 0, 0, 0, 0, 0, 0, 0,
	/* ptr: gen 3, offset 1000 << 8, dev 0 */
	0x03, 0xe8, 0x03, 0, 0, 0, 0, 0,
	/*
	 * 1:100 len 28 -> [0:5000 gen 1, 1:9000 gen 2]
	 * high = bit 63 | 2 ptrs << 60 | 28 << 20 | 1
	 */
	0x01, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x00, 0xa0,
	0x80, 0, 0, 0, 0, 0, 0, 0,
	0x01, 0x88, 0x13, 0, 0, 0, 0, 0,
	/* dev 1 is bit 51: byte 6 bit 3 */
	0x02, 0x28, 0x23, 0, 0, 0, 0x08, 0,
};

static void make_vector_keys(struct bkey *a, struct bkey *b)
{
	*a = KEY(1, 16, 8);
	SET_KEY_PTRS(a, 1);
	SET_KEY_DIRTY(a, 1);
	a->ptr[0] = MAKE_PTR(3, 1000, 0);

	*b = KEY(1, 128, 28);
	SET_KEY_PTRS(b, 2);
	b->ptr[0] = MAKE_PTR(1, 5000, 0);
	b->ptr[1] = MAKE_PTR(2, 9000, 1);
}

static void bset_test_vector_decode(struct kunit *test)
{
	const struct bset *i = (const void *)bset_vector;
	struct pkey a, b;
	struct bkey *k = bset_start(i);
	char buf[80];

	make_vector_keys(&a.key, &b.key);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(i->magic), TEST_MAGIC);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(i->seq), 0x0102030405060708ULL);
	KUNIT_EXPECT_EQ(test, bset_u64s(i), 7U);
	KUNIT_EXPECT_EQ(test, set_bytes(i), sizeof(bset_vector));

	KUNIT_EXPECT_EQ(test, memcmp(k, &a.key, bkey_bytes(&a.key)), 0);
	bch_extent_to_text(buf, sizeof(buf), k);
	KUNIT_EXPECT_STREQ(test, buf, "1:8 len 8 -> [0:1000 gen 3] dirty");

	k = bkey_next(k);
	KUNIT_EXPECT_EQ(test, memcmp(k, &b.key, bkey_bytes(&b.key)), 0);
	KUNIT_EXPECT_EQ(test, KEY_START(k), 100ULL);
	KUNIT_EXPECT_EQ(test, PTR_DEV(k, 1), 1U);
	KUNIT_EXPECT_EQ(test, PTR_GEN(k, 1), 2);
	bch_extent_to_text(buf, sizeof(buf), k);
	KUNIT_EXPECT_STREQ(test, buf,
			   "1:100 len 28 -> [0:5000 gen 1, 1:9000 gen 2]");
	KUNIT_EXPECT_PTR_EQ(test, bkey_next(k), bset_bkey_last(i));
}

/* Inserting the same keys builds the same bytes, sorted or not. */
static void bset_test_vector_encode(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 0, &bch_extent_keys_ops);
	struct pkey a, b;
	struct bset *i = n->b.set->data;

	make_vector_keys(&a.key, &b.key);
	i->seq = cpu_to_le64(0x0102030405060708ULL);
	/* Out of order on purpose. */
	bch_btree_insert_key(&n->b, &b.key, NULL);
	bch_btree_insert_key(&n->b, &a.key, NULL);
	KUNIT_EXPECT_EQ(test, memcmp((u8 *)i + 8, bset_vector + 8,
				     sizeof(bset_vector) - 8), 0);

	bch_btree_sort(&n->b, &n->sort);
	i = n->b.set->data;
	KUNIT_EXPECT_EQ(test, memcmp((u8 *)i + 8, bset_vector + 8,
				     sizeof(bset_vector) - 8), 0);
}

/* Stats count sets and bytes by state. */
static void bset_test_stats(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 1, &bch_extent_keys_ops);
	struct bset_stats st = {};
	struct pkey k;
	unsigned int j;

	for (j = 0; j < 100; j++) {
		mk_extent(&k.key, TEST_INODE, j * 4, 2, j + 1);
		bch_btree_insert_key(&n->b, &k.key, NULL);
	}
	KUNIT_ASSERT_TRUE(test, tnode_write(n));
	mk_extent(&k.key, TEST_INODE, 9000, 2, 1000);
	bch_btree_insert_key(&n->b, &k.key, NULL);

	bch_btree_keys_stats(&n->b, &st);
	KUNIT_EXPECT_EQ(test, st.sets_written, (size_t)1);
	KUNIT_EXPECT_EQ(test, st.sets_unwritten, (size_t)1);
	KUNIT_EXPECT_EQ(test, st.bytes_written, (size_t)300 * 8);
	KUNIT_EXPECT_EQ(test, st.bytes_unwritten, (size_t)3 * 8);
	KUNIT_EXPECT_EQ(test, st.floats, (size_t)n->b.set[0].size - 1);
}

/* Keylists */

static void bset_test_keylist(struct kunit *test)
{
	struct keylist l;
	struct pkey k;
	unsigned int j, u64s;

	bch_keylist_init(&l);
	KUNIT_EXPECT_TRUE(test, bch_keylist_empty(&l));

	/* Grows out of the inline array and keeps what it had. */
	for (j = 0; j < 100; j++) {
		k.key = KEY(1, j, 0);
		SET_KEY_PTRS(&k.key, j % 3);
		u64s = bkey_u64s(&k.key);
		KUNIT_ASSERT_EQ(test, __bch_keylist_realloc(&l, u64s), 0);
		bch_keylist_add(&l, &k.key);
	}
	KUNIT_EXPECT_PTR_NE(test, l.keys_p, (u64 *)l.inline_keys);
	KUNIT_EXPECT_EQ(test, bch_keylist_nkeys(&l), (size_t)(100 * 2 + 99));
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(l.keys), 0ULL);

	bch_keylist_pop_front(&l);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(l.keys), 1ULL);
	KUNIT_EXPECT_EQ(test, bch_keylist_nkeys(&l), (size_t)(99 * 2 + 99));

	KUNIT_EXPECT_EQ(test, KEY_OFFSET(bch_keylist_pop(&l)), 99ULL);
	KUNIT_EXPECT_EQ(test, bch_keylist_nkeys(&l), (size_t)(98 * 2 + 99));

	while (bch_keylist_pop(&l))
		;
	KUNIT_EXPECT_TRUE(test, bch_keylist_empty(&l));
	KUNIT_EXPECT_NULL(test, bch_keylist_pop(&l));
	bch_keylist_free(&l);

	/* A single-key list. */
	k.key = KEY(2, 5, 1);
	bch_keylist_init_single(&l, &k.key);
	KUNIT_EXPECT_EQ(test, bch_keylist_nkeys(&l), (size_t)2);
}

static void bset_test_keylist_inline(struct kunit *test)
{
	struct keylist l;
	unsigned int j;

	bch_keylist_init(&l);
	for (j = 0; j < KEYLIST_INLINE / 2; j++) {
		KUNIT_ASSERT_EQ(test, __bch_keylist_realloc(&l, 2), 0);
		*l.top = KEY(0, j, 0);
		bch_keylist_push(&l);
	}
	/* Exactly full: still inline. */
	KUNIT_EXPECT_PTR_EQ(test, l.keys_p, (u64 *)l.inline_keys);
	KUNIT_ASSERT_EQ(test, __bch_keylist_realloc(&l, 2), 0);
	KUNIT_EXPECT_PTR_NE(test, l.keys_p, (u64 *)l.inline_keys);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(bkey_idx(l.keys, 14)), 7ULL);
	bch_keylist_reset(&l);
	KUNIT_EXPECT_TRUE(test, bch_keylist_empty(&l));
	bch_keylist_free(&l);
}

static void bset_test_bkey_cmp(struct kunit *test)
{
	struct bkey a = KEY(1, 100, 0), b = KEY(1, 200, 5), c = KEY(2, 0, 0);
	struct bkey m = MAX_KEY, z = ZERO_KEY, p;

	KUNIT_EXPECT_LT(test, bkey_cmp(&a, &b), 0LL);
	KUNIT_EXPECT_GT(test, bkey_cmp(&c, &b), 0LL);
	KUNIT_EXPECT_EQ(test, bkey_cmp(&a, &a), 0LL);
	KUNIT_EXPECT_GT(test, bkey_cmp(&m, &c), 0LL);
	KUNIT_EXPECT_LT(test, bkey_cmp(&z, &a), 0LL);

	KUNIT_EXPECT_FALSE(test, bkey_predecessor(&z, &p));
	KUNIT_EXPECT_TRUE(test, bkey_predecessor(&a, &p));
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&p), 99ULL);
	/*
	 * Offset 0 borrows from the inode: (inode - 1, ~0), as upstream's
	 * preceding_key(). As a signed offset that sorts before the whole
	 * previous inode, so a search from it merely starts early.
	 */
	KUNIT_EXPECT_TRUE(test, bkey_predecessor(&c, &p));
	KUNIT_EXPECT_EQ(test, KEY_INODE(&p), 1U);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&p), U64_MAX);
	KUNIT_EXPECT_LT(test, bkey_cmp(&p, &c), 0LL);

	KUNIT_EXPECT_TRUE(test, bch_bkey_equal_header(&a, &c));
	SET_KEY_DIRTY(&a, 1);
	KUNIT_EXPECT_FALSE(test, bch_bkey_equal_header(&a, &c));
}

static void bset_test_copy_single_ptr(struct kunit *test)
{
	struct pkey src, dst;

	src.key = KEY(3, 64, 8);
	SET_KEY_PTRS(&src.key, 3);
	SET_KEY_CSUM(&src.key, 1);
	src.key.ptr[0] = MAKE_PTR(1, 10, 0);
	src.key.ptr[1] = MAKE_PTR(2, 20, 1);
	src.key.ptr[2] = MAKE_PTR(3, 30, 2);
	bch_bkey_copy_single_ptr(&dst.key, &src.key, 2);
	KUNIT_EXPECT_EQ(test, KEY_PTRS(&dst.key), 1U);
	KUNIT_EXPECT_EQ(test, KEY_CSUM(&dst.key), 0U);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&dst.key), 64ULL);
	KUNIT_EXPECT_EQ(test, PTR_DEV(&dst.key, 0), 2U);
	KUNIT_EXPECT_EQ(test, PTR_OFFSET(&dst.key, 0), 30ULL);
}

/* A set too big for the index memory left gets a partial tree or none. */
static void bset_test_index_room(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 0, &bch_btree_keys_ops);
	unsigned int set, j;

	for (set = 0; set < MAX_BSETS; set++) {
		struct bset_tree *t = bset_tree_last(&n->b);
		struct bset *i = t->data;

		for (j = 0; j < 40; j++) {
			struct pkey nk;

			nk.key = KEY(TEST_INODE, set * 1000 + j + 1, 1);
			if (bch_btree_keys_u64s_remaining(&n->b) < 2)
				break;
			KUNIT_ASSERT_TRUE(test,
					  bch_bset_insert(&n->b,
							  bset_bkey_last(i),
							  &nk.key));
		}
		bch_bset_build_written_tree(&n->b);
		check_search_range(test, &n->b, t, TEST_INODE, 0, 4000, 1);
		if (set + 1 < MAX_BSETS)
			bch_bset_init_next(&n->b, (void *)i +
					   roundup(set_bytes(i),
						   TEST_BLOCK_BYTES),
					   TEST_MAGIC);
	}
	/* The tree memory of all sets stays within what was allocated. */
	for (set = 0; set < MAX_BSETS; set++)
		if (n->b.set[set].size)
			KUNIT_EXPECT_LE(test, (size_t)(n->b.set[set].tree -
					       n->b.set[0].tree) +
				n->b.set[set].size,
				btree_keys_bytes(&n->b) / BSET_CACHELINE);
}

/* Set headers: magic, version 0, and one sequence number per node. */
static void bset_test_init_next(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 1, &bch_extent_keys_ops);
	struct bset *first = n->b.set->data, *next;
	struct pkey k;

	KUNIT_EXPECT_EQ(test, le64_to_cpu(first->magic), TEST_MAGIC);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(first->version), 0U);
	KUNIT_EXPECT_EQ(test, bset_u64s(first), 0U);
	KUNIT_EXPECT_TRUE(test, n->b.last_set_unwritten);

	mk_extent(&k.key, TEST_INODE, 0, 8, 1);
	bch_btree_insert_key(&n->b, &k.key, NULL);
	KUNIT_ASSERT_TRUE(test, tnode_write(n));
	next = n->b.set[1].data;
	KUNIT_EXPECT_EQ(test, n->b.nsets, 1);
	KUNIT_EXPECT_EQ(test, bset_byte_offset(&n->b, next), TEST_BLOCK_BYTES);
	KUNIT_EXPECT_EQ(test, bset_sector_offset(&n->b, next), 1U);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(next->seq), le64_to_cpu(first->seq));
	KUNIT_EXPECT_EQ(test, le64_to_cpu(next->magic), TEST_MAGIC);
	KUNIT_EXPECT_PTR_EQ(test, bset_next_set(&n->b, TEST_BLOCK_BYTES),
			    (struct bset *)((void *)next + TEST_BLOCK_BYTES));
	/* Room: the rest of the node after the new set's header. */
	KUNIT_EXPECT_EQ(test, bch_btree_keys_u64s_remaining(&n->b),
			(btree_keys_bytes(&n->b) - TEST_BLOCK_BYTES -
			 sizeof(struct bset)) / sizeof(u64));
	KUNIT_EXPECT_TRUE(test, bset_written(&n->b, &n->b.set[0]));
	KUNIT_EXPECT_FALSE(test, bset_written(&n->b, &n->b.set[1]));
}

/* Trees of every size, perfect and not, over sets of 2..90 cachelines. */
static void bset_test_tree_sizes(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 3, &bch_btree_keys_ops);
	struct rnd_state rnd;
	unsigned int nr;

	prandom_seed_state(&rnd, 17);
	for (nr = 8; nr < 700; nr += 7) {
		struct bkey *keys = random_keys(test, &rnd, nr, TEST_INODE, 0,
						5);

		fill_frozen_set(&n->b, keys, nr);
		check_search_range(test, &n->b, n->b.set, TEST_INODE, 0,
				   nr * 5 + 2, 1);
		kunit_kfree(test, keys);
	}
}

/* Frozen keys trimmed in place (as extent overwrites do) stay findable. */
static void bset_test_fix_invalidated(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 3, &bch_btree_keys_ops);
	struct bset_tree *t = n->b.set;
	struct rnd_state rnd;
	struct bkey *keys, *k, *prev = NULL;
	unsigned int j = 0;

	prandom_seed_state(&rnd, 23);
	keys = random_keys(test, &rnd, 600, TEST_INODE, 0, 40);
	fill_frozen_set(&n->b, keys, 600);
	KUNIT_ASSERT_GT(test, t->size, 2U);

	/* Move every third key down to just above its predecessor. */
	for (k = bset_start(t->data); k < bset_bkey_last(t->data);
	     prev = k, k = bkey_next(k), j++) {
		u64 floor = prev ? KEY_OFFSET(prev) + 1 : 0;

		if (j % 3 || KEY_OFFSET(k) == floor)
			continue;
		SET_KEY_OFFSET(k, floor + (KEY_OFFSET(k) - floor) / 2);
		bch_bset_fix_invalidated_key(&n->b, k);
	}
	/* The last key too: the set's end moves. */
	SET_KEY_OFFSET(prev, KEY_OFFSET(prev) - 1);
	bch_bset_fix_invalidated_key(&n->b, prev);
	KUNIT_EXPECT_EQ(test, bkey_cmp(bset_tree_end(t), prev), 0LL);

	check_search_range(test, &n->b, t, TEST_INODE, 0, 600 * 40 + 2, 1);
}

/* Merging only the newest sets leaves the older ones as they were. */
static void bset_test_sort_partial(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 2, &bch_extent_keys_ops);
	struct btree_iter_stack iter;
	unsigned int set, j, count = 0;
	u8 *before;
	struct pkey k;
	struct bkey *p;

	for (set = 0; set < 3; set++) {
		for (j = 0; j < 30; j++) {
			mk_extent(&k.key, TEST_INODE, (j * 3 + set) * 10, 5,
				  set * 100 + j + 1);
			bch_btree_insert_key(&n->b, &k.key, NULL);
		}
		if (set < 2)
			freeze_and_open(n);
	}
	before = kunit_kmalloc(test, set_bytes(n->b.set[0].data), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, before);
	memcpy(before, n->b.set[0].data, set_bytes(n->b.set[0].data));

	bch_btree_sort_partial(&n->b, 1, &n->sort);
	KUNIT_EXPECT_EQ(test, n->b.nsets, 1);
	KUNIT_EXPECT_FALSE(test, n->b.last_set_unwritten);
	KUNIT_EXPECT_EQ(test, memcmp(before, n->b.set[0].data,
				     set_bytes(n->b.set[0].data)), 0);
	KUNIT_EXPECT_EQ(test, bset_u64s(n->b.set[1].data), 60U * 3);

	for_each_key(&n->b, p, &iter) {
		KUNIT_EXPECT_EQ(test, KEY_START(p), (u64)count * 10);
		count++;
	}
	KUNIT_EXPECT_EQ(test, count, 90U);
}

/*
 * Keys of 7 pointers (9 words) cannot be indexed: a cacheline's first
 * key may start 8 words in. The tree is given up on, lookups scan, and
 * nothing reads out of bounds.
 */
static void bset_test_oversized_keys(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 1, &bch_btree_keys_ops);
	struct bset *i = n->b.set->data;
	struct bkey *k = bset_start(i);
	unsigned int j, p;

	for (j = 0; j < 80; j++) {
		*k = KEY(TEST_INODE, 10 * (j + 1), 1);
		SET_KEY_PTRS(k, 7);
		for (p = 0; p < 7; p++)
			k->ptr[p] = MAKE_PTR(0, j, p);
		k = bkey_next(k);
	}
	bset_set_u64s(i, (__le64 *)k - i->d);
	bch_bset_build_written_tree(&n->b);
	KUNIT_EXPECT_EQ(test, n->b.set[0].size, 0U);
	check_search_range(test, &n->b, n->b.set, TEST_INODE, 0, 810, 1);
}

/* The open set's table stays within the index memory as the set grows. */
static void bset_test_open_table_growth(struct kunit *test)
{
	struct tnode *n = tnode_new(test, 0, &bch_btree_keys_ops);
	struct bset_tree *t = n->b.set;
	unsigned int j;

	/* Appends: the table grows one cacheline at a time. */
	for (j = 0; bch_btree_keys_u64s_remaining(&n->b) >= 2; j++) {
		struct bkey key = KEY(TEST_INODE, j + 1, 1);

		KUNIT_ASSERT_TRUE(test, bch_bset_insert(&n->b,
							bset_bkey_last(t->data),
							&key));
	}
	KUNIT_EXPECT_EQ(test, t->size,
			btree_keys_bytes(&n->b) / BSET_CACHELINE);
	check_search_range(test, &n->b, t, TEST_INODE, 0, j + 2, 1);
}

static struct kunit_case bset_test_cases[] = {
	KUNIT_CASE_PARAM(bset_test_model, model_run_gen_params),
	KUNIT_CASE(bset_test_insert_status),
	KUNIT_CASE(bset_test_node_full),
	KUNIT_CASE(bset_test_search_frozen),
	KUNIT_CASE(bset_test_search_unpackable),
	KUNIT_CASE(bset_test_search_open),
	KUNIT_CASE(bset_test_search_multiset),
	KUNIT_CASE(bset_test_iter_order),
	KUNIT_CASE(bset_test_iter_filter),
	KUNIT_CASE(bset_test_iter_heap),
	KUNIT_CASE(bset_test_sort_fix_extents),
	KUNIT_CASE(bset_test_sort_fix_overflow),
	KUNIT_CASE(bset_test_sort_lazy),
	KUNIT_CASE(bset_test_sort_into_drops_bad),
	KUNIT_CASE(bset_test_vector_decode),
	KUNIT_CASE(bset_test_vector_encode),
	KUNIT_CASE(bset_test_stats),
	KUNIT_CASE(bset_test_keylist),
	KUNIT_CASE(bset_test_keylist_inline),
	KUNIT_CASE(bset_test_bkey_cmp),
	KUNIT_CASE(bset_test_copy_single_ptr),
	KUNIT_CASE(bset_test_index_room),
	KUNIT_CASE(bset_test_init_next),
	KUNIT_CASE(bset_test_tree_sizes),
	KUNIT_CASE(bset_test_fix_invalidated),
	KUNIT_CASE(bset_test_sort_partial),
	KUNIT_CASE(bset_test_oversized_keys),
	KUNIT_CASE(bset_test_open_table_growth),
	{}
};

static struct kunit_suite bset_test_suite = {
	.name = "bcache_bset",
	.test_cases = bset_test_cases,
};

kunit_test_suites(&bset_test_suite);

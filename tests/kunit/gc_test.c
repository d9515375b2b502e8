// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of gc.c's bucket marking and keybuf.c's buffer of keys.
 *
 * Marking is tested at two levels: the rule for one pointer on a bare
 * bucket (a table of bucket states and pointers with the marks expected
 * after), and whole keys against a small fake cache set, which covers
 * what the cache set adds (several pointers, unusable pointers, the keys
 * that free btree nodes, catching gens up at registration). The keybuf
 * tests drive the rbtree through its slot allocator with hand-made
 * extents: ordering, overlap refusal, running out of slots, and what a
 * write to a range does to idle and busy keys.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "../../bcache.h"
#include "../../alloc.h"
#include "../../btree.h"
#include "../../gc.h"
#include "../../keybuf.h"

/* ---- one pointer, one bucket ---- */

struct mark_case {
	const char	*desc;
	/* bucket before */
	u8		gen, last_gc;
	unsigned int	mark, sectors;
	/* the pointer and its key */
	u8		ptr_gen;
	int		level;
	bool		dirty;
	unsigned int	size;
	/* expected */
	u8		stale;
	bool		conflict;
	unsigned int	want_mark, want_sectors;
	u8		want_last_gc;
};

static const struct mark_case mark_cases[] = {
	{ "clean extent in an unmarked bucket",
	  5, 5, 0, 0,		5, 0, false, 8,
	  0, false, GC_MARK_RECLAIMABLE, 8, 5 },
	{ "dirty extent in an unmarked bucket",
	  5, 5, 0, 0,		5, 0, true, 8,
	  0, false, GC_MARK_DIRTY, 8, 5 },
	{ "clean extent keeps a dirty bucket dirty",
	  5, 5, GC_MARK_DIRTY, 16, 5, 0, false, 8,
	  0, false, GC_MARK_DIRTY, 24, 5 },
	{ "dirty extent makes a reclaimable bucket dirty",
	  5, 5, GC_MARK_RECLAIMABLE, 16, 5, 0, true, 4,
	  0, false, GC_MARK_DIRTY, 20, 5 },
	{ "btree node pointer is metadata",
	  9, 9, 0, 0,		9, 1, false, 512,
	  0, false, GC_MARK_METADATA, 512, 9 },
	{ "second node pointer into a metadata bucket",
	  9, 9, GC_MARK_METADATA, 512, 9, 3, false, 512,
	  0, false, GC_MARK_METADATA, 1024, 9 },
	{ "extent in a metadata bucket conflicts",
	  9, 9, GC_MARK_METADATA, 512, 9, 0, false, 8,
	  0, true, GC_MARK_METADATA, 520, 9 },
	{ "dirty extent in a metadata bucket conflicts",
	  9, 9, GC_MARK_METADATA, 512, 9, 0, true, 8,
	  0, true, GC_MARK_DIRTY, 520, 9 },
	{ "node pointer into a data bucket conflicts",
	  9, 9, GC_MARK_DIRTY, 8, 9, 1, false, 512,
	  0, true, GC_MARK_METADATA, 520, 9 },
	{ "stale pointer marks nothing, lowers last_gc",
	  7, 7, 0, 0,		4, 0, true, 8,
	  3, false, 0, 0, 4 },
	{ "stale pointer older than last_gc",
	  7, 5, GC_MARK_RECLAIMABLE, 8, 2, 0, false, 8,
	  5, false, GC_MARK_RECLAIMABLE, 8, 2 },
	{ "stale across the wrap of the 8-bit gen",
	  2, 2, 0, 0,		250, 0, false, 8,
	  8, false, 0, 0, 250 },
	{ "pointer gen ahead of the bucket is live",
	  3, 3, 0, 0,		5, 0, false, 8,
	  0, false, GC_MARK_RECLAIMABLE, 8, 3 },
	{ "sectors saturate at the field's maximum",
	  1, 1, GC_MARK_DIRTY, MAX_GC_SECTORS_USED - 4, 1, 0, true, 64,
	  0, false, GC_MARK_DIRTY, MAX_GC_SECTORS_USED, 1 },
};

static void mark_case_desc(const struct mark_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(mark, mark_cases, mark_case_desc);

static void gc_test_mark_bucket(struct kunit *test)
{
	const struct mark_case *c = test->param_value;
	struct bucket g = { .gen = c->gen, .last_gc = c->last_gc };
	bool conflict = !c->conflict;
	u8 stale;

	SET_GC_MARK(&g, c->mark);
	SET_GC_SECTORS_USED(&g, c->sectors);
	SET_GC_MOVE(&g, true);

	stale = bch_gc_mark_bucket(&g, c->ptr_gen, c->level, c->dirty,
				   c->size, &conflict);

	KUNIT_EXPECT_EQ(test, stale, c->stale);
	KUNIT_EXPECT_EQ(test, conflict, c->conflict);
	KUNIT_EXPECT_EQ(test, GC_MARK(&g), c->want_mark);
	KUNIT_EXPECT_EQ(test, GC_SECTORS_USED(&g), c->want_sectors);
	KUNIT_EXPECT_EQ(test, g.last_gc, c->want_last_gc);
	/* Neither the gen nor the moving gc flag is gc marking's business. */
	KUNIT_EXPECT_EQ(test, g.gen, c->gen);
	KUNIT_EXPECT_TRUE(test, GC_MOVE(&g));
}

/* ---- whole keys against a fake cache set ---- */

#define FAKE_BUCKET_BITS	10	/* 512 KiB buckets */
#define FAKE_NBUCKETS		64

struct pkey {
	BKEY_PADDED(key);
};

static struct cache_set *fake_cache_set(struct kunit *test)
{
	struct cache_set *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct cache *ca = kunit_kzalloc(test, sizeof(*ca), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, ca);
	ca->buckets = kunit_kcalloc(test, FAKE_NBUCKETS, sizeof(*ca->buckets),
				    GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ca->buckets);

	ca->set = c;
	ca->sb.nbuckets = FAKE_NBUCKETS;
	ca->sb.bucket_size = 1U << FAKE_BUCKET_BITS;
	ca->sb.first_bucket = 1;
	c->cache = ca;
	c->bucket_bits = FAKE_BUCKET_BITS;
	c->nbuckets = FAKE_NBUCKETS;
	return c;
}

/* A key at @inode:@offset of @size sectors, with no pointers yet. */
static void make_key(struct pkey *p, u64 inode, u64 offset, u64 size)
{
	memset(p, 0, sizeof(*p));
	p->key = KEY(inode, offset, size);
}

static void add_ptr(struct pkey *p, unsigned int dev, u64 bucket, u8 gen)
{
	unsigned int i = KEY_PTRS(&p->key);

	p->key.ptr[i] = MAKE_PTR(gen, bucket << FAKE_BUCKET_BITS, dev);
	SET_KEY_PTRS(&p->key, i + 1);
}

static struct bucket *fake_bucket(struct cache_set *c, size_t nr)
{
	return c->cache->buckets + nr;
}

static void gc_test_mark_key_pointers(struct kunit *test)
{
	struct cache_set *c = fake_cache_set(test);
	struct pkey k;

	/* As gc's start leaves them: last_gc at the bucket's own gen. */
	fake_bucket(c, 3)->gen = 1;
	fake_bucket(c, 3)->last_gc = 1;
	fake_bucket(c, 4)->gen = 6;	/* the pointer into it is 4 behind */
	fake_bucket(c, 4)->last_gc = 6;
	fake_bucket(c, 5)->gen = 2;
	fake_bucket(c, 5)->last_gc = 2;

	make_key(&k, 1, 100, 16);
	add_ptr(&k, 0, 3, 1);
	add_ptr(&k, 0, 4, 2);
	add_ptr(&k, 0, 5, 2);
	SET_KEY_DIRTY(&k.key, true);

	KUNIT_EXPECT_EQ(test, __bch_btree_mark_key(c, 0, &k.key), 4);

	KUNIT_EXPECT_EQ(test, GC_MARK(fake_bucket(c, 3)), GC_MARK_DIRTY);
	KUNIT_EXPECT_EQ(test, GC_SECTORS_USED(fake_bucket(c, 3)), 16);
	KUNIT_EXPECT_EQ(test, GC_MARK(fake_bucket(c, 4)), 0);
	KUNIT_EXPECT_EQ(test, GC_SECTORS_USED(fake_bucket(c, 4)), 0);
	KUNIT_EXPECT_EQ(test, fake_bucket(c, 4)->last_gc, 2);
	KUNIT_EXPECT_EQ(test, GC_MARK(fake_bucket(c, 5)), GC_MARK_DIRTY);
}

static void gc_test_mark_key_skips(struct kunit *test)
{
	struct cache_set *c = fake_cache_set(test);
	size_t i;
	struct pkey k;

	/* A key at position zero frees a btree node: never marked. */
	make_key(&k, 0, 0, 0);
	add_ptr(&k, 0, 7, 0);
	KUNIT_EXPECT_EQ(test, __bch_btree_mark_key(c, 1, &k.key), 0);
	KUNIT_EXPECT_EQ(test, GC_MARK(fake_bucket(c, 7)), 0);

	/* No such device, and a bucket past the end of the cache. */
	make_key(&k, 1, 64, 8);
	add_ptr(&k, MAX_CACHES_PER_SET, 8, 0);
	add_ptr(&k, 0, FAKE_NBUCKETS + 5, 0);
	KUNIT_EXPECT_EQ(test, __bch_btree_mark_key(c, 0, &k.key), 0);

	for (i = 0; i < FAKE_NBUCKETS; i++)
		KUNIT_EXPECT_EQ(test, fake_bucket(c, i)->gc_mark, 0);
}

static void gc_test_initial_mark(struct kunit *test)
{
	struct cache_set *c = fake_cache_set(test);
	struct pkey node, data;

	/* The prio_set on disk is older than this node pointer. */
	fake_bucket(c, 10)->gen = 3;
	fake_bucket(c, 10)->prio = INITIAL_PRIO;
	make_key(&node, 1, 4096, 512);
	add_ptr(&node, 0, 10, 5);

	bch_initial_mark_key(c, 1, &node.key);
	KUNIT_EXPECT_EQ(test, fake_bucket(c, 10)->gen, 5);
	KUNIT_EXPECT_EQ(test, fake_bucket(c, 10)->prio, BTREE_PRIO);
	KUNIT_EXPECT_EQ(test, GC_MARK(fake_bucket(c, 10)), GC_MARK_METADATA);

	/* Data in a bucket that still has the btree prio gets a data prio. */
	fake_bucket(c, 11)->gen = 7;
	fake_bucket(c, 11)->prio = BTREE_PRIO;
	make_key(&data, 1, 64, 8);
	add_ptr(&data, 0, 11, 7);

	bch_initial_mark_key(c, 0, &data.key);
	KUNIT_EXPECT_EQ(test, fake_bucket(c, 11)->prio, INITIAL_PRIO);
	KUNIT_EXPECT_EQ(test, GC_MARK(fake_bucket(c, 11)),
			GC_MARK_RECLAIMABLE);

	/* A stale pointer changes neither gen nor prio. */
	fake_bucket(c, 12)->gen = 9;
	fake_bucket(c, 12)->prio = 100;
	make_key(&data, 1, 128, 8);
	add_ptr(&data, 0, 12, 8);

	bch_initial_mark_key(c, 0, &data.key);
	KUNIT_EXPECT_EQ(test, fake_bucket(c, 12)->gen, 9);
	KUNIT_EXPECT_EQ(test, fake_bucket(c, 12)->prio, 100);
	KUNIT_EXPECT_EQ(test, GC_MARK(fake_bucket(c, 12)), 0);
}

static void gc_test_bucket_in_use(struct kunit *test)
{
	struct cache_set *c = fake_cache_set(test);
	struct gc_stat stats = {};

	c->nbuckets = 1000;
	c->avail_nbuckets = 250;
	bch_update_bucket_in_use(c, &stats);
	KUNIT_EXPECT_EQ(test, stats.in_use, 75);

	c->avail_nbuckets = 1000;
	bch_update_bucket_in_use(c, &stats);
	KUNIT_EXPECT_EQ(test, stats.in_use, 0);

	c->nbuckets = 0;
	c->avail_nbuckets = 0;
	bch_update_bucket_in_use(c, &stats);
	KUNIT_EXPECT_EQ(test, stats.in_use, 0);
}

/*
 * gc pauses for foreground I/O only by its pass rule (at least 100 nodes
 * between pauses), never because another task wants the CPU: pausing on
 * that made a walk under steady I/O restart forever.
 */
static void gc_test_pause_rule(struct kunit *test)
{
	struct cache_set *c = fake_cache_set(test);
	struct gc_stat gc = {};

	c->gc_stats.nodes = 500;	/* the last run's count: 100 per pass */
	gc.nodes = 1000;
	KUNIT_EXPECT_FALSE(test, bch_gc_should_pause(c, &gc));

	atomic_set(&c->search_inflight, 3);
	gc.nodes_pre = 950;
	KUNIT_EXPECT_FALSE(test, bch_gc_should_pause(c, &gc));
	KUNIT_EXPECT_EQ(test, gc.nodes_pre, 950);

	gc.nodes_pre = 900;
	KUNIT_EXPECT_TRUE(test, bch_gc_should_pause(c, &gc));
	KUNIT_EXPECT_EQ(test, gc.nodes_pre, 1000);
	KUNIT_EXPECT_FALSE(test, bch_gc_should_pause(c, &gc));

	/* A big tree takes 1/100 of it per pass. */
	c->gc_stats.nodes = 50000;
	gc.nodes = 1400;
	KUNIT_EXPECT_FALSE(test, bch_gc_should_pause(c, &gc));
	gc.nodes = 1500;
	KUNIT_EXPECT_TRUE(test, bch_gc_should_pause(c, &gc));

	/* Forced rescheduling alone never pauses the walk. */
	set_tsk_need_resched(current);
	gc.nodes = 1501;
	KUNIT_EXPECT_FALSE(test, bch_gc_should_pause(c, &gc));
}

/* ---- keybufs ---- */

static struct keybuf *new_keybuf(struct kunit *test)
{
	struct keybuf *buf = kunit_kzalloc(test, sizeof(*buf), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	bch_keybuf_init(buf);
	return buf;
}

/* Add the extent @inode:[@start, @end) with one pointer. */
static int add_extent(struct keybuf *buf, u64 inode, u64 start, u64 end)
{
	struct pkey p;

	make_key(&p, inode, end, end - start);
	add_ptr(&p, 0, 3, 1);
	return bch_keybuf_add(buf, &p.key);
}

static void expect_extent(struct kunit *test, struct keybuf_key *w,
			  u64 inode, u64 start, u64 end)
{
	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_EXPECT_EQ(test, KEY_INODE(&w->key), inode);
	KUNIT_EXPECT_EQ(test, KEY_START(&w->key), start);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&w->key), end);
	KUNIT_EXPECT_EQ(test, KEY_PTRS(&w->key), 1);
}

static void keybuf_test_order_and_overlap(struct kunit *test)
{
	struct keybuf *buf = new_keybuf(test);

	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 16, 24), KEYBUF_NR - 1);
	KUNIT_EXPECT_EQ(test, add_extent(buf, 2, 0, 8), KEYBUF_NR - 2);
	/* Touching neighbours do not overlap. */
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 8, 16), KEYBUF_NR - 3);
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 0, 8), KEYBUF_NR - 4);

	/* Any shared sector refuses the key, and takes no slot. */
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 4, 12), -EEXIST);
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 20, 22), -EEXIST);
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 0, 100), -EEXIST);
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 24, 30), KEYBUF_NR - 5);

	/* Handed out in key order, each exactly once. */
	expect_extent(test, bch_keybuf_next(buf), 1, 0, 8);
	expect_extent(test, bch_keybuf_next(buf), 1, 8, 16);
}

static void keybuf_test_next_and_del(struct kunit *test)
{
	struct keybuf *buf = new_keybuf(test);
	struct keybuf_key *a, *b, *c;

	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 0, 8), KEYBUF_NR - 1);
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 8, 16), KEYBUF_NR - 2);

	a = bch_keybuf_next(buf);
	b = bch_keybuf_next(buf);
	expect_extent(test, a, 1, 0, 8);
	expect_extent(test, b, 1, 8, 16);
	KUNIT_EXPECT_TRUE(test, IS_ERR(a->private));
	KUNIT_EXPECT_NULL(test, bch_keybuf_next(buf));

	/* Deleting frees the slot and the range. */
	bch_keybuf_del(buf, a);
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 2, 6), KEYBUF_NR - 2);
	c = bch_keybuf_next(buf);
	expect_extent(test, c, 1, 2, 6);
	KUNIT_EXPECT_NULL(test, bch_keybuf_next(buf));
}

/* A batch walks on from its last key; keys before it are not looked at. */
static void keybuf_test_next_after(struct kunit *test)
{
	struct keybuf *buf = new_keybuf(test);
	struct keybuf_key *a, *b, *c;

	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 0, 8), KEYBUF_NR - 1);
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 8, 16), KEYBUF_NR - 2);
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 16, 24), KEYBUF_NR - 3);

	a = bch_keybuf_next_after(buf, NULL);
	expect_extent(test, a, 1, 0, 8);
	b = bch_keybuf_next_after(buf, a);
	expect_extent(test, b, 1, 8, 16);
	/* Left idle again, a is behind the cursor: b's successor is next. */
	a->private = NULL;
	c = bch_keybuf_next_after(buf, b);
	expect_extent(test, c, 1, 16, 24);
	KUNIT_EXPECT_NULL(test, bch_keybuf_next_after(buf, c));
	/* From the start, the idle key is found again. */
	KUNIT_EXPECT_PTR_EQ(test, bch_keybuf_next(buf), a);
}

static void keybuf_test_full(struct kunit *test)
{
	struct keybuf *buf = new_keybuf(test);
	unsigned int i;

	for (i = 0; i < KEYBUF_NR; i++)
		KUNIT_ASSERT_EQ(test, add_extent(buf, 1, i * 8, i * 8 + 8),
				KEYBUF_NR - 1 - i);

	KUNIT_EXPECT_EQ(test, add_extent(buf, 2, 0, 8), -ENOSPC);

	bch_keybuf_del(buf, bch_keybuf_next(buf));
	KUNIT_EXPECT_EQ(test, add_extent(buf, 2, 0, 8), 0);
}

static void keybuf_test_range(struct kunit *test)
{
	struct keybuf *buf = new_keybuf(test);

	bch_keybuf_update_range(buf);
	KUNIT_EXPECT_EQ(test, bkey_cmp(&buf->start, &MAX_KEY), 0);
	KUNIT_EXPECT_EQ(test, bkey_cmp(&buf->end, &MAX_KEY), 0);

	add_extent(buf, 1, 40, 48);
	add_extent(buf, 1, 8, 16);
	add_extent(buf, 3, 0, 4);
	bch_keybuf_update_range(buf);
	KUNIT_EXPECT_EQ(test, KEY_INODE(&buf->start), 1);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&buf->start), 8);
	KUNIT_EXPECT_EQ(test, KEY_INODE(&buf->end), 3);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&buf->end), 4);
}

static bool check_write(struct keybuf *buf, u64 inode, u64 start, u64 end)
{
	struct bkey from = KEY(inode, start, 0), to = KEY(inode, end, 0);

	return bch_keybuf_check_overlapping(buf, &from, &to);
}

static void keybuf_test_check_overlapping(struct kunit *test)
{
	struct keybuf *buf = new_keybuf(test);
	struct keybuf_key *busy, *idle[3];
	unsigned int i;

	add_extent(buf, 1, 0, 8);
	add_extent(buf, 1, 8, 16);
	add_extent(buf, 1, 16, 24);
	add_extent(buf, 1, 32, 40);
	bch_keybuf_update_range(buf);

	/* Hand out all four, then give back all but [8, 16) idle. */
	idle[0] = bch_keybuf_next(buf);
	busy = bch_keybuf_next(buf);
	idle[1] = bch_keybuf_next(buf);
	idle[2] = bch_keybuf_next(buf);
	expect_extent(test, busy, 1, 8, 16);
	expect_extent(test, idle[2], 1, 32, 40);
	for (i = 0; i < ARRAY_SIZE(idle); i++)
		idle[i]->private = NULL;

	/* Writes that only touch the ends of keys, or miss them. */
	KUNIT_EXPECT_FALSE(test, check_write(buf, 1, 24, 32));
	KUNIT_EXPECT_FALSE(test, check_write(buf, 1, 40, 64));
	KUNIT_EXPECT_FALSE(test, check_write(buf, 2, 0, 8));
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 24, 32), KEYBUF_NR - 5);

	/* Overlapping idle keys go away; the busy one stays and is reported. */
	KUNIT_EXPECT_TRUE(test, check_write(buf, 1, 4, 20));
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 0, 8), KEYBUF_NR - 4);
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 16, 24), KEYBUF_NR - 5);
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 8, 16), -EEXIST);

	/*
	 * With the busy key done, the same write only drops the idle keys
	 * it overlaps: [24, 32) and [32, 40) are all that is left.
	 */
	bch_keybuf_del(buf, busy);
	KUNIT_EXPECT_FALSE(test, check_write(buf, 1, 4, 20));
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 0, 24), KEYBUF_NR - 3);
	KUNIT_EXPECT_EQ(test, add_extent(buf, 1, 30, 31), -EEXIST);
}

static struct kunit_case bcache_gc_cases[] = {
	KUNIT_CASE_PARAM(gc_test_mark_bucket, mark_gen_params),
	KUNIT_CASE(gc_test_mark_key_pointers),
	KUNIT_CASE(gc_test_mark_key_skips),
	KUNIT_CASE(gc_test_initial_mark),
	KUNIT_CASE(gc_test_bucket_in_use),
	KUNIT_CASE(gc_test_pause_rule),
	KUNIT_CASE(keybuf_test_order_and_overlap),
	KUNIT_CASE(keybuf_test_next_and_del),
	KUNIT_CASE(keybuf_test_next_after),
	KUNIT_CASE(keybuf_test_full),
	KUNIT_CASE(keybuf_test_range),
	KUNIT_CASE(keybuf_test_check_overlapping),
	{}
};

static struct kunit_suite bcache_gc_suite = {
	.name = "bcache_gc",
	.test_cases = bcache_gc_cases,
};

kunit_test_suites(&bcache_gc_suite);

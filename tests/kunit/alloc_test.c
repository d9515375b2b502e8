// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the allocator's pure logic (alloc.c): generation math and
 * the gc pressure it records, which buckets may be invalidated, which free
 * lists each reserve draws from, how the lru policy ranks candidates (with
 * ties broken the same way every time), sealing and checking a prio_set,
 * and which open bucket a data write goes to. Nothing here does I/O or
 * starts the allocator thread: a cache and its set are faked with just
 * the fields these functions read.
 */

#include <kunit/test.h>
#include <linux/sort.h>

#include "../../bcache.h"
#include "../../alloc.h"
#include "../../gc.h"

/* A cache with @nbuckets zeroed buckets and a heap of @heap_size. */
static struct cache *fake_cache(struct kunit *test, size_t nbuckets,
				int heap_size)
{
	struct cache_set *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct cache *ca = kunit_kzalloc(test, sizeof(*ca), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, ca);

	ca->set = c;
	c->cache = ca;
	c->gc_mark_valid = 1;
	c->min_prio = 0;
	init_waitqueue_head(&c->gc_wait);

	ca->sb.nbuckets = nbuckets;
	ca->sb.first_bucket = 1;
	ca->sb.bucket_size = 1024;
	ca->sb.block_size = 8;
	ca->buckets = kunit_kcalloc(test, nbuckets, sizeof(*ca->buckets),
				    GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ca->buckets);

	if (heap_size) {
		ca->heap.data = kunit_kcalloc(test, heap_size,
					      sizeof(*ca->heap.data),
					      GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, ca->heap.data);
		ca->heap.size = heap_size;
	}
	return ca;
}

/* ---- gen_after() ---- */

struct gen_case {
	const char	*desc;
	u8		a, b;
	u8		after;
};

static const struct gen_case gen_cases[] = {
	{ "equal", 7, 7, 0 },
	{ "one ahead", 8, 7, 1 },
	{ "behind counts as not after", 7, 8, 0 },
	{ "ahead across the wrap", 2, 250, 8 },
	{ "behind across the wrap", 250, 2, 0 },
	{ "exactly half way is after", 128, 0, 128 },
	{ "past half way is behind", 129, 0, 0 },
	{ "zero after 255", 0, 255, 1 },
};

KUNIT_ARRAY_PARAM_DESC(gen, gen_cases, desc);

static void alloc_test_gen_after(struct kunit *test)
{
	const struct gen_case *p = test->param_value;

	KUNIT_EXPECT_EQ(test, gen_after(p->a, p->b), p->after);
}

/* ---- bch_inc_gen() ---- */

static void alloc_test_inc_gen_wraps(struct kunit *test)
{
	struct cache *ca = fake_cache(test, 4, 0);
	struct bucket *b = ca->buckets + 1;
	unsigned int i;

	b->gen = 250;
	b->last_gc = 250;
	for (i = 0; i < 10; i++)
		bch_inc_gen(ca, b);

	KUNIT_EXPECT_EQ(test, b->gen, 4);
	KUNIT_EXPECT_EQ(test, bucket_gc_gen(b), 10);
	KUNIT_EXPECT_EQ(test, ca->set->need_gc, 10);
}

static void alloc_test_inc_gen_keeps_max(struct kunit *test)
{
	struct cache *ca = fake_cache(test, 4, 0);
	struct bucket *b = ca->buckets + 2;

	ca->set->need_gc = 50;
	b->gen = 3;
	b->last_gc = 3;
	KUNIT_EXPECT_EQ(test, bch_inc_gen(ca, b), 4);
	/* A bucket close to its last gc does not lower the set's need. */
	KUNIT_EXPECT_EQ(test, ca->set->need_gc, 50);

	b->last_gc = (u8)(b->gen - 79);
	bch_inc_gen(ca, b);
	KUNIT_EXPECT_EQ(test, ca->set->need_gc, 80);

	/*
	 * A freed btree node's bucket at the limit: the freeing key bumps it
	 * once more, which is no warning (the in-VM run fails on any).
	 */
	b->last_gc = (u8)(b->gen - BUCKET_GC_GEN_MAX);
	bch_inc_gen(ca, b);
	KUNIT_EXPECT_EQ(test, ca->set->need_gc, BUCKET_GC_GEN_MAX + 1);
}

/* ---- bch_can_invalidate_bucket() ---- */

struct invalidate_case {
	const char	*desc;
	unsigned int	mark;
	int		pin;
	u8		gc_gen;
	bool		gc_mark_valid;
	bool		reclaimable_in_gc;
	bool		ok;
};

static const struct invalidate_case invalidate_cases[] = {
	{ "unmarked", 0, 0, 0, true, false, true },
	{ "reclaimable", GC_MARK_RECLAIMABLE, 0, 0, true, false, true },
	{ "dirty", GC_MARK_DIRTY, 0, 0, true, false, false },
	{ "metadata", GC_MARK_METADATA, 0, 0, true, false, false },
	{ "pinned", 0, 1, 0, true, false, false },
	{ "gen gap just below the limit", 0, 0, BUCKET_GC_GEN_MAX - 1,
	  true, false, true },
	{ "gen gap at the limit", 0, 0, BUCKET_GC_GEN_MAX, true, false, false },
	{ "marks invalid", 0, 0, 0, false, false, false },
	{ "marks invalid, vouched for by gc", GC_MARK_RECLAIMABLE, 0, 0,
	  false, true, true },
};

KUNIT_ARRAY_PARAM_DESC(invalidate, invalidate_cases, desc);

static void alloc_test_can_invalidate(struct kunit *test)
{
	const struct invalidate_case *p = test->param_value;
	struct cache *ca = fake_cache(test, 4, 0);
	struct bucket *b = ca->buckets + 1;

	ca->set->gc_mark_valid = p->gc_mark_valid;
	SET_GC_MARK(b, p->mark);
	atomic_set(&b->pin, p->pin);
	b->last_gc = 200;
	b->gen = 200 + p->gc_gen;
	b->reclaimable_in_gc = p->reclaimable_in_gc;

	KUNIT_EXPECT_EQ(test, bch_can_invalidate_bucket(ca, b), p->ok);
}

/* ---- Reserves: which free lists an allocation takes from ---- */

struct reserve_case {
	const char	*desc;
	unsigned int	reserve;
	int		lists[3];	/* in order, then -1 */
};

static const struct reserve_case reserve_cases[] = {
	{ "btree", RESERVE_BTREE, { RESERVE_NONE, RESERVE_BTREE, -1 } },
	{ "prio", RESERVE_PRIO, { RESERVE_NONE, RESERVE_PRIO, -1 } },
	{ "movinggc", RESERVE_MOVINGGC,
	  { RESERVE_NONE, RESERVE_MOVINGGC, -1 } },
	{ "none never touches a reserve", RESERVE_NONE,
	  { RESERVE_NONE, -1, -1 } },
};

KUNIT_ARRAY_PARAM_DESC(reserve, reserve_cases, desc);

static void alloc_test_reserve_source(struct kunit *test)
{
	const struct reserve_case *p = test->param_value;
	unsigned int nth;

	for (nth = 0; nth < ARRAY_SIZE(p->lists); nth++)
		KUNIT_EXPECT_EQ_MSG(test, bch_reserve_source(p->reserve, nth),
				    p->lists[nth], "list %u", nth);
	KUNIT_EXPECT_EQ(test, bch_reserve_source(p->reserve, 7), -1);
}

/* ---- lru ranking ---- */

static void alloc_test_lru_key(struct kunit *test)
{
	struct bucket b = {};

	/* Empty buckets are free to take, whatever their prio. */
	b.prio = INITIAL_PRIO;
	KUNIT_EXPECT_EQ(test, bch_bucket_lru_key(&b, 0), 0);

	/* The oldest prio weighs an eighth of a fresh one's floor. */
	SET_GC_SECTORS_USED(&b, 1);
	b.prio = 0;
	KUNIT_EXPECT_EQ(test, bch_bucket_lru_key(&b, 0), INITIAL_PRIO / 8);
	b.prio = 100;
	KUNIT_EXPECT_EQ(test, bch_bucket_lru_key(&b, 0), 100 + INITIAL_PRIO / 8);

	/* Scaled by live data. */
	SET_GC_SECTORS_USED(&b, 10);
	KUNIT_EXPECT_EQ(test, bch_bucket_lru_key(&b, 0),
			10 * (100 + INITIAL_PRIO / 8));

	/* A prio below min_prio, or min_prio above INITIAL_PRIO, stays sane. */
	KUNIT_EXPECT_EQ(test, bch_bucket_lru_key(&b, 200),
			10 * ((INITIAL_PRIO - 200) / 8));
	b.prio = USHRT_MAX - 1;
	KUNIT_EXPECT_EQ(test, bch_bucket_lru_key(&b, USHRT_MAX), 0);
}

static void alloc_test_lru_equal_keys_by_index(struct kunit *test)
{
	struct cache *ca = fake_cache(test, 17, 8);
	size_t i;
	int nr;

	for (i = 1; i < 17; i++) {
		ca->buckets[i].prio = 1000;
		SET_GC_SECTORS_USED(&ca->buckets[i], 64);
	}

	nr = bch_alloc_lru_candidates(ca);
	KUNIT_ASSERT_EQ(test, nr, 8);
	/* All keys equal: the lowest bucket numbers win, in order. */
	for (i = 0; i < 8; i++)
		KUNIT_EXPECT_EQ(test, ca->heap.data[i].bucket, i + 1);
}

/*
 * While gc recounts, every bucket's live sectors read zero: the buckets
 * that were empty before gc must still go before those holding data,
 * whatever their numbers (upstream takes the lowest numbers then).
 */
static void alloc_test_lru_during_gc_keeps_order(struct kunit *test)
{
	struct cache *ca = fake_cache(test, 9, 4);
	size_t i;
	int nr;

	ca->set->gc_mark_valid = 0;
	for (i = 1; i < 9; i++) {
		struct bucket *b = ca->buckets + i;

		b->prio = INITIAL_PRIO;
		SET_GC_MARK(b, GC_MARK_RECLAIMABLE);
		b->reclaimable_in_gc = 1;
		/* Buckets 1-4 held clean data when gc began; 5-8 nothing. */
		b->sectors_before_gc = i <= 4 ? 256 : 0;
	}
	/* gc has reached bucket 2 already and counted part of it. */
	SET_GC_SECTORS_USED(&ca->buckets[2], 16);

	nr = bch_alloc_lru_candidates(ca);
	KUNIT_ASSERT_EQ(test, nr, 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, ca->heap.data[i].bucket, i + 5);

	/* The larger of the two counts ranks a bucket gc already reached. */
	KUNIT_EXPECT_EQ(test, bch_bucket_lru_key(&ca->buckets[2], 0),
			bch_bucket_lru_key(&ca->buckets[1], 0));
}

static int expect_cmp(const void *l, const void *r)
{
	const struct bch_alloc_candidate *a = l, *b = r;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->bucket < b->bucket ? -1 : a->bucket > b->bucket;
}

/* Bounded selection must agree with sorting everything eligible. */
static void alloc_test_lru_matches_full_sort(struct kunit *test)
{
	const size_t nbuckets = 300;
	const int keep = 24;
	struct cache *ca = fake_cache(test, nbuckets, keep);
	struct bch_alloc_candidate *all;
	u32 seed = 12345;
	size_t i, n = 0;
	int nr;

	all = kunit_kcalloc(test, nbuckets, sizeof(*all), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, all);
	ca->set->min_prio = 50;

	for (i = 1; i < nbuckets; i++) {
		struct bucket *b = ca->buckets + i;

		seed = seed * 1103515245 + 12345;
		/* Few distinct values, so many keys tie. */
		b->prio = 50 + (seed >> 16) % 4;
		SET_GC_SECTORS_USED(b, (seed >> 8) % 3);
		if ((seed >> 20) % 5 == 0)
			SET_GC_MARK(b, GC_MARK_DIRTY);
		if (!bch_can_invalidate_bucket(ca, b))
			continue;
		all[n].key = bch_bucket_lru_key(b, ca->set->min_prio);
		all[n].bucket = i;
		n++;
	}
	sort(all, n, sizeof(*all), expect_cmp, NULL);

	nr = bch_alloc_lru_candidates(ca);
	KUNIT_ASSERT_EQ(test, nr, min_t(int, keep, n));
	for (i = 0; i < (size_t)nr; i++) {
		KUNIT_EXPECT_EQ(test, ca->heap.data[i].bucket, all[i].bucket);
		KUNIT_EXPECT_EQ(test, ca->heap.data[i].key, all[i].key);
	}
}

static void alloc_test_lru_skips_ineligible(struct kunit *test)
{
	struct cache *ca = fake_cache(test, 6, 8);
	int nr;

	SET_GC_MARK(&ca->buckets[1], GC_MARK_METADATA);
	atomic_set(&ca->buckets[2].pin, 1);
	SET_GC_MARK(&ca->buckets[3], GC_MARK_DIRTY);

	nr = bch_alloc_lru_candidates(ca);
	KUNIT_ASSERT_EQ(test, nr, 2);
	KUNIT_EXPECT_EQ(test, ca->heap.data[0].bucket, 4);
	KUNIT_EXPECT_EQ(test, ca->heap.data[1].bucket, 5);
}

/* ---- prio_set geometry, sealing and checking ---- */

static void alloc_test_prios_per_bucket(struct kunit *test)
{
	struct cache *ca = fake_cache(test, 4, 0);

	ca->sb.bucket_size = PAGE_SECTORS;
	KUNIT_EXPECT_EQ(test, meta_bucket_bytes(&ca->sb), PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, prios_per_bucket(ca),
			(PAGE_SIZE - sizeof(struct prio_set)) /
			sizeof(struct bucket_disk));

	/* Huge buckets: only what one page allocation holds is used. */
	ca->sb.bucket_size = 1U << 24;
	KUNIT_EXPECT_LE(test, meta_bucket_pages(&ca->sb),
			(unsigned int)MAX_ORDER_NR_PAGES);

	ca->sb.bucket_size = PAGE_SECTORS;
	ca->sb.nbuckets = prios_per_bucket(ca) + 1;
	KUNIT_EXPECT_EQ(test, prio_buckets(ca), 2);
}

#define PSET_TEST_BYTES		PAGE_SIZE
#define PSET_TEST_MAGIC		0x0123456789abcdefULL

static struct prio_set *sealed_pset(struct kunit *test)
{
	struct prio_set *p = kunit_kzalloc(test, PSET_TEST_BYTES, GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, p);
	p->seq = cpu_to_le64(9);
	p->next_bucket = cpu_to_le64(77);
	for (i = 0; i < 100; i++) {
		p->data[i].prio = cpu_to_le16(i * 300);
		p->data[i].gen = i;
	}
	bch_prio_set_seal(p, PSET_TEST_BYTES, PSET_TEST_MAGIC);
	return p;
}

static void alloc_test_pset_roundtrip(struct kunit *test)
{
	struct prio_set *p = sealed_pset(test);
	u8 *raw = (u8 *)p;
	const char *why;

	KUNIT_EXPECT_EQ(test, le64_to_cpu(p->magic), PSET_TEST_MAGIC);
	/* The csum covers everything after itself, to the end of the buffer. */
	KUNIT_EXPECT_EQ(test, le64_to_cpu(p->csum),
			bch_crc64(raw + 8, PSET_TEST_BYTES - 8));
	KUNIT_EXPECT_EQ(test, bch_prio_set_verify(p, PSET_TEST_BYTES,
						  PSET_TEST_MAGIC, &why), 0);
	KUNIT_EXPECT_NULL(test, why);
}

struct pset_damage {
	const char	*desc;
	size_t		offset;		/* byte flipped */
	u64		magic;		/* expected by the reader */
	const char	*why;
};

static const struct pset_damage pset_damages[] = {
	{ "other set's magic", 0, PSET_TEST_MAGIC ^ 1,
	  "bad magic reading prios" },
	{ "flipped magic", 8, PSET_TEST_MAGIC, "bad magic reading prios" },
	{ "flipped csum", 0, PSET_TEST_MAGIC, "bad csum reading prios" },
	{ "flipped seq", 16, PSET_TEST_MAGIC, "bad csum reading prios" },
	{ "flipped next_bucket", 32, PSET_TEST_MAGIC,
	  "bad csum reading prios" },
	{ "flipped prio", 41, PSET_TEST_MAGIC, "bad csum reading prios" },
	{ "flipped last byte", PSET_TEST_BYTES - 1, PSET_TEST_MAGIC,
	  "bad csum reading prios" },
};

KUNIT_ARRAY_PARAM_DESC(pset_damage, pset_damages, desc);

static void alloc_test_pset_damage(struct kunit *test)
{
	const struct pset_damage *d = test->param_value;
	struct prio_set *p = sealed_pset(test);
	const char *why;

	/* A foreign magic needs no damage: the reader expects another set. */
	if (d->magic == PSET_TEST_MAGIC)
		((u8 *)p)[d->offset] ^= 0x10;

	KUNIT_EXPECT_EQ(test, bch_prio_set_verify(p, PSET_TEST_BYTES, d->magic,
						  &why), -EIO);
	KUNIT_ASSERT_NOT_NULL(test, why);
	KUNIT_EXPECT_STREQ(test, why, d->why);
}

/* The write check: magic and the chain link, not the checksum. */
struct pset_write_case {
	const char	*desc;
	u64		magic;		/* written into the set */
	u64		next;		/* next_bucket */
	bool		bad_csum;	/* csum left stale */
	const char	*why;		/* NULL: accepted */
};

static const struct pset_write_case pset_write_cases[] = {
	{ "sealed", PSET_TEST_MAGIC, 77, false, NULL },
	{ "last of the chain", PSET_TEST_MAGIC, 0, false, NULL },
	{ "stale csum is not looked at", PSET_TEST_MAGIC, 77, true, NULL },
	{ "other set's magic", PSET_TEST_MAGIC ^ 1, 77, false, "bad magic" },
	{ "next below first_bucket", PSET_TEST_MAGIC, 9, false,
	  "next bucket out of range" },
	{ "next past the device", PSET_TEST_MAGIC, 1024, false,
	  "next bucket out of range" },
};

KUNIT_ARRAY_PARAM_DESC(pset_write, pset_write_cases, desc);

static void alloc_test_pset_verify_write(struct kunit *test)
{
	const struct pset_write_case *w = test->param_value;
	struct prio_set *p = sealed_pset(test);
	const char *why;
	int ret;

	p->next_bucket = cpu_to_le64(w->next);
	if (w->bad_csum)
		p->csum ^= cpu_to_le64(1);
	else
		bch_prio_set_seal(p, PSET_TEST_BYTES, PSET_TEST_MAGIC);
	p->magic = cpu_to_le64(w->magic);

	/* A device of 1024 buckets whose first usable one is 10. */
	ret = bch_prio_set_verify_write(p, PSET_TEST_MAGIC, 10, 1024, &why);
	if (!w->why) {
		KUNIT_EXPECT_EQ(test, ret, 0);
		KUNIT_EXPECT_NULL(test, why);
	} else {
		KUNIT_EXPECT_EQ(test, ret, -EIO);
		KUNIT_ASSERT_NOT_NULL(test, why);
		KUNIT_EXPECT_STREQ(test, why, w->why);
	}
}

/* ---- Open buckets: the hash chains choose as the LRU walk does ---- */

/*
 * The choice as upstream makes it, walking the whole LRU list from its
 * most recently used end: the first one (of the same kind of volume)
 * whose last write ended at @search, else the last one seen of @wp.
 */
static bool model_flash(struct cache_set *c, const struct bkey *k)
{
	return KEY_INODE(k) < c->nr_uuids &&
	       UUID_FLASH_ONLY(&c->uuids[KEY_INODE(k)]);
}

static struct open_bucket *model_pick(struct cache_set *c,
				      const struct bkey *search,
				      unsigned int wp)
{
	struct open_bucket *ob, *same_writer = NULL;

	list_for_each_entry_reverse(ob, &c->data_buckets, list) {
		if (model_flash(c, &ob->key) != model_flash(c, search))
			continue;
		if (!bkey_cmp(&ob->key, search))
			return ob;
		if (ob->last_write_point == wp)
			same_writer = ob;
	}
	return same_writer ?: list_first_entry(&c->data_buckets,
					       struct open_bucket, list);
}

/* Deterministic, so a failure repeats. */
static u32 ob_rand(u32 *state)
{
	*state = *state * 1103515245 + 12345;
	return *state >> 8;
}

/* The end of a random open bucket: where a write continues a stream. */
static void ob_some_end(struct cache_set *c, u32 *rnd, struct bkey *k)
{
	unsigned int n = ob_rand(rnd) % 128;
	struct open_bucket *ob;

	list_for_each_entry(ob, &c->data_buckets, list)
		if (!n--)
			break;
	bkey_init(k);
	bkey_copy_key(k, &KEY(KEY_INODE(&ob->key), KEY_OFFSET(&ob->key), 0));
}

static void alloc_test_open_bucket_choice(struct kunit *test)
{
	struct cache *ca = fake_cache(test, 4096, 0);
	struct cache_set *c = ca->set;
	unsigned int step, next_bucket = 1, matched = 0, by_writer = 0;
	u32 rnd = 1;

	c->bucket_bits = 10;
	/* Volume 2 is flash-only: its data never shares a bucket. */
	c->nr_uuids = 3;
	c->uuids = kunit_kcalloc(test, c->nr_uuids, sizeof(*c->uuids),
				 GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c->uuids);
	SET_UUID_FLASH_ONLY(&c->uuids[2], 1);
	KUNIT_ASSERT_EQ(test, bch_open_buckets_alloc(c), 0);

	for (step = 0; step < 20000; step++) {
		BKEY_PADDED(key) fresh, write;
		struct bkey *search = &write.key;
		unsigned int wp = 1 + ob_rand(&rnd) % 6;
		unsigned int sectors = 8 * (1 + ob_rand(&rnd) % 16);
		struct open_bucket *want, *got;

		/* The key a write starts with; it gets its pointer carved. */
		if (ob_rand(&rnd) % 2) {
			ob_some_end(c, &rnd, search);
		} else {
			bkey_init(search);
			bkey_copy_key(search, &KEY(ob_rand(&rnd) % 3,
						   8 * (ob_rand(&rnd) % 65536),
						   0));
		}

		bkey_init(&fresh.key);
		SET_KEY_PTRS(&fresh.key, 1);
		fresh.key.ptr[0] = MAKE_PTR(0, bucket_to_sector(c, next_bucket),
					    0);

		want = model_pick(c, search, wp);
		matched += !bkey_cmp(&want->key, search);
		by_writer += want->last_write_point == wp;
		got = bch_pick_data_bucket(c, search, wp, &fresh.key);
		KUNIT_ASSERT_PTR_EQ_MSG(test, got, want, "step %u", step);

		if (!KEY_PTRS(&fresh.key))
			next_bucket = next_bucket % 4095 + 1;
		bch_carve_open_bucket(c, got, search, sectors, wp);
	}
	/* Both rules, not only the fallback, were exercised. */
	KUNIT_EXPECT_GT(test, matched, 1000U);
	KUNIT_EXPECT_GT(test, by_writer, 1000U);
	bch_open_buckets_free(c);
}

/* ---- Every geometry: sizes that must not overflow ---- */

struct geometry_case {
	const char	*desc;
	unsigned int	block;		/* sectors */
	unsigned int	bucket;		/* sectors */
	u64		nbuckets;
};

static const struct geometry_case geometry_cases[] = {
	{ "512 B blocks in 4 KiB buckets", 1, 8, 1024 },
	{ "block as big as bucket, 4 KiB", 8, 8, 640 },
	{ "fewest buckets registration takes", 1, 8, 513 },
	{ "largest 16-bit bucket, 32 MiB - 512 B", 1, 65535, 1024 },
	{ "32 MiB buckets, 512 B blocks", 1, 1U << 16, 1024 },
	{ "32 MiB buckets, 4 KiB blocks", 8, 1U << 16, 1024 },
	{ "4 GiB buckets", 8, 1U << 23, 1024 },
	{ "1 TiB buckets", 8, 1U << 31, 600 },
	{ "32 TiB of 512 KiB buckets", 8, 1024, 1ULL << 26 },
};

KUNIT_ARRAY_PARAM_DESC(geometry, geometry_cases, desc);

/*
 * A write bigger than any key: it gets what one key can say, in whole
 * blocks, never a size truncated to 0 (which split its bio at 0), and
 * the open bucket keeps the rest, block aligned.
 */
static void alloc_test_geometry_carve(struct kunit *test)
{
	BKEY_PADDED(key) fresh, write;
	const struct geometry_case *g = test->param_value;
	struct cache *ca = fake_cache(test, 4, 0);
	struct cache_set *c = ca->set;
	unsigned int want = min(g->bucket, MAX_KEY_SIZE & ~(g->block - 1));
	struct open_bucket *ob;

	ca->sb.block_size = g->block;
	ca->sb.bucket_size = g->bucket;
	c->bucket_bits = ilog2(g->bucket);
	KUNIT_ASSERT_EQ(test, bch_open_buckets_alloc(c), 0);

	bkey_init(&fresh.key);
	SET_KEY_PTRS(&fresh.key, 1);
	fresh.key.ptr[0] = MAKE_PTR(0, bucket_to_sector(c, 1), 0);
	bkey_init(&write.key);
	bkey_copy_key(&write.key, &KEY(1, 4096, 0));

	ob = bch_pick_data_bucket(c, &write.key, 1, &fresh.key);
	KUNIT_ASSERT_NOT_NULL(test, ob);
	bch_carve_open_bucket(c, ob, &write.key, 1U << 17, 1);

	KUNIT_EXPECT_EQ(test, KEY_SIZE(&write.key), want);
	KUNIT_EXPECT_EQ(test, KEY_SIZE(&write.key) % g->block, 0);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&write.key), 4096 + want);
	KUNIT_EXPECT_EQ(test, ob->sectors_free % g->block, 0);
	if (g->bucket - want >= g->block)
		KUNIT_EXPECT_EQ(test, ob->sectors_free, g->bucket - want);
	bch_open_buckets_free(c);
}

/* Byte and sector totals of huge buckets and caches, in 64 bits. */
static void alloc_test_geometry_sizes(struct kunit *test)
{
	const struct geometry_case *g = test->param_value;
	struct cache *ca = fake_cache(test, 4, 0);
	struct cache_set *c = ca->set;
	u64 gc = (u64)g->bucket * g->nbuckets / 16;
	size_t reserve = bch_btree_reserve_buckets(g->nbuckets);

	ca->sb.block_size = g->block;
	ca->sb.bucket_size = g->bucket;
	ca->sb.nbuckets = g->nbuckets;
	c->nbuckets = g->nbuckets;

	KUNIT_EXPECT_EQ(test, bucket_bytes(ca), (u64)g->bucket << 9);
	KUNIT_EXPECT_LE(test, (u64)meta_bucket_bytes(&ca->sb), bucket_bytes(ca));
	KUNIT_EXPECT_LE(test, meta_bucket_pages(&ca->sb),
			(unsigned int)MAX_ORDER_NR_PAGES);
	KUNIT_EXPECT_GT(test, prios_per_bucket(ca), 0U);

	set_gc_sectors(c);
	KUNIT_EXPECT_EQ(test, (s64)atomic_read(&c->sectors_to_gc),
			(s64)min_t(u64, gc, INT_MAX));

	/* The btree's own reserve: never starved, never a cache's worth. */
	KUNIT_EXPECT_GE(test, reserve, 32);
	KUNIT_EXPECT_LE(test, reserve, SB_JOURNAL_BUCKETS);
	if (g->nbuckets >= 128 * 32)
		KUNIT_EXPECT_EQ(test, reserve,
				min_t(u64, g->nbuckets / 128, SB_JOURNAL_BUCKETS));
}

static struct kunit_case alloc_test_cases[] = {
	KUNIT_CASE_PARAM(alloc_test_gen_after, gen_gen_params),
	KUNIT_CASE(alloc_test_inc_gen_wraps),
	KUNIT_CASE(alloc_test_inc_gen_keeps_max),
	KUNIT_CASE_PARAM(alloc_test_can_invalidate, invalidate_gen_params),
	KUNIT_CASE_PARAM(alloc_test_reserve_source, reserve_gen_params),
	KUNIT_CASE(alloc_test_lru_key),
	KUNIT_CASE(alloc_test_lru_during_gc_keeps_order),
	KUNIT_CASE(alloc_test_lru_equal_keys_by_index),
	KUNIT_CASE(alloc_test_lru_matches_full_sort),
	KUNIT_CASE(alloc_test_lru_skips_ineligible),
	KUNIT_CASE(alloc_test_prios_per_bucket),
	KUNIT_CASE(alloc_test_pset_roundtrip),
	KUNIT_CASE_PARAM(alloc_test_pset_damage, pset_damage_gen_params),
	KUNIT_CASE_PARAM(alloc_test_pset_verify_write, pset_write_gen_params),
	KUNIT_CASE(alloc_test_open_bucket_choice),
	KUNIT_CASE_PARAM(alloc_test_geometry_carve, geometry_gen_params),
	KUNIT_CASE_PARAM(alloc_test_geometry_sizes, geometry_gen_params),
	{}
};

static struct kunit_suite alloc_test_suite = {
	.name		= "bcache_alloc",
	.test_cases	= alloc_test_cases,
};

kunit_test_suites(&alloc_test_suite);

// SPDX-License-Identifier: GPL-2.0
/*
 * The bucket allocator: which buckets of the cache device get reused, and
 * the on-disk record (prios and gens) that makes reusing them crash safe.
 *
 * A pointer into a bucket is valid only while its gen matches the
 * bucket's, so a bucket with no dirty data or metadata is reclaimed just by
 * bumping its gen ("invalidating" it). The new gen must be on disk before
 * anything is written into the bucket, or after a crash old pointers would
 * seem to point at new data. So invalidated buckets first collect in
 * free_inc; once it is full the allocator thread writes every bucket's
 * prio and gen as a chain of prio_set buckets (bch_prio_write()), has the
 * journal record the new chain head, and only then moves the buckets on
 * to the free lists that bch_bucket_alloc() takes from, discarding them on
 * the way if asked to.
 *
 * Several free lists keep metadata writes from starving: RESERVE_PRIO is
 * filled first, since without it no prio write and hence no further
 * allocation could happen; btree splits and moving gc have their own.
 * Which buckets are invalidated is the replacement policy's choice (lru by
 * prio, which bch_rescale_priorities() ages as data is written; fifo; or
 * random). Gens may run at most BUCKET_GC_GEN_MAX ahead of the oldest
 * pointer gc saw, so a bucket near the limit is skipped and gc is woken.
 *
 * Data writes fill "open buckets" a few sectors at a time
 * (bch_alloc_sectors()), one stream per writer, so data written together
 * tends to be reclaimed together.
 *
 * Locking: c->bucket_lock covers the buckets, the free lists and the
 * candidate heap; it is dropped around every sleep and every I/O, so gc
 * and the journal can always make progress while the allocator waits.
 * Open buckets are under c->data_bucket_lock, which is never held while
 * allocating a bucket.
 */

#include "bcache.h"
#include "alloc.h"
#include "btree.h"
#include "gc.h"
#include "set.h"
#include "util.h"

#include <linux/blkdev.h>
#include <linux/hash.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>
#include <kunit/visibility.h>

/*
 * The least each free list (and a quarter of free_inc) holds. Upstream
 * sizes them by the cache alone, so a cache of about a thousand buckets
 * invalidates four at a time and writes its whole prio chain, a bucket,
 * for every four buckets it hands out: a quarter again of the data
 * written, and the writes that find no free bucket meanwhile are not
 * cached. Sixteen buckets per prio write hold at most ~2% of such a
 * cache free ahead of need; larger caches are sized as upstream's.
 */
#define FREE_LIST_MIN	4

/* Data streams kept open at once by bch_alloc_sectors(). */
#define MAX_OPEN_BUCKETS	128

static bool set_io_disabled(const struct cache_set *c)
{
	return test_bit(CACHE_SET_IO_DISABLE, &c->flags);
}

/* ---- Generations and priorities ---- */

u8 bch_inc_gen(struct cache *ca, struct bucket *b)
{
	struct cache_set *c = ca->set;

	b->gen++;
	/*
	 * gc must run before any bucket's gap reaches the limit. Invalidation
	 * bumps only a gen with room; freeing a btree node bumps regardless,
	 * to make the node's pointer stale, which takes a bucket at the limit
	 * one past it (no more: it is not handed out again before gc).
	 */
	c->need_gc = max(c->need_gc, bucket_gc_gen(b));
	WARN_ON_ONCE(c->need_gc > BUCKET_GC_GEN_MAX + 1);
	return b->gen;
}

/* Sectors written between two agings of the prios: 1/1024 of the cache. */
static int rescale_interval(const struct cache_set *c)
{
	u64 total = (u64)c->nbuckets * c->cache->sb.bucket_size;

	return clamp_t(u64, total >> 10, 1, INT_MAX);
}

/*
 * Count @sectors against the aging budget; true for the one caller that
 * drives it below zero and so owes an aging pass (it also refills it).
 */
static bool rescale_due(struct cache_set *c, int sectors)
{
	int left = atomic_sub_return(sectors, &c->rescale);

	do {
		if (left >= 0)
			return false;
	} while (!atomic_try_cmpxchg(&c->rescale, &left,
				     left + rescale_interval(c)));
	return true;
}

/* Metadata never ages, nor a bucket someone is reading, nor prio 0. */
static bool bucket_ages(const struct bucket *b)
{
	return b->prio && b->prio != BTREE_PRIO && !atomic_read(&b->pin);
}

void bch_rescale_priorities(struct cache_set *c, int sectors)
{
	struct cache *ca = c->cache;
	struct bucket *b, *end;
	u16 lowest = USHRT_MAX;

	if (!rescale_due(c, sectors))
		return;

	mutex_lock(&c->bucket_lock);
	/*
	 * Bounds in locals: the prio stores could alias ca's fields for all
	 * the compiler knows, and this walks every bucket of the cache once
	 * per 1/1024 of it read or written.
	 */
	end = ca->buckets + ca->sb.nbuckets;
	for (b = ca->buckets + ca->sb.first_bucket; b < end; b++) {
		if (!bucket_ages(b))
			continue;
		b->prio--;
		lowest = min(lowest, b->prio);
	}
	c->min_prio = lowest;
	mutex_unlock(&c->bucket_lock);
}

/* ---- Invalidation ---- */

static bool gen_has_room(const struct bucket *b)
{
	return bucket_gc_gen(b) < BUCKET_GC_GEN_MAX;
}

static bool mark_is_reclaimable(unsigned int mark)
{
	return !mark || mark == GC_MARK_RECLAIMABLE;
}

bool bch_can_invalidate_bucket(struct cache *ca, struct bucket *b)
{
	/* Until gc has marked everything, only what it vouched for. */
	if (!ca->set->gc_mark_valid && !b->reclaimable_in_gc)
		return false;

	return mark_is_reclaimable(GC_MARK(b)) && !atomic_read(&b->pin) &&
	       gen_has_room(b);
}

void __bch_invalidate_one_bucket(struct cache *ca, struct bucket *b)
{
	lockdep_assert_held(&ca->set->bucket_lock);

	/* Callers checked bch_can_invalidate_bucket(): our bug, not disk's. */
	if (WARN_ON_ONCE(!mark_is_reclaimable(GC_MARK(b))))
		return;

	bch_inc_gen(ca, b);
	b->prio = INITIAL_PRIO;
	/* The free lists hold a pin until bch_bucket_alloc() hands it out. */
	atomic_inc(&b->pin);
	b->reclaimable_in_gc = 0;
	b->sectors_before_gc = 0;
}

static void invalidate_into_free_inc(struct cache *ca, size_t nr)
{
	__bch_invalidate_one_bucket(ca, ca->buckets + nr);
	bch_ring_push_back(&ca->free_inc, nr);
}

/* Nothing more to invalidate until gc has looked again. */
static void wait_for_gc(struct cache *ca)
{
	ca->invalidate_needs_gc = 1;
	wake_up_gc(ca->set);
}

/*
 * lru sort key, smaller is reclaimed first: the prio's age scaled by how
 * much live data the bucket holds. The oldest possible prio is worth an
 * eighth of a fresh one, so a full old bucket still beats an almost empty
 * new one only by so much.
 *
 * While gc runs, the live data of every bucket it has not reached yet
 * reads zero. Upstream ranks by that, so a gc makes every bucket of clean
 * data look empty and the allocator throws away cached data (lowest
 * bucket numbers first: the oldest, most often the hottest) although
 * empty buckets abound. The count from before gc still holds for them.
 */
VISIBLE_IF_KUNIT u64 bch_bucket_lru_key(const struct bucket *b, u16 min_prio)
{
	u64 floor = (INITIAL_PRIO - min_t(u32, min_prio, INITIAL_PRIO)) / 8;
	u64 age = b->prio > min_prio ? b->prio - min_prio : 0;
	unsigned int live = max_t(unsigned int, GC_SECTORS_USED(b),
				  b->sectors_before_gc);

	return (age + floor) * live;
}
EXPORT_SYMBOL_IF_KUNIT(bch_bucket_lru_key);

/*
 * Total order on candidates: by key, equal keys by bucket number, so the
 * same state always yields the same choice whatever order the heap saw
 * them in.
 */
static bool candidate_before(const struct bch_alloc_candidate *l,
			     const struct bch_alloc_candidate *r)
{
	if (l->key != r->key)
		return l->key < r->key;
	return l->bucket < r->bucket;
}

/* The heap keeps the best candidates; its root is the worst of them. */
static bool heap_root_is_worst(const void *l, const void *r, void *args)
{
	return candidate_before(r, l);
}

static void candidate_swap(void *l, void *r, void *args)
{
	swap(*(struct bch_alloc_candidate *)l, *(struct bch_alloc_candidate *)r);
}

static const struct min_heap_callbacks lru_heap_callbacks = {
	.less	= heap_root_is_worst,
	.swp	= candidate_swap,
};

static int candidate_cmp(const void *l, const void *r)
{
	if (candidate_before(l, r))
		return -1;
	return candidate_before(r, l) ? 1 : 0;
}

static void offer_candidate(struct cache *ca,
			    const struct bch_alloc_candidate *cand)
{
	if (!min_heap_full(&ca->heap))
		min_heap_push(&ca->heap, cand, &lru_heap_callbacks, NULL);
	else if (candidate_before(cand, min_heap_peek(&ca->heap)))
		min_heap_pop_push(&ca->heap, cand, &lru_heap_callbacks, NULL);
}

/*
 * Fill ca->heap with the invalidatable buckets of smallest lru key (as
 * many as it holds) and leave them sorted, best first. Returns how many.
 */
VISIBLE_IF_KUNIT int bch_alloc_lru_candidates(struct cache *ca)
{
	u16 min_prio = ca->set->min_prio;
	struct bch_alloc_candidate cand;
	size_t i;

	ca->heap.nr = 0;
	if (!ca->heap.size)
		return 0;

	for (i = ca->sb.first_bucket; i < ca->sb.nbuckets; i++) {
		struct bucket *b = ca->buckets + i;

		if (!bch_can_invalidate_bucket(ca, b))
			continue;
		cand.key = bch_bucket_lru_key(b, min_prio);
		cand.bucket = i;
		offer_candidate(ca, &cand);
	}

	sort(ca->heap.data, ca->heap.nr, sizeof(*ca->heap.data),
	     candidate_cmp, NULL);
	return ca->heap.nr;
}
EXPORT_SYMBOL_IF_KUNIT(bch_alloc_lru_candidates);

static void invalidate_lru(struct cache *ca)
{
	int nr = bch_alloc_lru_candidates(ca);
	int i;

	for (i = 0; i < nr && !bch_ring_full(&ca->free_inc); i++)
		invalidate_into_free_inc(ca, ca->heap.data[i].bucket);

	/* Out of candidates: calling again before gc would find none either. */
	if (!bch_ring_full(&ca->free_inc))
		wait_for_gc(ca);
}

/* Next bucket of the fifo sweep, wrapping within the usable buckets. */
static size_t fifo_cursor_next(struct cache *ca)
{
	if (ca->fifo_last_bucket < ca->sb.first_bucket ||
	    ca->fifo_last_bucket >= ca->sb.nbuckets)
		ca->fifo_last_bucket = ca->sb.first_bucket;
	return ca->fifo_last_bucket++;
}

static void invalidate_fifo(struct cache *ca)
{
	size_t looked = 0;

	while (!bch_ring_full(&ca->free_inc)) {
		size_t nr = fifo_cursor_next(ca);

		if (bch_can_invalidate_bucket(ca, ca->buckets + nr))
			invalidate_into_free_inc(ca, nr);

		/* A whole lap without filling up: gc has to free some. */
		if (++looked >= ca->sb.nbuckets) {
			wait_for_gc(ca);
			return;
		}
	}
}

static size_t random_bucket(const struct cache *ca)
{
	u64 span = ca->sb.nbuckets - ca->sb.first_bucket;
	u64 pick;

	if (span <= U32_MAX)
		pick = get_random_u32_below(span);
	else
		div64_u64_rem(get_random_u64(), span, &pick);
	return ca->sb.first_bucket + pick;
}

static void invalidate_random(struct cache *ca)
{
	size_t tries = 0;

	while (!bch_ring_full(&ca->free_inc)) {
		size_t nr = random_bucket(ca);

		if (bch_can_invalidate_bucket(ca, ca->buckets + nr))
			invalidate_into_free_inc(ca, nr);

		if (++tries >= ca->sb.nbuckets / 2) {
			wait_for_gc(ca);
			return;
		}
	}
}

static void invalidate_buckets(struct cache *ca)
{
	if (ca->invalidate_needs_gc)
		return;

	switch (CACHE_REPLACEMENT(&ca->sb)) {
	case CACHE_REPLACEMENT_FIFO:
		invalidate_fifo(ca);
		break;
	case CACHE_REPLACEMENT_RANDOM:
		invalidate_random(ca);
		break;
	default:
		/* lru, and anything the superblock check let through. */
		invalidate_lru(ca);
		break;
	}
}

/* ---- The allocator thread ---- */

typedef bool (alloc_ready_fn)(struct cache *ca, long arg);

/*
 * Sleep with bucket_lock dropped until @ready(ca, @arg) holds; it is
 * evaluated with the lock held and the task already marked sleeping, so a
 * wakeup between the test and schedule() is not lost. Returns false, with
 * the lock dropped, when the thread has to stop instead.
 */
static bool allocator_sleep_until(struct cache *ca, alloc_ready_fn *ready,
				  long arg)
{
	struct cache_set *c = ca->set;

	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (ready(ca, arg))
			break;

		mutex_unlock(&c->bucket_lock);
		if (kthread_should_stop() || set_io_disabled(c)) {
			__set_current_state(TASK_RUNNING);
			return false;
		}
		schedule();
		mutex_lock(&c->bucket_lock);
	}
	__set_current_state(TASK_RUNNING);
	return true;
}

/*
 * Hand a ready bucket to the free lists: the prio reserve first (and never
 * beyond one chain's worth), since a prio write is what frees everything
 * else; then the others in priority order.
 */
static bool allocator_push(struct cache *ca, long nr)
{
	static const u8 fill_order[] = {
		RESERVE_BTREE, RESERVE_MOVINGGC, RESERVE_NONE,
	};
	unsigned int i;

	if (bch_ring_used(&ca->free[RESERVE_PRIO]) < prio_buckets(ca) &&
	    bch_ring_push_back(&ca->free[RESERVE_PRIO], nr))
		return true;

	for (i = 0; i < ARRAY_SIZE(fill_order); i++)
		if (bch_ring_push_back(&ca->free[fill_order[i]], nr))
			return true;
	return false;
}

static bool gc_not_needed(struct cache *ca, long unused)
{
	return !ca->invalidate_needs_gc;
}

static bool prios_unblocked(struct cache *ca, long unused)
{
	return !atomic_read(&ca->set->prio_blocked);
}

/* True if @nr is part of the prio chain on disk or the one before it. */
static bool bucket_holds_prios(const struct cache *ca, u64 nr)
{
	unsigned int i, n = prio_buckets(ca);

	for (i = 0; i < n; i++)
		if (ca->prio_buckets[i] == nr || ca->prio_last_buckets[i] == nr)
			return true;
	return false;
}

/*
 * Discard a bucket on its way to the free lists. A bucket still holding
 * prios can never get here (it is metadata, never invalidated); should
 * one anyway, it is skipped loudly rather than wiping the gens on disk.
 */
static void discard_bucket(struct cache *ca, long nr)
{
	struct cache_set *c = ca->set;

	if (bucket_holds_prios(ca, nr)) {
		pr_err("%pg: not discarding bucket %ld, it holds prios\n",
		       ca->bdev, nr);
		return;
	}

	mutex_unlock(&c->bucket_lock);
	blkdev_issue_discard(ca->bdev, (sector_t)nr * ca->sb.bucket_size,
			     ca->sb.bucket_size, GFP_KERNEL);
	mutex_lock(&c->bucket_lock);
}

/* Move everything in free_inc (its gens are on disk) to the free lists. */
static bool drain_free_inc(struct cache *ca)
{
	struct cache_set *c = ca->set;
	long nr;

	while (bch_ring_pop_front(&ca->free_inc, nr)) {
		if (ca->discard)
			discard_bucket(ca, nr);

		if (!allocator_sleep_until(ca, allocator_push, nr))
			return false;
		wake_up(&c->btree_cache_wait);
		wake_up(&c->bucket_wait);
	}
	return true;
}

/*
 * A new set's first prios are written by recovery.c, beside this thread:
 * the two must not share ca->disk_buckets. Nothing of it needs a prio
 * write until then.
 */
static bool set_being_laid_out(struct cache_set *c)
{
	return !CACHE_SYNC(&c->cache->sb) &&
	       !test_bit(CACHE_SET_RUNNING, &c->flags);
}

/*
 * Invalidate buckets into free_inc and persist their new gens before any
 * is handed out. Also with `synchronous` off, when nothing would survive
 * a crash: turning it on again makes the disk's gens authoritative at
 * once, and a bucket reused under a gen the disk never saw would let an
 * old pointer to it look valid.
 */
static bool refill_free_inc(struct cache *ca)
{
	do {
		if (!allocator_sleep_until(ca, gc_not_needed, 0))
			return false;
		invalidate_buckets(ca);

		/* New btree pointers whose prios are not on disk yet. */
		if (!allocator_sleep_until(ca, prios_unblocked, 0))
			return false;
		if (set_being_laid_out(ca->set))
			return true;
	} while (!bch_ring_full(&ca->free_inc));

	/*
	 * Never wait for a bucket here: only this thread refills the free
	 * lists. If the prio reserve is short, gc may free some.
	 */
	if (bch_prio_write(ca, false) < 0)
		wait_for_gc(ca);
	return true;
}

static int bch_allocator_thread(void *arg)
{
	struct cache *ca = arg;

	mutex_lock(&ca->set->bucket_lock);
	for (;;) {
		/* Either returns false only with bucket_lock dropped. */
		if (!drain_free_inc(ca) || !refill_free_inc(ca))
			break;
	}
	bch_wait_for_kthread_stop();
	return 0;
}

int bch_cache_allocator_start(struct cache *ca)
{
	struct task_struct *t;

	t = kthread_run(bch_allocator_thread, ca, "bcache_allocator");
	if (IS_ERR(t))
		return PTR_ERR(t);
	ca->alloc_thread = t;
	return 0;
}

/* ---- Allocation ---- */

/*
 * The free lists an allocation for @reserve may use, in the order tried:
 * the general list first, then its own reserve. Returns the @nth list, or
 * -1 when there are no more.
 */
VISIBLE_IF_KUNIT int bch_reserve_source(unsigned int reserve, unsigned int nth)
{
	if (nth == 0)
		return RESERVE_NONE;
	if (nth == 1 && reserve < RESERVE_NONE)
		return reserve;
	return -1;
}
EXPORT_SYMBOL_IF_KUNIT(bch_reserve_source);

static bool take_free_bucket(struct cache *ca, unsigned int reserve, long *nr)
{
	unsigned int nth;
	int list;

	for (nth = 0; (list = bch_reserve_source(reserve, nth)) >= 0; nth++)
		if (bch_ring_pop_front(&ca->free[list], *nr))
			return true;
	return false;
}

/*
 * Sleep with bucket_lock dropped until the allocator hands out a bucket.
 * The timeout only guards against a set that stops meanwhile.
 */
static bool wait_for_free_bucket(struct cache *ca, unsigned int reserve,
				 long *nr)
{
	struct cache_set *c = ca->set;
	DEFINE_WAIT(w);
	bool got;

	do {
		prepare_to_wait(&c->bucket_wait, &w, TASK_UNINTERRUPTIBLE);
		mutex_unlock(&c->bucket_lock);
		schedule_timeout(HZ);
		mutex_lock(&c->bucket_lock);
		got = take_free_bucket(ca, reserve, nr);
	} while (!got && !set_io_disabled(c));
	finish_wait(&c->bucket_wait, &w);
	return got;
}

static bool ring_holds(struct bch_bucket_ring *r, long nr)
{
	size_t i;

	for (i = 0; i < bch_ring_used(r); i++)
		if (bch_ring_at(r, i) == nr)
			return true;
	return false;
}

/* expensive_debug_checks: a bucket handed out must be on no other list. */
static bool bucket_still_listed(struct cache *ca, long nr)
{
	unsigned int i;

	if (bucket_holds_prios(ca, nr))
		return true;
	for (i = 0; i < RESERVE_NR; i++)
		if (ring_holds(&ca->free[i], nr))
			return true;
	return ring_holds(&ca->free_inc, nr);
}

/* Mark a bucket taken from the free lists as in use, full, for @reserve. */
static void claim_bucket(struct cache *ca, struct bucket *b,
			 unsigned int reserve)
{
	struct cache_set *c = ca->set;
	bool metadata = reserve == RESERVE_BTREE || reserve == RESERVE_PRIO;

	WARN_ON_ONCE(atomic_read(&b->pin) != 1);

	SET_GC_SECTORS_USED(b, ca->sb.bucket_size);
	SET_GC_MARK(b, metadata ? GC_MARK_METADATA : GC_MARK_RECLAIMABLE);
	SET_GC_MOVE(b, 0);
	b->prio = metadata ? BTREE_PRIO : INITIAL_PRIO;

	if (c->avail_nbuckets) {
		c->avail_nbuckets--;
		bch_update_bucket_in_use(c, &c->gc_stats);
	}
}

long bch_bucket_alloc(struct cache *ca, unsigned int reserve, bool wait)
{
	struct cache_set *c = ca->set;
	long nr;

	lockdep_assert_held(&c->bucket_lock);

	if (unlikely(set_io_disabled(c)))
		return -1;
	if (WARN_ON_ONCE(reserve >= RESERVE_NR))
		reserve = RESERVE_NONE;

	if (!take_free_bucket(ca, reserve, &nr) &&
	    (!wait || !wait_for_free_bucket(ca, reserve, &nr)))
		return -1;

	/* It has room again: let it invalidate ahead of the next caller. */
	if (ca->alloc_thread)
		wake_up_process(ca->alloc_thread);

	if (c->expensive_debug_checks && bucket_still_listed(ca, nr)) {
		cache_bug(c, "bucket %ld allocated while still on a list", nr);
		return -1;
	}

	claim_bucket(ca, ca->buckets + nr, reserve);
	return nr;
}

void __bch_bucket_free(struct cache *ca, struct bucket *b)
{
	struct cache_set *c = ca->set;

	SET_GC_MARK(b, 0);
	SET_GC_SECTORS_USED(b, 0);

	if (c->avail_nbuckets < c->nbuckets) {
		c->avail_nbuckets++;
		bch_update_bucket_in_use(c, &c->gc_stats);
	}
}

void bch_bucket_free(struct cache_set *c, struct bkey *k)
{
	unsigned int i;

	for (i = 0; i < KEY_PTRS(k); i++)
		__bch_bucket_free(c->cache, PTR_BUCKET(c, k, i));
}

/* Drop the pin each of @k's pointers holds on its bucket. */
void bch_bucket_pin_put(struct cache_set *c, struct bkey *k)
{
	unsigned int i;

	for (i = 0; i < KEY_PTRS(k); i++) {
		if (!ptr_available(c, k, i))
			continue;
		WARN_ON_ONCE(atomic_dec_return(&PTR_BUCKET(c, k, i)->pin) < 0);
	}
}

/* Make @k a one-pointer key at the start of bucket @nr, current gen. */
static void key_for_bucket(struct cache *ca, struct bkey *k, long nr)
{
	struct cache_set *c = ca->set;
	u8 gen = ca->buckets[nr].gen;

	bkey_init(k);
	SET_KEY_PTRS(k, 1);
	k->ptr[0] = MAKE_PTR(gen, bucket_to_sector(c, nr), ca->sb.nr_this_dev);
}

int __bch_bucket_alloc_set(struct cache_set *c, unsigned int reserve,
			   struct bkey *k, bool wait)
{
	long nr = -1;

	lockdep_assert_held(&c->bucket_lock);

	bkey_init(k);
	if (likely(!set_io_disabled(c)))
		nr = bch_bucket_alloc(c->cache, reserve, wait);
	if (nr < 0)
		return -1;

	key_for_bucket(c->cache, k, nr);
	return 0;
}

int bch_bucket_alloc_set(struct cache_set *c, unsigned int reserve,
			 struct bkey *k, bool wait)
{
	guard(mutex)(&c->bucket_lock);
	return __bch_bucket_alloc_set(c, reserve, k, wait);
}

/* ---- Open buckets: where data writes go ---- */

/*
 * Flash-only volumes never write back, so their data stays dirty: mixing
 * it into buckets of cached devices would keep those from being reclaimed.
 */
static bool key_on_flash_volume(const struct cache_set *c,
				const struct bkey *k)
{
	unsigned int inode = KEY_INODE(k);

	return c->uuids && inode < c->nr_uuids &&
	       UUID_FLASH_ONLY(&c->uuids[inode]);
}

static struct list_head *ob_end_chain(struct cache_set *c,
				      const struct bkey *k)
{
	u64 where = KEY_OFFSET(k) ^ ((u64)KEY_INODE(k) << 40);

	return &c->ob_by_end[hash_64(where, OPEN_BUCKET_HASH_BITS)];
}

static struct list_head *ob_writer_chain(struct cache_set *c,
					 unsigned int write_point)
{
	return &c->ob_by_writer[hash_32(write_point, OPEN_BUCKET_HASH_BITS)];
}

/*
 * Choose the open bucket for a write starting at @search: the most
 * recently used one whose last write ended exactly there (a sequential
 * stream), else the least recently used one of the same @write_point
 * (task), else the least recently used of all; never, in the first two
 * cases, one holding the other kind of volume. The same choice as a walk
 * of the whole LRU list, as upstream's, found through the hash chains.
 * An empty choice takes over the freshly allocated bucket in @fresh, if
 * any, and the one returned is marked with @search's kind of volume, as
 * the caller carves from it next. Returns NULL when the caller has to
 * allocate first.
 */
VISIBLE_IF_KUNIT struct open_bucket *
bch_pick_data_bucket(struct cache_set *c, const struct bkey *search,
		     unsigned int write_point, struct bkey *fresh)
{
	bool flash = key_on_flash_volume(c, search);
	struct open_bucket *ob, *pick = NULL;

	list_for_each_entry(ob, ob_end_chain(c, search), by_end)
		if (ob->flash == flash && !bkey_cmp(&ob->key, search)) {
			pick = ob;
			break;
		}

	if (!pick)
		list_for_each_entry(ob, ob_writer_chain(c, write_point),
				    by_writer)
			if (ob->flash == flash &&
			    ob->last_write_point == write_point) {
				pick = ob;
				break;
			}

	if (!pick)
		pick = list_first_entry(&c->data_buckets, struct open_bucket,
					list);

	if (!pick->sectors_free && KEY_PTRS(fresh)) {
		pick->sectors_free = c->cache->sb.bucket_size;
		bkey_copy(&pick->key, fresh);
		bkey_init(fresh);
	}

	if (!pick->sectors_free)
		return NULL;
	/* What the caller carves next decides what kind of data it holds. */
	pick->flash = flash;
	return pick;
}
EXPORT_SYMBOL_IF_KUNIT(bch_pick_data_bucket);

/*
 * The most one data key can hold: KEY_SIZE has 16 bits, so with buckets
 * of 32 MiB or more a write may not take all an open bucket has (a size
 * truncated to 0 would then split its bio at 0). In whole blocks, so what
 * is left of the bucket stays block aligned.
 */
static unsigned int key_sectors_max(const struct cache_set *c)
{
	return round_down(MAX_KEY_SIZE, c->cache->sb.block_size);
}

/*
 * Give @k up to @sectors of @ob and advance @ob past them. @k ends where
 * it did before plus what it got; its pointers each hold a pin on their
 * bucket, which the open bucket passes on with its last sectors.
 */
VISIBLE_IF_KUNIT void bch_carve_open_bucket(struct cache_set *c,
					    struct open_bucket *ob,
					    struct bkey *k, unsigned int sectors,
					    unsigned int write_point)
{
	unsigned int nptrs = KEY_PTRS(&ob->key);
	unsigned int i;

	sectors = min3(sectors, ob->sectors_free, key_sectors_max(c));

	for (i = 0; i < nptrs; i++) {
		EBUG_ON(ptr_stale(c, &ob->key, i));
		k->ptr[i] = ob->key.ptr[i];
	}
	SET_KEY_OFFSET(k, KEY_OFFSET(k) + sectors);
	SET_KEY_SIZE(k, sectors);
	SET_KEY_PTRS(k, nptrs);

	/* Most recently used goes last; remember where this stream is. */
	list_move_tail(&ob->list, &c->data_buckets);
	bkey_copy_key(&ob->key, k);
	ob->last_write_point = write_point;
	list_move(&ob->by_end, ob_end_chain(c, k));
	list_move_tail(&ob->by_writer, ob_writer_chain(c, write_point));
	ob->sectors_free -= sectors;

	for (i = 0; i < nptrs; i++) {
		SET_PTR_OFFSET(&ob->key, i, PTR_OFFSET(&ob->key, i) + sectors);
		atomic_long_add(sectors, &c->cache->sectors_written);
	}

	/* Less than a block left is no use to anyone. */
	if (ob->sectors_free < c->cache->sb.block_size)
		ob->sectors_free = 0;

	if (ob->sectors_free)
		for (i = 0; i < nptrs; i++)
			atomic_inc(&PTR_BUCKET(c, &ob->key, i)->pin);
}
EXPORT_SYMBOL_IF_KUNIT(bch_carve_open_bucket);

bool bch_alloc_sectors(struct cache_set *c, struct bkey *k,
		       unsigned int sectors, unsigned int write_point,
		       unsigned int write_prio, bool wait)
{
	BKEY_PADDED(key) fresh;
	unsigned int reserve = write_prio ? RESERVE_MOVINGGC : RESERVE_NONE;
	struct open_bucket *ob;

	bkey_init(&fresh.key);
	spin_lock(&c->data_bucket_lock);

	/* Allocating may sleep: do it unlocked, then look again. */
	while (!(ob = bch_pick_data_bucket(c, k, write_point, &fresh.key))) {
		spin_unlock(&c->data_bucket_lock);
		if (bch_bucket_alloc_set(c, reserve, &fresh.key, wait))
			return false;
		spin_lock(&c->data_bucket_lock);
	}

	/* Someone else refilled it meanwhile: ours goes back unused. */
	if (KEY_PTRS(&fresh.key))
		bch_bucket_pin_put(c, &fresh.key);

	bch_carve_open_bucket(c, ob, k, sectors, write_point);
	spin_unlock(&c->data_bucket_lock);
	return true;
}

void bch_open_buckets_free(struct cache_set *c)
{
	struct open_bucket *ob, *next;

	list_for_each_entry_safe(ob, next, &c->data_buckets, list) {
		list_del(&ob->list);
		kfree(ob);
	}
}

int bch_open_buckets_alloc(struct cache_set *c)
{
	unsigned int i;

	spin_lock_init(&c->data_bucket_lock);
	INIT_LIST_HEAD(&c->data_buckets);
	for (i = 0; i < ARRAY_SIZE(c->ob_by_end); i++) {
		INIT_LIST_HEAD(&c->ob_by_end[i]);
		INIT_LIST_HEAD(&c->ob_by_writer[i]);
	}

	/*
	 * All start out empty, at the zero key, of write point 0: the end
	 * chain holds them most recently used (last on the LRU list) first,
	 * the writer chain least recently used first.
	 */
	for (i = 0; i < MAX_OPEN_BUCKETS; i++) {
		struct open_bucket *ob = kzalloc(sizeof(*ob), GFP_KERNEL);

		if (!ob) {
			bch_open_buckets_free(c);
			return -ENOMEM;
		}
		list_add(&ob->list, &c->data_buckets);
		list_add_tail(&ob->by_end, ob_end_chain(c, &ob->key));
		list_add(&ob->by_writer, ob_writer_chain(c, 0));
	}
	return 0;
}

/* ---- Prios and gens on disk ---- */

/* Fill in @p's magic and its checksum over the @bytes it spans. */
VISIBLE_IF_KUNIT void bch_prio_set_seal(struct prio_set *p, size_t bytes,
					u64 magic)
{
	p->magic = cpu_to_le64(magic);
	p->csum = cpu_to_le64(bch_csum_range(p, (u8 *)p + bytes));
}
EXPORT_SYMBOL_IF_KUNIT(bch_prio_set_seal);

/*
 * Whether @p is an intact prio_set of our set: 0, or -EIO with @why set.
 * Registration reads every set of the chain through it, and each set is
 * checked again before it is written.
 */
VISIBLE_IF_KUNIT int bch_prio_set_verify(const struct prio_set *p, size_t bytes,
					 u64 magic, const char **why)
{
	*why = NULL;
	if (le64_to_cpu(p->magic) != magic)
		*why = "bad magic reading prios";
	else if (le64_to_cpu(p->csum) != bch_csum_range(p, (const u8 *)p + bytes))
		*why = "bad csum reading prios";
	return *why ? -EIO : 0;
}
EXPORT_SYMBOL_IF_KUNIT(bch_prio_set_verify);

/* Synchronous I/O of ca->disk_buckets to or from bucket @nr. */
static int prio_io(struct cache *ca, u64 nr, blk_opf_t opf)
{
	unsigned int pages = meta_bucket_pages(&ca->sb);
	struct bio *bio;
	int ret = -EIO;

	bio = bio_kmalloc(pages, GFP_NOIO);
	if (!bio)
		return -ENOMEM;
	bio_init(bio, ca->bdev, bio->bi_inline_vecs, pages,
		 opf | REQ_SYNC | REQ_META);
	bio->bi_iter.bi_sector = nr * ca->sb.bucket_size;
	bio->bi_iter.bi_size = meta_bucket_bytes(&ca->sb);
	bch_bio_map(bio, ca->disk_buckets);

	if (!set_io_disabled(ca->set))
		ret = submit_bio_wait(bio);
	bio_uninit(bio);
	kfree(bio);

	if (ret)
		bch_cache_set_error(ca->set, "%pg: error %d %s prios in bucket %llu",
				    ca->bdev, ret,
				    op_is_write(opf) ? "writing" : "reading",
				    nr);
	return ret;
}

/* Buckets whose prio and gen the @idx-th prio_set of the chain holds. */
static void prio_set_span(const struct cache *ca, unsigned int idx,
			  size_t *first, size_t *end)
{
	size_t per = prios_per_bucket(ca);

	*first = idx * per;
	*end = min_t(size_t, *first + per, ca->sb.nbuckets);
}

static void fill_prio_set(struct cache *ca, struct prio_set *p,
			  unsigned int idx)
{
	struct bucket_disk *d = p->data;
	size_t nr, end;

	prio_set_span(ca, idx, &nr, &end);
	for (; nr < end; nr++, d++) {
		d->prio = cpu_to_le16(ca->buckets[nr].prio);
		d->gen = ca->buckets[nr].gen;
	}
	/* The tail of the last set is covered by the csum: keep it fixed. */
	memset(d, 0, (u8 *)p + meta_bucket_bytes(&ca->sb) - (u8 *)d);
}

static void load_prio_set(struct cache *ca, const struct prio_set *p,
			  unsigned int idx)
{
	const struct bucket_disk *d = p->data;
	size_t nr, end;

	prio_set_span(ca, idx, &nr, &end);
	for (; nr < end; nr++, d++) {
		struct bucket *b = ca->buckets + nr;

		b->prio = le16_to_cpu(d->prio);
		b->gen = d->gen;
		b->last_gc = d->gen;
	}
}

static bool prio_bucket_valid(const struct cache *ca, u64 nr)
{
	return nr >= ca->sb.first_bucket && nr < ca->sb.nbuckets;
}

/*
 * The structure of a prio_set about to be written: our magic, and a link
 * to the next set that a read would follow. Its checksum was computed a
 * moment ago, over a whole bucket: computing it again here cost every
 * allocator pass a second pass over the bucket. A set that fails (a bug,
 * not a disk error) is not written: the chain write fails as on an I/O
 * error and the set stops.
 */
VISIBLE_IF_KUNIT int bch_prio_set_verify_write(const struct prio_set *p,
					       u64 magic, u64 first_bucket,
					       u64 nbuckets, const char **why)
{
	u64 next = le64_to_cpu(p->next_bucket);

	*why = NULL;
	if (le64_to_cpu(p->magic) != magic)
		*why = "bad magic";
	else if (next && (next < first_bucket || next >= nbuckets))
		*why = "next bucket out of range";
	return *why ? -EIO : 0;
}
EXPORT_SYMBOL_IF_KUNIT(bch_prio_set_verify_write);

static bool prio_set_write_refused(struct cache *ca, const struct prio_set *p)
{
	const char *why;

	if (!bch_prio_set_verify_write(p, pset_magic(&ca->sb),
				       ca->sb.first_bucket, ca->sb.nbuckets,
				       &why))
		return false;
	cache_bug(ca->set, "prio set not written: %s", why);
	return true;
}

/*
 * Write the @idx-th prio_set into a bucket from the prio reserve; it
 * links to the set after it, already written. Called with bucket_lock
 * held, dropped around the I/O.
 */
static int write_prio_set(struct cache *ca, unsigned int idx, bool wait)
{
	struct cache_set *c = ca->set;
	struct prio_set *p = ca->disk_buckets;
	u64 next = idx + 1 < prio_buckets(ca) ? ca->prio_buckets[idx + 1] : 0;
	long nr;
	int ret;

	fill_prio_set(ca, p, idx);
	p->next_bucket = cpu_to_le64(next);
	bch_prio_set_seal(p, meta_bucket_bytes(&ca->sb), pset_magic(&ca->sb));
	if (prio_set_write_refused(ca, p))
		return -EIO;

	nr = bch_bucket_alloc(ca, RESERVE_PRIO, wait);
	if (nr < 0)
		return -ENOSPC;

	mutex_unlock(&c->bucket_lock);
	ret = prio_io(ca, nr, REQ_OP_WRITE);
	mutex_lock(&c->bucket_lock);

	/* Metadata now; it needs no pin to stay put. */
	atomic_dec(&ca->buckets[nr].pin);
	ca->prio_buckets[idx] = nr;
	return ret;
}

/*
 * A chain write that failed part way: give back the buckets of the sets
 * already written and point prio_buckets at the old chain again, which
 * is intact on disk and still what the journal names.
 */
static void abandon_prio_chain(struct cache *ca, unsigned int from)
{
	unsigned int i, n = prio_buckets(ca);

	for (i = from; i < n; i++) {
		u64 nr = ca->prio_buckets[i];

		if (nr != ca->prio_last_buckets[i])
			__bch_bucket_free(ca, ca->buckets + nr);
		ca->prio_buckets[i] = ca->prio_last_buckets[i];
	}
}

/*
 * The new chain is journaled: the old one may be reused. Not before,
 * since until then a crash would bring the old one back.
 */
static void retire_old_prio_chain(struct cache *ca)
{
	unsigned int i, n = prio_buckets(ca);

	for (i = 0; i < n; i++) {
		u64 old = ca->prio_last_buckets[i];

		if (old && old != ca->prio_buckets[i])
			__bch_bucket_free(ca, ca->buckets + old);
		ca->prio_last_buckets[i] = ca->prio_buckets[i];
	}
}

/* Enough buckets in the lists a prio allocation may take from? */
static bool prio_reserve_ready(struct cache *ca)
{
	size_t avail = 0;
	unsigned int nth;
	int list;

	for (nth = 0; (list = bch_reserve_source(RESERVE_PRIO, nth)) >= 0; nth++)
		avail += bch_ring_used(&ca->free[list]);
	return avail >= prio_buckets(ca);
}

int bch_prio_write(struct cache *ca, bool wait)
{
	struct cache_set *c = ca->set;
	unsigned int n = prio_buckets(ca);
	unsigned int i;
	struct closure cl;
	int ret;

	lockdep_assert_held(&c->bucket_lock);

	/* Fail before taking anything rather than undo half a chain. */
	if (!wait && !prio_reserve_ready(ca))
		return -ENOMEM;

	le64_add_cpu(&ca->disk_buckets->seq, 1);
	atomic_long_add((long)ca->sb.bucket_size * n, &ca->meta_sectors_written);

	/* Last set first, so each set can link to the one after it. */
	for (i = n; i-- > 0;) {
		ret = write_prio_set(ca, i, wait);
		if (ret) {
			pr_err("%pg: writing prios failed: %d\n", ca->bdev, ret);
			abandon_prio_chain(ca, i);
			return ret;
		}
	}

	mutex_unlock(&c->bucket_lock);
	closure_init_stack(&cl);
	bch_journal_meta(c, &cl);
	closure_sync(&cl);
	mutex_lock(&c->bucket_lock);

	retire_old_prio_chain(ca);
	return 0;
}

int bch_prio_read(struct cache *ca, u64 bucket, const char **err)
{
	struct prio_set *p = ca->disk_buckets;
	size_t bytes = meta_bucket_bytes(&ca->sb);
	unsigned int i, n = prio_buckets(ca);
	const char *why;
	int ret;

	for (i = 0; i < n; i++) {
		if (!prio_bucket_valid(ca, bucket)) {
			pr_err("%pg: prio bucket %llu (set %u of %u) out of range\n",
			       ca->bdev, bucket, i, n);
			*err = "bad bucket reading prios";
			return -EIO;
		}

		ca->prio_buckets[i] = bucket;
		ca->prio_last_buckets[i] = bucket;

		ret = prio_io(ca, bucket, REQ_OP_READ);
		if (ret) {
			*err = "IO error reading prios";
			return ret;
		}

		if (bch_prio_set_verify(p, bytes, pset_magic(&ca->sb), &why)) {
			pr_err("%pg: %s in bucket %llu\n", ca->bdev, why, bucket);
			*err = why;
			return -EIO;
		}

		load_prio_set(ca, p, i);
		bucket = le64_to_cpu(p->next_bucket);
	}
	return 0;
}

/* ---- Set-up and teardown ---- */

static void free_disk_buckets(struct cache *ca)
{
	if (ca->disk_buckets)
		free_pages((unsigned long)ca->disk_buckets,
			   get_order(meta_bucket_bytes(&ca->sb)));
	ca->disk_buckets = NULL;
}

void bch_cache_alloc_exit(struct cache *ca)
{
	unsigned int i;

	free_disk_buckets(ca);
	kfree(ca->prio_buckets);
	ca->prio_buckets = NULL;
	ca->prio_last_buckets = NULL;
	vfree(ca->buckets);
	ca->buckets = NULL;
	kvfree(ca->heap.data);
	ca->heap.data = NULL;
	ca->heap.nr = 0;
	ca->heap.size = 0;
	bch_ring_free(&ca->free_inc);
	for (i = 0; i < RESERVE_NR; i++)
		bch_ring_free(&ca->free[i]);
}

/* Geometry the allocator cannot work with; the superblock is trusted no further. */
static int check_alloc_geometry(const struct cache *ca)
{
	if (!meta_bucket_pages(&ca->sb)) {
		pr_err("%pg: bucket of %u sectors is smaller than a page\n",
		       ca->bdev, ca->sb.bucket_size);
		return -EINVAL;
	}
	if (ca->sb.nbuckets <= ca->sb.first_bucket ||
	    ca->sb.nbuckets > LONG_MAX / sizeof(struct bucket)) {
		pr_err("%pg: bad bucket count %llu (first %u)\n",
		       ca->bdev, ca->sb.nbuckets, ca->sb.first_bucket);
		return -EINVAL;
	}
	if (!(roundup_pow_of_two(ca->sb.nbuckets) >> 10)) {
		pr_err("%pg: %llu buckets are too few\n",
		       ca->bdev, ca->sb.nbuckets);
		return -EINVAL;
	}
	return 0;
}

/*
 * Buckets kept for node splits and new roots, drawn from while the
 * allocator may itself wait on a journal write that waits on a node
 * flush. Sized from the journal alone (4 buckets on a 513-bucket cache)
 * it ran dry under fsync-heavy writers on small caches and everything
 * stopped: at least 32 and, for big caches, one in 128 buckets (at most
 * a journal's worth), as the kernel's driver sizes it since 6.16.
 * Journal replay, a split per journal bucket at worst, fits.
 */
VISIBLE_IF_KUNIT size_t bch_btree_reserve_buckets(u64 nbuckets)
{
	return clamp_t(u64, nbuckets >> 7, 32, SB_JOURNAL_BUCKETS);
}
EXPORT_SYMBOL_IF_KUNIT(bch_btree_reserve_buckets);

static int alloc_free_lists(struct cache *ca, size_t per_list)
{
	size_t btree_reserve = bch_btree_reserve_buckets(ca->sb.nbuckets);

	if (bch_ring_alloc(&ca->free[RESERVE_BTREE], btree_reserve, GFP_KERNEL) ||
	    bch_ring_alloc(&ca->free[RESERVE_PRIO], prio_buckets(ca), GFP_KERNEL) ||
	    bch_ring_alloc(&ca->free[RESERVE_MOVINGGC], per_list, GFP_KERNEL) ||
	    bch_ring_alloc(&ca->free[RESERVE_NONE], per_list, GFP_KERNEL) ||
	    bch_ring_alloc(&ca->free_inc, per_list << 2, GFP_KERNEL))
		return -ENOMEM;
	return 0;
}

static int alloc_candidate_heap(struct cache *ca, size_t nr)
{
	struct bch_alloc_candidate *data;

	nr = min_t(size_t, nr, INT_MAX);
	data = kvmalloc_array(nr, sizeof(*data), GFP_KERNEL);
	if (!data)
		return -ENOMEM;
	min_heap_init(&ca->heap, data, nr);
	return 0;
}

int bch_cache_alloc_init(struct cache *ca)
{
	size_t per_list;
	unsigned int n;
	int ret;

	ret = check_alloc_geometry(ca);
	if (ret)
		return ret;

	/*
	 * Free lists scale with the cache, about 1/1024 of it each, as
	 * upstream's; but not below FREE_LIST_MIN (see there).
	 */
	per_list = max_t(size_t, roundup_pow_of_two(ca->sb.nbuckets) >> 10,
			 FREE_LIST_MIN);
	n = prio_buckets(ca);

	ret = alloc_free_lists(ca, per_list);
	if (!ret)
		ret = alloc_candidate_heap(ca, per_list << 3);
	if (ret)
		goto fail;

	ret = -ENOMEM;
	ca->buckets = vzalloc(array_size(sizeof(struct bucket), ca->sb.nbuckets));
	ca->prio_buckets = kcalloc(2 * (size_t)n, sizeof(u64), GFP_KERNEL);
	ca->disk_buckets = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO,
						    get_order(meta_bucket_bytes(&ca->sb)));
	if (!ca->buckets || !ca->prio_buckets || !ca->disk_buckets)
		goto fail;
	ca->prio_last_buckets = ca->prio_buckets + n;

	ca->fifo_last_bucket = ca->sb.first_bucket;
	if (ca->set)
		ca->set->nbuckets = ca->sb.nbuckets;
	return 0;
fail:
	pr_err("%pg: cannot allocate the bucket allocator: %d\n", ca->bdev, ret);
	bch_cache_alloc_exit(ca);
	return ret;
}

void bch_update_bucket_in_use(struct cache_set *c, struct gc_stat *stats)
{
	size_t busy;

	if (!c->nbuckets) {
		stats->in_use = 0;
		return;
	}

	busy = c->nbuckets - min(c->avail_nbuckets, c->nbuckets);
	stats->in_use = busy * 100 / c->nbuckets;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * A btree node: reading it from its bucket, writing its open set, and the
 * cache of nodes in memory (lookup, reuse, cannibalizing, the shrinker),
 * with the journal reclaim that writes the nodes pinning the oldest jset.
 *
 * A node is a bucket holding a log of bsets, each appended by one write,
 * all sharing the random seq of the first. Reading a node verifies every
 * bset (bch_btree_node_verify()) and merges them into one sorted set;
 * writing appends the open set. Nothing read from disk is believed before
 * the verifier passed it.
 *
 * Nodes are cached by the bucket they sit in (node_id(): bucket and gen).
 * The structs are never freed while the set lives, only their buffers: a
 * traversal that found a node through RCU and then locked it checks that
 * the node still has the identity it looked for, and retries if the node
 * was reused meanwhile. When memory runs out, one task at a time (the
 * holder of btree_cache_alloc_lock) may cannibalize a clean cached node.
 *
 * Lock order: node locks (b->lock) top down; then bucket_lock; then a
 * node's write_lock; then journal.lock. io_mutex is a semaphore held for
 * the lifetime of one write, released by its completion.
 */

#include "bcache.h"
#include "btree.h"
#include "btree_node.h"
#include "io.h"
#include "set.h"
#include "util.h"

#include <kunit/visibility.h>
#include <linux/delay.h>
#include <linux/hash.h>
#include <linux/prefetch.h>
#include <linux/random.h>
#include <linux/rculist.h>
#include <linux/sched/clock.h>

/* A dirty node is written by itself at the latest this long after. */
#define DIRTY_NODE_WRITE_DELAY	(30 * HZ)

/*
 * A leaf whose open set grows past this is written at once, so the sets
 * stay small enough to sort and search cheaply (upstream's threshold).
 */
#define OPEN_SET_WRITE_BYTES	(PAGE_SIZE - 48)

/* Nodes the cache keeps no matter what the shrinker says. */
#define NODE_RESERVE_PER_LEVEL	8
#define NODE_RESERVE_BASE	16

/* ---- Geometry and identity ---- */

static unsigned int node_page_order(const struct cache_set *c)
{
	return ilog2(c->btree_pages);
}

/* Most sets a node read from disk can hold: one per block. */
static unsigned int node_max_disk_sets(const struct cache_set *c)
{
	return (c->btree_pages * PAGE_SECTORS) >> c->block_bits;
}

/*
 * Identity of the node @k points at: its bucket and the bucket's gen,
 * which a freed node's bucket has moved on from.
 */
static u64 node_id(const struct cache_set *c, const struct bkey *k)
{
	return ((u64)PTR_BUCKET_NR(c, k, 0) << 8) | PTR_GEN(k, 0);
}

static struct hlist_head *node_hash_head(struct cache_set *c, u64 id)
{
	return c->bucket_hash + hash_64(id, BUCKET_HASH_BITS);
}

/* ---- Checksums ---- */

/*
 * Version 1 sets: crc64 seeded with the first pointer word of the node's
 * key, so that a set read from the wrong bucket fails even if it is intact.
 */
static u64 bset_csum_seeded(u64 seed, const struct bset *i)
{
	const void *from = (const void *)i + sizeof(i->csum);
	const void *to = bset_bkey_last(i);

	return ~crc64_be(seed, from, to - from);
}

static u64 bset_csum_v1(const struct btree *b, const struct bset *i)
{
	return bset_csum_seeded(le64_to_cpu(b->key.ptr[0]), i);
}

/* ---- Completing a write: journal pin and blocked prios ---- */

/*
 * Prio writes wait for c->prio_blocked to drain; the allocator may sleep
 * on bucket_wait or, as upstream's does, as a bare kthread.
 */
static void wake_allocator(struct cache_set *c)
{
	struct cache *ca = c->cache;

	wake_up(&c->bucket_wait);
	if (ca && ca->alloc_thread)
		wake_up_process(ca->alloc_thread);
}

/* What @w held up is now on disk (or will never be): let it go. */
void bch_btree_write_retire(struct btree *b, struct btree_write *w)
{
	struct cache_set *c = b->c;

	if (w->prio_blocked &&
	    !atomic_sub_return(w->prio_blocked, &c->prio_blocked))
		wake_allocator(c);

	if (w->journal) {
		WARN_ON_ONCE(atomic_dec_return(w->journal) < 0);
		/* Journal reclaim may be waiting for exactly this pin. */
		__closure_wake_up(&c->journal.wait);
	}

	w->prio_blocked = 0;
	w->journal = NULL;
}

/* True if journal pin @l belongs to a newer jset than @r. */
static bool journal_pin_newer(struct cache_set *c, atomic_t *l, atomic_t *r)
{
	return bch_ring_index(&c->journal.pin, l) >
	       bch_ring_index(&c->journal.pin, r);
}

/* ---- Reading a node ---- */

static void node_read_failed(struct btree *b, struct bset *i, const char *why)
{
	struct cache_set *c = b->c;

	set_bit(BTREE_NODE_io_error, &b->flags);
	pr_err("%pg: btree node at bucket %zu, block %u: %s (%u keys)\n",
	       c->cache->bdev, PTR_BUCKET_NR(c, &b->key, 0),
	       bset_block_offset(b, i), why, bset_u64s(i));
	bch_cache_set_error(c, "%s at bucket %zu, block %u, %u keys", why,
			    PTR_BUCKET_NR(c, &b->key, 0),
			    bset_block_offset(b, i), bset_u64s(i));
}

/*
 * Every key of @i must end inside @i: the iterators step by each key's
 * own length and would otherwise run off into the next set. Whether the
 * keys make sense is decided later, by the sort, which drops invalid ones.
 */
static bool bset_keys_fit(const struct bset *i)
{
	const struct bkey *k = bset_start(i), *end = bset_bkey_last(i);

	while (k < end)
		k = bkey_next(k);
	return k == end;
}

static const struct bset *node_set_at(const struct bch_node_geometry *g,
				      const void *node, unsigned int block)
{
	return node + (size_t)block * g->block_bytes;
}

/*
 * Do the keys of @i, a set starting @block blocks into the node, end
 * before the node does? Counted in words rather than in blocks so that a
 * huge count from disk cannot overflow the sum.
 */
static bool bset_fits_node(const struct bch_node_geometry *g,
			   const struct bset *i, unsigned int block)
{
	size_t room = g->node_bytes - (size_t)block * g->block_bytes;

	return bset_u64s(i) <= (room - sizeof(*i)) / sizeof(u64);
}

static bool bset_csum_ok(const struct bch_node_geometry *g,
			 const struct bset *i)
{
	u64 want;

	if (le32_to_cpu(i->version))
		want = bset_csum_seeded(g->csum_seed, i);
	else
		want = bch_csum_range(i, bset_bkey_last(i));
	return le64_to_cpu(i->csum) == want;
}

/*
 * Why the set @i at @block of the node log is unusable, or NULL. The
 * order matters: nothing past the header is read before the header says
 * the set lies within the node. A set not yet @sealed (about to be
 * written) has no version or checksum to check.
 */
static const char *bset_problem(const struct bch_node_geometry *g,
				const struct bset *i, unsigned int block,
				bool sealed)
{
	if (sealed && le32_to_cpu(i->version) > BCACHE_BSET_VERSION)
		return "unsupported bset version";
	if (!bset_fits_node(g, i, block))
		return "bad btree header";
	if (le64_to_cpu(i->magic) != g->magic)
		return "bad magic";
	if (sealed && !bset_csum_ok(g, i))
		return "bad checksum";
	/* Only a fresh node's first write may be empty. */
	if (block && !bset_u64s(i))
		return "empty set";
	if (!bset_keys_fit(i))
		return "bad key length";
	return NULL;
}

/* Can a node of geometry @g be verified in a buffer of @bytes at @buf? */
static const char *node_geometry_problem(const struct bch_node_geometry *g,
					 const void *buf, size_t bytes)
{
	if (g->block_bytes < sizeof(struct bset) ||
	    !is_power_of_2(g->block_bytes))
		return "bad block size";
	if (!g->node_bytes || g->node_bytes % g->block_bytes)
		return "bad btree key size";
	if (bytes < g->node_bytes)
		return "node buffer too short";
	if (!IS_ALIGNED((unsigned long)buf, sizeof(u64)))
		return "misaligned node buffer";
	return NULL;
}

static int node_verdict(struct bch_node_verdict *v, unsigned int block,
			const char *why, int err)
{
	v->bad_block = block;
	v->reason = why;
	return err;
}

/**
 * bch_btree_node_verify - check the log of bsets of a node read from disk
 * @g: what the node must match: the set's magic, the checksum seed, sizes
 * @buf: the node as read, u64 aligned
 * @bytes: size of @buf; at least @g->node_bytes
 * @v: out: blocks of valid sets (what is on disk), and on failure the
 *     block of the offending set and why
 *
 * A node is a log: sets one after another, block aligned, each written
 * once, all carrying the seq of the first. The log ends at the first
 * block that does not carry that seq; a set of this node further on
 * means a write in between got lost. Whether the keys themselves are
 * valid is for the sort to decide, which drops the bad ones.
 *
 * Return: 0; -EIO if the contents are bad; -EINVAL if @g or @buf cannot
 * describe a node at all.
 */
VISIBLE_IF_KUNIT int bch_btree_node_verify(const struct bch_node_geometry *g,
					   const void *buf, size_t bytes,
					   struct bch_node_verdict *v)
{
	unsigned int blocks, at = 0;
	const struct bset *first = buf, *i;
	const char *why;

	v->written = 0;
	why = node_geometry_problem(g, buf, bytes);
	if (why)
		return node_verdict(v, 0, why, -EINVAL);

	if (!first->seq)
		return node_verdict(v, 0, "bad btree header", -EIO);

	blocks = g->node_bytes / g->block_bytes;
	for (i = first; at < blocks && i->seq == first->seq;
	     i = node_set_at(g, buf, at)) {
		why = bset_problem(g, i, at, true);
		if (why)
			return node_verdict(v, at, why, -EIO);
		at += set_blocks(i, g->block_bytes);
		v->written = at;
	}

	for (; at < blocks; at++)
		if (node_set_at(g, buf, at)->seq == first->seq)
			return node_verdict(v, at, "corrupted btree", -EIO);

	return node_verdict(v, 0, NULL, 0);
}
EXPORT_SYMBOL_IF_KUNIT(bch_btree_node_verify);

/**
 * bch_btree_node_verify_write - check the open set of a node before writing it
 * @g: the node's geometry, as for bch_btree_node_verify()
 * @i: the set, at block @block of the node
 * @block: blocks of the node already written
 * @why: set to the reason the set would be refused once read back, or NULL
 *
 * The structural checks of bch_btree_node_verify() but the version and
 * checksum, which the write sets next.
 *
 * Return: 0, or -EIO.
 */
VISIBLE_IF_KUNIT int bch_btree_node_verify_write(const struct bch_node_geometry *g,
						 const struct bset *i,
						 unsigned int block,
						 const char **why)
{
	*why = bset_problem(g, i, block, false);
	return *why ? -EIO : 0;
}
EXPORT_SYMBOL_IF_KUNIT(bch_btree_node_verify_write);

static void node_geometry(struct btree *b, struct bch_node_geometry *g)
{
	g->magic = bset_magic(&b->c->cache->sb);
	g->csum_seed = le64_to_cpu(b->key.ptr[0]);
	g->block_bytes = node_block_bytes(b);
	g->node_bytes = KEY_SIZE(&b->key) << SECTOR_SHIFT;
}

/* Hand the sets of the first @blocks blocks, verified, to @iter. */
static void push_node_sets(struct btree *b, struct btree_iter *iter,
			   unsigned int blocks)
{
	struct bset *i;

	for (b->written = 0; b->written < blocks;
	     b->written += set_blocks(i, node_block_bytes(b))) {
		i = next_write_pos(b);
		bch_btree_iter_push(iter, bset_start(i), bset_bkey_last(i));
	}
}

/**
 * bch_btree_node_read_done - verify and sort a node just read from disk
 * @b: the node, write-locked, with the raw node in its buffer
 *
 * On any problem the node gets BTREE_NODE_io_error and the cache set is
 * failed; nothing read from disk is trusted before it passed the checks.
 */
void bch_btree_node_read_done(struct btree *b)
{
	struct cache_set *c = b->c;
	struct bch_node_geometry g;
	struct bch_node_verdict v;
	struct btree_iter *iter;
	struct bset *first = btree_bset_first(b);

	node_geometry(b, &g);
	if (bch_btree_node_verify(&g, first, btree_keys_bytes(&b->keys), &v)) {
		b->written = v.written;
		node_read_failed(b, (void *)first +
				 (size_t)v.bad_block * g.block_bytes, v.reason);
		return;
	}

	iter = mempool_alloc(&c->fill_iter, GFP_NOIO);
	bch_btree_iter_init(iter, &b->keys, node_max_disk_sets(c));
	push_node_sets(b, iter, v.written);

	/* Merges the sets, dropping invalid keys and resolving overlaps. */
	if (!bch_btree_sort_and_fix_extents(&b->keys, iter, &c->sort)) {
		mempool_free(iter, &c->fill_iter);
		node_read_failed(b, btree_bset_first(b),
				 "keys sort to more than the node holds");
		return;
	}
	mempool_free(iter, &c->fill_iter);

	if (b->keys.set[0].size &&
	    bkey_cmp(&b->key, bset_tree_end(&b->keys.set[0])) < 0) {
		node_read_failed(b, btree_bset_first(b), "short btree key");
		return;
	}

	if (b->written < btree_blocks(b))
		bch_bset_init_next(&b->keys, next_write_pos(b),
				   bset_magic(&c->cache->sb));
}

static void node_read_endio(struct bio *bio)
{
	closure_put(bio->bi_private);
}

/* The node's key must describe something that fits our buffer. */
static bool node_key_size_ok(struct btree *b)
{
	unsigned int sectors = KEY_SIZE(&b->key);

	return sectors &&
	       sectors <= btree_keys_bytes(&b->keys) >> SECTOR_SHIFT &&
	       !(sectors & (block_sectors(b->c) - 1));
}

/* Read @b (write-locked, fresh from the cache) in and verify it. */
static void btree_node_read(struct btree *b)
{
	struct cache_set *c = b->c;
	u64 started = local_clock();
	struct closure cl;
	struct bio *bio;
	bool failed;

	if (!node_key_size_ok(b)) {
		node_read_failed(b, btree_bset_first(b), "bad btree key size");
		return;
	}

	closure_init_stack(&cl);

	bio = bch_bbio_alloc(c);
	bio->bi_iter.bi_size = KEY_SIZE(&b->key) << SECTOR_SHIFT;
	bio->bi_end_io = node_read_endio;
	bio->bi_private = &cl;
	bio->bi_opf = REQ_OP_READ | REQ_META;
	bch_bio_map(bio, btree_bset_first(b));

	/* Takes a reference on bi_private for the bio in flight. */
	bch_submit_bbio(bio, c, &b->key, 0);
	closure_sync(&cl);

	failed = bio->bi_status != BLK_STS_OK;
	bch_bbio_free(bio, c);

	if (failed) {
		set_bit(BTREE_NODE_io_error, &b->flags);
		pr_err("%pg: io error reading btree node at bucket %zu\n",
		       c->cache->bdev, PTR_BUCKET_NR(c, &b->key, 0));
		bch_cache_set_error(c, "io error reading bucket %zu",
				    PTR_BUCKET_NR(c, &b->key, 0));
		return;
	}

	bch_btree_node_read_done(b);
	bch_time_stats_update(&c->btree_read_time, started);
}

/* ---- Writing a node ---- */

static CLOSURE_CALLBACK(node_write_unlock)
{
	closure_type(b, struct btree, io);

	up(&b->io_mutex);
}

/*
 * The keys of a failed write are not on disk: the jset holding them must
 * be replayed, so its pin is kept (forgotten, not dropped) and the set
 * stops before a later jset could say the journal is done with it. A set
 * already stopping is not failed again, but its I/O is disabled all the
 * same: its last jset would wait for room that the kept pin never frees.
 */
static void node_write_failed(struct btree *b, struct btree_write *w)
{
	w->journal = NULL;
	cache_bug(b->c, "btree node write failed at bucket %zu, block %u",
		  PTR_BUCKET_NR(b->c, &b->key, 0), b->written);
	set_bit(CACHE_SET_IO_DISABLE, &b->c->flags);
}

/* The write is done (or failed): release what it held up. */
static CLOSURE_CALLBACK(node_write_finish)
{
	closure_type(b, struct btree, io);
	struct btree_write *w = btree_prev_write(b);

	bch_bbio_free(b->bio, b->c);
	b->bio = NULL;
	if (btree_node_io_error(b))
		node_write_failed(b, w);
	bch_btree_write_retire(b, w);

	/* Keys came in while we were writing: schedule the next write. */
	if (btree_node_dirty(b))
		queue_delayed_work(bcache_wq, &b->work, DIRTY_NODE_WRITE_DELAY);

	closure_return_with_destructor(cl, node_write_unlock);
}

static CLOSURE_CALLBACK(node_write_finish_bounced)
{
	closure_type(b, struct btree, io);

	bio_free_pages(b->bio);
	node_write_finish(&cl->work);
}

static void node_write_endio(struct bio *bio)
{
	struct closure *cl = bio->bi_private;
	struct btree *b = container_of(cl, struct btree, io);

	if (bio->bi_status)
		set_bit(BTREE_NODE_io_error, &b->flags);

	bch_bbio_count_io_errors(b->c, bio, bio->bi_status, "writing btree");
	closure_put(cl);
}

/* Copy the bytes @bio will write, from @src, into its bounce pages. */
static void bio_fill_from(struct bio *bio, const void *src)
{
	struct bio_vec *bv = bio->bi_io_vec;
	unsigned short n;

	for (n = 0; n < bio->bi_vcnt; n++, bv++) {
		memcpy(page_address(bv->bv_page) + bv->bv_offset, src,
		       bv->bv_len);
		src += bv->bv_len;
	}
}

/*
 * Seal the open set (version, checksum) and send it. Preferably from a
 * copy, so that the node is free to take new keys (and be sorted) while
 * the write is in flight; if no memory can be had for the copy, write
 * the node buffer itself and wait.
 */
static void node_write_submit(struct btree *b, struct bset *i)
{
	BKEY_PADDED(key) at;
	struct closure *cl = &b->io;
	struct cache_set *c = b->c;

	i->version = cpu_to_le32(BCACHE_BSET_VERSION);
	i->csum = cpu_to_le64(bset_csum_v1(b, i));

	WARN_ON_ONCE(b->bio);
	b->bio = bch_bbio_alloc(c);
	b->bio->bi_end_io = node_write_endio;
	b->bio->bi_private = cl;
	b->bio->bi_iter.bi_size = roundup(set_bytes(i), node_block_bytes(b));
	/*
	 * FUA: a new node must be on disk before the parent pointing to it,
	 * and a flush per parent write would cost more. Appends to leaves
	 * would only need to precede the next journal write, but one rule
	 * for all node writes keeps this simple, as upstream does.
	 */
	b->bio->bi_opf = REQ_OP_WRITE | REQ_META | REQ_FUA;

	/* The pointer to this set: the node's, moved to the set's sector. */
	bkey_copy(&at.key, &b->key);
	SET_PTR_OFFSET(&at.key, 0, PTR_OFFSET(&at.key, 0) +
		       bset_sector_offset(&b->keys, i));

	if (!bch_bio_alloc_pages(b->bio, __GFP_NOWARN | GFP_NOWAIT)) {
		bio_fill_from(b->bio, i);
		bch_submit_bbio(b->bio, c, &at.key, 0);
		continue_at(cl, node_write_finish_bounced, NULL);
		return;
	}

	bch_bio_map(b->bio, i);
	bch_submit_bbio(b->bio, c, &at.key, 0);
	closure_sync(cl);
	continue_at_nobarrier(cl, node_write_finish, NULL);
}

/*
 * Own b->io for one write (waiting for the previous one to finish). From
 * here new keys make the node dirty again, and pin the other btree_write
 * while this one's pins wait for the write to complete.
 */
static void node_write_begin(struct btree *b, struct closure *parent)
{
	down(&b->io_mutex);
	closure_init(&b->io, parent ?: &b->c->cl);

	clear_bit(BTREE_NODE_dirty, &b->flags);
	change_bit(BTREE_NODE_write_idx, &b->flags);
}

/* Our own invariants before a write; a violation is a bug of ours. */
static bool node_write_allowed(struct btree *b)
{
	struct bset *i = btree_bset_last(b);

	return !WARN_ON_ONCE(current->bio_list) &&
	       !WARN_ON_ONCE(b->written >= btree_blocks(b)) &&
	       !WARN_ON_ONCE(b->written && !bset_u64s(i)) &&
	       !WARN_ON_ONCE(btree_bset_first(b)->seq != i->seq);
}

/*
 * A set that would not read back (a bug, not a disk error) is not
 * written, and the set stops: its keys stay pinned in the journal, which
 * the next registration replays.
 */
static bool node_write_refused(struct btree *b, const struct bset *i)
{
	struct bch_node_geometry g;
	const char *why;

	node_geometry(b, &g);
	if (!bch_btree_node_verify_write(&g, i, b->written, &why))
		return false;
	cache_bug(b->c, "btree node at bucket %zu not written: %s",
		  PTR_BUCKET_NR(b->c, &b->key, 0), why);
	return true;
}

/**
 * __bch_btree_node_write - start writing the open set of @b
 * @b: the node; caller holds b->write_lock
 * @parent: closure that waits for the write, or NULL (the cache set's)
 *
 * Does not open a new set: the next insert notices the set was written
 * and does it (see bch_btree_node_open_next_set()).
 */
void __bch_btree_node_write(struct btree *b, struct closure *parent)
{
	struct bset *open = btree_bset_last(b);
	unsigned int blocks = set_blocks(open, node_block_bytes(b));

	lockdep_assert_held(&b->write_lock);

	if (!node_write_allowed(b) || node_write_refused(b, open))
		return;
	bch_check_keys(&b->keys, "writing");

	/* This write makes the pending delayed one pointless. */
	cancel_delayed_work(&b->work);
	node_write_begin(b, parent);

	b->written += blocks;
	atomic_long_add(blocks * block_sectors(b->c),
			&b->c->cache->btree_sectors_written);

	node_write_submit(b, open);
}

/*
 * After a write: freeze the written set (sorting where worthwhile;
 * interior nodes always, since lookups in them must be fast) and open the
 * next one, unless the node is full.
 */
void bch_btree_node_open_next_set(struct btree *b)
{
	struct bset_sort_state *sort = &b->c->sort;
	struct btree_keys *keys = &b->keys;
	bool full = b->written >= btree_blocks(b);

	if (!b->level || !keys->nsets)
		bch_btree_sort_lazy(keys, sort);
	else
		bch_btree_sort(keys, sort);

	if (!full)
		bch_bset_init_next(keys, next_write_pos(b),
				   bset_magic(&b->c->cache->sb));
}

void bch_btree_node_write(struct btree *b, struct closure *parent)
{
	lockdep_assert_held(&b->write_lock);

	__bch_btree_node_write(b, parent);
	bch_btree_node_open_next_set(b);
}

static void node_write_locked(struct btree *b, struct closure *parent)
{
	mutex_lock(&b->write_lock);
	bch_btree_node_write(b, parent);
	mutex_unlock(&b->write_lock);
}

/*
 * Start a write of @b if it has unwritten keys (the delayed write, set
 * stop); the next insert opens the next set.
 */
static void node_write_if_dirty(struct btree *b, struct closure *parent)
{
	mutex_lock(&b->write_lock);
	if (btree_node_dirty(b))
		__bch_btree_node_write(b, parent);
	mutex_unlock(&b->write_lock);
}

/* Wait for a write of @b already in flight, if there is one. */
void bch_btree_node_write_wait(struct btree *b)
{
	down(&b->io_mutex);
	up(&b->io_mutex);
}

/* A node just built (gc's rewrites): out it goes, dirty or not. */
void bch_btree_node_write_sync(struct btree *b)
{
	struct closure done;

	closure_init_stack(&done);
	node_write_locked(b, &done);
	closure_sync(&done);
}

static void node_write_work(struct work_struct *work)
{
	node_write_if_dirty(container_of(to_delayed_work(work), struct btree,
					 work), NULL);
}

/*
 * Keys journaled under @journal_ref went into leaf @b: the node now keeps
 * that jset alive until it is written. The open btree_write holds the
 * oldest such pin, since reclaiming any older jset would lose keys.
 */
static void node_hold_journal_pin(struct btree *b, atomic_t *journal_ref)
{
	struct btree_write *w = btree_current_write(b);
	struct cache_set *c = b->c;

	if (!journal_ref)
		return;

	if (w->journal && journal_pin_newer(c, w->journal, journal_ref)) {
		atomic_dec(w->journal);
		w->journal = NULL;
	}

	if (!w->journal) {
		w->journal = journal_ref;
		atomic_inc(w->journal);
	}
}

void bch_btree_leaf_mark_dirty(struct btree *b, atomic_t *journal_ref)
{
	struct bset *i = btree_bset_last(b);

	lockdep_assert_held(&b->write_lock);
	WARN_ON_ONCE(!b->written || !bset_u64s(i));

	if (!test_and_set_bit(BTREE_NODE_dirty, &b->flags))
		queue_delayed_work(bcache_wq, &b->work, DIRTY_NODE_WRITE_DELAY);

	node_hold_journal_pin(b, journal_ref);

	/* Under submit_bio we must not wait for a previous write. */
	if (set_bytes(i) > OPEN_SET_WRITE_BYTES && !current->bio_list)
		bch_btree_node_write(b, NULL);
}

/* ---- The node cache: allocation and freeing ---- */

static unsigned int node_cache_reserve(struct cache_set *c)
{
	struct btree *root = READ_ONCE(c->root);
	unsigned int levels = !IS_ERR_OR_NULL(root) && root->level ?
			      root->level : 1;

	return levels * NODE_RESERVE_PER_LEVEL + NODE_RESERVE_BASE;
}

/* Nodes the shrinker may take: whatever exceeds the reserve. */
static unsigned long node_cache_spare(struct cache_set *c)
{
	unsigned int used = READ_ONCE(c->btree_cache_used);
	unsigned int reserve = node_cache_reserve(c);

	return used > reserve ? used - reserve : 0;
}

/* Give @b its buffers; it lands on btree_cache, or on _freed without. */
static void node_buffers_alloc(struct btree *b, gfp_t gfp)
{
	struct cache_set *c = b->c;

	if (!bch_btree_keys_alloc(&b->keys, node_page_order(c), gfp)) {
		c->btree_cache_used++;
		list_move(&b->list, &c->btree_cache);
	} else {
		list_move(&b->list, &c->btree_cache_freed);
	}
}

static void node_buffers_free(struct btree *b)
{
	struct cache_set *c = b->c;

	WARN_ON_ONCE(b->io_mutex.count != 1);

	bch_btree_keys_free(&b->keys);
	c->btree_cache_used--;
	list_move(&b->list, &c->btree_cache_freed);
}

/*
 * Forget which bucket @b caches. Its pointer is cleared too, so that a
 * traversal that found it just before sees a different node once it gets
 * the lock.
 */
void bch_btree_node_unhash(struct btree *b)
{
	WARN_ON_ONCE(btree_node_dirty(b));

	b->key.ptr[0] = 0;
	hlist_del_init_rcu(&b->hash);
	list_move(&b->list, &b->c->btree_cache_freeable);
}

#ifdef CONFIG_PROVE_LOCKING
/*
 * Several nodes of one level may be locked together (a split, gc
 * coalescing siblings): tell lockdep they are ordered top down, then
 * left to right.
 */
static int node_lock_order(const struct lockdep_map *l,
			   const struct lockdep_map *r)
{
	return btree_node_lock_cmp(container_of(l, struct btree, lock.dep_map),
				   container_of(r, struct btree, lock.dep_map));
}
#endif

/* A new node struct, with buffers if @gfp allows; on one of the lists. */
static struct btree *node_struct_alloc(struct cache_set *c, gfp_t gfp)
{
	/* Zeroed: bch_btree_keys_alloc() expects empty buffers. */
	struct btree *b = kzalloc(sizeof(*b), gfp);

	if (!b)
		return NULL;

	init_rwsem(&b->lock);
	lock_set_cmp_fn(&b->lock, node_lock_order, NULL);
	/*
	 * Whoever holds several nodes' write_locks at once (a split, gc
	 * coalescing) tells lockdep with mutex_lock_nested().
	 */
	mutex_init(&b->write_lock);
	sema_init(&b->io_mutex, 1);
	INIT_LIST_HEAD(&b->list);
	INIT_HLIST_NODE(&b->hash);
	INIT_DELAYED_WORK(&b->work, node_write_work);
	b->c = c;

	node_buffers_alloc(b, gfp);
	return b;
}

/*
 * Take b->write_lock once journal reclaim, which may have picked @b to
 * write and holds it only briefly, let go of it: a node being reused or
 * freed must not be written by reclaim afterwards.
 */
void bch_btree_node_lock_unflushed(struct btree *b)
{
	mutex_lock(&b->write_lock);
	while (btree_node_journal_flush(b)) {
		mutex_unlock(&b->write_lock);
		udelay(1);
		mutex_lock(&b->write_lock);
	}
}

/* Wait for the write in flight, whoever started it: io_mutex is its. */
static void node_wait_io(struct btree *b)
{
	down(&b->io_mutex);
	up(&b->io_mutex);
}

/*
 * Make @b (whose lock the caller does not hold) reusable: write-lock it
 * and, if @flush, write it out first if dirty; without @flush a dirty or
 * busy node is refused. 0 with @b write-locked, or -ENOMEM.
 */
static int node_try_reclaim(struct btree *b, bool flush)
{
	lockdep_assert_held(&b->c->bucket_lock);

	if (!down_write_trylock(&b->lock))
		return -ENOMEM;

	if (!flush) {
		if (btree_node_dirty(b))
			goto busy;
		if (down_trylock(&b->io_mutex))
			goto busy;
		up(&b->io_mutex);
	}

	bch_btree_node_lock_unflushed(b);
	if (btree_node_dirty(b))
		__bch_btree_node_write(b, NULL);
	mutex_unlock(&b->write_lock);

	node_wait_io(b);
	return 0;
busy:
	rw_unlock(true, b);
	return -ENOMEM;
}

/* Hands off while disabled, or while someone cannibalizes. */
static bool node_cache_unshrinkable(struct cache_set *c)
{
	return c->shrinker_disabled || READ_ONCE(c->btree_cache_alloc_lock);
}

static unsigned long node_cache_count(struct shrinker *shrink,
				      struct shrink_control *sc)
{
	struct cache_set *c = shrink->private_data;
	unsigned long pages = 0;

	if (!node_cache_unshrinkable(c))
		pages = node_cache_spare(c) * c->btree_pages;
	return pages;
}

/* Free up to @budget nodes from @list, oldest (tail) first. */
static unsigned long node_cache_trim(struct cache_set *c,
				     struct list_head *list, bool hashed,
				     unsigned long *budget, unsigned long *seen,
				     unsigned long limit)
{
	struct btree *b, *tmp;
	unsigned long freed = 0;

	list_for_each_entry_safe_reverse(b, tmp, list, list) {
		if (!*budget || *seen >= limit)
			break;
		(*budget)--;
		(*seen)++;

		if (node_try_reclaim(b, false))
			continue;
		if (hashed)
			bch_btree_node_unhash(b);
		node_buffers_free(b);
		rw_unlock(true, b);
		freed++;
	}
	return freed;
}

static unsigned long node_cache_scan(struct shrinker *shrink,
				     struct shrink_control *sc)
{
	struct cache_set *c = shrink->private_data;
	unsigned long budget, seen = 0, freed, in_use;

	if (node_cache_unshrinkable(c))
		return SHRINK_STOP;

	/* Reclaim that may not do I/O must not wait for an allocator. */
	if (sc->gfp_mask & __GFP_IO)
		mutex_lock(&c->bucket_lock);
	else if (!mutex_trylock(&c->bucket_lock))
		return SHRINK_STOP;

	/*
	 * Never below the reserve: that is what guarantees an insert can
	 * always get the nodes for a split, and so I/O always progresses.
	 */
	budget = max_t(unsigned long, sc->nr_to_scan / c->btree_pages, 1);
	budget = min(budget, node_cache_spare(c));
	in_use = c->btree_cache_used;

	freed = node_cache_trim(c, &c->btree_cache_freeable, false, &budget,
				&seen, ULONG_MAX);
	freed += node_cache_trim(c, &c->btree_cache, true, &budget, &seen,
				 in_use);

	mutex_unlock(&c->bucket_lock);
	return freed * c->btree_pages;
}

static int node_cache_shrinker_start(struct cache_set *c)
{
	c->shrink = shrinker_alloc(0, "md-bcache:%pU", c->set_uuid);
	if (!c->shrink) {
		/* The set works without; it just never gives memory back. */
		pr_warn("could not allocate shrinker\n");
		return 0;
	}

	c->shrink->count_objects = node_cache_count;
	c->shrink->scan_objects = node_cache_scan;
	c->shrink->seeks = 4;
	c->shrink->batch = c->btree_pages * 2;
	c->shrink->private_data = c;
	shrinker_register(c->shrink);
	return 0;
}

#ifdef CONFIG_BCACHE_DEBUG
static void node_cache_debug_alloc(struct cache_set *c)
{
	mutex_init(&c->verify_lock);

	c->verify_ondisk = (void *)__get_free_pages(GFP_KERNEL | __GFP_COMP,
				ilog2(meta_bucket_pages(&c->cache->sb)));

	c->verify_data = node_struct_alloc(c, GFP_KERNEL);
	if (c->verify_data && c->verify_data->keys.set->data)
		list_del_init(&c->verify_data->list);
	else
		c->verify_data = NULL;	/* any struct stays on _freed */
}

static void node_cache_debug_free(struct cache_set *c)
{
	if (c->verify_data)
		list_move(&c->verify_data->list, &c->btree_cache);
	c->verify_data = NULL;

	if (c->verify_ondisk)
		free_pages((unsigned long)c->verify_ondisk,
			   ilog2(meta_bucket_pages(&c->cache->sb)));
	c->verify_ondisk = NULL;
}
#else
static void node_cache_debug_alloc(struct cache_set *c) {}
static void node_cache_debug_free(struct cache_set *c) {}
#endif

/* ---------------------------------------------------------------------
 * Journal reclaim: writing the nodes that pin the oldest jset
 */

/* Dirty btree nodes one journal reclaim writes out at most. */
#define JOURNAL_FLUSH_NR	8

/* Mark @b for flushing if it is dirty with keys pinning @oldest. */
static bool flush_select(struct btree *b, atomic_t *oldest)
{
	bool selected;

	if (btree_node_journal_flush(b)) {
		pr_err("btree node %p already selected for journal flush\n", b);
		return false;
	}

	mutex_lock(&b->write_lock);
	selected = btree_node_dirty(b) &&
		   btree_current_write(b)->journal == oldest;
	if (selected)
		set_btree_node_journal_flush(b);
	mutex_unlock(&b->write_lock);
	return selected;
}

/*
 * Collect up to JOURNAL_FLUSH_NR cached nodes holding @oldest, least
 * recently used first. Reclaim may free @oldest meanwhile (the front of
 * the ring moves): then the nodes picked so far are clean and nothing more
 * is needed. bucket_lock keeps the cache list still but is held briefly.
 *
 * The root is on no list (it is never reaped), but a root leaf holds
 * pins like any leaf: without it, a full journal whose oldest jset only
 * the root pins waited for the root's own delayed write. Node structs
 * live as long as the set, so an old root read here is still one.
 */
static unsigned int flush_pick(struct cache_set *c, atomic_t *oldest,
			       struct btree **picked)
{
	struct journal *j = &c->journal;
	struct btree *b, *root;
	unsigned int n = 0;

	mutex_lock(&c->bucket_lock);
	list_for_each_entry_reverse(b, &c->btree_cache, list) {
		if (&bch_ring_front(&j->pin) != oldest ||
		    n >= atomic_read(oldest))
			break;
		if (flush_select(b, oldest))
			picked[n++] = b;
		if (n == JOURNAL_FLUSH_NR)
			break;
	}

	root = READ_ONCE(c->root);
	if (!IS_ERR_OR_NULL(root) && n < JOURNAL_FLUSH_NR &&
	    !btree_node_journal_flush(root) &&
	    flush_select(root, oldest))
		picked[n++] = root;
	mutex_unlock(&c->bucket_lock);
	return n;
}

/* Write a picked node, unless someone else wrote it meanwhile. */
static void flush_node(struct btree *b)
{
	mutex_lock(&b->write_lock);
	if (btree_node_dirty(b) && btree_current_write(b)->journal)
		__bch_btree_node_write(b, NULL);
	clear_bit(BTREE_NODE_journal_flush, &b->flags);
	mutex_unlock(&b->write_lock);
}

/*
 * The journal's reclaim calls this (journal.flush_btree_fn) to write the
 * nodes whose keys pin @oldest, so the jset and its bucket can go; the
 * journal has made sure only one such flush runs at a time.
 */
static void btree_flush_journal_pin(struct cache_set *c, atomic_t *oldest)
{
	struct btree *picked[JOURNAL_FLUSH_NR];
	unsigned int n, i;

	n = flush_pick(c, oldest, picked);
	for (i = 0; i < n; i++)
		flush_node(picked[i]);
}

/**
 * bch_btree_cache_alloc - set up the node cache of a cache set
 * @c: the set; its cache and geometry (btree_pages) are known
 *
 * Allocates the reserve of nodes, the read iterator pool and the sort
 * state. On failure, bch_btree_cache_free() undoes what was done.
 */
int bch_btree_cache_alloc(struct cache_set *c)
{
	size_t iter_bytes;
	unsigned int i;

	INIT_LIST_HEAD(&c->btree_cache);
	INIT_LIST_HEAD(&c->btree_cache_freeable);
	INIT_LIST_HEAD(&c->btree_cache_freed);
	init_waitqueue_head(&c->btree_cache_wait);
	spin_lock_init(&c->btree_cannibalize_lock);
	c->journal.flush_btree_fn = btree_flush_journal_pin;
	bch_time_stats_init(&c->btree_split_time);
	bch_time_stats_init(&c->btree_read_time);

	/* Reading a node merges up to one set per block. */
	iter_bytes = bch_btree_iter_bytes(node_max_disk_sets(c));
	if (mempool_init_kmalloc_pool(&c->fill_iter, 1, iter_bytes))
		return -ENOMEM;

	if (bch_bset_sort_state_init(&c->sort, node_page_order(c)))
		return -ENOMEM;

	for (i = 0; i < node_cache_reserve(c); i++)
		if (!node_struct_alloc(c, GFP_KERNEL))
			return -ENOMEM;
	/* Nodes with buffers but no bucket yet. */
	list_splice_init(&c->btree_cache, &c->btree_cache_freeable);

	node_cache_debug_alloc(c);

	return node_cache_shrinker_start(c);
}

/**
 * bch_btree_cache_free - free every node of @c
 * @c: a stopped set: no I/O, no traversal, every writer gone
 *
 * The root, which is on no list, goes too; c->root is cleared.
 */
void bch_btree_cache_free(struct cache_set *c)
{
	struct btree *b;

	if (c->shrink)
		shrinker_free(c->shrink);
	c->shrink = NULL;

	/* bch_btree_cache_alloc() never ran: nothing else to undo. */
	if (!c->btree_cache.next)
		return;

	mutex_lock(&c->bucket_lock);

	node_cache_debug_free(c);

	if (!IS_ERR_OR_NULL(c->root) && list_empty(&c->root->list))
		list_add(&c->root->list, &c->btree_cache);
	c->root = NULL;

	list_splice_init(&c->btree_cache_freeable, &c->btree_cache);

	while (!list_empty(&c->btree_cache)) {
		b = list_first_entry(&c->btree_cache, struct btree, list);

		/*
		 * Nothing runs any more, so no write_lock: a dirty node is
		 * dropped unwritten (the journal has its keys), releasing
		 * its pins.
		 */
		if (btree_node_dirty(b)) {
			bch_btree_write_retire(b, btree_current_write(b));
			clear_bit(BTREE_NODE_dirty, &b->flags);
		}
		node_buffers_free(b);
	}

	while (!list_empty(&c->btree_cache_freed)) {
		b = list_first_entry(&c->btree_cache_freed, struct btree,
				     list);
		list_del(&b->list);
		cancel_delayed_work_sync(&b->work);
		kfree(b);
	}

	mutex_unlock(&c->bucket_lock);

	bch_bset_sort_state_free(&c->sort);
	mempool_exit(&c->fill_iter);
}

/* ---- The node cache: lookup and reuse ---- */

static struct btree *node_find(struct cache_set *c, const struct bkey *k)
{
	u64 id = node_id(c, k);
	struct btree *b, *found = NULL;

	rcu_read_lock();
	hlist_for_each_entry_rcu(b, node_hash_head(c, id), hash)
		if (node_id(c, &b->key) == id) {
			found = b;
			break;
		}
	rcu_read_unlock();

	return found;
}

/*
 * Only one task at a time may cannibalize, or two could each hold the
 * node the other needs. Whoever fails waits (op->wait, if it has an op)
 * and restarts from the root, where the lock is dropped.
 */
int bch_cannibalize_lock(struct cache_set *c, struct btree_op *op)
{
	int ret = 0;

	spin_lock(&c->btree_cannibalize_lock);
	if (!c->btree_cache_alloc_lock) {
		WRITE_ONCE(c->btree_cache_alloc_lock, current);
	} else if (c->btree_cache_alloc_lock != current) {
		if (op)
			prepare_to_wait(&c->btree_cache_wait, &op->wait,
					TASK_UNINTERRUPTIBLE);
		ret = -EINTR;
	}
	spin_unlock(&c->btree_cannibalize_lock);

	return ret;
}

void bch_cannibalize_unlock(struct cache_set *c)
{
	bool held;

	/*
	 * Only this task can make itself the holder, so a walk that never
	 * cannibalized (nearly every one: each lookup comes here) need not
	 * take the lock to see that it holds nothing.
	 */
	if (READ_ONCE(c->btree_cache_alloc_lock) != current)
		return;

	spin_lock(&c->btree_cannibalize_lock);
	held = c->btree_cache_alloc_lock == current;
	if (held)
		WRITE_ONCE(c->btree_cache_alloc_lock, NULL);
	spin_unlock(&c->btree_cannibalize_lock);

	/* A waiter queued itself under the spinlock before it saw us. */
	if (held)
		wake_up(&c->btree_cache_wait);
}

/* Take the least recently added cached node, clean ones first. */
static struct btree *node_cannibalize(struct cache_set *c,
				      struct btree_op *op)
{
	struct btree *b;

	if (bch_cannibalize_lock(c, op))
		return ERR_PTR(-EINTR);

	list_for_each_entry_reverse(b, &c->btree_cache, list)
		if (!node_try_reclaim(b, false))
			return b;

	list_for_each_entry_reverse(b, &c->btree_cache, list)
		if (!node_try_reclaim(b, true))
			return b;

	WARN(1, "bcache: btree cache cannibalize failed\n");
	return ERR_PTR(-ENOMEM);
}

/*
 * A write-locked node with buffers, without cannibalizing: an unused one,
 * a bare struct given buffers again, or a new one. NULL if memory is out.
 */
static struct btree *node_recycle(struct cache_set *c)
{
	struct btree *b;

	list_for_each_entry(b, &c->btree_cache_freeable, list)
		if (!node_try_reclaim(b, false))
			return b;

	list_for_each_entry(b, &c->btree_cache_freed, list)
		if (!node_try_reclaim(b, false)) {
			node_buffers_alloc(b, __GFP_NOWARN | GFP_NOIO);
			if (b->keys.set->data)
				return b;
			rw_unlock(true, b);
			return NULL;
		}

	b = node_struct_alloc(c, __GFP_NOWARN | GFP_NOIO);
	if (!b)
		return NULL;

	/* Brand new, so nobody else can hold it. */
	if (WARN_ON_ONCE(!down_write_trylock(&b->lock)))
		return NULL;
	if (!b->keys.set->data) {
		rw_unlock(true, b);	/* the struct waits on _freed */
		return NULL;
	}
	return b;
}

/* Make @b the (empty) cached node for @k at @level. */
static void node_adopt(struct btree *b, struct bkey *k, int level)
{
	struct cache_set *c = b->c;

	WARN_ON_ONCE(b->io_mutex.count != 1);

	bkey_copy(&b->key, k);
	list_move(&b->list, &c->btree_cache);
	hlist_del_init_rcu(&b->hash);
	hlist_add_head_rcu(&b->hash, node_hash_head(c, node_id(c, k)));

	lock_set_subclass(&b->lock.dep_map, level + 1, _THIS_IP_);
	b->parent = NULL;
	b->flags = 0;
	b->written = 0;
	b->level = level;

	bch_btree_keys_init(&b->keys, level ? &bch_btree_keys_ops :
					      &bch_extent_keys_ops,
			    &c->expensive_debug_checks);
	bch_btree_keys_set_checker(&b->keys, &c->checker);
}

/*
 * A write-locked, empty node cached for @k, the caller fills it in;
 * NULL if @k is cached already (someone raced us), or an ERR_PTR
 * (-EINTR: wait for the cannibalize lock and restart).
 */
struct btree *bch_btree_node_cache_get(struct cache_set *c,
				       struct btree_op *op,
				       struct bkey *k, int level)
{
	struct btree *b;

	lockdep_assert_held(&c->bucket_lock);
	WARN_ON_ONCE(current->bio_list);

	if (node_find(c, k))
		return NULL;

	b = node_recycle(c);
	if (!b) {
		b = node_cannibalize(c, op);
		if (IS_ERR(b))
			return b;
	}

	node_adopt(b, k, level);
	return b;
}

/**
 * bch_btree_node_get - find a node in the cache, or read it in, and lock it
 * @c: cache set
 * @op: the walk (for waiting on the cannibalize lock), or NULL
 * @k: pointer to the node
 * @level: the node's level
 * @write: take the lock for writing
 * @parent: the node's parent, recorded in the node
 *
 * Returns the locked node or an ERR_PTR, never NULL: -EAGAIN if a read is
 * needed under submit_bio, -EINTR to restart from the root, -EIO if the
 * node is unreadable or corrupt.
 */
struct btree *bch_btree_node_get(struct cache_set *c, struct btree_op *op,
				 struct bkey *k, int level, bool write,
				 struct btree *parent)
{
	struct btree *b;
	int i;

	if (WARN_ON_ONCE(level < 0) || !KEY_PTRS(k))
		return ERR_PTR(-EIO);

	for (;;) {
		b = node_find(c, k);
		if (b) {
			rw_lock(write, b, level);
			/* Reused for another bucket before we got the lock? */
			if (node_id(c, &b->key) == node_id(c, k))
				break;
			rw_unlock(write, b);
			continue;
		}

		if (current->bio_list)
			return ERR_PTR(-EAGAIN);

		mutex_lock(&c->bucket_lock);
		b = bch_btree_node_cache_get(c, op, k, level);
		mutex_unlock(&c->bucket_lock);

		if (!b)
			continue;
		if (IS_ERR(b))
			return b;

		btree_node_read(b);
		if (!write)
			downgrade_write(&b->lock);
		break;
	}

	if (b->level != level) {
		/* Two pointers to one bucket, at different levels. */
		rw_unlock(write, b);
		bch_cache_set_error(c, "btree node at bucket %zu is at level %u, expected %i",
				    PTR_BUCKET_NR(c, k, 0), b->level, level);
		return ERR_PTR(-EIO);
	}

	if (btree_node_io_error(b)) {
		rw_unlock(write, b);
		return ERR_PTR(-EIO);
	}

	WARN_ON_ONCE(!b->written);
	b->parent = parent;

	for (i = 0; i <= b->keys.nsets; i++) {
		prefetch(b->keys.set[i].tree);
		prefetch(b->keys.set[i].data);
	}

	return b;
}

/* Read the child @k of @parent into the cache, if it is not there. */
void bch_btree_node_prefetch(struct btree *parent, struct bkey *k)
{
	struct cache_set *c = parent->c;
	struct btree *b;

	mutex_lock(&c->bucket_lock);
	b = bch_btree_node_cache_get(c, NULL, k, parent->level - 1);
	mutex_unlock(&c->bucket_lock);

	if (IS_ERR_OR_NULL(b))
		return;

	b->parent = parent;
	btree_node_read(b);
	rw_unlock(true, b);
}


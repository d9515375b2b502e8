// SPDX-License-Identifier: GPL-2.0
/*
 * The btree of a cache set: the cache of nodes in memory, reading and
 * writing nodes, walking the tree, and inserting keys (splitting nodes
 * that fill up).
 *
 * Everything below the node level is bset.c's (sorted sets, iterators)
 * and extents.c's (what a key means); everything about buckets is
 * alloc.c's and gc.c's. This file glues them into a tree on disk: a node
 * is a bucket holding a log of bsets, each appended by one write, all
 * sharing the random seq of the first. Reading a node verifies every bset
 * and merges them into one sorted set; writing appends the open set.
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

static unsigned int node_block_bytes(const struct btree *b)
{
	return block_bytes(b->c->cache);
}

/* Where the next set of @b goes: right after what is on disk. */
static struct bset *next_write_pos(struct btree *b)
{
	return (void *)btree_bset_first(b) + b->written * node_block_bytes(b);
}

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

static bool write_locks_level(const struct btree_op *op, int level)
{
	return level <= op->lock;
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
static void btree_write_retire(struct btree *b, struct btree_write *w)
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
 * the set lies within the node.
 */
static const char *bset_problem(const struct bch_node_geometry *g,
				const struct bset *i, unsigned int block)
{
	if (le32_to_cpu(i->version) > BCACHE_BSET_VERSION)
		return "unsupported bset version";
	if (!bset_fits_node(g, i, block))
		return "bad btree header";
	if (le64_to_cpu(i->magic) != g->magic)
		return "bad magic";
	if (!bset_csum_ok(g, i))
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
		why = bset_problem(g, i, at);
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
	bch_btree_sort_and_fix_extents(&b->keys, iter, &c->sort);
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

/* The write is done (or failed): release what it held up. */
static CLOSURE_CALLBACK(node_write_finish)
{
	closure_type(b, struct btree, io);

	bch_bbio_free(b->bio, b->c);
	b->bio = NULL;
	btree_write_retire(b, btree_prev_write(b));

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

/**
 * __bch_btree_node_write - start writing the open set of @b
 * @b: the node; caller holds b->write_lock
 * @parent: closure that waits for the write, or NULL (the cache set's)
 *
 * Does not open a new set: the next insert notices the set was written
 * and does it (see node_open_next_set()).
 */
void __bch_btree_node_write(struct btree *b, struct closure *parent)
{
	struct bset *open = btree_bset_last(b);
	unsigned int blocks = set_blocks(open, node_block_bytes(b));

	lockdep_assert_held(&b->write_lock);

	if (!node_write_allowed(b))
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
static void node_open_next_set(struct btree *b)
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
	node_open_next_set(b);
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

static void leaf_mark_dirty(struct btree *b, atomic_t *journal_ref)
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
static void node_unhash(struct btree *b)
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
static void node_lock_unflushed(struct btree *b)
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

	node_lock_unflushed(b);
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
			node_unhash(b);
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
			btree_write_retire(b, btree_current_write(b));
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
static int cannibalize_lock(struct cache_set *c, struct btree_op *op)
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

	if (cannibalize_lock(c, op))
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
static struct btree *node_cache_get(struct cache_set *c, struct btree_op *op,
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
		b = node_cache_get(c, op, k, level);
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
	b = node_cache_get(c, NULL, k, parent->level - 1);
	mutex_unlock(&c->bucket_lock);

	if (IS_ERR_OR_NULL(b))
		return;

	b->parent = parent;
	btree_node_read(b);
	rw_unlock(true, b);
}

/* ---- Allocating and freeing nodes ---- */

/**
 * bch_btree_node_free - give up node @b (write-locked) and its bucket
 * @b: a node no longer referenced from the tree (or never linked in)
 *
 * Unwritten keys are dropped, with the pins they held.
 */
void bch_btree_node_free(struct btree *b)
{
	struct cache_set *c = b->c;

	WARN_ON_ONCE(b == c->root);

	node_lock_unflushed(b);
	if (btree_node_dirty(b)) {
		btree_write_retire(b, btree_current_write(b));
		clear_bit(BTREE_NODE_dirty, &b->flags);
	}
	mutex_unlock(&b->write_lock);

	cancel_delayed_work(&b->work);

	mutex_lock(&c->bucket_lock);
	bch_bucket_free(c, &b->key);
	node_unhash(b);
	mutex_unlock(&c->bucket_lock);
}

/**
 * __bch_btree_node_alloc - a new, empty node in a fresh bucket
 * @c: cache set
 * @op: the walk, for waiting on the cannibalize lock; or NULL
 * @level: its level
 * @wait: wait for a bucket if RESERVE_BTREE is empty
 * @parent: its parent-to-be
 *
 * Returns the node write-locked with its first set open, or an ERR_PTR
 * (-EAGAIN: no bucket; -EINTR: restart for the cannibalize lock).
 */
struct btree *__bch_btree_node_alloc(struct cache_set *c, struct btree_op *op,
				     int level, bool wait, struct btree *parent)
{
	BKEY_PADDED(key) k;
	struct btree *b;

	mutex_lock(&c->bucket_lock);

	if (__bch_bucket_alloc_set(c, RESERVE_BTREE, &k.key, wait)) {
		b = ERR_PTR(-EAGAIN);
		goto out;
	}
	/* A btree bucket is kept by its node, not by a pin. */
	bch_bucket_pin_put(c, &k.key);
	SET_KEY_SIZE(&k.key, c->btree_pages * PAGE_SECTORS);

	b = node_cache_get(c, op, &k.key, level);
	if (!b) {
		cache_bug(c, "Tried to allocate bucket that was in btree cache");
		b = ERR_PTR(-EIO);
	}
	if (IS_ERR(b)) {
		bch_bucket_free(c, &k.key);
		goto out;
	}

	b->parent = parent;
	bch_bset_init_next(&b->keys, btree_bset_first(b),
			   bset_magic(&c->cache->sb));
out:
	mutex_unlock(&c->bucket_lock);
	return b;
}

static struct btree *node_alloc(struct cache_set *c, struct btree_op *op,
				int level, struct btree *parent)
{
	return __bch_btree_node_alloc(c, op, level, !!op, parent);
}

/* A new node holding @b's keys, compacted, covering what @b covers. */
struct btree *bch_btree_node_alloc_replacement(struct btree *b,
					       struct btree_op *op)
{
	struct btree *n = node_alloc(b->c, op, b->level, b->parent);

	if (IS_ERR(n))
		return n;

	mutex_lock(&n->write_lock);
	bch_btree_sort_into(&b->keys, &n->keys, &b->c->sort);
	bkey_copy_key(&n->key, &b->key);
	mutex_unlock(&n->write_lock);

	return n;
}

/*
 * The key that, inserted into @b's parent, unlinks @b: @b's pointers with
 * their buckets' gens bumped (so @b's old pointer is stale from now on),
 * at position zero, which extents.c treats as a btree pointer whose prios
 * must be written before the parent: until then c->prio_blocked holds the
 * allocator's prio write back.
 */
void bch_make_btree_freeing_key(struct btree *b, struct bkey *k)
{
	struct cache_set *c = b->c;
	unsigned int i;

	mutex_lock(&c->bucket_lock);

	atomic_inc(&c->prio_blocked);

	bkey_copy(k, &b->key);
	bkey_copy_key(k, &ZERO_KEY);

	for (i = 0; i < KEY_PTRS(k); i++)
		SET_PTR_GEN(k, i, bch_inc_gen(c->cache,
					      PTR_BUCKET(c, &b->key, i)));

	mutex_unlock(&c->bucket_lock);
}

/*
 * Can a split of @b run to the root without blocking? It needs up to two
 * new nodes per level above (plus a new root) and the cannibalize lock.
 * -EINTR (with op->wait queued on btree_cache_wait) if not.
 */
int bch_btree_check_reserve(struct btree *b, struct btree_op *op)
{
	struct cache_set *c = b->c;
	unsigned int need = (c->root->level - b->level) * 2 + 1;
	bool short_of_buckets;

	mutex_lock(&c->bucket_lock);
	short_of_buckets =
		bch_ring_used(&c->cache->free[RESERVE_BTREE]) < need;
	if (short_of_buckets && op)
		prepare_to_wait(&c->btree_cache_wait, &op->wait,
				TASK_UNINTERRUPTIBLE);
	mutex_unlock(&c->bucket_lock);

	if (short_of_buckets)
		return -EINTR;
	return cannibalize_lock(c, op);
}

/* ---- Inserting keys into a node ---- */

static bool node_insert_one(struct btree *b, struct bkey *k,
			    struct bkey *replace_key)
{
	unsigned int status;

	if (WARN_ON_ONCE(bkey_cmp(k, &b->key) > 0))
		return false;

	status = bch_btree_insert_key(&b->keys, k, replace_key);
	if (status == BTREE_INSERT_STATUS_NO_INSERT)
		return false;

	bch_check_keys(&b->keys, "%u for %s", status,
		       replace_key ? "replace" : "insert");
	return true;
}

/*
 * Insert the part of @k up to @b's end; @k keeps the rest, for the next
 * node. (Its bucket pins stay with that rest.)
 */
static bool node_insert_front(struct btree *b, struct bkey *k,
			      struct bkey *replace_key)
{
	BKEY_PADDED(key) front;

	bkey_copy(&front.key, k);
	bch_cut_back(&b->key, &front.key);
	bch_cut_front(&b->key, k);

	return node_insert_one(b, &front.key, replace_key);
}

/*
 * Words of keys the open set of @keys can still take: what the node has
 * left, less, in a leaf, room for one extent an overlapping insert may
 * cut in two. An insert that does not fit splits the node.
 */
VISIBLE_IF_KUNIT size_t bch_btree_insert_room(struct btree_keys *keys)
{
	long room = bch_btree_keys_u64s_remaining(keys);

	if (keys->ops->is_extents)
		room -= KEY_MAX_U64S;

	return max(room, 0L);
}
EXPORT_SYMBOL_IF_KUNIT(bch_btree_insert_room);

/*
 * Move keys from the front of @keys into @b while they fit and lie in
 * @b's range; a key straddling @b's end is split and its front part goes
 * in. True if anything was inserted. If keys were offered and none went
 * in (all collided with @replace_key), op->insert_collision says so; a
 * node that merely held none of the keys (a walk restarted from an
 * earlier position after a split) is no collision.
 */
static bool node_take_keys(struct btree *b, struct btree_op *op,
			   struct keylist *keys, struct bkey *replace_key)
{
	bool inserted = false, offered = false;
	int before = bch_count_data(&b->keys);

	while (!bch_keylist_empty(keys)) {
		struct bkey *k = keys->keys;

		if (bkey_u64s(k) > bch_btree_insert_room(&b->keys))
			break;

		if (bkey_cmp(k, &b->key) > 0) {
			/* Past our end; only a straddling key has a part here. */
			if (bkey_cmp(&START_KEY(k), &b->key) < 0) {
				offered = true;
				inserted |= node_insert_front(b, k,
							      replace_key);
			}
			break;
		}

		/* The write that made the key held its buckets. */
		if (!b->level)
			bch_bucket_pin_put(b->c, k);

		offered = true;
		inserted |= node_insert_one(b, k, replace_key);
		bch_keylist_pop_front(keys);
	}

	if (offered && !inserted)
		op->insert_collision = true;

	/* An interior node always takes all: its keys were made for it. */
	WARN_ON_ONCE(!bch_keylist_empty(keys) && b->level);
	if (before >= 0)
		WARN_ON_ONCE(bch_count_data(&b->keys) < before);

	return inserted;
}

/*
 * Where the set @i of a node being split is cut: the word offset of the
 * last key that stays in the left node, the first key at or past 3/5 of
 * the words. The left node keeps the bigger part, since keys inserted
 * in order (the common case) go on landing on the right.
 */
VISIBLE_IF_KUNIT unsigned int bch_btree_split_pivot(const struct bset *i)
{
	const u64 *words = (const u64 *)bset_start(i);
	unsigned int mark = bset_u64s(i) * 3 / 5, at = 0;

	while (at < mark)
		at += bkey_u64s((const struct bkey *)(words + at));
	return at;
}
EXPORT_SYMBOL_IF_KUNIT(bch_btree_split_pivot);

/*
 * Does a node whose keys, compacted into the one set @i, still fill more
 * than 4/5 of its @node_blocks need two nodes? Less full, a rewrite into
 * one node is enough and leaves it room to grow.
 */
VISIBLE_IF_KUNIT bool bch_btree_split_needs_two(const struct bset *i,
						unsigned int block_bytes,
						unsigned int node_blocks)
{
	return set_blocks(i, block_bytes) > node_blocks * 4 / 5;
}
EXPORT_SYMBOL_IF_KUNIT(bch_btree_split_needs_two);

/*
 * Move the keys past the pivot of @left (one set, not indexed) into the
 * empty @right. Returns the last key left in @left: its new end.
 */
VISIBLE_IF_KUNIT struct bkey *bch_btree_split_bset(struct bset *left,
						   struct bset *right)
{
	unsigned int total = bset_u64s(left);
	struct bkey *last = bset_bkey_idx(left, bch_btree_split_pivot(left));
	unsigned int kept = (u64 *)bkey_next(last) - (u64 *)bset_start(left);

	bset_set_u64s(right, total - kept);
	bset_set_u64s(left, kept);
	memcpy(bset_start(right), bset_bkey_last(left),
	       bset_u64s(right) * sizeof(u64));
	return last;
}
EXPORT_SYMBOL_IF_KUNIT(bch_btree_split_bset);

/*
 * @n1 (write_lock held) has all of @b's keys and the new ones: hand its
 * upper part to @n2, which covers the rest of @b's range, and start
 * writing @n2. Its key joins @parent_keys.
 */
static void split_upper_half(struct btree *b, struct btree *n1,
			     struct btree *n2, struct keylist *parent_keys,
			     struct closure *cl)
{
	/* Two new nodes of one level: lockdep needs telling. */
	mutex_lock_nested(&n2->write_lock, SINGLE_DEPTH_NESTING);
	bkey_copy_key(&n1->key, bch_btree_split_bset(btree_bset_first(n1),
						     btree_bset_first(n2)));
	bkey_copy_key(&n2->key, &b->key);
	bch_keylist_add(parent_keys, &n2->key);
	bch_btree_node_write(n2, cl);
	mutex_unlock(&n2->write_lock);
	rw_unlock(true, n2);
}

/* Undo a new node of a failed split: it was never linked in. */
static void split_discard(struct btree *n)
{
	bch_btree_node_free(n);
	rw_unlock(true, n);
}

static int split_error(struct btree *b, struct btree *n1, struct btree *n2,
		       struct btree *n3)
{
	WARN(1, "bcache: btree split failed (level %u)", b->level);

	if (n1 == ERR_PTR(-EAGAIN) || n2 == ERR_PTR(-EAGAIN) ||
	    n3 == ERR_PTR(-EAGAIN))
		return -EAGAIN;
	return -ENOMEM;
}

/*
 * Link the nodes of a split in: a new root above them (@n3), @n1 as the
 * new root, or the new keys into the parent together with the key that
 * frees @b. @parent_keys holds the new nodes' keys.
 */
static void split_link(struct btree *b, struct btree_op *op,
		       struct btree *n1, struct btree *n3,
		       struct keylist *parent_keys, struct closure *cl)
{
	if (n3) {
		/* The tree grows a level. */
		mutex_lock(&n3->write_lock);
		bkey_copy_key(&n3->key, &MAX_KEY);
		node_take_keys(n3, op, parent_keys, NULL);
		bch_btree_node_write(n3, cl);
		mutex_unlock(&n3->write_lock);

		closure_sync(cl);
		bch_btree_set_root(n3);
		rw_unlock(true, n3);
	} else if (!b->parent) {
		/* The root was compacted, not split. */
		closure_sync(cl);
		bch_btree_set_root(n1);
	} else {
		/* New nodes must be on disk before the parent points there. */
		closure_sync(cl);
		bch_make_btree_freeing_key(b, parent_keys->top);
		bch_keylist_push(parent_keys);

		bch_btree_insert_node(b->parent, op, parent_keys, NULL, NULL);
		WARN_ON_ONCE(!bch_keylist_empty(parent_keys));
	}
}

/*
 * @b is full: rewrite it with @keys inserted, as one compacted node or,
 * if that is still more than 4/5 full, as two (plus a new root if @b was
 * the root), and replace @b by them in its parent.
 */
static int btree_split(struct btree *b, struct btree_op *op,
		       struct keylist *keys, struct bkey *replace_key)
{
	struct btree *n1, *n2 = NULL, *n3 = NULL;
	struct cache_set *c = b->c;
	u64 started = local_clock();
	struct keylist parent_keys;
	struct closure cl;
	bool two;

	closure_init_stack(&cl);
	bch_keylist_init(&parent_keys);

	if (bch_btree_check_reserve(b, op)) {
		if (!b->level)
			return -EINTR;
		/* Interior splits come from below and cannot back out. */
		WARN(1, "insufficient reserve for split\n");
	}

	n1 = bch_btree_node_alloc_replacement(b, op);
	if (IS_ERR(n1))
		return split_error(b, n1, n2, n3);

	two = bch_btree_split_needs_two(btree_bset_first(n1),
					node_block_bytes(n1), btree_blocks(b));

	if (two) {
		n2 = node_alloc(c, op, b->level, b->parent);
		if (IS_ERR(n2))
			goto fail;

		if (!b->parent) {
			n3 = node_alloc(c, op, b->level + 1, NULL);
			if (IS_ERR(n3))
				goto fail;
		}
	}

	mutex_lock(&n1->write_lock);
	node_take_keys(n1, op, keys, replace_key);
	if (n2)
		split_upper_half(b, n1, n2, &parent_keys, &cl);

	bch_keylist_add(&parent_keys, &n1->key);
	bch_btree_node_write(n1, &cl);
	mutex_unlock(&n1->write_lock);

	split_link(b, op, n1, n3, &parent_keys, &cl);

	bch_btree_node_free(b);
	rw_unlock(true, n1);

	bch_time_stats_update(&c->btree_split_time, started);
	return 0;
fail:
	/*
	 * The new nodes' bucket pins were dropped when they were allocated
	 * (__bch_btree_node_alloc()); freeing the nodes returns the buckets.
	 */
	if (!IS_ERR_OR_NULL(n2))
		split_discard(n2);
	split_discard(n1);
	return split_error(b, n1, n2, n3);
}

/* The node was written since the last insert: open its next set. */
static void node_reopen_after_write(struct btree *b)
{
	if (next_write_pos(b) != btree_bset_last(b) &&
	    b->keys.last_set_unwritten)
		node_open_next_set(b);
}

/**
 * bch_btree_insert_node - insert @keys into @b, splitting it if needed
 * @b: the node, write-locked
 * @op: the walk
 * @keys: keys, in order, within @b's parent's range for @b
 * @journal_ref: pin of the jset that has the keys (leaves), or NULL
 * @replace_key: insert only over this key's version (leaves), or NULL
 *
 * Returns 0 when done; -EINTR when the walk must restart (with op->lock
 * raised if a split needs write locks higher up, or when keys remain for
 * another leaf); -EAGAIN under submit_bio.
 */
int bch_btree_insert_node(struct btree *b, struct btree_op *op,
			  struct keylist *keys, atomic_t *journal_ref,
			  struct bkey *replace_key)
{
	struct cache_set *c = b->c;
	struct closure cl;
	int ret;

	if (WARN_ON_ONCE(b->level && replace_key))
		return -EINVAL;

	closure_init_stack(&cl);

	mutex_lock(&b->write_lock);
	node_reopen_after_write(b);

	if (bch_keylist_nkeys(keys) <= bch_btree_insert_room(&b->keys)) {
		WARN_ON_ONCE(next_write_pos(b) != btree_bset_last(b));

		if (node_take_keys(b, op, keys, replace_key)) {
			if (!b->level)
				leaf_mark_dirty(b, journal_ref);
			else
				bch_btree_node_write(b, &cl);
		}
		mutex_unlock(&b->write_lock);

		/* Waiting for an interior write: only after unlocking. */
		closure_sync(&cl);
		return 0;
	}
	mutex_unlock(&b->write_lock);

	/* A split needs the write lock on every node up to the root. */
	if (current->bio_list) {
		op->lock = c->root->level + 1;
		return -EAGAIN;
	}
	if (op->lock <= c->root->level) {
		op->lock = c->root->level + 1;
		return -EINTR;
	}

	/* All iterators into @b are invalid from here. */
	ret = btree_split(b, op, keys, replace_key);
	if (bch_keylist_empty(keys))
		return 0;
	return ret ?: -EINTR;
}

/*
 * Trade the read lock on @b for a write lock. False if another writer got
 * in between (each write lock and unlock bumps b->seq; ours makes one).
 */
static bool node_upgrade_lock(struct btree *b)
{
	unsigned long seq_before = b->seq;
	__le64 ptr_before = b->key.ptr[0];

	rw_unlock(false, b);
	rw_lock(true, b, b->level);

	return b->seq == seq_before + 1 && b->key.ptr[0] == ptr_before;
}

/* A key over @k's range pointing nowhere: one random pointer, check dev. */
static void make_check_key(struct bkey *k)
{
	SET_KEY_PTRS(k, 1);
	k->ptr[0] = cpu_to_le64(get_random_u64());
	SET_PTR_DEV(k, 0, PTR_CHECK_DEV);
}

/**
 * bch_btree_insert_check_key - insert a placeholder over a cache miss
 * @b: the leaf the miss was found in, read- or write-locked
 * @op: the lookup; op->lock == -1 means @b is only read-locked
 * @check_key: the range; gets a random pointer on the check device
 *
 * The key (which reads never use) lets the later insert of the data read
 * from the backing device (with @check_key as replace_key) tell whether
 * anything overwrote the range meanwhile. -EINTR if @b changed while
 * the lock was upgraded.
 */
int bch_btree_insert_check_key(struct btree *b, struct btree_op *op,
			       struct bkey *check_key)
{
	bool read_locked = op->lock == -1;
	struct keylist insert;
	int ret = -EINTR;

	if (read_locked && !node_upgrade_lock(b)) {
		/* Changed while unlocked: walk again, write-locking it. */
		op->lock = b->level;
		goto out;
	}

	make_check_key(check_key);
	bch_keylist_init(&insert);
	bch_keylist_add(&insert, check_key);

	ret = bch_btree_insert_node(b, op, &insert, NULL, NULL);
	WARN_ON_ONCE(!ret && !bch_keylist_empty(&insert));
out:
	if (read_locked)
		downgrade_write(&b->lock);
	return ret;
}

/* A walk inserting a keylist, one leaf per walk. */
struct leaf_insert {
	struct btree_op	op;
	struct keylist	*keys;
	atomic_t	*journal_ref;
	struct bkey	*replace_key;
};

static int insert_into_leaf(struct btree_op *op, struct btree *b)
{
	struct leaf_insert *li = container_of(op, struct leaf_insert, op);
	int ret;

	ret = bch_btree_insert_node(b, op, li->keys, li->journal_ref,
				    li->replace_key);
	if (!ret || bch_keylist_empty(li->keys))
		return MAP_DONE;
	/* -EINTR restarts the walk; other errors end the insert. */
	return ret;
}

/* After a failed insert, what was not inserted gives its buckets back. */
static void release_keys(struct cache_set *c, struct keylist *keys)
{
	struct bkey *k;

	while ((k = bch_keylist_pop(keys)))
		bch_bucket_pin_put(c, k);
}

/**
 * bch_btree_insert - insert @keys into the btree
 * @c: cache set
 * @keys: keys in order; emptied on success
 * @journal_ref: pin of the jset holding them, or NULL (not journaled)
 * @replace_key: insert only where this key still is, or NULL
 *
 * Returns 0, -ESRCH if nothing was inserted because @replace_key was
 * gone, or an error (the keys' bucket pins are then released).
 */
int bch_btree_insert(struct cache_set *c, struct keylist *keys,
		     atomic_t *journal_ref, struct bkey *replace_key)
{
	struct leaf_insert li = {
		.keys		= keys,
		.journal_ref	= journal_ref,
		.replace_key	= replace_key,
	};
	int ret;

	if (WARN_ON_ONCE(current->bio_list) ||
	    WARN_ON_ONCE(bch_keylist_empty(keys)))
		return -EINVAL;

	bch_btree_op_init(&li.op, 0);
	do {
		struct bkey start = START_KEY(keys->keys);

		/* Each leaf's walk write-locks leaves only, at first. */
		li.op.lock = 0;
		ret = __bch_btree_map_nodes(&li.op, c, &start,
					    insert_into_leaf, MAP_LEAF_NODES);
	} while (!ret && !bch_keylist_empty(keys));

	if (ret) {
		pr_err("error %i\n", ret);
		release_keys(c, keys);
		return ret;
	}
	return li.op.insert_collision ? -ESRCH : 0;
}

/**
 * bch_btree_set_root - make @b, written and write-locked, the root
 * @b: the new root
 *
 * Journals the change and waits for that journal write.
 */
void bch_btree_set_root(struct btree *b)
{
	struct cache_set *c = b->c;
	struct closure cl;
	unsigned int i;

	closure_init_stack(&cl);

	WARN_ON_ONCE(!b->written);
	for (i = 0; i < KEY_PTRS(&b->key); i++)
		WARN_ON_ONCE(PTR_BUCKET(c, &b->key, i)->prio != BTREE_PRIO);

	/* The root is never reclaimed, so it is on no cache list. */
	mutex_lock(&c->bucket_lock);
	list_del_init(&b->list);
	mutex_unlock(&c->bucket_lock);

	c->root = b;

	bch_journal_meta(c, &cl);
	closure_sync(&cl);
}

/* ---- Walking the tree ---- */

int bch_btree_recurse(struct btree *parent, struct btree_op *op,
		      struct bkey *k, btree_recurse_fn *fn, void *arg)
{
	int level = parent->level - 1;
	bool write = write_locks_level(op, level);
	struct btree *child;
	int ret;

	child = bch_btree_node_get(parent->c, op, k, level, write, parent);
	if (IS_ERR(child))
		return PTR_ERR(child);

	ret = fn(child, op, arg);
	rw_unlock(write, child);
	return ret;
}

/* One try at the root: -EINTR if it changed before we had it locked. */
static int root_attempt(struct cache_set *c, struct btree_op *op,
			btree_recurse_fn *fn, void *arg)
{
	struct btree *root = READ_ONCE(c->root);
	bool write = write_locks_level(op, root->level);
	int ret = -EINTR;

	rw_lock(write, root, root->level);
	if (root == c->root && write == write_locks_level(op, root->level))
		ret = fn(root, op, arg);
	rw_unlock(write, root);

	return ret;
}

int bch_btree_root_recurse(struct cache_set *c, struct btree_op *op,
			   btree_recurse_fn *fn, void *arg)
{
	int ret;

	for (;;) {
		ret = root_attempt(c, op, fn, arg);
		bch_cannibalize_unlock(c);
		if (ret != -EINTR)
			break;
		/*
		 * A set whose I/O is disabled can fail every node allocation
		 * with -EINTR; retrying would spin until the set is gone.
		 */
		if (test_bit(CACHE_SET_IO_DISABLE, &c->flags)) {
			ret = -EIO;
			break;
		}
		/*
		 * If op->wait was queued on btree_cache_wait we sleep until
		 * the reserve or cannibalize lock frees up; otherwise the
		 * task is runnable and this only yields.
		 */
		schedule();
	}

	finish_wait(&c->btree_cache_wait, &op->wait);
	return ret;
}

struct map_nodes_args {
	struct bkey		*start;	/* as the caller gave it */
	struct bkey		*from;	/* NULL once past the first path */
	btree_map_nodes_fn	*fn;
	int			flags;
};

static int map_nodes_in(struct btree *b, struct btree_op *op, void *arg)
{
	struct map_nodes_args *a = arg;
	int ret = MAP_CONTINUE;

	if (b->level) {
		struct btree_iter_stack iter __uninitialized;
		struct bkey *k;

		bch_btree_iter_stack_init(&b->keys, &iter, a->from);
		while ((k = bch_btree_iter_next_filter(&iter.iter, &b->keys,
						       bch_ptr_bad))) {
			ret = bch_btree_recurse(b, op, k, map_nodes_in, a);
			a->from = NULL;
			if (ret != MAP_CONTINUE)
				return ret;
		}
	}

	if (!b->level || a->flags == MAP_ALL_NODES)
		ret = a->fn(op, b);

	return ret;
}

/* Every attempt from the root starts at the caller's position again. */
static int map_nodes_root(struct btree *b, struct btree_op *op, void *arg)
{
	struct map_nodes_args *a = arg;

	a->from = a->start;
	return map_nodes_in(b, op, a);
}

int __bch_btree_map_nodes(struct btree_op *op, struct cache_set *c,
			  struct bkey *from, btree_map_nodes_fn *fn, int flags)
{
	struct map_nodes_args a = {
		.start = from, .fn = fn, .flags = flags,
	};

	return bch_btree_root_recurse(c, op, map_nodes_root, &a);
}

struct map_keys_args {
	struct bkey		*start;
	struct bkey		*from;
	btree_map_keys_fn	*fn;
	int			flags;
};

static int map_keys_in(struct btree *b, struct btree_op *op, void *arg)
{
	struct map_keys_args *a = arg;
	struct btree_iter_stack iter __uninitialized;
	int ret = MAP_CONTINUE;
	struct bkey *k;

	bch_btree_iter_stack_init(&b->keys, &iter, a->from);
	while ((k = bch_btree_iter_next_filter(&iter.iter, &b->keys,
					       bch_ptr_bad))) {
		if (b->level)
			ret = bch_btree_recurse(b, op, k, map_keys_in, a);
		else
			ret = a->fn(op, b, k);
		a->from = NULL;
		if (ret != MAP_CONTINUE)
			return ret;
	}

	/* A zero-sized key at the leaf's end: "nothing further here". */
	if (!b->level && (a->flags & MAP_END_KEY))
		ret = a->fn(op, b, &KEY(KEY_INODE(&b->key),
					KEY_OFFSET(&b->key), 0));

	return ret;
}

static int map_keys_root(struct btree *b, struct btree_op *op, void *arg)
{
	struct map_keys_args *a = arg;

	a->from = a->start;
	return map_keys_in(b, op, a);
}

int bch_btree_map_keys(struct btree_op *op, struct cache_set *c,
		       struct bkey *from, btree_map_keys_fn *fn, int flags)
{
	struct map_keys_args a = {
		.start = from, .fn = fn, .flags = flags,
	};

	return bch_btree_root_recurse(c, op, map_keys_root, &a);
}

/* ---- Flushing ---- */

static void node_flush(struct btree *b, struct closure *cl)
{
	mutex_lock(&b->write_lock);
	if (btree_node_dirty(b))
		__bch_btree_node_write(b, cl);
	mutex_unlock(&b->write_lock);
}

/**
 * bch_btree_flush_all - write every dirty node of @c and wait
 * @c: a set being stopped: no more inserts come
 */
void bch_btree_flush_all(struct cache_set *c)
{
	struct closure cl;
	struct btree *b;

	closure_init_stack(&cl);

	/* bucket_lock keeps the cache lists still; it nests outside write_lock. */
	mutex_lock(&c->bucket_lock);
	list_for_each_entry(b, &c->btree_cache, list)
		node_flush(b, &cl);
	if (!IS_ERR_OR_NULL(c->root) && list_empty(&c->root->list))
		node_flush(c->root, &cl);
	mutex_unlock(&c->bucket_lock);

	closure_sync(&cl);
}

/* ---- The pointer checker: what extents.c asks of the cache set ---- */

static struct cache_set *checker_set(struct bch_ptr_checker *pc)
{
	return container_of(pc, struct cache_set, checker);
}

static void checker_inconsistent(struct bch_ptr_checker *pc, const char *msg)
{
	bch_cache_set_error(checker_set(pc), "%s", msg);
}

/* Does bucket @g contradict a btree node pointer (@btree) or extent? */
static const char *bucket_contradicts(struct cache_set *c, struct bucket *g,
				      const struct bkey *k, bool btree)
{
	unsigned int mark = GC_MARK(g);

	if (btree) {
		if (KEY_DIRTY(k))
			return "dirty btree pointer";
		if (g->prio != BTREE_PRIO)
			return "btree bucket without btree prio";
		if (c->gc_mark_valid && mark != GC_MARK_METADATA)
			return "btree bucket not marked metadata";
		return NULL;
	}

	if (c->gc_mark_valid &&
	    (!mark || mark == GC_MARK_METADATA ||
	     (mark != GC_MARK_DIRTY && KEY_DIRTY(k))))
		return "extent bucket mark";
	if (g->prio == BTREE_PRIO)
		return "extent in btree bucket";
	return NULL;
}

/*
 * The expensive debug check of a pointer against its bucket. Best effort
 * (trylock): it must not wait for bucket_lock under a node lock.
 */
static bool checker_ptr_inconsistent(struct bch_ptr_checker *pc,
				     struct btree_keys *bk,
				     const struct bkey *k, unsigned int ptr)
{
	struct cache_set *c = checker_set(pc);
	bool btree = bk->ops == &bch_btree_keys_ops;
	const char *why = NULL;
	struct bucket *g;
	char buf[80];

	if (!ptr_available(c, k, ptr) ||
	    PTR_BUCKET_NR(c, k, ptr) >= c->cache->sb.nbuckets)
		return false;
	if (!mutex_trylock(&c->bucket_lock))
		return false;

	g = PTR_BUCKET(c, k, ptr);
	why = bucket_contradicts(c, g, k, btree);
	if (why) {
		bch_extent_to_text(buf, sizeof(buf), k);
		bch_cache_set_error(c,
				    "inconsistent pointer %s (%s): bucket %zu pin %i prio %i gen %i mark %u",
				    buf, why, PTR_BUCKET_NR(c, k, ptr),
				    atomic_read(&g->pin), g->prio, g->gen,
				    GC_MARK(g));
	}
	mutex_unlock(&c->bucket_lock);

	return !!why;
}

/* A new btree pointer's prio must reach disk before the node does. */
static void checker_btree_ptr_insert(struct btree_keys *bk,
				     const struct bkey *k)
{
	struct btree *b = container_of(bk, struct btree, keys);

	btree_current_write(b)->prio_blocked++;
}

static int checker_bucket_prio(struct bch_ptr_checker *pc,
			       const struct bkey *k, unsigned int ptr)
{
	return PTR_BUCKET(checker_set(pc), k, ptr)->prio;
}

static bool checker_merging_disabled(struct bch_ptr_checker *pc)
{
	return checker_set(pc)->key_merging_disabled;
}

static const struct bch_ptr_checker_ops btree_checker_ops = {
	.inconsistent		= checker_inconsistent,
	.ptr_inconsistent	= checker_ptr_inconsistent,
	/* Dirty sector accounting arrives with writeback. */
	.sectors_dirty_add	= NULL,
	.btree_ptr_insert	= checker_btree_ptr_insert,
	.bucket_prio		= checker_bucket_prio,
	.merging_disabled	= checker_merging_disabled,
};

void bch_btree_checker_init(struct cache_set *c)
{
	struct cache_sb *sb = &c->cache->sb;

	c->checker.ops = &btree_checker_ops;
	c->checker.bucket_size = sb->bucket_size;
	c->checker.first_bucket = sb->first_bucket;
	c->checker.nbuckets = sb->nbuckets;
	/*
	 * The set keeps its cache, and the cache its bucket array, for as
	 * long as any node exists: the checker may point into both.
	 */
	c->checker.nr_devs = MAX_CACHES_PER_SET;
	c->checker.gens = c->cache->buckets ? &c->cache->buckets[0].gen : NULL;
	c->checker.gen_stride = sizeof(struct bucket);
}

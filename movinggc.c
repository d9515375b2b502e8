// SPDX-License-Identifier: GPL-2.0
/*
 * Moving (copying) garbage collection.
 *
 * Gc can only hand a bucket back to the allocator when nothing in the
 * btree points into it any more. Buckets that are mostly overwritten but
 * still hold a few live extents would stay allocated forever, so after a
 * gc that left the cache short of free buckets we copy the live data out
 * of the emptiest buckets into fresh ones (taken from RESERVE_MOVINGGC, so
 * foreground writes can never starve us) and let the next gc reclaim them.
 *
 * Choosing: every reclaimable, unpinned, partly used bucket is a candidate;
 * we keep the ones with the fewest live sectors whose sum fits into the
 * moving-gc reserve, and flag them with GC_MOVE. Copying: the keys that
 * point into flagged buckets are collected in a keybuf; each is read from
 * the cache and reinserted through bch_data_insert() with the old key as
 * replace key, so a foreground write that overwrote the range meanwhile
 * wins and our copy is dropped.
 *
 * This sits above gc.c: gc calls us through c->moving_gc_fn.
 */
#include "bcache.h"
#include "btree.h"
#include "io.h"
#include "keybuf.h"
#include "movinggc.h"
#include "request.h"
#include "util.h"

#include <linux/sort.h>

/* Copies in flight at once; each holds up to one extent's pages. */
#define MOVING_IN_FLIGHT	64

struct moving_io {
	struct closure		cl;
	struct keybuf_key	*w;
	struct data_insert_op	op;
	struct bbio		bio;	/* last: the bvecs follow */
};

static bool moving_pred(struct keybuf *buf, struct bkey *k)
{
	struct cache_set *c = container_of(buf, struct cache_set,
					   moving_gc_keys);
	unsigned int i;

	for (i = 0; i < KEY_PTRS(k); i++)
		if (ptr_available(c, k, i) && GC_MOVE(PTR_BUCKET(c, k, i)))
			return true;
	return false;
}

static void moving_io_free(struct moving_io *io)
{
	bch_copy_bbio_release(&io->bio);
	kfree(io);
}

static CLOSURE_CALLBACK(moving_io_done)
{
	closure_type(io, struct moving_io, cl);
	struct cache_set *c = io->op.c;

	if (io->op.replace_collision)
		atomic_long_inc(&c->writeback_keys_failed);
	bch_keybuf_del(&c->moving_gc_keys, io->w);
	up(&c->moving_in_flight);
	moving_io_free(io);
}

/* The data is in memory: write it to its new place, if it still is live. */
static CLOSURE_CALLBACK(moving_io_write)
{
	closure_type(io, struct moving_io, cl);
	struct data_insert_op *op = &io->op;
	struct bio *bio = &io->bio.bio;

	if (op->status) {
		/* Unreadable: leave the extent where it is. */
		continue_at(cl, moving_io_done, op->wq);
		return;
	}

	/* Rewind the bio over the pages it was just read into. */
	bch_copy_bbio_rewind(&io->bio, NULL, KEY_START(&io->w->key),
			     KEY_SIZE(&io->w->key));

	op->bio = bio;
	closure_call(&op->cl, bch_data_insert, NULL, cl);
	continue_at(cl, moving_io_done, op->wq);
}

static void moving_read_endio(struct bio *bio)
{
	struct bbio *b = container_of(bio, struct bbio, bio);
	struct moving_io *io = container_of(b, struct moving_io, bio);

	if (bio->bi_status)
		io->op.status = bio->bi_status;
	else if (ptr_stale(io->op.c, &b->key, 0))
		io->op.status = BLK_STS_IOERR;	/* reused meanwhile: skip */

	bch_bbio_endio(io->op.c, bio, bio->bi_status,
		       "reading data to move");
}

static CLOSURE_CALLBACK(moving_io_read)
{
	closure_type(io, struct moving_io, cl);

	bch_submit_bbio(&io->bio.bio, io->op.c, &io->w->key, 0);
	continue_at(cl, moving_io_write, io->op.wq);
}

static struct moving_io *moving_io_alloc(struct cache_set *c,
					 struct keybuf_key *w)
{
	unsigned int pages = DIV_ROUND_UP(KEY_SIZE(&w->key), PAGE_SECTORS);
	struct moving_io *io;
	struct bio *bio;

	io = kzalloc(struct_size(io, bio.bio.bi_inline_vecs, pages),
		     GFP_KERNEL);
	if (!io)
		return NULL;

	io->w = w;
	io->op.c = c;
	io->op.inode = KEY_INODE(&w->key);
	io->op.wq = c->moving_gc_wq;
	io->op.write_prio = 1;
	io->op.replace = true;
	/* Dirty data moves dirty: the backing device does not have it yet. */
	io->op.writeback = KEY_DIRTY(&w->key);
	bkey_copy(&io->op.replace_key, &w->key);

	if (bch_copy_bbio_init(&io->bio, KEY_SIZE(&w->key), true)) {
		kfree(io);
		return NULL;
	}
	bio = &io->bio.bio;
	bio->bi_private = &io->cl;
	bio->bi_end_io = moving_read_endio;
	return io;
}

/* Copy every live extent of the GC_MOVE buckets; waits for all copies. */
static void move_flagged_buckets(struct cache_set *c)
{
	struct closure cl;
	struct keybuf_key *w;
	struct moving_io *io;

	closure_init_stack(&cl);
	bch_keybuf_init(&c->moving_gc_keys);

	while (!test_bit(CACHE_SET_STOPPING, &c->flags) &&
	       !test_bit(CACHE_SET_IO_DISABLE, &c->flags)) {
		w = bch_keybuf_next_rescan(c, &c->moving_gc_keys, &MAX_KEY,
					   moving_pred);
		if (!w)
			break;

		if (ptr_stale(c, &w->key, 0)) {
			bch_keybuf_del(&c->moving_gc_keys, w);
			continue;
		}

		io = moving_io_alloc(c, w);
		if (!io) {
			bch_keybuf_del(&c->moving_gc_keys, w);
			break;
		}
		down(&c->moving_in_flight);
		closure_call(&io->cl, moving_io_read, NULL, &cl);
	}

	closure_sync(&cl);
}

struct move_candidate {
	u32	sectors;	/* live sectors: what moving it costs */
	u32	nr;		/* bucket number, to break ties */
};

static int candidate_cmp(const void *l, const void *r)
{
	const struct move_candidate *a = l, *b = r;

	if (a->sectors != b->sectors)
		return a->sectors < b->sectors ? -1 : 1;
	return a->nr < b->nr ? -1 : a->nr > b->nr;
}

static bool worth_moving(struct cache *ca, struct bucket *b)
{
	unsigned int used = GC_SECTORS_USED(b);

	return GC_MARK(b) == GC_MARK_RECLAIMABLE && used &&
	       used < ca->sb.bucket_size && !atomic_read(&b->pin);
}

/*
 * Flag the emptiest buckets whose live data fits the moving-gc reserve.
 * Called with bucket_lock held. Returns how many were flagged.
 */
static size_t flag_buckets_to_move(struct cache_set *c,
				   struct move_candidate *cand)
{
	struct cache *ca = c->cache;
	size_t room = bch_ring_used(&ca->free[RESERVE_MOVINGGC]);
	u64 budget = (u64)room * ca->sb.bucket_size;
	size_t n = 0, i, flagged = 0;
	struct bucket *b;

	for (b = ca->buckets; b < ca->buckets + ca->sb.nbuckets; b++) {
		SET_GC_MOVE(b, false);
		if (worth_moving(ca, b))
			cand[n++] = (struct move_candidate) {
				.sectors = GC_SECTORS_USED(b),
				.nr = b - ca->buckets,
			};
	}
	sort(cand, n, sizeof(*cand), candidate_cmp, NULL);

	for (i = 0; i < n && flagged < room; i++) {
		if (cand[i].sectors > budget)
			break;
		budget -= cand[i].sectors;
		SET_GC_MOVE(ca->buckets + cand[i].nr, true);
		flagged++;
	}
	return flagged;
}

void bch_moving_gc(struct cache_set *c)
{
	struct move_candidate *cand;
	size_t flagged;

	if (!c->copy_gc_enabled || !c->cache)
		return;

	cand = kvmalloc_array(c->cache->sb.nbuckets, sizeof(*cand),
			      GFP_KERNEL);
	if (!cand)
		return;

	mutex_lock(&c->bucket_lock);
	flagged = flag_buckets_to_move(c, cand);
	mutex_unlock(&c->bucket_lock);
	kvfree(cand);

	if (flagged)
		move_flagged_buckets(c);
}

int bch_moving_init_cache_set(struct cache_set *c)
{
	c->moving_gc_wq = alloc_workqueue("bcache_gc", WQ_MEM_RECLAIM, 0);
	if (!c->moving_gc_wq)
		return -ENOMEM;
	bch_keybuf_init(&c->moving_gc_keys);
	sema_init(&c->moving_in_flight, MOVING_IN_FLIGHT);
	c->moving_gc_fn = bch_moving_gc;
	return 0;
}

void bch_moving_exit_cache_set(struct cache_set *c)
{
	c->moving_gc_fn = NULL;
	if (c->moving_gc_wq)
		destroy_workqueue(c->moving_gc_wq);
	c->moving_gc_wq = NULL;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Requests to a bcacheN device.
 *
 * With no cache set attached, bcacheN is its backing device shifted by the
 * superblock area: every bio (reads, writes, flushes, FUA writes, discards)
 * is cloned onto the backing device data_offset sectors further on, and the
 * original completes when the clone does, with the clone's status. The
 * clone rather than the original goes down so that the original keeps the
 * bcacheN block device and sector it was submitted with, which is what the
 * I/O accounting of bcacheN (bio_start/end_io_acct) is charged against.
 * Each clone holds a reference on the device closure, so the device (and
 * the bio_set the clone came from) outlives every bio in flight.
 *
 * With a cache set attached (and the attachment reference taken), a bio
 * becomes a struct search: a closure that owns a clone of the bio, again
 * remapped onto the backing device. Keys of the btree are in those
 * remapped backing-device sectors, so writeback can use them directly.
 *
 *  - Reads walk the btree over the bio's range. Cached extents are read
 *    from the cache device; the holes are cache misses, read from the
 *    backing device, and (unless the read is bypassed) the data read is
 *    inserted into the cache afterwards, but only if nothing wrote that
 *    range meanwhile: a check key placed in the btree before the backing
 *    read must still be there when the data is inserted. A failed or raced
 *    cache read is retried from the backing device.
 *  - Writes go to the backing device and, in writethrough mode, also into
 *    the cache; bypassed writes (writearound, none, discards, sequential
 *    or congested I/O) invalidate the range in the cache instead. Writes
 *    that bch_should_writeback() lets through go into the cache only, as
 *    dirty data, for writeback.c to copy to the backing device later; so
 *    does a write over data being written back right then. Every write
 *    holds dc->writeback_lock for read until it is done (writeback.c).
 *  - Flushes wait for a journal write as well as the backing device.
 *
 * The bypass decision (check_should_bypass) and the data insertion
 * (bch_data_insert, shared with moving gc) are here too.
 */

#include "bcache.h"
#include "alloc.h"
#include "btree.h"
#include "gc.h"
#include "io.h"
#include "keybuf.h"
#include "request.h"
#include "set.h"
#include "util.h"
#include "writeback.h"

#include <linux/blkdev.h>
#include <linux/hash.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>

/* Above this much of the cache in use, nothing new is cached (percent). */
#define CUTOFF_CACHE_ADD	95

/* A clone on its way to the backing device and what it completes. */
struct passthru_io {
	struct cached_dev	*dc;
	struct bio		*orig;
	unsigned long		start_time;	/* for bio_end_io_acct() */
	struct bio		clone;		/* last: the bio_set front pad */
};

static void passthru_endio(struct bio *clone)
{
	struct passthru_io *io = container_of(clone, struct passthru_io, clone);
	struct cached_dev *dc = io->dc;
	struct bio *orig = io->orig;

	if (clone->bi_status) {
		bch_count_backing_io_errors(dc, clone);
		orig->bi_status = clone->bi_status;
	}
	bio_end_io_acct(orig, io->start_time);
	bio_put(clone);
	bio_endio(orig);

	/* Last: the device may go away once this reference does. */
	closure_put(&dc->disk.cl);
}

/*
 * bcacheN advertises discard whatever the backing device does, as upstream
 * does; a discard the backing device cannot take is simply done: discarded
 * data is undefined, so leaving it in place is a valid discard.
 */
static bool backing_ignores(struct cached_dev *dc, struct bio *bio)
{
	return bio_op(bio) == REQ_OP_DISCARD && !bdev_max_discard_sectors(dc->bdev);
}

static void complete_now(struct bio *bio, unsigned long start_time,
			 blk_status_t status)
{
	bio->bi_status = status;
	bio_end_io_acct(bio, start_time);
	bio_endio(bio);
}

static void passthru_submit(struct cached_dev *dc, struct bio *bio,
			    unsigned long start_time)
{
	struct passthru_io *io;
	struct bio *clone;

	clone = bio_alloc_clone(dc->bdev, bio, GFP_NOIO, &dc->disk.bio_passthru);
	if (unlikely(!clone)) {
		complete_now(bio, start_time, BLK_STS_RESOURCE);
		return;
	}

	io = container_of(clone, struct passthru_io, clone);
	io->dc = dc;
	io->orig = bio;
	io->start_time = start_time;

	clone->bi_iter.bi_sector += dc->sb.data_offset;
	clone->bi_end_io = passthru_endio;

	/* Whoever submits to bcacheN has it open, so the count is not zero. */
	closure_get(&dc->disk.cl);
	submit_bio_noacct(clone);
}

/* ---------------------------------------------------------------------
 * Putting data into the cache
 *
 * One pass of bch_data_insert() fills op->insert_keys, as many keys as one
 * journal entry takes, then journals and inserts them (data_insert_keys),
 * and comes back for the rest until the whole bio is done. Data written
 * for a cache miss (op->replace) is not journaled: losing it in a crash
 * loses nothing, and it may only land where its check key still is.
 */

static CLOSURE_CALLBACK(data_insert_next);

/*
 * Make room for @u64s more u64s of keys, within what one jset can carry:
 * bch_journal() cannot split a keylist over several entries, so a full
 * list is inserted and the op continues with an empty one.
 */
static int insert_keys_make_room(struct data_insert_op *op, unsigned int u64s)
{
	size_t bytes = (bch_keylist_nkeys(&op->insert_keys) + u64s) * sizeof(u64);

	if (bytes > block_bytes(op->c->cache) - sizeof(struct jset))
		return -ENOMEM;
	return __bch_keylist_realloc(&op->insert_keys, u64s);
}

/*
 * Keys fresh from bch_alloc_sectors() pin their buckets until the btree
 * takes them; keys that will not get there must let go themselves.
 */
static void insert_keys_unpin(struct data_insert_op *op)
{
	struct bkey *k;

	for (k = op->insert_keys.keys; k != op->insert_keys.top; k = bkey_next(k))
		bch_bucket_pin_put(op->c, k);
}

/*
 * The cache write behind these keys failed: keep the keys but without
 * their pointers, so inserting them still removes whatever stale data the
 * cache held for the range, which is what the write was going to replace.
 */
static void insert_keys_drop_pointers(struct data_insert_op *op)
{
	struct keylist *keys = &op->insert_keys;
	struct bkey *from = keys->keys, *to = keys->keys;

	insert_keys_unpin(op);
	while (from != keys->top) {
		struct bkey *after = bkey_next(from);

		SET_KEY_PTRS(from, 0);
		memmove(to, from, bkey_bytes(from));
		to = bkey_next(to);
		from = after;
	}
	keys->top = to;
}

static void data_insert_finish(struct data_insert_op *op)
{
	/* Still set if the op gave up before writing all of it. */
	if (op->bio) {
		bio_put(op->bio);
		op->bio = NULL;
	}
	bch_keylist_free(&op->insert_keys);
	closure_return(&op->cl);
}

static CLOSURE_CALLBACK(data_insert_keys)
{
	closure_type(op, struct data_insert_op, cl);
	struct bkey *replace = op->replace ? &op->replace_key : NULL;
	atomic_t *journal_pin = NULL;
	int ret;

	if (op->cache_write_failed) {
		op->cache_write_failed = false;
		/*
		 * A miss fill or a moved extent that failed: just leave the
		 * old key be. A dirty write that failed: the write fails, and
		 * what the cache and the backing device held stays valid,
		 * where pointers to the unwritten data (upstream inserts them)
		 * would replace it with garbage.
		 */
		if (op->replace || op->writeback) {
			insert_keys_unpin(op);
			data_insert_finish(op);
			return;
		}
		insert_keys_drop_pointers(op);
		op->invalidated = true;
	}

	if (!op->replace)
		journal_pin = bch_journal(op->c, &op->insert_keys,
					  op->flush_journal ? cl : NULL);

	ret = bch_btree_insert(op->c, &op->insert_keys, journal_pin, replace);
	switch (ret) {
	case 0:
		break;
	case -ESRCH:
		/* The check key was gone: someone wrote the range meanwhile. */
		op->replace_collision = true;
		break;
	default:
		op->status = BLK_STS_RESOURCE;
		op->insert_data_done = true;
	}

	/* The btree nodes that took the keys hold the jset now. */
	if (journal_pin)
		atomic_dec(journal_pin);

	if (op->insert_data_done)
		data_insert_finish(op);
	else
		continue_at(cl, data_insert_next, op->wq);
}

/*
 * Start invalidating instead of writing: what is left of op->bio (all of
 * it, for a bypassed write) becomes the range to invalidate, and the op's
 * reference on the bio goes.
 */
static void data_insert_switch_to_invalidate(struct data_insert_op *op)
{
	op->bypass = true;
	op->invalidated = true;
	if (!op->bio)
		return;

	op->inval_sector = op->bio->bi_iter.bi_sector;
	op->inval_sectors = bio_sectors(op->bio);
	bio_put(op->bio);
	op->bio = NULL;
}

/*
 * Queue keys without pointers over the invalidation range; inserted, they
 * delete every cached extent they overlap. Keys are kept to half the
 * largest size so that splitting one in the btree never overflows.
 */
static void data_insert_invalidate(struct data_insert_op *op)
{
	const unsigned int max_len = 1U << (BKEY_SIZE_BITS - 1);

	while (op->inval_sectors) {
		unsigned int len = min(op->inval_sectors, max_len);

		if (insert_keys_make_room(op, 2))
			goto insert;

		op->inval_sector += len;
		op->inval_sectors -= len;
		bch_keylist_add(&op->insert_keys,
				&KEY(op->inode, op->inval_sector, len));
	}
	op->insert_data_done = true;
insert:
	continue_at(&op->cl, data_insert_keys, op->wq);
}

static void data_insert_endio(struct bio *bio)
{
	struct data_insert_op *op = container_of(bio->bi_private,
						 struct data_insert_op, cl);
	blk_status_t err = bio->bi_status;

	/*
	 * Written-through data has a copy on the backing device; dirty data
	 * not, so the writer hears of it. Either way the keys are not
	 * inserted as they are (data_insert_keys()).
	 */
	if (err && op->writeback && !op->replace)
		op->status = err;
	if (err)
		op->cache_write_failed = true;
	bch_bbio_endio(op->c, bio, err, "writing data to cache");
}

/*
 * Out of free cache space (bch_alloc_sectors() was told not to wait: a
 * foreground write should not sit behind gc). What happens to the rest
 * depends on who asked.
 */
static void data_insert_no_space(struct data_insert_op *op)
{
	struct closure *cl = &op->cl;

	if (!op->replace) {
		/*
		 * A write: its old cached data for the rest of the range must
		 * still go, or later reads would hit it. Writeback data waits
		 * for space, so it gets here only with the set stopping: fail
		 * it.
		 */
		if (op->writeback)
			op->status = BLK_STS_RESOURCE;
		data_insert_switch_to_invalidate(op);
		data_insert_invalidate(op);
		return;
	}

	/* A miss fill: cache what was written so far, drop the rest. */
	op->insert_data_done = true;
	bio_put(op->bio);
	op->bio = NULL;
	if (bch_keylist_empty(&op->insert_keys))
		data_insert_finish(op);
	else
		continue_at(cl, data_insert_keys, op->wq);
}

/* A key for the next piece of op->bio, as big as the allocator gave. */
static bool data_insert_alloc_key(struct data_insert_op *op, struct bkey *k)
{
	struct bio *bio = op->bio;

	bkey_init(k);
	SET_KEY_INODE(k, op->inode);
	SET_KEY_OFFSET(k, bio->bi_iter.bi_sector);

	return bch_alloc_sectors(op->c, k, bio_sectors(bio), op->write_point,
				 op->write_prio, op->writeback);
}

static void mark_buckets_dirty(struct cache_set *c, struct bkey *k)
{
	unsigned int i;

	SET_KEY_DIRTY(k, true);
	for (i = 0; i < KEY_PTRS(k); i++)
		SET_GC_MARK(PTR_BUCKET(c, k, i), GC_MARK_DIRTY);
}

/* Write the next part of op->bio to the cache, a piece per allocation. */
static CLOSURE_CALLBACK(data_insert_next)
{
	closure_type(op, struct data_insert_op, cl);
	struct cache_set *c = op->c;
	struct bio *bio = op->bio, *piece;

	if (op->bypass) {
		data_insert_switch_to_invalidate(op);
		data_insert_invalidate(op);
		return;
	}

	if (atomic_sub_return(bio_sectors(bio), &c->sectors_to_gc) < 0)
		wake_up_gc(c);

	/*
	 * The cache device needs no flush for this data: a flush request
	 * waits for the journal write (flush_journal), which is a flush.
	 */
	bio->bi_opf &= ~(REQ_PREFLUSH | REQ_FUA);

	do {
		struct bkey *k;

		/* Room for a key with one pointer. */
		if (insert_keys_make_room(op, 3)) {
			continue_at(cl, data_insert_keys, op->wq);
			return;
		}

		k = op->insert_keys.top;
		if (!data_insert_alloc_key(op, k)) {
			data_insert_no_space(op);
			return;
		}

		piece = bio_next_split(bio, KEY_SIZE(k), GFP_NOIO,
				       &c->bio_split);
		piece->bi_end_io = data_insert_endio;
		piece->bi_private = cl;
		piece->bi_opf = REQ_OP_WRITE;

		if (op->writeback)
			mark_buckets_dirty(c, k);
		bch_keylist_push(&op->insert_keys);

		/* The last piece is op->bio itself and takes the op's ref. */
		bch_submit_bbio(piece, c, k, 0);
	} while (piece != bio);

	op->bio = NULL;
	op->insert_data_done = true;
	continue_at(cl, data_insert_keys, op->wq);
}

/*
 * bch_data_insert - put the data of op->bio into the cache
 *
 * Every way data gets into the cache goes through here. The data is
 * written to newly allocated cache sectors (several keys if it had to be
 * split), then the keys are journaled and inserted into the btree; a write
 * that must reach disk (REQ_PREFLUSH/FUA) waits for its journal entry.
 * op->bio starts at the key offset of the data; op->inode is the key inode.
 *
 * With op->bypass set nothing is written: the range of op->bio (or, if
 * op->bio is NULL, inval_sector/inval_sectors) is invalidated instead.
 */
CLOSURE_CALLBACK(bch_data_insert)
{
	closure_type(op, struct data_insert_op, cl);

	bch_keylist_init(&op->insert_keys);
	/* An op may run more than once (a bypassed write invalidates twice). */
	op->insert_data_done = false;
	op->cache_write_failed = false;
	if (op->bio)
		bio_get(op->bio);
	data_insert_next(ws);
}

/* ---------------------------------------------------------------------
 * Whether to bypass the cache
 */

static unsigned int cache_mode(struct cached_dev *dc)
{
	return BDEV_CACHE_MODE(&dc->sb);
}

/* About 2^(x/64), interpolating linearly between powers of two. */
static unsigned int exp2_fixed6(unsigned int x)
{
	unsigned int whole = 1U << (x >> 6);

	return whole + ((whole * (x & 63)) >> 6);
}

/*
 * How congested the cache device looks, as the sequential size (sectors)
 * past which I/O should go around it; 0 when it is not. c->congested goes
 * negative as I/Os exceed their latency threshold (io.c) and recovers with
 * fast ones and with time (a millisecond per millisecond since the last
 * slow one). The cutoff shrinks exponentially with the congestion, and the
 * random term spreads the cutoff so not every stream flips at once.
 */
unsigned int bch_get_congested(const struct cache_set *c)
{
	int since_ms, level, cutoff;

	if (!READ_ONCE(c->congested_read_threshold_us) &&
	    !READ_ONCE(c->congested_write_threshold_us))
		return 0;

	since_ms = (int)(bch_clock_us() - READ_ONCE(c->congested_last_us)) / 1024;
	level = atomic_read(&c->congested) + since_ms;
	if (since_ms < 0 || level >= 0)
		return 0;

	level += CONGESTED_MAX;
	cutoff = level > 0 ? exp2_fixed6(level) : level;
	cutoff -= hweight32(get_random_u32());
	return max(cutoff, 1);
}

/*
 * Sequential detection. Each cached_dev remembers the last RECENT_IO
 * streams (where each one's last bio ended, and how many bytes it has
 * run for), hashed by that end sector: a bio starting where a recent
 * stream ended continues it. The submitting task carries the size of the
 * stream it is in and a moving average of its past streams, so a task
 * that keeps issuing big sequential runs is recognised from the start of
 * the next one.
 */
#define STREAM_TIMEOUT_MS	5000

static struct hlist_head *stream_bucket(struct cached_dev *dc, u64 sector)
{
	return &dc->io_hash[hash_64(sector, RECENT_IO_BITS)];
}

static struct io_hist *stream_find(struct cached_dev *dc, u64 sector)
{
	struct io_hist *h;

	hlist_for_each_entry(h, stream_bucket(dc, sector), hash)
		if (h->last == sector && time_before(jiffies, h->expires))
			return h;
	return NULL;
}

/* The task's stream ended: fold it into its average (weight 1/8). */
static void task_stream_ended(struct task_struct *t)
{
	t->sequential_io_avg = (t->sequential_io_avg * 7 + t->sequential_io) / 8;
	t->sequential_io = 0;
}

/* Record @bio in its stream; the sequential size to judge it by, in sectors. */
static unsigned int stream_account(struct cached_dev *dc, struct bio *bio)
{
	struct task_struct *task = current;
	struct io_hist *h;

	spin_lock(&dc->io_lock);

	h = stream_find(dc, bio->bi_iter.bi_sector);
	if (!h) {
		/* A new stream takes the least recently used slot. */
		h = list_first_entry(&dc->io_lru, struct io_hist, lru);
		task_stream_ended(task);
		h->sequential = 0;
	}

	/* Saturate rather than wrap on very long streams. */
	if (h->sequential + bio->bi_iter.bi_size > h->sequential)
		h->sequential += bio->bi_iter.bi_size;
	h->last = bio_end_sector(bio);
	h->expires = jiffies + msecs_to_jiffies(STREAM_TIMEOUT_MS);
	task->sequential_io = h->sequential;

	hlist_del(&h->hash);
	hlist_add_head(&h->hash, stream_bucket(dc, h->last));
	list_move_tail(&h->lru, &dc->io_lru);

	spin_unlock(&dc->io_lock);

	return max(task->sequential_io, task->sequential_io_avg) >> SECTOR_SHIFT;
}

/* What the device's settings and the kind of bio alone decide. */
static bool bypass_by_policy(struct cached_dev *dc, struct bio *bio)
{
	struct cache_set *c = dc->disk.c;
	unsigned int mode = cache_mode(dc);
	unsigned int block = block_sectors(c);

	/* A device being detached takes nothing new into the cache. */
	if (test_bit(BCACHE_DEV_DETACHING, &dc->disk.flags) ||
	    bio_op(bio) == REQ_OP_DISCARD)
		return true;

	if (c->gc_stats.in_use > CUTOFF_CACHE_ADD) {
		/*
		 * Bypassing everything means nothing uses up sectors_to_gc,
		 * so gc would never run and free space again: with a clean
		 * device (nothing for writeback to free) start it here.
		 */
		if (BDEV_STATE(&dc->sb) == BDEV_STATE_CLEAN && c->gc_mark_valid)
			force_wake_up_gc(c);
		return true;
	}

	if (mode == CACHE_MODE_NONE ||
	    (mode == CACHE_MODE_WRITEAROUND && op_is_write(bio_op(bio))))
		return true;

	/* Readahead is cached only if it is metadata or the policy says all. */
	if ((bio->bi_opf & (REQ_RAHEAD | REQ_BACKGROUND)) &&
	    !(bio->bi_opf & (REQ_META | REQ_PRIO)) &&
	    dc->cache_readahead_policy != BCH_CACHE_READA_ALL)
		return true;

	/* The cache works in whole blocks. */
	if ((bio->bi_iter.bi_sector | bio_sectors(bio)) & (block - 1)) {
		pr_debug("skipping unaligned io\n");
		return true;
	}
	return false;
}

/* What sequential_cutoff and the cache device's congestion decide. */
static bool bypass_by_pattern(struct cached_dev *dc, struct bio *bio)
{
	unsigned int congested = bch_get_congested(dc->disk.c);
	unsigned int cutoff = READ_ONCE(dc->sequential_cutoff);	/* bytes */
	unsigned int seq;

	if (!congested && !cutoff)
		return false;

	seq = stream_account(dc, bio);
	return (cutoff && seq >= cutoff >> SECTOR_SHIFT) ||
	       (congested && seq >= congested);
}

static bool check_should_bypass(struct cached_dev *dc, struct bio *bio)
{
	struct cache_set *c = dc->disk.c;
	bool bypass;

	if (bypass_by_policy(dc, bio))
		bypass = true;
	else if (dc->bypass_torture_test)
		bypass = get_random_u32_below(4) == 3;
	else
		bypass = bypass_by_pattern(dc, bio);

	if (bypass)
		bch_mark_sectors_bypassed(c, dc, bio_sectors(bio));
	else
		bch_rescale_priorities(c, bio_sectors(bio));
	return bypass;
}

/* ---------------------------------------------------------------------
 * Requests with a cache set: struct search
 */

struct search {
	/* Completes the caller's bio when everything below is done. */
	struct closure		cl;
	struct bcache_device	*d;
	struct bio		*orig_bio;	/* the caller's, untouched */
	unsigned long		start_time;	/* for bio_end_io_acct() */

	/* The part of bio the first cache miss fills, and its size. */
	struct bio		*cache_miss;
	unsigned int		insert_bio_sectors;
	/*
	 * Our own references on the data for the cache (iop.bio), which the
	 * insert drops as it writes it out: a write's clone of the caller's
	 * bio, or a read miss's bounce pages (freed when the read is done).
	 */
	struct bio		*insert_bio;
	struct bio		*miss_fill;

	/* The range of the request, in backing-device sectors. */
	u64			sector;
	/* Backing writes the flush of a flush request covers. */
	u64			flush_seq;
	unsigned int		sectors;

	unsigned int		recoverable:1;	/* a backing reread may fix it */
	unsigned int		write:1;
	unsigned int		read_dirty_data:1;
	unsigned int		cache_missed:1;
	/* A write holds dc->writeback_lock for read until search_free(). */
	unsigned int		writeback_locked:1;

	struct btree_op		op;
	struct data_insert_op	iop;

	/* Last: a clone of orig_bio on the backing device (ends in a bio). */
	struct bbio		bio;
};

static struct search *to_search(struct closure *cl)
{
	return container_of(cl, struct search, cl);
}

static struct cached_dev *search_dc(struct search *s)
{
	return to_cached_dev(s->d);
}

/* A bio of ours to the cache or backing device completed. */
static void request_endio(struct bio *bio)
{
	struct search *s = to_search(bio->bi_private);

	if (bio->bi_status) {
		s->iop.status = bio->bi_status;
		/* Only a failed cache read can be retried from the backing device. */
		s->recoverable = false;
	}
	bio_put(bio);
	closure_put(&s->cl);
}

static void backing_request_done(struct search *s, struct bio *bio)
{
	if (bio->bi_status) {
		s->iop.status = bio->bi_status;
		s->recoverable = false;
		bch_count_backing_io_errors(search_dc(s), bio);
	}
	bio_put(bio);
	closure_put(&s->cl);
}

static void backing_request_endio(struct bio *bio)
{
	struct search *s = to_search(bio->bi_private);

	if (op_is_write(bio_op(bio)))
		bch_backing_wrote(search_dc(s));
	backing_request_done(s, bio);
}

/*
 * (Re)make s->bio a clone of the caller's bio on the backing device.
 * It is embedded in the search, never freed: the extra references keep
 * the bio_put() of whichever completion handler ends it from freeing it.
 */
static void search_hook_bio(struct search *s, bio_end_io_t *endio)
{
	struct cached_dev *dc = search_dc(s);
	struct bio *bio = &s->bio.bio;

	bio_init_clone(dc->bdev, bio, s->orig_bio, GFP_NOIO);
	bio->bi_iter.bi_sector += dc->sb.data_offset;
	bio->bi_end_io = endio;
	bio->bi_private = &s->cl;
	bio_cnt_set(bio, 3);
}

static void search_complete_orig(struct search *s)
{
	struct bio *orig = s->orig_bio;

	if (!orig)
		return;
	s->orig_bio = NULL;
	orig->bi_status = s->iop.status;
	bio_end_io_acct(orig, s->start_time);
	bio_endio(orig);
}

static struct search *search_alloc(struct bio *bio, struct cached_dev *dc,
				   struct cache_set *c,
				   unsigned long start_time)
{
	struct search *s = mempool_alloc(&c->search, GFP_NOIO);

	/*
	 * Field by field, not a memset: the two closures, most of what a
	 * memset would clear, need only what closure_init() sets; the btree
	 * op is set up by cache_lookup(), the insert's key buffers by
	 * bch_data_insert() (replace_key is written before op->replace is
	 * set). Whatever else a request reads is set here; the invalidation
	 * range too, empty, though every path that sets op->bypass sets it.
	 */
	closure_init(&s->cl, NULL);
	s->d = &dc->disk;
	s->orig_bio = bio;
	s->start_time = start_time;
	s->cache_miss = NULL;
	s->insert_bio_sectors = 0;
	s->insert_bio = NULL;
	s->miss_fill = NULL;
	search_hook_bio(s, request_endio);

	s->sector = s->bio.bio.bi_iter.bi_sector;
	s->sectors = bio_sectors(bio);
	s->recoverable = true;
	s->write = op_is_write(bio_op(bio));
	s->read_dirty_data = false;
	s->cache_missed = false;
	s->writeback_locked = false;

	s->iop.status = BLK_STS_OK;
	s->iop.bypass = false;
	s->iop.replace = false;
	s->iop.flush_journal = op_is_flush(bio->bi_opf);
	s->iop.writeback = false;
	s->iop.csum = false;
	s->iop.insert_data_done = false;
	s->iop.replace_collision = false;
	s->iop.invalidated = false;
	s->iop.cache_write_failed = false;
	s->iop.bio = NULL;
	s->iop.inode = dc->disk.id;
	s->iop.inval_sector = 0;
	s->iop.inval_sectors = 0;
	s->iop.c = c;
	s->iop.wq = bcache_wq;
	s->iop.write_point = hash_long((unsigned long)current, 16);
	s->iop.write_prio = 0;

	atomic_inc(&c->search_inflight);
	/* Keeps d->bio_split around until the miss fill below is done. */
	closure_get(&dc->disk.cl);
	return s;
}

static CLOSURE_CALLBACK(search_free)
{
	closure_type(s, struct search, cl);
	struct cache_set *c = s->iop.c;
	struct cached_dev *dc = search_dc(s);

	if (s->insert_bio)
		bio_put(s->insert_bio);
	if (s->miss_fill)
		bio_put(s->miss_fill);
	bio_uninit(&s->bio.bio);
	if (s->writeback_locked)
		up_read_non_owner(&dc->writeback_lock);
	search_complete_orig(s);

	closure_debug_destroy(cl);
	mempool_free(s, &c->search);
	atomic_dec(&c->search_inflight);
	/*
	 * The attachment holds the set (and its search pool), the device
	 * closure the device: let go of them in that order, last.
	 */
	cached_dev_put(dc);
	closure_put(&dc->disk.cl);
}

/* ---------------------------------------------------------------------
 * Reads
 */

static void cache_read_endio(struct bio *bio)
{
	struct bbio *b = container_of(bio, struct bbio, bio);
	struct search *s = to_search(bio->bi_private);
	struct cache_set *c = s->iop.c;

	/*
	 * The bucket may have been reused while we read it (its gen moved
	 * on): then the data may be someone else's. Not an error of the
	 * device, but the read is redone from the backing device.
	 */
	if (bio->bi_status) {
		s->iop.status = bio->bi_status;
	} else if (!KEY_DIRTY(&b->key) && ptr_stale(c, &b->key, 0)) {
		atomic_long_inc(&c->cache_read_races);
		s->iop.status = BLK_STS_IOERR;
	}

	bch_bucket_pin_put(c, &b->key);
	bch_bbio_endio(c, bio, bio->bi_status, "reading from cache");
}

/* Send @miss, a piece of the request, to the backing device as it is. */
static void read_from_backing(struct search *s, struct bio *miss)
{
	miss->bi_end_io = backing_request_endio;
	miss->bi_private = &s->cl;
	closure_bio_submit(s->iop.c, miss, &s->cl);
}

/*
 * Bounce pages for a miss fill of the first s->insert_bio_sectors of
 * @miss; NULL if there is no memory right now (then it is not cached).
 */
static struct bio *miss_fill_bio_alloc(struct search *s, struct bio *miss)
{
	struct bio *fill;

	fill = bio_alloc_bioset(miss->bi_bdev,
				DIV_ROUND_UP(s->insert_bio_sectors, PAGE_SECTORS),
				0, GFP_NOWAIT, &s->d->bio_split);
	if (!fill)
		return NULL;

	fill->bi_iter.bi_sector = miss->bi_iter.bi_sector;
	fill->bi_iter.bi_size = s->insert_bio_sectors << SECTOR_SHIFT;
	if (bch_bio_alloc_pages(fill, __GFP_NOWARN | GFP_NOIO)) {
		bio_put(fill);
		return NULL;
	}
	return fill;
}

/* Read the next @sectors of @bio from the backing device, not caching them. */
static int miss_to_backing(struct search *s, struct bio *bio,
			   unsigned int sectors)
{
	struct bio *miss = bio_next_split(bio, sectors, GFP_NOIO,
					  &s->d->bio_split);
	bool last = miss == bio;

	read_from_backing(s, miss);
	return last ? MAP_DONE : MAP_CONTINUE;
}

/*
 * Claim the first part of the miss for the cache with a check key. A fill
 * is at most what one key and one bio (of bounce pages) can carry.
 */
static int miss_claim_range(struct btree *b, struct search *s,
			    struct bio *bio, unsigned int sectors)
{
	unsigned int most = min_t(unsigned int, (1U << BKEY_SIZE_BITS) - 1,
				  BIO_MAX_VECS * PAGE_SECTORS);
	u64 end;
	int ret;

	s->insert_bio_sectors = min3(sectors, bio_sectors(bio), most);
	end = bio->bi_iter.bi_sector + s->insert_bio_sectors;
	s->iop.replace_key = KEY(s->iop.inode, end, s->insert_bio_sectors);

	ret = bch_btree_insert_check_key(b, &s->op, &s->iop.replace_key);
	if (!ret)
		s->iop.replace = true;
	return ret;
}

/*
 * The next @sectors of @bio are not in the cache. The first miss of a
 * request that is not bypassed is read into bounce pages and inserted
 * into the cache later; before that a check key goes into the btree over
 * the range, and the insert only happens where it still is (a write
 * meanwhile replaces it). Other misses just read the backing device.
 */
static int cached_dev_cache_miss(struct btree *b, struct search *s,
				 struct bio *bio, unsigned int sectors)
{
	struct bio *miss, *fill;
	bool last;
	int ret;

	s->cache_missed = true;

	/* Only the first miss of a request that is cached gets filled. */
	if (s->iop.bypass || s->cache_miss)
		return miss_to_backing(s, bio, sectors);

	ret = miss_claim_range(b, s, bio, sectors);
	if (ret)
		return ret;

	miss = bio_next_split(bio, s->insert_bio_sectors, GFP_NOIO,
			      &s->d->bio_split);
	last = miss == bio;

	fill = miss_fill_bio_alloc(s, miss);
	if (fill) {
		s->cache_miss = miss;
		s->iop.bio = fill;
		s->miss_fill = fill;
		bio_get(fill);		/* one for the completion below */
		read_from_backing(s, fill);
	} else {
		read_from_backing(s, miss);
	}

	/* The check key changed the node: unless done, walk again. */
	return last ? MAP_DONE : -EINTR;
}

/*
 * Pin the bucket of @k's pointer for the read, so the allocator leaves it
 * alone; false (and no pin) if it was reused already.
 */
static bool cache_read_pin(struct cache_set *c, struct bkey *k)
{
	struct bucket *g = PTR_BUCKET(c, k, 0);

	atomic_inc(&g->pin);
	/* The pin before the gen check; the allocator checks the other way. */
	smp_mb__after_atomic();
	if (ptr_stale(c, k, 0)) {
		atomic_dec(&g->pin);
		return false;
	}
	return true;
}

/* Read the part of @bio that @k caches from the cache device. */
static int read_from_cache(struct search *s, struct btree *b, struct bkey *k)
{
	struct cache_set *c = s->iop.c;
	struct bio *bio = &s->bio.bio;
	unsigned int len = min_t(u64, INT_MAX,
				 KEY_OFFSET(k) - bio->bi_iter.bi_sector);
	struct bio *piece;
	struct bkey *piece_key;

	if (!cache_read_pin(c, k)) {
		atomic_long_inc(&c->cache_read_races);
		return cached_dev_cache_miss(b, s, bio, len);
	}

	PTR_BUCKET(c, k, 0)->prio = INITIAL_PRIO;
	if (KEY_DIRTY(k))
		s->read_dirty_data = true;

	piece = bio_next_split(bio, len, GFP_NOIO, &s->d->bio_split);
	piece_key = &container_of(piece, struct bbio, bio)->key;
	bch_bkey_copy_single_ptr(piece_key, k, 0);
	bch_cut_front(&KEY(s->iop.inode, piece->bi_iter.bi_sector, 0),
		      piece_key);
	bch_cut_back(&KEY(s->iop.inode, bio_end_sector(piece), 0), piece_key);

	piece->bi_end_io = cache_read_endio;
	piece->bi_private = &s->cl;
	__bch_submit_bbio(piece, c);

	return piece == bio ? MAP_DONE : MAP_CONTINUE;
}

/* One key of the lookup: a miss for any gap before it, then its data. */
static int cache_lookup_key(struct btree_op *op, struct btree *b,
			    struct bkey *k)
{
	struct search *s = container_of(op, struct search, op);
	struct bio *bio = &s->bio.bio;
	u64 pos = bio->bi_iter.bi_sector;

	if (bkey_cmp(k, &KEY(s->iop.inode, pos, 0)) <= 0)
		return MAP_CONTINUE;

	if (KEY_INODE(k) != s->iop.inode || KEY_START(k) > pos) {
		unsigned int gap = KEY_INODE(k) == s->iop.inode ?
			min_t(u64, INT_MAX, KEY_START(k) - pos) : INT_MAX;
		unsigned int before = bio_sectors(bio);
		int ret = cached_dev_cache_miss(b, s, bio, gap);

		if (ret != MAP_CONTINUE)
			return ret;
		/* MAP_CONTINUE: the gap ended inside the request. */
		if (WARN_ON_ONCE(before <= gap))
			return MAP_DONE;
	}

	if (!KEY_SIZE(k))
		return MAP_CONTINUE;

	return read_from_cache(s, b, k);
}

static CLOSURE_CALLBACK(cache_lookup)
{
	closure_type(s, struct search, iop.cl);
	struct bio *bio = &s->bio.bio;
	int ret;

	bch_btree_op_init(&s->op, -1);
	ret = bch_btree_map_keys(&s->op, s->iop.c,
				 &KEY(s->iop.inode, bio->bi_iter.bi_sector, 0),
				 cache_lookup_key, MAP_END_KEY);

	/* Walk again from where the bio now starts, once it may go on. */
	if (ret == -EAGAIN || ret == -EINTR) {
		continue_at(cl, cache_lookup, bcache_wq);
		return;
	}

	/*
	 * The btree failed us: whatever was not read yet is unknown. With
	 * dirty data in the cache the backing device may hold stale data,
	 * so the request fails rather than being retried from it.
	 */
	if (ret < 0) {
		if (atomic_read(&search_dc(s)->has_dirty))
			s->recoverable = false;
		if (!s->iop.status)
			s->iop.status = BLK_STS_IOERR;
	}
	closure_return(cl);
}

static void search_drop_cache_miss(struct search *s)
{
	if (s->cache_miss) {
		bio_put(s->cache_miss);
		s->cache_miss = NULL;
	}
}

static CLOSURE_CALLBACK(cached_dev_read_finish)
{
	closure_type(s, struct search, cl);

	if (s->iop.replace_collision)
		bch_mark_cache_miss_collision(s->iop.c, s->d);
	/* Not through s->iop.bio: the insert lets go of that. */
	if (s->miss_fill)
		bio_free_pages(s->miss_fill);
	search_free(ws);
}

/*
 * Something failed: retry the whole request from the backing device,
 * unless the cache held dirty data for it (the backing copy is older) or
 * the failure was not a cache read.
 */
static CLOSURE_CALLBACK(cached_dev_read_error)
{
	closure_type(s, struct search, cl);

	search_drop_cache_miss(s);
	if (s->recoverable && !s->read_dirty_data) {
		s->iop.status = BLK_STS_OK;
		bio_uninit(&s->bio.bio);
		search_hook_bio(s, backing_request_endio);
		closure_bio_submit(s->iop.c, &s->bio.bio, cl);
	}
	continue_at(cl, cached_dev_read_finish, NULL);
}

/* The caller's data of the miss is in the bounce pages: copy it over. */
static void miss_fill_copy_out(struct search *s)
{
	struct bio *fill = s->iop.bio;

	/* The read consumed fill's iterator; point it at the pages again. */
	bio_reset(fill, s->cache_miss->bi_bdev, REQ_OP_READ);
	fill->bi_iter.bi_sector = s->cache_miss->bi_iter.bi_sector;
	fill->bi_iter.bi_size = s->insert_bio_sectors << SECTOR_SHIFT;
	bio_clone_blkg_association(fill, s->cache_miss);
	bch_bio_map(fill, NULL);

	bio_copy_data(s->cache_miss, fill);
	search_drop_cache_miss(s);
}

/* A miss was read into bounce pages: complete the caller, then cache it. */
static CLOSURE_CALLBACK(cached_dev_read_fill)
{
	closure_type(s, struct search, cl);

	miss_fill_copy_out(s);
	search_complete_orig(s);

	if (!test_bit(CACHE_SET_STOPPING, &s->iop.c->flags))
		closure_call(&s->iop.cl, bch_data_insert, NULL, cl);

	continue_at(cl, cached_dev_read_finish, NULL);
}

static CLOSURE_CALLBACK(cached_dev_read_done)
{
	closure_type(s, struct search, cl);

	bch_mark_cache_accounting(s->iop.c, s->d, !s->cache_missed,
				  s->iop.bypass);

	if (s->iop.status)
		continue_at_nobarrier(cl, cached_dev_read_error, bcache_wq);
	else if (s->iop.bio)
		continue_at_nobarrier(cl, cached_dev_read_fill, bcache_wq);
	else
		continue_at_nobarrier(cl, search_free, NULL);
}

static void cached_dev_read(struct search *s)
{
	closure_call(&s->iop.cl, cache_lookup, NULL, &s->cl);
	continue_at(&s->cl, cached_dev_read_done, NULL);
}

/* ---------------------------------------------------------------------
 * Writes
 */

/*
 * Delete whatever the cache holds for the request's range: pointerless
 * keys over it, journaled (and flushed if the request is a flush), as a
 * child of the request. s->sector/s->sectors were taken before the bio
 * went down, since the block layer may advance its iterator.
 */
static void invalidate_cached_range(struct search *s)
{
	s->iop.bypass = true;
	s->iop.bio = NULL;
	s->iop.inval_sector = s->sector;
	s->iop.inval_sectors = s->sectors;
	closure_call(&s->iop.cl, bch_data_insert, NULL, &s->cl);
}

/*
 * A bypassed write has reached the backing device; invalidate its range a
 * second time before the caller hears of it.
 *
 * Invalidating only when the write starts (as upstream does) is not
 * enough. A read miss on the range while the write is in flight inserts
 * a check key, reads the backing device (old data: the write is not done
 * yet) and then inserts what it read wherever its check key survived.
 * Nothing of the write removes the check key after the first
 * invalidation, so the old data would be cached and every later read
 * would hit it. Invalidating again once the write is complete closes
 * that window: a check key inserted before now is deleted, so a miss
 * insert after this collides and is dropped, and one before this is
 * deleted along with it; a miss that starts after this reads the new
 * data from the backing device.
 */
static CLOSURE_CALLBACK(cached_dev_bypass_written)
{
	closure_type(s, struct search, cl);

	invalidate_cached_range(s);
	continue_at(cl, search_free, NULL);
}

static void cached_dev_write_bypass(struct cached_dev *dc, struct search *s)
{
	struct bio *bio = &s->bio.bio;
	struct closure *cl = &s->cl;

	if (bio_op(bio) == REQ_OP_DISCARD && !bdev_max_discard_sectors(dc->bdev)) {
		/* Nothing goes to the backing device: nothing to race with. */
		invalidate_cached_range(s);
		continue_at(cl, search_free, NULL);
		return;
	}

	bio->bi_end_io = backing_request_endio;
	closure_bio_submit(s->iop.c, bio, cl);
	invalidate_cached_range(s);
	/* On bcache_wq: making keys may allocate, not in bio completion. */
	continue_at(cl, cached_dev_bypass_written, bcache_wq);
}

/*
 * Both halves of a write-through are done. If the cache copy failed (no
 * free space, or the cache write failed), its insert invalidated the range
 * instead, perhaps while the backing write was still in flight: the window
 * cached_dev_bypass_written() closes for a bypassed write, closed the same
 * way.
 */
static CLOSURE_CALLBACK(cached_dev_write_through_done)
{
	closure_type(s, struct search, cl);

	/* On bcache_wq: making keys may allocate, not in bio completion. */
	if (s->iop.invalidated)
		continue_at(cl, cached_dev_bypass_written, bcache_wq);
	else
		search_free(ws);
}

/* To the backing device and, concurrently, into the cache. */
static void cached_dev_write_through(struct cached_dev *dc, struct search *s)
{
	struct bio *bio = &s->bio.bio;
	struct closure *cl = &s->cl;

	/* Cloned before the bio goes down: splitting may advance it. */
	s->insert_bio = bio_alloc_clone(dc->bdev, bio, GFP_NOIO,
					&dc->disk.bio_split);
	s->iop.bio = s->insert_bio;

	bio->bi_end_io = backing_request_endio;
	closure_bio_submit(s->iop.c, bio, cl);

	closure_call(&s->iop.cl, bch_data_insert, NULL, cl);
	continue_at(cl, cached_dev_write_through_done, NULL);
}

static void backing_flush_endio(struct bio *bio)
{
	struct search *s = to_search(bio->bi_private);

	/* The write itself is in the cache: its status is the insert's. */
	if (bio->bi_status) {
		pr_err("Can't flush %pg: returned bi_status %i\n",
		       search_dc(s)->bdev, bio->bi_status);
		bch_count_backing_io_errors(search_dc(s), bio);
	} else {
		bch_backing_flushed(search_dc(s), s->flush_seq);
	}
	bio_put(bio);
	closure_put(&s->cl);
}

/*
 * An empty request's copy on the backing device. It wrote nothing there:
 * counting it as a write would make every later fsync flush again.
 */
static void backing_nodata_endio(struct bio *bio)
{
	struct search *s = to_search(bio->bi_private);

	if (!bio->bi_status && s->iop.flush_journal)
		bch_backing_flushed(search_dc(s), s->flush_seq);
	backing_request_done(s, bio);
}

/*
 * Into the cache only, as dirty data; a PREFLUSH also flushes the backing
 * device, which may hold data written through or around before.
 */
static void cached_dev_write_back_data(struct cached_dev *dc,
				       struct search *s)
{
	struct bio *bio = &s->bio.bio;
	struct closure *cl = &s->cl;

	if ((bio->bi_opf & REQ_PREFLUSH) &&
	    bch_backing_flush_wanted(dc, &s->flush_seq)) {
		struct bio *flush = bio_alloc_bioset(dc->bdev, 0,
						     REQ_OP_WRITE | REQ_PREFLUSH,
						     GFP_NOIO,
						     &dc->disk.bio_split);

		flush->bi_end_io = backing_flush_endio;
		flush->bi_private = cl;
		closure_bio_submit(s->iop.c, flush, cl);
	}

	s->iop.bio = bio;
	closure_call(&s->iop.cl, bch_data_insert, NULL, cl);
	continue_at(cl, search_free, NULL);
}

static CLOSURE_CALLBACK(cached_dev_write_back_marked)
{
	closure_type(s, struct search, cl);

	bch_writeback_marked_dirty(search_dc(s));
	cached_dev_write_back_data(search_dc(s), s);
}

/* On bcache_wq: a superblock write sleeps, and must not wait in submit_bio. */
static CLOSURE_CALLBACK(cached_dev_write_back_mark)
{
	closure_type(s, struct search, cl);

	bch_writeback_mark_dirty(search_dc(s), cl);
	continue_at(cl, cached_dev_write_back_marked, bcache_wq);
}

static void cached_dev_write_back(struct cached_dev *dc, struct search *s)
{
	/* The first dirty write after a clean state waits for the superblock. */
	if (!atomic_read(&dc->has_dirty))
		continue_at(&s->cl, cached_dev_write_back_mark, bcache_wq);
	else
		cached_dev_write_back_data(dc, s);
}

static void cached_dev_write(struct cached_dev *dc, struct search *s)
{
	struct bio *bio = &s->bio.bio;
	struct bkey start = KEY(dc->disk.id, s->sector, 0);
	struct bkey end = KEY(dc->disk.id, s->sector + s->sectors, 0);

	/* Moving gc's idle copies of this range are about to be stale. */
	bch_keybuf_check_overlapping(&s->iop.c->moving_gc_keys, &start, &end);

	/*
	 * Until its keys are in, the thread must not pick up the dirty keys
	 * this write replaces, or it could write their older data to the
	 * backing device after ours. One that it is writing back already
	 * makes this write go to the cache dirty, after it.
	 */
	down_read_non_owner(&dc->writeback_lock);
	s->writeback_locked = true;
	if (bch_keybuf_check_overlapping(&dc->writeback_keys, &start, &end)) {
		s->iop.bypass = false;
		s->iop.writeback = true;
	}

	if (bio_op(bio) == REQ_OP_DISCARD)
		s->iop.bypass = true;

	if (bch_should_writeback(dc, s->orig_bio, cache_mode(dc),
				 s->iop.bypass)) {
		s->iop.bypass = false;
		s->iop.writeback = true;
	}

	if (s->iop.bypass)
		cached_dev_write_bypass(dc, s);
	else if (s->iop.writeback)
		cached_dev_write_back(dc, s);
	else
		cached_dev_write_through(dc, s);
}

/* A flush without data: the journal and the backing device both flush. */
static CLOSURE_CALLBACK(cached_dev_nodata)
{
	closure_type(s, struct search, cl);
	struct cache_set *c = s->iop.c;

	/*
	 * The flush goes down as it came, unless the backing device has had
	 * no write since its last flush...
	 */
	if (!s->iop.flush_journal ||
	    bch_backing_flush_wanted(search_dc(s), &s->flush_seq)) {
		s->bio.bio.bi_end_io = backing_nodata_endio;
		closure_bio_submit(c, &s->bio.bio, cl);
	}
	/* ...and what the journal acknowledged must reach the cache device. */
	if (s->iop.flush_journal)
		bch_journal_meta(c, cl);
	continue_at(cl, search_free, NULL);
}

/* ---------------------------------------------------------------------
 * Entry points
 */

/*
 * The set @dc is attached to, with the attachment reference taken (for
 * the caller to drop with cached_dev_put()), or NULL if it is not.
 */
static struct cache_set *cached_dev_get_set(struct cached_dev *dc)
{
	struct cache_set *c;

	if (!READ_ONCE(dc->disk.c) || !cached_dev_get(dc))
		return NULL;

	c = READ_ONCE(dc->disk.c);
	if (!c)
		cached_dev_put(dc);
	return c;
}

static void cached_dev_submit_cached(struct cached_dev *dc,
				     struct cache_set *c, struct bio *bio,
				     unsigned long start_time)
{
	struct search *s;

	bch_writeback_set_busy(c);

	s = search_alloc(bio, dc, c, start_time);

	if (!bio->bi_iter.bi_size) {
		/* bch_journal_meta() may sleep: not under submit_bio. */
		continue_at_nobarrier(&s->cl, cached_dev_nodata, bcache_wq);
		return;
	}

	s->iop.bypass = check_should_bypass(dc, &s->bio.bio);
	if (s->write)
		cached_dev_write(dc, s);
	else
		cached_dev_read(s);
}

/* block_device_operations.submit_bio of every bcacheN backed by a disk */
void bch_cached_dev_submit_bio(struct bio *bio)
{
	struct bcache_device *d = bio->bi_bdev->bd_disk->private_data;
	struct cached_dev *dc = to_cached_dev(d);
	struct cache_set *c = READ_ONCE(d->c);
	unsigned long start_time;

	if (unlikely(READ_ONCE(dc->io_disable) ||
		     (c && test_bit(CACHE_SET_IO_DISABLE, &c->flags)))) {
		bio_io_error(bio);
		return;
	}

	start_time = bio_start_io_acct(bio);

	c = cached_dev_get_set(dc);
	if (c)
		cached_dev_submit_cached(dc, c, bio, start_time);
	else if (backing_ignores(dc, bio))
		complete_now(bio, start_time, BLK_STS_OK);
	else
		passthru_submit(dc, bio, start_time);
}

/* Ioctls bcacheN does not handle itself go to the backing device. */
int bch_cached_dev_ioctl(struct block_device *bdev, blk_mode_t mode,
			 unsigned int cmd, unsigned long arg)
{
	struct cached_dev *dc = to_cached_dev(bdev->bd_disk->private_data);
	const struct block_device_operations *fops = dc->bdev->bd_disk->fops;

	if (READ_ONCE(dc->io_disable))
		return -EIO;
	if (!fops->ioctl)
		return -ENOTTY;
	return fops->ioctl(dc->bdev, mode, cmd, arg);
}

/* Sets up what the I/O path of @dc needs; undone by the _exit below. */
int bch_cached_dev_request_init(struct cached_dev *dc)
{
	struct io_hist *h;
	int ret;

	spin_lock_init(&dc->io_lock);
	INIT_LIST_HEAD(&dc->io_lru);
	/* All slots start out unhashed, in the spare bucket no lookup uses. */
	for (h = dc->io; h < dc->io + RECENT_IO; h++) {
		list_add(&h->lru, &dc->io_lru);
		hlist_add_head(&h->hash, dc->io_hash + RECENT_IO);
	}

	ret = bioset_init(&dc->disk.bio_passthru, 4,
			  offsetof(struct passthru_io, clone),
			  BIOSET_NEED_RESCUER);
	if (ret)
		return ret;
	/* Pieces of requests and miss fills: bbios, some with bounce pages. */
	return bioset_init(&dc->disk.bio_split, 4, offsetof(struct bbio, bio),
			   BIOSET_NEED_BVECS | BIOSET_NEED_RESCUER);
}

/* Called only once no bio of @dc is in flight (see the file comment). */
void bch_cached_dev_request_exit(struct cached_dev *dc)
{
	bioset_exit(&dc->disk.bio_split);
	bioset_exit(&dc->disk.bio_passthru);
}

/*
 * Every request's struct search, of every set: a cache of its own rather
 * than kmalloc(), whose size classes would round it up and which costs a
 * size lookup per request.
 */
static struct kmem_cache *search_cache;

int __init bch_request_module_init(void)
{
	search_cache = kmem_cache_create("bcache_search", sizeof(struct search),
					 0, 0, NULL);
	return search_cache ? 0 : -ENOMEM;
}

/* After the last set is gone: their pools hold searches of the cache. */
void bch_request_module_exit(void)
{
	kmem_cache_destroy(search_cache);
}

/* The cache set's pools for requests; super.c calls these with the set. */
int bch_request_set_init(struct cache_set *c)
{
	int ret;

	ret = mempool_init_slab_pool(&c->search, 32, search_cache);
	if (ret)
		return ret;
	/* Splits of data written into the cache are bbios too. */
	return bioset_init(&c->bio_split, 4, offsetof(struct bbio, bio),
			   BIOSET_NEED_RESCUER);
}

void bch_request_set_exit(struct cache_set *c)
{
	bioset_exit(&c->bio_split);
	mempool_exit(&c->search);
}

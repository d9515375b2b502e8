// SPDX-License-Identifier: GPL-2.0
/*
 * Writeback: dirty data in the cache, and writing it back.
 *
 * In writeback mode a write may complete once its data and keys are in
 * the cache; its keys carry KEY_DIRTY and the backing device is out of
 * date until this file's thread has copied the data over. Whether a write
 * may go that way is bch_should_writeback(), upstream's policy: not while
 * the device detaches, not above cutoff_writeback_sync percent of the
 * cache in use, and above cutoff_writeback only for sync writes (or to
 * stripes already dirty on a raid5/6 backing device).
 *
 * The thread (one per attached backing device) refills a keybuf with the
 * device's dirty keys in LBA order (full dirty stripes first where partial
 * stripe writes are expensive), and writes them back in batches: read
 * every key of the batch from the cache, write them to the backing device
 * in LBA order under one plug (so neighbours merge and the disk sees real
 * queue depth), then send the backing device one empty PREFLUSH, and only
 * after that insert each key again without its dirty bit, with the dirty
 * key as the replace key: a foreground write that changed the range
 * meanwhile wins and the clean copy is dropped. Upstream marks keys clean
 * as soon as its plain writes complete, so a power cut can take data out
 * of the backing disk's volatile cache that the cache set already
 * dropped; one flush per batch closes that hole for little cost.
 *
 * A foreground write holds dc->writeback_lock for read from its keybuf
 * check to its completion; the thread takes it for write to refill and to
 * decide that the device is clean. A write that overlaps a key being
 * written back goes to the cache dirty, so the older data the thread is
 * writing can never land on the backing device after the newer.
 *
 * The pace is a PI controller on the device's dirty sectors (upstream's,
 * run every writeback_rate_update_seconds by a delayed work): the target
 * is writeback_percent of the cache, shared between backing devices by
 * their size; the proportional term retires the excess in
 * p_term_inverse seconds, the integral term accumulates it. Past 50% of
 * the cache in use a fragment term may raise the rate: computed here in
 * 64 bits, multiply before divide, where upstream's rounds to zero when
 * fewer sectors than buckets are dirty and its rate collapses to the
 * minimum with the cache still full. An idle set (no foreground I/O for
 * about six updates per device) writes back at full speed until I/O
 * comes back.
 *
 * Superblock state: CLEAN -> DIRTY is written and waited for before the
 * first dirty write completes (bch_writeback_mark_dirty()); DIRTY -> CLEAN
 * when a full pass over the btree finds nothing dirty, under the write
 * lock, so no dirty write is in between.
 *
 * Lifetime: the thread holds an attachment reference (dc->count) while it
 * may write back. A detach drops the device's own reference; the thread
 * then writes everything back at full speed, marks the device clean and
 * drops its own, which lets the detach finish. A stop kills the thread
 * (bch_cached_dev_writeback_stop()) and the dirty data stays with its
 * DIRTY superblock for the next registration.
 *
 * Lock order: dc->writeback_lock, then btree node locks (refill), then
 * the keybuf spinlock.
 */

#include "bcache.h"
#include "btree.h"
#include "dirty.h"
#include "gc.h"
#include "io.h"
#include "keybuf.h"
#include "writeback.h"

#include <kunit/visibility.h>
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched/clock.h>

unsigned int bch_cutoff_writeback;
module_param(bch_cutoff_writeback, uint, 0);
MODULE_PARM_DESC(bch_cutoff_writeback, "threshold to cutoff writeback");

unsigned int bch_cutoff_writeback_sync;
module_param(bch_cutoff_writeback_sync, uint, 0);
MODULE_PARM_DESC(bch_cutoff_writeback_sync, "hard threshold to cutoff writeback");

/* ---------------------------------------------------------------------
 * Which writes go to the cache dirty
 */

VISIBLE_IF_KUNIT bool bch_writeback_decide(const struct wb_decision *w)
{
	if (w->mode != CACHE_MODE_WRITEBACK || w->detaching ||
	    w->in_use > w->cutoff_sync || w->discard)
		return false;
	/* Writing around a dirty stripe would cost a read-modify-write. */
	if (w->stripe_dirty)
		return true;
	if (w->bypass)
		return false;
	return w->sync || w->in_use <= w->cutoff;
}
EXPORT_SYMBOL_IF_KUNIT(bch_writeback_decide);

bool bch_should_writeback(struct cached_dev *dc, struct bio *bio,
			  unsigned int mode, bool bypass)
{
	struct wb_decision w = {
		.mode		= mode,
		.detaching	= test_bit(BCACHE_DEV_DETACHING,
					   &dc->disk.flags),
		.in_use		= READ_ONCE(dc->disk.c->gc_stats.in_use),
		.cutoff		= bch_cutoff_writeback,
		.cutoff_sync	= bch_cutoff_writeback_sync,
		.discard	= bio_op(bio) == REQ_OP_DISCARD,
		.bypass		= bypass,
		.sync		= op_is_sync(bio->bi_opf) ||
				  (bio->bi_opf & (REQ_META | REQ_PRIO)),
	};

	if (mode != CACHE_MODE_WRITEBACK)
		return false;
	w.stripe_dirty = dc->partial_stripes_expensive &&
		bch_dirty_stripes_touched(&dc->disk, bio->bi_iter.bi_sector,
					  bio_sectors(bio));
	return bch_writeback_decide(&w);
}

void bch_writeback_queue(struct cached_dev *dc)
{
	struct task_struct *t = READ_ONCE(dc->writeback_thread);

	if (t)
		wake_up_process(t);
}

/*
 * has_dirty is set only once a DIRTY superblock is on disk: until then no
 * dirty write completes. The first dirty write after a clean state writes
 * that superblock; those arriving while it is in flight wait for the same
 * write rather than queueing one each behind it (on a slow disk hundreds
 * of serialized superblock writes would stall every writer for minutes).
 */
void bch_writeback_mark_dirty(struct cached_dev *dc, struct closure *cl)
{
	bool first;

	spin_lock(&dc->dirty_mark_lock);
	if (atomic_read(&dc->has_dirty)) {
		spin_unlock(&dc->dirty_mark_lock);
		return;
	}
	first = !dc->dirty_marking;
	if (first)
		dc->dirty_marking = true;
	else
		closure_wait(&dc->dirty_mark_wait, cl);
	spin_unlock(&dc->dirty_mark_lock);

	if (first) {
		SET_BDEV_STATE(&dc->sb, BDEV_STATE_DIRTY);
		bch_write_bdev_super(dc, cl);
	}
}

void bch_writeback_marked_dirty(struct cached_dev *dc)
{
	bool now_dirty = false;

	if (atomic_read(&dc->has_dirty))
		return;
	spin_lock(&dc->dirty_mark_lock);
	if (!atomic_read(&dc->has_dirty)) {
		atomic_set(&dc->has_dirty, 1);
		dc->dirty_marking = false;
		closure_wake_up(&dc->dirty_mark_wait);
		now_dirty = true;
	}
	spin_unlock(&dc->dirty_mark_lock);
	if (now_dirty)
		bch_writeback_queue(dc);
}

/* ---------------------------------------------------------------------
 * Flushes of the backing device
 *
 * A flush from above (fsync) must reach the backing device only if some
 * write to it completed since the last flush we saw complete: in
 * writeback mode most fsyncs find nothing there, and upstream's empty
 * flush to the disk on every one is what fsync-heavy users feel.
 */

bool bch_backing_flush_wanted(struct cached_dev *dc, u64 *seq)
{
	*seq = atomic64_read(&dc->backing_writes);
	return *seq != (u64)atomic64_read(&dc->backing_flushed);
}

void bch_backing_flushed(struct cached_dev *dc, u64 seq)
{
	s64 old = atomic64_read(&dc->backing_flushed);

	while ((u64)old < seq &&
	       !atomic64_try_cmpxchg(&dc->backing_flushed, &old, seq))
		;
}

/* ---------------------------------------------------------------------
 * The rate controller
 */

/*
 * A device's dirty target: @percent of the cache, times the device's
 * share of everything the set caches (in 2^-14ths, at least one).
 */
VISIBLE_IF_KUNIT u64 bch_writeback_target(u64 cache_sectors, u64 dev_sectors,
					  u64 all_dev_sectors,
					  unsigned int percent)
{
	u64 share = all_dev_sectors ?
		div64_u64(dev_sectors << WRITEBACK_SHARE_SHIFT,
			  all_dev_sectors) : 0;

	share = max_t(u64, share, 1);
	return (div_u64(cache_sectors * percent, 100) * share) >>
		WRITEBACK_SHARE_SHIFT;
}
EXPORT_SYMBOL_IF_KUNIT(bch_writeback_target);

/* The fragment term's slope at @in_use percent, per unit over its step. */
static s64 fragment_slope(const struct writeback_tuning *t,
			  unsigned int in_use)
{
	static const unsigned int step_start[FP_TERMS] = {
		[FP_TERM_LOW]	= BCH_WRITEBACK_FRAGMENT_THRESHOLD_LOW,
		[FP_TERM_MID]	= BCH_WRITEBACK_FRAGMENT_THRESHOLD_MID,
		[FP_TERM_HIGH]	= BCH_WRITEBACK_FRAGMENT_THRESHOLD_HIGH,
	};
	int i = FP_TERM_LOW;

	if (in_use > BCH_WRITEBACK_FRAGMENT_THRESHOLD_HIGH)
		i = FP_TERM_HIGH;
	else if (in_use > BCH_WRITEBACK_FRAGMENT_THRESHOLD_MID)
		i = FP_TERM_MID;
	return (s64)t->fp_term[i] * (in_use - step_start[i]);
}

/*
 * The rate at which a fragmented cache should be emptied: the dirty
 * sectors per dirty bucket times the slope. A cache whose buckets hold
 * few dirty sectors each (more than three buckets' worth of space per
 * dirty bucket) wastes space that only writeback frees. False when the
 * term does not apply: then it must not replace the proportional term,
 * which may be negative.
 */
static bool fragment_rate(const struct writeback_tuning *t,
			  const struct wb_rate_input *in, s64 *rate)
{
	u64 span;

	if (!t->consider_fragment || !in->dirty || !in->dirty_buckets ||
	    in->in_use <= BCH_WRITEBACK_FRAGMENT_THRESHOLD_LOW)
		return false;
	span = div64_u64(in->dirty_buckets * in->bucket_size, in->dirty);
	if (span <= 3)
		return false;
	*rate = div64_s64((s64)in->dirty * fragment_slope(t, in->in_use),
			  in->dirty_buckets);
	return true;
}

/*
 * One step of the PI controller. @integral is its state: it only grows
 * while the thread keeps up with the rate, and only shrinks while it is
 * positive, so it never winds up uselessly.
 */
VISIBLE_IF_KUNIT void bch_writeback_rate_step(const struct writeback_tuning *t,
					      const struct wb_rate_input *in,
					      s64 *integral,
					      struct wb_rate_output *out)
{
	s64 error = (s64)in->dirty - (s64)in->target;
	s64 p = div_s64(error, t->p_term_inverse);
	s64 fp, i;

	if (fragment_rate(t, in, &fp) && fp > p)
		p = fp;

	if ((error < 0 && *integral > 0) || (error > 0 && in->keeping_up))
		*integral += error * t->update_seconds;
	i = div_s64(*integral, t->i_term_inverse);

	out->proportional = p;
	out->integral_scaled = i;
	out->rate = clamp_t(s64, p + i, t->rate_minimum, NSEC_PER_SEC);
}
EXPORT_SYMBOL_IF_KUNIT(bch_writeback_rate_step);

/*
 * Every writeback thread of the set counts an update while no foreground
 * I/O arrives; the set is idle after about six updates per device.
 */
static bool set_idle_long_enough(struct cache_set *c)
{
	int count = atomic_inc_return(&c->idle_counter);
	int devs = atomic_read(&c->attached_dev_nr);

	if (count <= 0) {
		atomic_set(&c->idle_counter, 0);
		return false;
	}
	return devs && count >= devs * devs * 6;
}

/* An idle set writes back as fast as it can. True if @dc now does. */
static bool writeback_at_idle_speed(struct cache_set *c,
				    struct cached_dev *dc)
{
	if (!READ_ONCE(c->idle_max_writeback_rate_enabled) ||
	    !c->gc_mark_valid || !set_idle_long_enough(c))
		return false;

	atomic_set(&c->at_max_writeback_rate, 1);
	atomic_long_set(&dc->writeback_rate.rate, INT_MAX);
	dc->writeback_rate_proportional = 0;
	dc->writeback_rate_integral_scaled = 0;
	dc->writeback_rate_change = 0;
	dc->writeback_rate_idle_max = true;
	return true;
}

void bch_writeback_set_busy(struct cache_set *c)
{
	if (atomic_read(&c->idle_counter))
		atomic_set(&c->idle_counter, 0);
	if (atomic_read(&c->at_max_writeback_rate))
		atomic_set(&c->at_max_writeback_rate, 0);
}

/* Foreground I/O is back: a device at idle speed drops to the minimum. */
static void writeback_leave_idle_speed(struct cached_dev *dc)
{
	if (dc->writeback_rate_idle_max &&
	    !atomic_read(&dc->disk.c->at_max_writeback_rate)) {
		dc->writeback_rate_idle_max = false;
		atomic_long_set(&dc->writeback_rate.rate, 1);
	}
}

static void writeback_rate_recompute(struct cached_dev *dc)
{
	struct cache_set *c = dc->disk.c;
	struct wb_rate_output out;
	struct wb_rate_input in = {
		.dirty		= bcache_dev_sectors_dirty(&dc->disk),
		.in_use		= READ_ONCE(c->gc_stats.in_use),
		.dirty_buckets	= c->nbuckets - READ_ONCE(c->avail_nbuckets),
		.bucket_size	= c->cache->sb.bucket_size,
		.keeping_up	= time_before64(local_clock(),
						dc->writeback_rate.next +
						NSEC_PER_MSEC),
	};
	u64 cache_sectors = (u64)c->nbuckets * c->cache->sb.bucket_size;
	s64 flash = atomic_long_read(&c->flash_dev_dirty_sectors);

	if (flash > 0)
		cache_sectors -= min_t(u64, flash, cache_sectors);
	in.target = bch_writeback_target(cache_sectors,
					 bdev_nr_sectors(dc->bdev),
					 c->cached_dev_sectors, dc->wb.percent);

	bch_writeback_rate_step(&dc->wb, &in, &dc->writeback_rate_integral,
				&out);
	dc->writeback_rate_proportional = out.proportional;
	dc->writeback_rate_integral_scaled = out.integral_scaled;
	dc->writeback_rate_change = out.rate -
		atomic_long_read(&dc->writeback_rate.rate);
	atomic_long_set(&dc->writeback_rate.rate, out.rate);
	dc->writeback_rate_target = in.target;

	/* A cache this full may want a gc once writeback is done. */
	if (c->gc_after_writeback == BCH_ENABLE_AUTO_GC &&
	    in.in_use >= BCH_AUTO_GC_DIRTY_THRESHOLD)
		c->gc_after_writeback |= BCH_DO_AUTO_GC;
}

static void writeback_rate_update(struct work_struct *work)
{
	struct cached_dev *dc = container_of(to_delayed_work(work),
					     struct cached_dev,
					     writeback_rate_update);
	struct cache_set *c = dc->disk.c;

	/* The work is cancelled before the thread goes and c with it. */
	if (!READ_ONCE(dc->writeback_thread) ||
	    test_bit(CACHE_SET_IO_DISABLE, &c->flags))
		return;

	writeback_leave_idle_speed(dc);
	if (atomic_read(&dc->has_dirty) && dc->wb.percent &&
	    !writeback_at_idle_speed(c, dc))
		writeback_rate_recompute(dc);

	schedule_delayed_work(&dc->writeback_rate_update,
			      READ_ONCE(dc->wb.update_seconds) * HZ);
}

/* Jiffies to wait after @sectors were written back. */
static unsigned long writeback_delay(struct cached_dev *dc,
				     unsigned int sectors)
{
	if (test_bit(BCACHE_DEV_DETACHING, &dc->disk.flags) ||
	    !dc->wb.percent)
		return 0;
	writeback_leave_idle_speed(dc);
	return bch_next_delay(&dc->writeback_rate, sectors);
}

/* ---------------------------------------------------------------------
 * Finding dirty keys
 */

static bool dirty_pred(struct keybuf *buf, struct bkey *k)
{
	struct cached_dev *dc = container_of(buf, struct cached_dev,
					     writeback_keys);

	return KEY_INODE(k) == dc->disk.id && KEY_DIRTY(k);
}

static bool keybuf_full(struct keybuf *buf)
{
	return bitmap_full(buf->used, KEYBUF_NR);
}

static void stripe_pos(struct bkey *pos, struct cached_dev *dc,
		       unsigned long stripe)
{
	*pos = KEY(dc->disk.id, (u64)stripe * dc->disk.stripe_size, 0);
}

/* Full dirty stripes, from where the last scan stopped, wrapping once. */
static void refill_full_stripes(struct cached_dev *dc)
{
	struct bcache_device *d = &dc->disk;
	struct keybuf *buf = &dc->writeback_keys;
	long first = bch_dirty_stripe_of(d, KEY_OFFSET(&buf->last_scanned));
	unsigned long stripe, end, n = d->nr_stripes;
	unsigned long looked = 0;

	stripe = first < 0 ? 0 : first;
	while (looked < n && !keybuf_full(buf)) {
		unsigned long next = find_next_bit(d->full_dirty_stripes, n,
						   stripe);
		struct bkey to;

		if (next >= n) {
			looked += n - stripe;
			stripe = 0;
			continue;
		}
		end = find_next_zero_bit(d->full_dirty_stripes, n, next);
		looked += end - stripe;
		stripe_pos(&buf->last_scanned, dc, next);
		stripe_pos(&to, dc, end);
		bch_refill_keybuf(d->c, buf, &to, dirty_pred);
		stripe = end >= n ? 0 : end;
	}
}

/*
 * Refill the keybuf with dirty keys of @dc from where the last refill
 * stopped. True if the scan covered the whole device (wrapping around
 * to where it began).
 */
static bool refill_dirty(struct cached_dev *dc)
{
	struct keybuf *buf = &dc->writeback_keys;
	struct bkey start = KEY(dc->disk.id, 0, 0);
	struct bkey end = KEY(dc->disk.id, MAX_KEY_OFFSET, 0);
	struct bkey began;

	if (bkey_cmp(&buf->last_scanned, &start) < 0 ||
	    bkey_cmp(&buf->last_scanned, &end) > 0)
		buf->last_scanned = start;

	if (dc->partial_stripes_expensive) {
		refill_full_stripes(dc);
		if (keybuf_full(buf))
			return false;
	}

	began = buf->last_scanned;
	bch_refill_keybuf(dc->disk.c, buf, &end, dirty_pred);
	if (bkey_cmp(&buf->last_scanned, &end) < 0)
		return false;

	buf->last_scanned = start;
	bch_refill_keybuf(dc->disk.c, buf, &began, dirty_pred);
	return bkey_cmp(&buf->last_scanned, &began) >= 0;
}

/* ---------------------------------------------------------------------
 * Writing a batch back
 */

/*
 * Keys of one batch; reads in flight at once are bounded by this too.
 * Each batch waits three times (reads, writes, the flush): small random
 * keys need big batches for the waits not to dominate.
 */
#define WB_BATCH_KEYS		256
/* A batch carries at most this much data (sectors): 16 MiB. */
#define WB_BATCH_SECTORS	(32768U)

struct wb_io {
	struct keybuf_key	*w;
	struct cached_dev	*dc;
	struct closure		*batch;
	blk_status_t		status;
	struct bbio		bio;	/* last: the bvecs follow */
};

struct wb_batch {
	struct wb_io		*io[WB_BATCH_KEYS];
	unsigned int		nr;
	unsigned int		sectors;
};

static void wb_io_free(struct wb_io *io)
{
	bch_copy_bbio_release(&io->bio);
	kfree(io);
}

static struct wb_io *wb_io_alloc(struct cached_dev *dc,
				 struct keybuf_key *w)
{
	unsigned int pages = DIV_ROUND_UP(KEY_SIZE(&w->key), PAGE_SECTORS);
	struct wb_io *io;

	io = kzalloc(struct_size(io, bio.bio.bi_inline_vecs, pages),
		     GFP_KERNEL);
	if (!io)
		return NULL;
	io->w = w;
	io->dc = dc;
	/* With writeback_percent 0 writeback yields to everything else. */
	if (bch_copy_bbio_init(&io->bio, KEY_SIZE(&w->key), !dc->wb.percent)) {
		kfree(io);
		return NULL;
	}
	return io;
}

static void wb_read_endio(struct bio *bio)
{
	struct bbio *b = container_of(bio, struct bbio, bio);
	struct wb_io *io = container_of(b, struct wb_io, bio);
	struct cache_set *c = io->dc->disk.c;

	io->status = bio->bi_status;
	if (!io->status && ptr_stale(c, &b->key, 0))
		io->status = BLK_STS_IOERR;
	bch_bbio_endio(c, bio, bio->bi_status,
		       "reading dirty data from cache");
}

static void wb_write_endio(struct bio *bio)
{
	struct wb_io *io = bio->bi_private;

	bch_backing_wrote(io->dc);
	if (bio->bi_status) {
		io->status = bio->bi_status;
		bch_count_backing_io_errors(io->dc, bio);
	}
	closure_put(io->batch);
}

/* Take idle keys off the keybuf up to the batch's limits. */
static void batch_gather(struct cached_dev *dc, struct wb_batch *b,
			 unsigned int max_sectors)
{
	struct cache_set *c = dc->disk.c;
	struct keybuf_key *w, *prev = NULL;
	struct wb_io *io;

	b->nr = 0;
	b->sectors = 0;
	while (b->nr < WB_BATCH_KEYS && b->sectors < max_sectors) {
		w = bch_keybuf_next_after(&dc->writeback_keys, prev);
		if (!w)
			break;
		/* Dirty buckets are never reused: a stale key is gone. */
		if (ptr_stale(c, &w->key, 0)) {
			bch_keybuf_del(&dc->writeback_keys, w);
			continue;
		}
		io = wb_io_alloc(dc, w);
		if (!io) {
			bch_keybuf_del(&dc->writeback_keys, w);
			break;
		}
		w->private = io;
		prev = w;
		b->io[b->nr++] = io;
		b->sectors += KEY_SIZE(&w->key);
	}
}

static void batch_read(struct cached_dev *dc, struct wb_batch *b)
{
	struct closure cl;
	unsigned int i;

	closure_init_stack(&cl);
	for (i = 0; i < b->nr; i++) {
		struct wb_io *io = b->io[i];
		struct bio *bio = &io->bio.bio;

		io->batch = &cl;
		bio->bi_private = &cl;
		bio->bi_end_io = wb_read_endio;
		bch_submit_bbio(bio, dc->disk.c, &io->w->key, 0);
	}
	closure_sync(&cl);
}

/* Write what was read, in LBA order. True if anything was written. */
static bool batch_write(struct cached_dev *dc, struct wb_batch *b)
{
	struct blk_plug plug;
	struct closure cl;
	unsigned int i, sent = 0;

	closure_init_stack(&cl);
	blk_start_plug(&plug);
	for (i = 0; i < b->nr; i++) {
		struct wb_io *io = b->io[i];
		struct bio *bio = &io->bio.bio;

		if (io->status)
			continue;
		bch_copy_bbio_rewind(&io->bio, dc->bdev,
				     KEY_START(&io->w->key),
				     KEY_SIZE(&io->w->key));
		bio->bi_private = io;
		bio->bi_end_io = wb_write_endio;
		io->batch = &cl;
		closure_bio_submit(dc->disk.c, bio, &cl);
		sent++;
	}
	blk_finish_plug(&plug);
	closure_sync(&cl);
	return sent;
}

/*
 * Make the batch's writes durable on the backing device before any key
 * goes clean. A failed flush fails the whole batch: nothing goes clean.
 */
static void batch_flush(struct cached_dev *dc, struct wb_batch *b)
{
	struct bio flush;
	unsigned int i;
	u64 seq;
	int ret;

	bch_backing_flush_wanted(dc, &seq);
	bio_init(&flush, dc->bdev, NULL, 0, REQ_OP_WRITE | REQ_PREFLUSH);
	ret = test_bit(CACHE_SET_IO_DISABLE, &dc->disk.c->flags) ?
		-EIO : submit_bio_wait(&flush);
	bio_uninit(&flush);
	atomic_long_inc(&dc->writeback_flushes);
	if (!ret) {
		bch_backing_flushed(dc, seq);
		return;
	}

	pr_err("%pg: flush failed (%d), dirty data stays dirty\n", dc->bdev,
	       ret);
	for (i = 0; i < b->nr; i++)
		if (!b->io[i]->status)
			b->io[i]->status = BLK_STS_IOERR;
}

/* The key goes back clean, unless the btree changed there meanwhile. */
static bool key_mark_clean(struct cache_set *c, struct keybuf_key *w)
{
	struct keylist keys;
	unsigned int i;

	bch_keylist_init(&keys);
	bkey_copy(keys.top, &w->key);
	SET_KEY_DIRTY(keys.top, false);
	bch_keylist_push(&keys);

	/* The insert lets go of a pin per pointer, as for new data. */
	for (i = 0; i < KEY_PTRS(&w->key); i++)
		atomic_inc(&PTR_BUCKET(c, &w->key, i)->pin);

	return !bch_btree_insert(c, &keys, NULL, &w->key);
}

/* Clean what was written and flushed; free the batch. */
static unsigned int batch_finish(struct cached_dev *dc, struct wb_batch *b)
{
	struct cache_set *c = dc->disk.c;
	unsigned int i, failed = 0;

	for (i = 0; i < b->nr; i++) {
		struct wb_io *io = b->io[i];
		bool ok = !io->status && key_mark_clean(c, io->w);

		atomic_long_inc(ok ? &c->writeback_keys_done :
				&c->writeback_keys_failed);
		failed += !ok;
		bch_keybuf_del(&dc->writeback_keys, io->w);
		wb_io_free(io);
	}
	return failed;
}

static bool writeback_should_pause(struct cached_dev *dc)
{
	return kthread_should_stop() ||
	       test_bit(CACHE_SET_IO_DISABLE, &dc->disk.c->flags);
}

/*
 * Between batches, writeback_running 0 holds the thread at once (upstream
 * finishes the keybuf first, up to 500 keys); a detach overrides it.
 */
static bool writeback_held(struct cached_dev *dc)
{
	return writeback_should_pause(dc) ||
	       (!READ_ONCE(dc->writeback_running) &&
		!test_bit(BCACHE_DEV_DETACHING, &dc->disk.flags));
}

/* Sleep @delay jiffies, or less when told to stop. */
static void writeback_sleep(struct cached_dev *dc, unsigned long delay)
{
	while (delay && !writeback_should_pause(dc))
		delay = schedule_timeout_interruptible(delay);
}

/*
 * How much one batch may carry: a second's worth at the current rate
 * (at least one key), all it can when nothing holds writeback back.
 */
static unsigned int batch_budget(struct cached_dev *dc)
{
	long rate = atomic_long_read(&dc->writeback_rate.rate);

	if (!dc->wb.percent ||
	    test_bit(BCACHE_DEV_DETACHING, &dc->disk.flags))
		return WB_BATCH_SECTORS;
	return clamp_t(long, rate, 1, WB_BATCH_SECTORS);
}

/*
 * Write back every key the last refill found. A batch that failed
 * entirely (a backing device that keeps failing) backs off, doubling up
 * to writeback_delay, so the thread does not spin.
 */
static void write_keybuf_back(struct cached_dev *dc)
{
	struct wb_batch *b = kmalloc(sizeof(*b), GFP_KERNEL);
	unsigned long backoff = HZ / 10;

	if (!b)
		return;
	while (!writeback_held(dc)) {
		unsigned int failed;

		batch_gather(dc, b, batch_budget(dc));
		if (!b->nr)
			break;

		batch_read(dc, b);
		if (batch_write(dc, b))
			batch_flush(dc, b);
		failed = batch_finish(dc, b);

		if (failed && failed == b->nr) {
			writeback_sleep(dc, backoff);
			backoff = min_t(unsigned long, backoff * 2,
					max(1U, dc->wb.delay) * HZ);
		} else {
			backoff = HZ / 10;
			writeback_sleep(dc, writeback_delay(dc, b->sectors));
		}
	}
	kfree(b);
}

/* ---------------------------------------------------------------------
 * The thread
 */

/*
 * The thread's attachment reference goes: a detach can finish. Also when
 * a failed set takes no I/O: the detach then finishes without writeback
 * (the data stays in the set, see cached_dev_detach_finish()).
 */
static void writeback_let_go(struct cached_dev *dc)
{
	if (dc->writeback_holds_ref) {
		dc->writeback_holds_ref = false;
		cached_dev_put(dc);
	}
}

static bool writeback_wanted(struct cached_dev *dc)
{
	if (!dc->writeback_holds_ref ||
	    test_bit(CACHE_SET_IO_DISABLE, &dc->disk.c->flags))
		return false;
	return test_bit(BCACHE_DEV_DETACHING, &dc->disk.flags) ||
	       (atomic_read(&dc->has_dirty) &&
		READ_ONCE(dc->writeback_running));
}

/* Nothing dirty is left: say so on disk. Under writeback_lock. */
static void writeback_mark_clean(struct cached_dev *dc)
{
	struct cache_set *c = dc->disk.c;
	struct closure cl;

	closure_init_stack(&cl);
	atomic_set(&dc->has_dirty, 0);
	if (BDEV_STATE(&dc->sb) == BDEV_STATE_DIRTY) {
		SET_BDEV_STATE(&dc->sb, BDEV_STATE_CLEAN);
		bch_write_bdev_super(dc, &cl);
		closure_sync(&cl);
	}

	if (c->gc_after_writeback == (BCH_ENABLE_AUTO_GC | BCH_DO_AUTO_GC)) {
		c->gc_after_writeback &= ~BCH_DO_AUTO_GC;
		force_wake_up_gc(c);
	}
}

/*
 * One round: refill, and if the whole device is clean say so (and end a
 * detach); otherwise write the keys back. True after a full scan.
 */
static bool writeback_round(struct cached_dev *dc)
{
	bool full_scan;

	down_write(&dc->writeback_lock);
	full_scan = refill_dirty(dc);
	if (full_scan && RB_EMPTY_ROOT(&dc->writeback_keys.keys)) {
		writeback_mark_clean(dc);
		if (test_bit(BCACHE_DEV_DETACHING, &dc->disk.flags)) {
			/* The detach finishes when this reference goes. */
			up_write(&dc->writeback_lock);
			writeback_let_go(dc);
			return true;
		}
	}
	up_write(&dc->writeback_lock);

	write_keybuf_back(dc);
	return full_scan;
}

static int writeback_thread(void *arg)
{
	struct cached_dev *dc = arg;

	bch_ratelimit_reset(&dc->writeback_rate);
	while (!kthread_should_stop()) {
		if (test_bit(CACHE_SET_IO_DISABLE, &dc->disk.c->flags) &&
		    test_bit(BCACHE_DEV_DETACHING, &dc->disk.flags))
			writeback_let_go(dc);

		set_current_state(TASK_INTERRUPTIBLE);
		if (!writeback_wanted(dc)) {
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);

		if (writeback_round(dc) &&
		    !test_bit(BCACHE_DEV_DETACHING, &dc->disk.flags)) {
			writeback_sleep(dc, dc->wb.delay * HZ);
			bch_ratelimit_reset(&dc->writeback_rate);
		}
	}
	__set_current_state(TASK_RUNNING);

	writeback_let_go(dc);
	return 0;
}

/* ---------------------------------------------------------------------
 * Counting dirty data at attach
 */

/*
 * A big device's keys are counted by several workers, each taking the
 * keys whose end lies in its slice of the device (a key spanning two
 * slices is counted once, by the slice of its end): as upstream does
 * with its bch_dirtcnt threads, half the CPUs, at most 12 (and at least
 * two, so that the parallel walk is the one every big device takes).
 */
#define DIRTY_COUNT_WORKERS_MAX	12
/* Below this many sectors of backing device, one walk will do. */
#define DIRTY_COUNT_PARALLEL_MIN	BIT_ULL(31)	/* 1 TiB */

struct dirty_count {
	struct btree_op		op;
	struct work_struct	work;
	struct bcache_device	*d;
	u64			from, to;	/* key ends in (from, to] */
	unsigned long		keys;
	int			ret;
	struct completion	*done;
	atomic_t		*left;
};

static int dirty_count_key(struct btree_op *op, struct btree *b,
			   struct bkey *k)
{
	struct dirty_count *dc = container_of(op, struct dirty_count, op);

	if (KEY_INODE(k) > dc->d->id || KEY_OFFSET(k) > dc->to)
		return MAP_DONE;
	if (KEY_DIRTY(k))
		bch_dirty_add(dc->d, KEY_START(k), KEY_SIZE(k));
	if (!(++dc->keys % 4096))
		cond_resched();
	return MAP_CONTINUE;
}

static void dirty_count_slice(struct dirty_count *dc)
{
	bch_btree_op_init(&dc->op, -1);
	dc->ret = bch_btree_map_keys(&dc->op, dc->d->c,
				     &KEY(dc->d->id, dc->from, 0),
				     dirty_count_key, 0);
}

static void dirty_count_work(struct work_struct *work)
{
	struct dirty_count *dc = container_of(work, struct dirty_count, work);

	dirty_count_slice(dc);
	if (atomic_dec_and_test(dc->left))
		complete(dc->done);
}

/* The sectors the device's keys can lie in: its stripes cover them. */
static u64 dirty_count_span(struct bcache_device *d)
{
	return (u64)d->nr_stripes * d->stripe_size;
}

static unsigned int dirty_count_workers(struct bcache_device *d)
{
	unsigned int n = clamp(num_online_cpus() / 2, 2U,
			       (unsigned int)DIRTY_COUNT_WORKERS_MAX);

	return dirty_count_span(d) < DIRTY_COUNT_PARALLEL_MIN ? 1 : n;
}

void bch_sectors_dirty_init(struct bcache_device *d)
{
	DECLARE_COMPLETION_ONSTACK(done);
	unsigned int i, n = dirty_count_workers(d);
	u64 slice = div_u64(dirty_count_span(d), n);
	struct dirty_count *dc;
	atomic_t left;
	int ret = 0;

	bch_dirty_reset(d);
	dc = kcalloc(n, sizeof(*dc), GFP_KERNEL);
	if (!dc) {
		n = 1;
		slice = dirty_count_span(d);
		dc = kzalloc(sizeof(*dc), GFP_KERNEL);
		if (!dc) {
			pr_err("bcache: no memory to count the dirty data of %s\n",
			       d->disk->disk_name);
			return;
		}
	}

	atomic_set(&left, n);
	for (i = 0; i < n; i++) {
		dc[i].d = d;
		dc[i].from = i * slice;
		dc[i].to = i + 1 == n ? MAX_KEY_OFFSET : (i + 1) * slice;
		dc[i].done = &done;
		dc[i].left = &left;
	}
	if (n == 1) {
		dirty_count_slice(dc);
	} else {
		for (i = 0; i < n; i++) {
			INIT_WORK(&dc[i].work, dirty_count_work);
			queue_work(system_unbound_wq, &dc[i].work);
		}
		wait_for_completion(&done);
	}

	for (i = 0; i < n; i++)
		ret = ret ?: min(dc[i].ret, 0);
	kfree(dc);
	if (ret)
		pr_warn("bcache: counting dirty data of %s failed: %d\n",
			d->disk->disk_name, ret);
}

/* ---------------------------------------------------------------------
 * Starting and stopping
 */

void bch_cached_dev_writeback_init(struct cached_dev *dc)
{
	init_rwsem(&dc->writeback_lock);
	spin_lock_init(&dc->dirty_mark_lock);
	bch_keybuf_init(&dc->writeback_keys);
	/* Nothing known about what came before: the first flush goes down. */
	atomic64_set(&dc->backing_writes, 1);
	atomic64_set(&dc->backing_flushed, 0);
	INIT_DELAYED_WORK(&dc->writeback_rate_update, writeback_rate_update);
}

/* With dc attached and dc->writeback_lock held for write. */
int bch_cached_dev_writeback_start(struct cached_dev *dc)
{
	struct task_struct *t;

	if (!cached_dev_get(dc))
		return -ENOENT;
	dc->writeback_holds_ref = true;
	bch_keybuf_init(&dc->writeback_keys);

	t = kthread_create(writeback_thread, dc, "bcache_writeback");
	if (IS_ERR(t)) {
		dc->writeback_holds_ref = false;
		cached_dev_put(dc);
		return PTR_ERR(t);
	}
	/* Held for kthread_stop(), which may come after the thread ended. */
	get_task_struct(t);
	WRITE_ONCE(dc->writeback_thread, t);
	dc->writeback_running = true;
	dc->writeback_rate_integral = 0;

	schedule_delayed_work(&dc->writeback_rate_update,
			      dc->wb.update_seconds * HZ);
	wake_up_process(t);
	return 0;
}

void bch_cached_dev_writeback_stop(struct cached_dev *dc)
{
	struct task_struct *t = READ_ONCE(dc->writeback_thread);

	if (!t)
		return;
	/* Stops the rate updates from queueing themselves again. */
	WRITE_ONCE(dc->writeback_thread, NULL);
	cancel_delayed_work_sync(&dc->writeback_rate_update);
	kthread_stop(t);
	put_task_struct(t);
}

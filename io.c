// SPDX-License-Identifier: GPL-2.0
/*
 * Bios to the devices under bcache, and what their completions tell us.
 *
 * Every bio to a cache device is a bbio: the bio plus the single-pointer
 * key it was issued for and the time it left, so its completion can be
 * charged to the right device and its latency can feed the congestion
 * estimate the request path consults before caching (c->congested). Small
 * metadata bbios come from c->bio_meta; data bbios are split off other
 * bios in bio_sets whose front pad is the bbio header.
 *
 * Errors are counted per device. A cache device keeps a decaying count
 * (io_errors, scaled by 2^IO_ERROR_SHIFT, multiplied by 127/128 every
 * error_decay I/Os) and takes the whole cache set down when it reaches
 * error_limit. A backing device counts plainly: up to its error limit each
 * failure is logged; the one that reaches it disables I/O to the device
 * and stops it, since a backing disk that keeps failing is better taken
 * away than retried forever. Both run in bio completion context, so they
 * only request the stop; the teardown happens later on a workqueue.
 *
 * Superblock writes live here too, low enough for every layer that
 * changes a superblock (writeback marks a backing device dirty and clean,
 * registration attaches and detaches): one bio from the superblock's own
 * page, serialized per superblock by a semaphore, and never a superblock
 * that bch_sb_verify() would refuse at the next registration.
 */

#include "bcache.h"
#include "io.h"
#include "sb.h"
#include "set.h"
#include "util.h"

#include <linux/bio.h>
#include <linux/blkdev.h>

/* ---- bbios ---- */

static struct bbio *to_bbio(struct bio *bio)
{
	return container_of(bio, struct bbio, bio);
}

void bch_bbio_free(struct bio *bio, struct cache_set *c)
{
	mempool_free(to_bbio(bio), &c->bio_meta);
}

/* A metadata bbio with room for one meta bucket's worth of pages. */
struct bio *bch_bbio_alloc(struct cache_set *c)
{
	struct bbio *b = mempool_alloc(&c->bio_meta, GFP_NOIO);

	bio_init(&b->bio, NULL, b->bio.bi_inline_vecs,
		 meta_bucket_pages(&c->cache->sb), 0);
	return &b->bio;
}

/* Stamp @b for the congestion tracking and send it to the cache device. */
static void bbio_send(struct cache_set *c, struct bbio *b)
{
	b->submit_time_us = bch_clock_us();
	closure_bio_submit(c, &b->bio, b->bio.bi_private);
}

/*
 * Send a bbio whose key is already set to where that key's first pointer
 * points; bi_private is the closure its end_io will put.
 */
void __bch_submit_bbio(struct bio *bio, struct cache_set *c)
{
	struct bbio *b = to_bbio(bio);

	bio_set_dev(bio, c->cache->bdev);
	bio->bi_iter.bi_sector = PTR_OFFSET(&b->key, 0);
	bbio_send(c, b);
}

/* Send @bio to pointer @ptr of @k (the bbio keeps a copy of just that). */
void bch_submit_bbio(struct bio *bio, struct cache_set *c,
		     struct bkey *k, unsigned int ptr)
{
	struct bbio *b = to_bbio(bio);

	bch_bkey_copy_single_ptr(&b->key, k, ptr);
	__bch_submit_bbio(bio, c);
}

/*
 * A copy of a key's data through memory (writeback, moving gc): a bbio
 * with @sectors worth of pages of its own, its bvecs inline after it
 * (the caller allocated room for them). It holds a reference of its own,
 * so the bch_bbio_endio() of the read leaves it for the write, which
 * bch_copy_bbio_rewind() points at where the data goes. 0 or -ENOMEM.
 */
int bch_copy_bbio_init(struct bbio *b, unsigned int sectors, bool idle)
{
	unsigned short pages = DIV_ROUND_UP(sectors, PAGE_SECTORS);
	struct bio *bio = &b->bio;

	bio_init(bio, NULL, bio->bi_inline_vecs, pages, REQ_OP_READ);
	bio_get(bio);
	bio->bi_iter.bi_size = sectors << SECTOR_SHIFT;
	if (idle)
		bio_set_prio(bio, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
	if (bch_bio_alloc_pages(bio, GFP_KERNEL)) {
		bio_uninit(bio);
		return -ENOMEM;
	}
	return 0;
}

void bch_copy_bbio_rewind(struct bbio *b, struct block_device *bdev,
			  u64 sector, unsigned int sectors)
{
	struct bio *bio = &b->bio;

	bio_reset(bio, bdev, REQ_OP_WRITE);
	bio->bi_iter.bi_sector = sector;
	bio->bi_iter.bi_size = sectors << SECTOR_SHIFT;
	bio->bi_vcnt = DIV_ROUND_UP(bio->bi_iter.bi_size, PAGE_SIZE);
	bch_bio_map(bio, NULL);
}

void bch_copy_bbio_release(struct bbio *b)
{
	struct bio_vec *bv;
	struct bvec_iter_all iter;

	bio_for_each_segment_all(bv, &b->bio, iter)
		__free_page(bv->bv_page);
	bio_uninit(&b->bio);
}

/* ---- cache device errors ---- */

/* errors *= 127/128, without losing an error counted meanwhile */
static void scale_down_errors(atomic_t *errors)
{
	int cur = atomic_read(errors);
	int scaled;

	do {
		scaled = (u64)(unsigned int)cur * 127 / 128;
	} while (!atomic_try_cmpxchg(errors, &cur, scaled));
}

/*
 * Every error_decay I/Os the error count loses 1/128 of itself, so an
 * error's weight halves after about 88 * error_decay I/Os: a device with
 * a rare bad sector keeps working, one that fails steadily does not.
 *
 * The I/O count is brought back under error_decay with a cmpxchg so that
 * concurrent completions each take off at most one period, and only the
 * one that succeeded decays the errors for that period.
 */
static void decay_io_errors(struct cache *ca, unsigned int period)
{
	unsigned int count = atomic_inc_return(&ca->io_count);

	while (count > period) {
		unsigned int seen = count;

		count = atomic_cmpxchg(&ca->io_count, seen, seen - period);
		if (count != seen)
			continue;	/* somebody else moved it; look again */

		count = seen - period;
		scale_down_errors(&ca->io_errors);
	}
}

static void note_cache_io_error(struct cache *ca, bool is_read,
				const char *what)
{
	unsigned int weight = atomic_add_return(1 << IO_ERROR_SHIFT,
						&ca->io_errors) >> IO_ERROR_SHIFT;

	if (weight >= READ_ONCE(ca->set->error_limit)) {
		bch_cache_set_error(ca->set, "%pg: too many IO errors %s\n",
				    ca->bdev, what);
		return;
	}
	pr_err("%pg: IO error on %s%s\n", ca->bdev, what,
	       is_read ? ", recovering." : ".");
}

/* Account one completed I/O of @ca, failed if @error; @m says what it was. */
void bch_count_io_errors(struct cache *ca, blk_status_t error,
			 int is_read, const char *m)
{
	unsigned int period = READ_ONCE(ca->set->error_decay);

	if (period)
		decay_io_errors(ca, period);
	if (error)
		note_cache_io_error(ca, is_read, m);
}

/*
 * Congestion of the cache device, as the request path reads it: c->congested
 * is zero while the device keeps up and goes negative by about a
 * millisecond for every millisecond an I/O exceeded its threshold (never
 * below -CONGESTED_MAX); each I/O that is fast enough again earns one back.
 */
static void track_congestion(struct cache_set *c, struct bbio *b,
			     bool write)
{
	unsigned int limit = write ? READ_ONCE(c->congested_write_threshold_us) :
				     READ_ONCE(c->congested_read_threshold_us);
	unsigned int now;
	int congested, took_us, penalty_ms;

	if (!limit)
		return;

	now = bch_clock_us();
	took_us = now - b->submit_time_us;
	congested = atomic_read(&c->congested);

	if (took_us <= (int)limit) {
		if (congested < 0)
			atomic_inc(&c->congested);
		return;
	}

	WRITE_ONCE(c->congested_last_us, now);
	penalty_ms = min(took_us / 1024, CONGESTED_MAX + congested);
	atomic_sub(penalty_ms, &c->congested);
}

void bch_bbio_count_io_errors(struct cache_set *c, struct bio *bio,
			      blk_status_t error, const char *m)
{
	bool write = op_is_write(bio_op(bio));

	track_congestion(c, to_bbio(bio), write);
	bch_count_io_errors(c->cache, error, !write, m);
}

/* The usual end of a bbio: account it, free it, release its closure. */
void bch_bbio_endio(struct cache_set *c, struct bio *bio,
		    blk_status_t error, const char *m)
{
	struct closure *parent = bio->bi_private;
	bool write = op_is_write(bio_op(bio));

	track_congestion(c, to_bbio(bio), write);
	bch_count_io_errors(c->cache, error, !write, m);
	bio_put(bio);
	closure_put(parent);
}

/* ---- backing device errors ---- */

static void cached_dev_fail(struct cached_dev *dc)
{
	if (test_bit(BCACHE_DEV_CLOSING, &dc->disk.flags))
		return;

	WRITE_ONCE(dc->io_disable, true);
	/* New bios see io_disable before the device starts going away. */
	smp_mb();

	pr_err("stop %s: too many IO errors on backing device %pg\n",
	       dc->disk.disk->disk_name, dc->bdev);
	bcache_device_stop(&dc->disk);
}

/* Account the failure of @bio, a bio to @dc's backing device. */
void bch_count_backing_io_errors(struct cached_dev *dc, struct bio *bio)
{
	unsigned int errors;

	/*
	 * md fails readahead to a degraded array on purpose; that says
	 * nothing about the health of the disk.
	 */
	if (bio->bi_opf & REQ_RAHEAD) {
		pr_warn_ratelimited("%pg: Read-ahead I/O failed on backing device, ignore\n",
				    dc->bdev);
		return;
	}

	errors = atomic_inc_return(&dc->io_errors);
	if (errors < READ_ONCE(dc->error_limit))
		pr_err_ratelimited("%pg: IO error on backing device, unrecoverable\n",
				   dc->bdev);
	else
		cached_dev_fail(dc);
}

/* ---- superblock writes ---- */

/*
 * Both kinds of superblock go out the same way: @sb (already encoded) from
 * its own page to sector SB_SECTOR of @bdev, as one REQ_META bio held by
 * @cl until it completes. It is durable when it completes (FUA), and
 * after everything written before it (PREFLUSH): a backing device's state
 * turns clean only after the data written back, and a write waiting for
 * the DIRTY state must not see it sit in the disk's volatile cache.
 *
 * The bio is embedded and set up afresh by each write; its end_io ends it
 * with bio_uninit(), as the bio API asks (see journal_read_endio()).
 */
static void submit_sb_write(struct bio *bio, struct bio_vec *bv,
			    unsigned short nr_bv, struct block_device *bdev,
			    struct cache_sb_disk *sb, bio_end_io_t *endio,
			    void *private, struct closure *cl)
{
	bio_init(bio, bdev, bv, nr_bv,
		 REQ_OP_WRITE | REQ_SYNC | REQ_META | REQ_PREFLUSH | REQ_FUA);
	bio->bi_iter.bi_sector = SB_SECTOR;
	__bio_add_page(bio, virt_to_page(sb), SB_SIZE, offset_in_page(sb));
	bio->bi_end_io = endio;
	bio->bi_private = private;

	closure_get(cl);
	submit_bio(bio);
}

/*
 * A superblock that would not pass registration's checks is never written:
 * a bug in what the driver changed must not leave a device that no longer
 * registers. The old superblock stays on disk.
 */
static bool sb_write_refused(struct block_device *bdev,
			     const struct cache_sb *sb)
{
	struct bch_sb_dev_info dev = {
		.capacity		= bdev_nr_sectors(bdev),
		.logical_block_size	= bdev_logical_block_size(bdev),
	};
	const char *why;

	if (!bch_sb_verify(sb, &dev, &why))
		return false;
	pr_err("%pg: not writing a superblock that would not register: %s\n",
	       bdev, why);
	return true;
}

static void bdev_sb_write_endio(struct bio *bio)
{
	struct cached_dev *dc = bio->bi_private;

	if (bio->bi_status)
		bch_count_backing_io_errors(dc, bio);
	bio_uninit(bio);
	closure_put(&dc->sb_write);
}

static CLOSURE_CALLBACK(bdev_sb_write_done)
{
	closure_type(dc, struct cached_dev, sb_write);

	up(&dc->sb_write_mutex);
	/* May free dc: nothing of it is touched after this. */
	closure_put(&dc->disk.cl);
}

/**
 * bch_write_bdev_super() - write @dc's superblock from dc->sb
 * @dc:		a registered backing device
 * @parent:	closure that waits for the write, or NULL not to wait
 *
 * Writes are serialized: this sleeps until the previous one is done.
 *
 * The write holds a reference on the device closure from here until its
 * bio has completed and the write has let go of sb_write and
 * sb_write_mutex. A device stopped meanwhile (say `label` and then `stop`
 * written back to back) is therefore freed only after the write is
 * entirely over: the bio, the closure and the semaphore all live in @dc.
 */
void bch_write_bdev_super(struct cached_dev *dc, struct closure *parent)
{
	down(&dc->sb_write_mutex);
	closure_get(&dc->disk.cl);
	closure_init(&dc->sb_write, parent);

	if (!sb_write_refused(dc->bdev, &dc->sb)) {
		bch_sb_encode(dc->sb_disk, &dc->sb);
		submit_sb_write(&dc->sb_bio, dc->sb_bv, ARRAY_SIZE(dc->sb_bv),
				dc->bdev, dc->sb_disk, bdev_sb_write_endio, dc,
				&dc->sb_write);
	}

	closure_return_with_destructor(&dc->sb_write, bdev_sb_write_done);
}

/*
 * The cache device's superblock. As for a backing device, writes are
 * serialized by a semaphore; the write is a child of the set's closure, so
 * a set stopped while its superblock is being written is freed only once
 * the bio has completed and the semaphore is released.
 */

static void cache_sb_write_endio(struct bio *bio)
{
	struct cache *ca = bio->bi_private;

	bch_count_io_errors(ca, bio->bi_status, 0, "writing superblock");
	bio_uninit(bio);
	closure_put(&ca->set->sb_write);
}

static CLOSURE_CALLBACK(cache_sb_write_done)
{
	closure_type(c, struct cache_set, sb_write);

	up(&c->sb_write_mutex);
}

/**
 * bch_write_super_hold() - keep every other write of @c's superblock back
 * @c:	a cache set with its cache device
 *
 * For a flag that must reach the disk only after the metadata it vouches
 * for: the caller changes the flag in ca->sb, writes that metadata, then
 * calls bch_write_super_held(). Sleeps until the previous write is done.
 */
void bch_write_super_hold(struct cache_set *c)
{
	down(&c->sb_write_mutex);
}

/**
 * bch_write_super_held() - write the superblock, bch_write_super_hold() taken
 * @c:	a cache set with its cache device
 *
 * Lets other writers go once the write has completed. Does not wait.
 */
void bch_write_super_held(struct cache_set *c)
{
	struct cache *ca = c->cache;

	closure_init(&c->sb_write, &c->cl);

	ca->sb.seq++;
	/* What we write is the uuid format of version 3 and later. */
	if (ca->sb.version < BCACHE_SB_VERSION_CDEV_WITH_UUID)
		ca->sb.version = BCACHE_SB_VERSION_CDEV_WITH_UUID;
	if (sb_write_refused(ca->bdev, &ca->sb)) {
		cache_bug(c, "bad superblock not written");
	} else {
		bch_sb_encode(ca->sb_disk, &ca->sb);
		submit_sb_write(&ca->sb_bio, ca->sb_bv, ARRAY_SIZE(ca->sb_bv),
				ca->bdev, ca->sb_disk, cache_sb_write_endio, ca,
				&c->sb_write);
	}

	closure_return_with_destructor(&c->sb_write, cache_sb_write_done);
}

/**
 * bch_write_super() - write the superblock of @c's cache device from ca->sb
 * @c:	a cache set with its cache device
 *
 * Bumps the sequence number. Does not wait for the write; sleeps until the
 * previous one is done.
 */
void bch_write_super(struct cache_set *c)
{
	bch_write_super_hold(c);
	bch_write_super_held(c);
}

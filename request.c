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
 *
 * Each clone holds a reference on the device closure, so the device (and
 * the bio_set the clone came from) outlives every bio in flight.
 */

#include "bcache.h"
#include "request.h"

#include <linux/blkdev.h>

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

/* block_device_operations.submit_bio of every bcacheN backed by a disk */
void bch_cached_dev_submit_bio(struct bio *bio)
{
	struct bcache_device *d = bio->bi_bdev->bd_disk->private_data;
	struct cached_dev *dc = to_cached_dev(d);
	unsigned long start_time;

	if (unlikely(READ_ONCE(dc->io_disable))) {
		bio_io_error(bio);
		return;
	}

	start_time = bio_start_io_acct(bio);

	if (backing_ignores(dc, bio))
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
	return bioset_init(&dc->disk.bio_passthru, 4,
			   offsetof(struct passthru_io, clone),
			   BIOSET_NEED_RESCUER);
}

/* Called only once no bio of @dc is in flight (see the file comment). */
void bch_cached_dev_request_exit(struct cached_dev *dc)
{
	bioset_exit(&dc->disk.bio_passthru);
}

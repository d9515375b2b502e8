// SPDX-License-Identifier: GPL-2.0
/*
 * volcache: a RAM disk with a volatile write cache, for crash tests (a
 * test device, never part of bcache.ko).
 *
 * The guest kernel has no dm-log-writes, and a virtio disk under QEMU
 * keeps every completed write. This disk behaves like one with a write
 * cache that a power cut empties, so a test can tell whether a driver on
 * top of it flushes before it relies on its writes being durable
 * (tests/vm/wb_flush_order.sh).
 *
 * /dev/volcache0, size_mb MiB, keeps two stores of pages:
 * - writes land in the volatile store, and reads see them at once (the
 *   volatile copy of a page if there is one, else the durable one, else
 *   zeroes);
 * - REQ_PREFLUSH moves the whole volatile store to the durable one before
 *   the bio's data is written; REQ_FUA moves the pages the bio wrote
 *   once it is done. A disk may make more durable than asked, so a page
 *   moves whole, with whatever else was written to it;
 * - writing 1 to /sys/module/volcache/parameters/crash is the power cut:
 *   the volatile store is thrown away, and reads see the durable data.
 *
 * Read-only parameters count what happened: flushes (PREFLUSH bios), fua
 * (FUA bios) and lost_pages (pages the power cuts dropped). The disk
 * advertises a write cache with FUA, so that the block layer passes both
 * flags down instead of completing them itself. Pages are allocated on
 * first write; one mutex covers the stores, I/O being synchronous.
 */
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/xarray.h>

static unsigned int size_mb = 256;
module_param(size_mb, uint, 0444);
MODULE_PARM_DESC(size_mb, "Size of /dev/volcache0 in MiB");

static unsigned long flushes;
module_param(flushes, ulong, 0444);
MODULE_PARM_DESC(flushes, "PREFLUSH bios completed");

static unsigned long fua;
module_param(fua, ulong, 0444);
MODULE_PARM_DESC(fua, "FUA bios completed");

static unsigned long lost_pages;
module_param(lost_pages, ulong, 0444);
MODULE_PARM_DESC(lost_pages, "Volatile pages dropped by power cuts");

static DEFINE_MUTEX(vc_lock);
static DEFINE_XARRAY(vc_durable);
static DEFINE_XARRAY(vc_volatile);
static struct gendisk *vc_disk;

/* Frees every page of @xa and returns how many there were. */
static unsigned long vc_drop_store(struct xarray *xa)
{
	unsigned long idx, n = 0;
	struct page *page;

	xa_for_each(xa, idx, page) {
		__free_page(page);
		n++;
	}
	xa_destroy(xa);
	return n;
}

/* Makes volatile page @idx durable, if there is one. */
static int vc_persist(pgoff_t idx)
{
	struct page *page = xa_load(&vc_volatile, idx);
	struct page *old;

	if (!page)
		return 0;
	old = xa_store(&vc_durable, idx, page, GFP_NOIO);
	if (xa_is_err(old))
		return xa_err(old);
	if (old)
		__free_page(old);
	xa_erase(&vc_volatile, idx);
	return 0;
}

static int vc_flush(void)
{
	struct page *page;
	unsigned long idx;
	int err;

	xa_for_each(&vc_volatile, idx, page) {
		err = vc_persist(idx);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The volatile page @idx, made on first write from the durable one, so
 * that a partial write keeps the rest of the page.
 */
static struct page *vc_volatile_page(pgoff_t idx)
{
	struct page *page = xa_load(&vc_volatile, idx);
	struct page *durable, *old;

	if (page)
		return page;
	page = alloc_page(GFP_NOIO);
	if (!page)
		return NULL;
	durable = xa_load(&vc_durable, idx);
	if (durable)
		copy_highpage(page, durable);
	else
		clear_highpage(page);
	old = xa_store(&vc_volatile, idx, page, GFP_NOIO);
	if (xa_is_err(old)) {
		__free_page(page);
		return NULL;
	}
	return page;
}

/* Copies one segment (within one page of memory) to or from the disk. */
static int vc_copy(const struct bio_vec *bv, sector_t sector, bool write)
{
	unsigned int done = 0;

	while (done < bv->bv_len) {
		pgoff_t idx = sector >> PAGE_SECTORS_SHIFT;
		size_t off = (sector & (PAGE_SECTORS - 1)) << SECTOR_SHIFT;
		size_t len = min_t(size_t, bv->bv_len - done, PAGE_SIZE - off);
		size_t at = bv->bv_offset + done;
		struct page *page;

		if (write) {
			page = vc_volatile_page(idx);
			if (!page)
				return -ENOMEM;
			memcpy_from_page(page_address(page) + off, bv->bv_page,
					 at, len);
		} else {
			page = xa_load(&vc_volatile, idx);
			if (!page)
				page = xa_load(&vc_durable, idx);
			if (page)
				memcpy_to_page(bv->bv_page, at,
					       page_address(page) + off, len);
			else
				memzero_page(bv->bv_page, at, len);
		}
		done += len;
		sector += len >> SECTOR_SHIFT;
	}
	return 0;
}

static void vc_submit_bio(struct bio *bio)
{
	bool write = bio_op(bio) == REQ_OP_WRITE;
	sector_t sector = bio->bi_iter.bi_sector;
	struct bvec_iter iter;
	struct bio_vec bv;
	pgoff_t idx;
	int err = 0;

	/* Discard and the like are not advertised. */
	if (!write && bio_op(bio) != REQ_OP_READ) {
		bio_io_error(bio);
		return;
	}

	mutex_lock(&vc_lock);
	if (bio->bi_opf & REQ_PREFLUSH) {
		err = vc_flush();
		flushes++;
	}
	bio_for_each_segment(bv, bio, iter) {
		if (err)
			break;
		err = vc_copy(&bv, sector, write);
		sector += bv.bv_len >> SECTOR_SHIFT;
	}
	if (write && (bio->bi_opf & REQ_FUA) && !err) {
		for (idx = bio->bi_iter.bi_sector >> PAGE_SECTORS_SHIFT;
		     idx << PAGE_SECTORS_SHIFT < sector && !err; idx++)
			err = vc_persist(idx);
		fua++;
	}
	mutex_unlock(&vc_lock);

	bio->bi_status = errno_to_blk_status(err);
	bio_endio(bio);
}

static const struct block_device_operations vc_fops = {
	.owner		= THIS_MODULE,
	.submit_bio	= vc_submit_bio,
};

/* The power cut: whatever was not flushed is gone. */
static int vc_crash_set(const char *val, const struct kernel_param *kp)
{
	bool crash;
	int err;

	err = kstrtobool(val, &crash);
	if (err || !crash)
		return err;
	mutex_lock(&vc_lock);
	lost_pages += vc_drop_store(&vc_volatile);
	mutex_unlock(&vc_lock);
	return 0;
}

static const struct kernel_param_ops vc_crash_ops = {
	.set = vc_crash_set,
};
module_param_cb(crash, &vc_crash_ops, NULL, 0200);
MODULE_PARM_DESC(crash, "Write 1 to drop every unflushed write");

static int __init vc_init(void)
{
	struct queue_limits lim = {
		.features = BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA,
	};
	struct gendisk *disk;
	int err;

	if (!size_mb)
		return -EINVAL;
	disk = blk_alloc_disk(&lim, NUMA_NO_NODE);
	if (IS_ERR(disk))
		return PTR_ERR(disk);
	/* No major and no minors: add_disk() gives it a dynamic dev_t. */
	disk->fops = &vc_fops;
	disk->flags |= GENHD_FL_NO_PART;
	strscpy(disk->disk_name, "volcache0", DISK_NAME_LEN);
	set_capacity(disk, (sector_t)size_mb << (20 - SECTOR_SHIFT));
	err = add_disk(disk);
	if (err) {
		put_disk(disk);
		return err;
	}
	vc_disk = disk;
	return 0;
}

static void __exit vc_exit(void)
{
	del_gendisk(vc_disk);
	put_disk(vc_disk);
	vc_drop_store(&vc_volatile);
	vc_drop_store(&vc_durable);
}

module_init(vc_init);
module_exit(vc_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("RAM disk with a volatile write cache, for crash tests");

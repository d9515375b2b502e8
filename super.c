// SPDX-License-Identifier: GPL-2.0
/*
 * Registration and lifetime of bcache devices, and the module itself.
 *
 * A device path written to /sys/fs/bcache/register goes through three
 * steps. First it is opened shared, read-only, and its superblock (sector
 * 8) is read and checked by bch_sb_decode(); a bad superblock is refused
 * there, before anything else is allocated. Then it is reopened for writing
 * and claimed exclusively, with the new device object as holder: of two
 * concurrent registrations of one device exactly one gets the claim, the
 * other -EBUSY. Last, the device object is set up (gendisk, sysfs
 * directory under the backing device, list of registered devices) and, if
 * its superblock says it holds no dirty data of a missing cache, bcacheN is
 * added.
 *
 * The global bch_register_lock is taken only to add a device to or remove
 * it from the list of registered devices. Reading the superblock,
 * add_disk() (which scans partitions, so does I/O) and del_gendisk() all
 * run without it: registering or stopping one slow device never holds up
 * another one.
 *
 * Teardown is driven by the device closure (see bcache.h): stopping runs
 * cached_dev_flush(), which hides the device, and cached_dev_free() runs
 * once every opener, bio and superblock write is gone, on bcache_wq. Each
 * registered device holds a reference on the module, dropped as the very
 * last step of that free, so the module cannot be unloaded while a device
 * exists (rmmod says it is in use, as with upstream); module exit destroys
 * bcache_wq, which waits until that last free has returned.
 */

#include "bcache.h"
#include "request.h"
#include "sb.h"

#include <linux/blkdev.h>
#include <linux/cleanup.h>
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/reboot.h>
#include <linux/sysfs.h>
#include <linux/wait.h>

DEFINE_MUTEX(bch_register_lock);	/* the list below; see bcache.h */
struct workqueue_struct *bcache_wq;

/* Writeback cutoffs, in percent of the cache; used by writeback, later. */
unsigned int bch_cutoff_writeback;
module_param(bch_cutoff_writeback, uint, 0);
MODULE_PARM_DESC(bch_cutoff_writeback, "threshold to cutoff writeback");

unsigned int bch_cutoff_writeback_sync;
module_param(bch_cutoff_writeback_sync, uint, 0);
MODULE_PARM_DESC(bch_cutoff_writeback_sync, "hard threshold to cutoff writeback");

/* Registered backing devices (cached_dev.list), under bch_register_lock. */
static LIST_HEAD(uncached_devices);
/*
 * How many devices exist, up to the end of their free, and how many have
 * been freed so far; unregister_wait is woken at each free.
 */
static atomic_t nr_devices = ATOMIC_INIT(0);
static atomic_t nr_freed = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(unregister_wait);

/* How long registering waits for a stopping device to let go of its disk. */
#define REGISTER_STOPPING_WAIT	(10 * HZ)

static DEFINE_IDA(bcache_device_idx);
static int bcache_major;
static bool bcache_is_reboot;
static struct kobject *bcache_kobj;
static struct dentry *bcache_debug;

/* Seconds a backing device may be offline before bcacheN gives up on it. */
#define BACKING_DEV_OFFLINE_TIMEOUT	5

bool bcache_rebooting(void)
{
	return READ_ONCE(bcache_is_reboot);
}

/* Superblock writes */

static void bdev_sb_write_endio(struct bio *bio)
{
	struct cached_dev *dc = bio->bi_private;

	if (bio->bi_status)
		bch_count_backing_io_errors(dc, bio);
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
	struct bio *bio = &dc->sb_bio;

	down(&dc->sb_write_mutex);
	closure_get(&dc->disk.cl);
	closure_init(&dc->sb_write, parent);

	bch_sb_encode(dc->sb_disk, &dc->sb);

	bio_init(bio, dc->bdev, dc->sb_bv, ARRAY_SIZE(dc->sb_bv),
		 REQ_OP_WRITE | REQ_SYNC | REQ_META);
	bio->bi_iter.bi_sector = SB_SECTOR;
	__bio_add_page(bio, virt_to_page(dc->sb_disk), SB_SIZE,
		       offset_in_page(dc->sb_disk));
	bio->bi_end_io = bdev_sb_write_endio;
	bio->bi_private = dc;

	closure_get(&dc->sb_write);
	submit_bio(bio);

	closure_return_with_destructor(&dc->sb_write, bdev_sb_write_done);
}

/* bcacheN: the block device */

/*
 * Every opener of bcacheN holds a reference on the device closure. The
 * test of CLOSING and the get are one step under open_lock, and
 * bcache_device_stop() sets CLOSING under it too: once a stop has begun,
 * the free function can only be waiting for references it can see.
 */
static int bcache_open(struct gendisk *disk, blk_mode_t mode)
{
	struct bcache_device *d = disk->private_data;
	bool closing;

	spin_lock_irq(&d->open_lock);
	closing = test_bit(BCACHE_DEV_CLOSING, &d->flags);
	if (!closing)
		closure_get(&d->cl);
	spin_unlock_irq(&d->open_lock);

	return closing ? -ENXIO : 0;
}

static void bcache_release(struct gendisk *disk)
{
	closure_put(&((struct bcache_device *)disk->private_data)->cl);
}

static const struct block_device_operations bcache_cached_ops = {
	.owner		= THIS_MODULE,
	.open		= bcache_open,
	.release	= bcache_release,
	.submit_bio	= bch_cached_dev_submit_bio,
	.ioctl		= bch_cached_dev_ioctl,
};

/*
 * Dirty data will be counted per stripe of the backing device (its optimal
 * I/O size, at least 4 MiB; one huge stripe when it has none).
 */
static int bcache_device_stripes_init(struct bcache_device *d,
				      sector_t sectors,
				      struct block_device *bdev)
{
	unsigned int io_opt = bdev_io_opt(bdev) >> SECTOR_SHIFT;
	u64 n;

	if (!io_opt)
		d->stripe_size = 1U << 31;
	else if (io_opt < BCH_MIN_STRIPE_SZ)
		d->stripe_size = roundup(BCH_MIN_STRIPE_SZ, io_opt);
	else
		d->stripe_size = io_opt;

	n = DIV_ROUND_UP_ULL(sectors, d->stripe_size);
	if (!n || n > INT_MAX) {
		pr_err("nr_stripes too large or invalid: %llu (start sector beyond end of disk?)\n",
		       n);
		return -EINVAL;
	}
	d->nr_stripes = n;

	d->stripe_sectors_dirty = kvcalloc(n, sizeof(atomic_t), GFP_KERNEL);
	d->full_dirty_stripes = kvcalloc(BITS_TO_LONGS(n),
					 sizeof(unsigned long), GFP_KERNEL);
	if (!d->stripe_sectors_dirty || !d->full_dirty_stripes)
		return -ENOMEM;
	return 0;
}

/*
 * bcacheN takes I/O in units of the superblock's block size: requests of
 * any size (the backing device splits what it must), flushes and FUA, and
 * discards (see request.c for backing devices that have none).
 */
static void bcache_device_limits(struct queue_limits *lim,
				 unsigned int block_size,
				 struct block_device *bdev)
{
	lim->logical_block_size = block_size;
	lim->physical_block_size = block_size;
	lim->io_min = block_size;
	lim->io_opt = umax(block_size, bdev_io_opt(bdev));

	lim->max_segments = BIO_MAX_VECS;
	lim->max_segment_size = UINT_MAX;
	lim->max_hw_sectors = UINT_MAX;
	lim->max_sectors = UINT_MAX;
	lim->max_hw_discard_sectors = UINT_MAX;

	lim->features = BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA;
}

static int bcache_device_init(struct bcache_device *d, unsigned int block_size,
			      sector_t sectors, struct block_device *bdev,
			      const struct block_device_operations *ops)
{
	struct queue_limits lim = {};
	struct gendisk *disk;
	int idx, ret;

	ret = bcache_device_stripes_init(d, sectors, bdev);
	if (ret)
		return ret;

	idx = ida_alloc_max(&bcache_device_idx, BCACHE_DEVICE_IDX_MAX - 1,
			    GFP_KERNEL);
	if (idx < 0)
		return idx;

	bcache_device_limits(&lim, block_size, bdev);
	disk = blk_alloc_disk(&lim, NUMA_NO_NODE);
	if (IS_ERR(disk)) {
		ida_free(&bcache_device_idx, idx);
		return PTR_ERR(disk);
	}

	snprintf(disk->disk_name, DISK_NAME_LEN, "bcache%i", idx);
	disk->major = bcache_major;
	disk->first_minor = idx * BCACHE_MINORS;
	disk->minors = BCACHE_MINORS;
	disk->fops = ops;
	disk->private_data = d;
	set_capacity(disk, sectors);

	d->disk = disk;
	return 0;
}

/* Undoes bcache_device_init(), however far it got; bcacheN is not live. */
static void bcache_device_free(struct bcache_device *d)
{
	if (d->disk) {
		int idx = d->disk->first_minor / BCACHE_MINORS;

		pr_info("%s stopped\n", d->disk->disk_name);
		put_disk(d->disk);
		ida_free(&bcache_device_idx, idx);
		d->disk = NULL;
	}

	kvfree(d->full_dirty_stripes);
	kvfree(d->stripe_sectors_dirty);
}

/* Backing devices */

/*
 * The logical block size of bcacheN is the superblock's block size, which
 * bch_sb_decode() made sure is no smaller than the backing device's. Old
 * (version 1) superblocks may give one the block layer cannot take; the
 * backing device's own is used then.
 */
static unsigned int cached_dev_block_size(struct cached_dev *dc)
{
	unsigned int bytes = (unsigned int)dc->sb.block_size << SECTOR_SHIFT;

	if (!blk_validate_block_size(bytes))
		return bytes;

	pr_info("%pg: sb/logical block size (%u) greater than page size (%lu) falling back to device logical block size (%u)\n",
		dc->bdev, bytes, PAGE_SIZE, bdev_logical_block_size(dc->bdev));
	return bdev_logical_block_size(dc->bdev);
}

void bch_cached_dev_uevent(struct cached_dev *dc)
{
	char label[SB_LABEL_SIZE + 1];
	char *envp[4] = { "DRIVER=bcache" };

	memcpy(label, dc->sb.label, SB_LABEL_SIZE);
	label[SB_LABEL_SIZE] = '\0';

	/* udev names /dev/bcache/by-uuid and by-label links after these. */
	envp[1] = kasprintf(GFP_KERNEL, "CACHED_UUID=%pU", dc->sb.uuid);
	envp[2] = kasprintf(GFP_KERNEL, "CACHED_LABEL=%s", label);
	if (envp[1] && envp[2])
		kobject_uevent_env(&disk_to_dev(dc->disk.disk)->kobj,
				   KOBJ_CHANGE, envp);
	kfree(envp[2]);
	kfree(envp[1]);
}

/*
 * A device whose cache held dirty or clean data comes up only when forced
 * to without its cache; whatever that cache holds is stale from now on,
 * and the superblock says so before bcacheN can be written.
 */
static void cached_dev_mark_stale(struct cached_dev *dc)
{
	struct closure cl;

	closure_init_stack(&cl);
	SET_BDEV_STATE(&dc->sb, BDEV_STATE_STALE);
	bch_write_bdev_super(dc, &cl);
	closure_sync(&cl);
}

static void cached_dev_offline_watch(struct work_struct *work)
{
	struct cached_dev *dc = container_of(to_delayed_work(work),
					     struct cached_dev, offline_watch);

	if (test_bit(BCACHE_DEV_CLOSING, &dc->disk.flags) ||
	    READ_ONCE(dc->io_disable))
		return;

	if (blk_queue_dying(bdev_get_queue(dc->bdev)))
		dc->offline_seconds++;
	else
		dc->offline_seconds = 0;

	if (dc->offline_seconds < BACKING_DEV_OFFLINE_TIMEOUT) {
		queue_delayed_work(bcache_wq, &dc->offline_watch, HZ);
		return;
	}

	pr_err("%pg: device offline for %d seconds\n", dc->bdev,
	       BACKING_DEV_OFFLINE_TIMEOUT);
	pr_err("%s: disable I/O request due to backing device offline\n",
	       dc->disk.disk->disk_name);
	WRITE_ONCE(dc->io_disable, true);
	/* Submitters see io_disable before the device starts going away. */
	smp_mb();
	bcache_device_stop(&dc->disk);
}

static int cached_dev_link(struct cached_dev *dc)
{
	struct kobject *disk_kobj = &disk_to_dev(dc->disk.disk)->kobj;
	int ret;

	ret = sysfs_create_link(&dc->disk.kobj, disk_kobj, "dev");
	if (!ret)
		ret = sysfs_create_link(disk_kobj, &dc->disk.kobj, "bcache");
	if (ret)
		pr_err("Couldn't create bcache dev <-> disk sysfs symlinks\n");
	return ret;
}

/**
 * bch_cached_dev_run() - add bcacheN for @dc
 * @dc:	a registered backing device; the caller holds dc->state_lock
 *
 * Return: 0, or -EBUSY if bcacheN exists already, -EIO if I/O to the
 * backing device is disabled, -ENXIO if @dc is being stopped, or what
 * add_disk() failed with.
 */
int bch_cached_dev_run(struct cached_dev *dc)
{
	struct bcache_device *d = &dc->disk;
	int ret;

	lockdep_assert_held(&dc->state_lock);

	if (test_bit(BCACHE_DEV_CLOSING, &d->flags))
		return -ENXIO;
	if (READ_ONCE(dc->io_disable)) {
		pr_err("I/O disabled on cached dev %pg\n", dc->bdev);
		return -EIO;
	}
	if (atomic_read(&dc->running)) {
		pr_info("cached dev %pg is running already\n", dc->bdev);
		return -EBUSY;
	}

	if (!d->c && BDEV_STATE(&dc->sb) != BDEV_STATE_NONE)
		cached_dev_mark_stale(dc);

	ret = add_disk(d->disk);
	if (ret)
		return ret;
	atomic_set(&dc->running, 1);

	if (bd_link_disk_holder(dc->bdev, d->disk))
		pr_warn("%s: cannot link to holder %pg\n", d->disk->disk_name,
			dc->bdev);
	bch_cached_dev_uevent(dc);

	ret = cached_dev_link(dc);
	if (ret)
		return ret;

	queue_delayed_work(bcache_wq, &dc->offline_watch, HZ);
	return 0;
}

/* Runs once nothing refers to the device any more; see bcache.h. */
static CLOSURE_CALLBACK(cached_dev_free)
{
	closure_type(dc, struct cached_dev, disk.cl);
	struct bcache_device *d = &dc->disk;

	cancel_delayed_work_sync(&dc->offline_watch);

	if (atomic_read(&dc->running)) {
		bd_unlink_disk_holder(dc->bdev, d->disk);
		del_gendisk(d->disk);
	}

	/*
	 * bcacheN is gone: give the backing device back right away, so that
	 * it can be registered (or opened exclusively) again.
	 */
	mutex_lock(&bch_register_lock);
	list_del_init(&dc->list);
	mutex_unlock(&bch_register_lock);
	put_page(virt_to_page(dc->sb_disk));
	/* Gives up the claim now: the file itself is closed later. */
	bdev_fput(dc->bdev_file);

	bcache_device_free(d);
	bch_cached_dev_request_exit(dc);

	if (dc->released)
		complete(dc->released);
	atomic_inc(&nr_freed);
	atomic_dec(&nr_devices);
	wake_up_all(&unregister_wait);

	closure_debug_destroy(&d->cl);
	kobject_put(&d->kobj);
}

/* The kobject's release: the end of a device and of its module reference. */
void bch_cached_dev_release(struct kobject *kobj)
{
	struct bcache_device *d = container_of(kobj, struct bcache_device, kobj);

	module_put(THIS_MODULE);
	kfree(to_cached_dev(d));
}

/*
 * First half of a stop: make the device unreachable from sysfs, then wait
 * (in the closure) for the references that remain.
 */
static CLOSURE_CALLBACK(cached_dev_flush)
{
	closure_type(dc, struct cached_dev, disk.cl);
	struct bcache_device *d = &dc->disk;

	/*
	 * Wait for a registration or sysfs write in progress; none gets past
	 * its CLOSING check from now on.
	 */
	mutex_lock(&dc->state_lock);
	mutex_unlock(&dc->state_lock);

	/* running cannot change any more: only a run sets it, under the lock. */
	if (atomic_read(&dc->running))
		sysfs_remove_link(&disk_to_dev(d->disk)->kobj, "bcache");

	/* Both also wait for sysfs reads and writes still running. */
	bch_accounting_destroy(&dc->accounting);
	if (d->kobj.state_in_sysfs)
		kobject_del(&d->kobj);

	continue_at(cl, cached_dev_free, bcache_wq);
}

static const struct writeback_tuning writeback_defaults = {
	.percent		= 10,
	.delay			= 30,
	.update_seconds		= WRITEBACK_RATE_UPDATE_SECS_DEFAULT,
	.p_term_inverse		= 40,
	.i_term_inverse		= 10000,
	.fp_term		= { 1, 10, 1000 },
	.rate_minimum		= 8,
	.metadata		= true,
	.consider_fragment	= true,
};

static void cached_dev_defaults(struct cached_dev *dc)
{
	struct request_queue *q = bdev_get_queue(dc->bdev);

	dc->wb = writeback_defaults;
	atomic_long_set(&dc->writeback_rate, 1024);

	dc->sequential_cutoff = 4 << 20;
	dc->error_limit = DEFAULT_CACHED_DEV_ERROR_LIMIT;
	dc->cache_readahead_policy = BCH_CACHE_READA_ALL;
	dc->stop_when_cache_set_failed = BCH_CACHED_DEV_STOP_AUTO;

	/* Only meaningful on a device with stripes, such as md raid5. */
	dc->partial_stripes_expensive = bdev_io_opt(dc->bdev) &&
		(q->limits.features & BLK_FEAT_RAID_PARTIAL_STRIPES_EXPENSIVE);
}

/* One registration, from the path written to sysfs to a registered device. */
struct registration {
	char			*buf;		/* as written, for kfree() */
	const char		*path;		/* trimmed */
	struct file		*bdev_file;
	struct page		*sb_page;
	struct cache_sb_disk	*sb_disk;
	struct cached_dev	*dc;		/* holder of the claim */
	struct work_struct	work;
	struct cache_sb		sb;
};

/*
 * Hands the claim and the superblock of @r to a new device object. From
 * here on, the device is torn down only by stopping it.
 */
static struct cached_dev *cached_dev_adopt(struct registration *r)
{
	struct cached_dev *dc = r->dc;
	struct bcache_device *d = &dc->disk;

	/* Dropped by bch_cached_dev_release(), the very end of the device. */
	__module_get(THIS_MODULE);

	closure_init(&d->cl, NULL);
	set_closure_fn(&d->cl, cached_dev_flush, bcache_wq);
	kobject_init(&d->kobj, &bch_cached_dev_ktype);
	spin_lock_init(&d->open_lock);

	INIT_LIST_HEAD(&dc->list);
	mutex_init(&dc->state_lock);
	sema_init(&dc->sb_write_mutex, 1);
	INIT_DELAYED_WORK(&dc->offline_watch, cached_dev_offline_watch);
	bch_accounting_init(&dc->accounting);
	atomic_inc(&nr_devices);

	/* r lets go of all it passes on: registration_free() skips those. */
	r->dc = NULL;
	r->sb_page = NULL;
	dc->sb_disk = no_free_ptr(r->sb_disk);
	dc->bdev_file = no_free_ptr(r->bdev_file);
	dc->bdev = file_bdev(dc->bdev_file);
	memcpy(&dc->sb, &r->sb, sizeof(dc->sb));

	cached_dev_defaults(dc);
	return dc;
}

/* Everything up to a visible, registered device. Under dc->state_lock. */
static int cached_dev_setup(struct cached_dev *dc, const char **err)
{
	struct bcache_device *d = &dc->disk;
	int ret;

	*err = "cannot set up the bcache device";
	ret = bcache_device_init(d, cached_dev_block_size(dc),
				 bdev_nr_sectors(dc->bdev) - dc->sb.data_offset,
				 dc->bdev, &bcache_cached_ops);
	if (!ret)
		ret = bch_cached_dev_request_init(dc);
	if (ret)
		return ret;

	*err = "error creating kobject";
	ret = kobject_add(&d->kobj, bdev_kobj(dc->bdev), "bcache");
	if (!ret)
		ret = bch_accounting_add_kobjs(&dc->accounting, &d->kobj);
	if (ret)
		return ret;

	/*
	 * Under the lock, against the reboot notifier: it stops every
	 * device on the list, so one added after it ran would be missed.
	 */
	mutex_lock(&bch_register_lock);
	if (!bcache_is_reboot)
		list_add(&dc->list, &uncached_devices);
	mutex_unlock(&bch_register_lock);
	if (list_empty(&dc->list)) {
		*err = "bcache is in reboot";
		return -EBUSY;
	}

	pr_info("registered backing device %pg\n", dc->bdev);

	if (BDEV_STATE(&dc->sb) != BDEV_STATE_NONE &&
	    BDEV_STATE(&dc->sb) != BDEV_STATE_STALE)
		return 0;

	*err = "failed to run cached device";
	return bch_cached_dev_run(dc);
}

static int register_bdev(struct registration *r, const char **err)
{
	DECLARE_COMPLETION_ONSTACK(released);
	struct cached_dev *dc = cached_dev_adopt(r);
	int ret;

	/* Ours until we are done with dc, whatever a concurrent stop does. */
	closure_get(&dc->disk.cl);

	mutex_lock(&dc->state_lock);
	ret = cached_dev_setup(dc, err);
	mutex_unlock(&dc->state_lock);

	if (!ret) {
		closure_put(&dc->disk.cl);
		return 0;
	}

	/*
	 * Nothing half-registered stays behind: tear the device down and
	 * return only once its claim on the backing device is released.
	 */
	dc->released = &released;
	bcache_device_stop(&dc->disk);
	closure_put(&dc->disk.cl);
	wait_for_completion(&released);
	return ret;
}

/* Registration */

static struct registration *registration_alloc(const char *buf, size_t size)
{
	struct registration *r = kzalloc(sizeof(*r), GFP_KERNEL);

	if (!r)
		return NULL;
	r->buf = kstrndup(buf, size, GFP_KERNEL);
	if (!r->buf) {
		kfree(r);
		return NULL;
	}
	r->path = strim(r->buf);
	return r;
}

/* Releases whatever @r still holds that no device took over. */
static void registration_free(struct registration *r)
{
	if (r->sb_page)
		put_page(r->sb_page);
	if (r->bdev_file)
		bdev_fput(r->bdev_file);
	kfree(r->dc);
	kfree(r->buf);
	kfree(r);
}

static int read_super(struct registration *r, const char **err)
{
	struct block_device *bdev = file_bdev(r->bdev_file);
	struct bch_sb_dev_info info = {
		.capacity		= bdev_nr_sectors(bdev),
		.logical_block_size	= bdev_logical_block_size(bdev),
	};
	struct page *page;
	int ret;

	page = read_cache_page_gfp(bdev->bd_mapping, SB_OFFSET >> PAGE_SHIFT,
				   GFP_KERNEL);
	if (IS_ERR(page)) {
		*err = "IO error";
		return PTR_ERR(page);
	}
	r->sb_page = page;
	r->sb_disk = page_address(page) + offset_in_page(SB_OFFSET);

	ret = bch_sb_decode(&r->sb, r->sb_disk, &info, err);
	if (ret)
		return ret;

	r->sb.last_mount = (u32)ktime_get_real_seconds();
	return 0;
}

/* Whether @dev is registered, and if so whether it is being stopped. */
static bool bch_is_registered(dev_t dev, bool *stopping)
{
	struct cached_dev *dc;
	bool found = false;

	mutex_lock(&bch_register_lock);
	list_for_each_entry(dc, &uncached_devices, list) {
		if (dc->bdev->bd_dev != dev)
			continue;
		found = true;
		*stopping = test_bit(BCACHE_DEV_CLOSING, &dc->disk.flags);
	}
	mutex_unlock(&bch_register_lock);
	return found;
}

/*
 * Claims the device for writing, exclusively, with the device object to be
 * as holder. This is what decides between concurrent registrations.
 *
 * A device that is being stopped keeps its claim until its free function
 * runs: "stop, then register again" waits for that (a while at most)
 * rather than fail with -EBUSY.
 */
static int claim_device(struct registration *r, const char **err)
{
	unsigned long deadline = jiffies + REGISTER_STOPPING_WAIT;
	dev_t dev = file_bdev(r->bdev_file)->bd_dev;
	struct file *claimed;
	bool stopping = false;
	long left;
	int freed;

	r->dc = kzalloc(sizeof(*r->dc), GFP_KERNEL);
	if (!r->dc) {
		*err = "cannot allocate memory";
		return -ENOMEM;
	}

	for (;;) {
		freed = atomic_read(&nr_freed);
		claimed = bdev_file_open_by_dev(dev,
						BLK_OPEN_READ | BLK_OPEN_WRITE,
						r->dc, NULL);
		if (!IS_ERR(claimed))
			break;
		if (PTR_ERR(claimed) != -EBUSY) {
			*err = "cannot open device for writing";
			return PTR_ERR(claimed);
		}
		if (!bch_is_registered(dev, &stopping)) {
			*err = "device busy";
			return -EBUSY;
		}
		left = (long)(deadline - jiffies);
		if (!stopping || left <= 0 ||
		    !wait_event_timeout(unregister_wait,
					atomic_read(&nr_freed) != freed, left)) {
			*err = "device already registered";
			return -EBUSY;
		}
	}

	bdev_fput(r->bdev_file);
	r->bdev_file = claimed;
	return 0;
}

/*
 * Everything a registration does before it has a device object: open,
 * read and check the superblock, claim. All of it without
 * bch_register_lock, so a slow or hung device stalls only its own
 * registration.
 */
static int registration_prepare(struct registration *r, const char **err)
{
	int ret;

	r->bdev_file = bdev_file_open_by_path(r->path, BLK_OPEN_READ, NULL,
					      NULL);
	if (IS_ERR(r->bdev_file)) {
		/* The writer gets -EINVAL, as from upstream; dmesg says why. */
		pr_err("error %s: failed to open device: %pe\n", r->path,
		       r->bdev_file);
		r->bdev_file = NULL;
		return -EINVAL;
	}

	ret = read_super(r, err);
	if (ret)
		return ret;

	if (!SB_IS_BDEV(&r->sb)) {
		*err = "cache devices are not supported yet (no cache sets)";
		return -EOPNOTSUPP;
	}

	return claim_device(r, err);
}

static void register_worker(struct work_struct *work)
{
	struct registration *r = container_of(work, struct registration, work);
	const char *err = NULL;

	if (register_bdev(r, &err))
		pr_err("error %s: %s\n", r->path, err);
	registration_free(r);
	module_put(THIS_MODULE);
}

static struct kobj_attribute ksysfs_register;
static struct kobj_attribute ksysfs_register_quiet;
static struct kobj_attribute ksysfs_register_async;

static ssize_t register_store(struct kobject *k, struct kobj_attribute *attr,
			      const char *buf, size_t size)
{
	struct registration *r;
	const char *err = NULL;
	int ret;

	if (bcache_rebooting()) {
		pr_err("error: bcache is in reboot\n");
		return -EBUSY;
	}
	if (!try_module_get(THIS_MODULE))
		return -EBUSY;

	r = registration_alloc(buf, size);
	if (!r) {
		module_put(THIS_MODULE);
		return -ENOMEM;
	}

	ret = registration_prepare(r, &err);
	if (ret == -EBUSY && attr == &ksysfs_register_quiet) {
		/* register_quiet: someone got there first, which is fine. */
		err = NULL;
		ret = 0;
	} else if (!ret && attr == &ksysfs_register_async) {
		/* r and our module reference now belong to the worker. */
		INIT_WORK(&r->work, register_worker);
		queue_work(bcache_wq, &r->work);
		return size;
	} else if (!ret) {
		ret = register_bdev(r, &err);
	}

	if (ret && err)
		pr_err("error %s: %s\n", r->path, err);
	registration_free(r);
	module_put(THIS_MODULE);
	return ret ? ret : size;
}

/*
 * Stops every backing device whose cache set is not registered. No cache
 * set ever is yet, so that is all of them: those waiting for their cache
 * and, as upstream does, detached ones running without one too.
 */
static ssize_t pendings_cleanup_store(struct kobject *k,
				      struct kobj_attribute *attr,
				      const char *buf, size_t size)
{
	struct cached_dev *dc;

	mutex_lock(&bch_register_lock);
	list_for_each_entry(dc, &uncached_devices, list) {
		pr_info("stopping pending device %pg\n", dc->bdev);
		bcache_device_stop(&dc->disk);
	}
	mutex_unlock(&bch_register_lock);
	return size;
}

static struct kobj_attribute ksysfs_register =
	__ATTR(register, 0200, NULL, register_store);
static struct kobj_attribute ksysfs_register_quiet =
	__ATTR(register_quiet, 0200, NULL, register_store);
static struct kobj_attribute ksysfs_register_async =
	__ATTR(register_async, 0200, NULL, register_store);
static struct kobj_attribute ksysfs_pendings_cleanup =
	__ATTR(pendings_cleanup, 0200, NULL, pendings_cleanup_store);

static const struct attribute *bcache_files[] = {
	&ksysfs_register.attr,
	&ksysfs_register_quiet.attr,
#ifdef CONFIG_BCACHE_ASYNC_REGISTRATION
	&ksysfs_register_async.attr,
#endif
	&ksysfs_pendings_cleanup.attr,
	NULL
};

/* Shutdown */

/* Stops every registered device; they go away asynchronously. */
static void stop_all_devices(void)
{
	struct cached_dev *dc;

	lockdep_assert_held(&bch_register_lock);
	list_for_each_entry(dc, &uncached_devices, list)
		bcache_device_stop(&dc->disk);
}

/*
 * Before the disks go away, stop every device so that its teardown (and
 * later, dirty data) is done while they can still be written. New
 * registrations and sysfs writes are refused from here on.
 */
static int bcache_reboot(struct notifier_block *n, unsigned long code, void *x)
{
	bool any;

	if (code != SYS_DOWN && code != SYS_HALT && code != SYS_POWER_OFF)
		return NOTIFY_DONE;

	mutex_lock(&bch_register_lock);
	if (bcache_is_reboot) {
		mutex_unlock(&bch_register_lock);
		return NOTIFY_DONE;
	}
	WRITE_ONCE(bcache_is_reboot, true);
	any = !list_empty(&uncached_devices);
	if (any) {
		pr_info("Stopping all devices:\n");
		stop_all_devices();
	}
	mutex_unlock(&bch_register_lock);

	if (!any)
		return NOTIFY_DONE;

	if (wait_event_timeout(unregister_wait, !atomic_read(&nr_devices),
			       10 * HZ))
		pr_info("All devices stopped\n");
	else
		pr_notice("Timeout waiting for devices to be closed\n");
	return NOTIFY_DONE;
}

static struct notifier_block reboot_notifier = {
	.notifier_call	= bcache_reboot,
	.priority	= INT_MAX,	/* before the disks' own drivers */
};

/* Module */

/* 0 means the default; larger than @max is cut down to it. */
static unsigned int param_in_range(const char *name, unsigned int v,
				   unsigned int dflt, unsigned int max)
{
	if (v > max)
		pr_warn("set %s (%u) to max value %u\n", name, v, max);
	return v ? min(v, max) : dflt;
}

static void check_module_parameters(void)
{
	bch_cutoff_writeback_sync =
		param_in_range("bch_cutoff_writeback_sync",
			       bch_cutoff_writeback_sync,
			       CUTOFF_WRITEBACK_SYNC, CUTOFF_WRITEBACK_SYNC_MAX);
	/* The soft cutoff must not exceed the hard one. */
	bch_cutoff_writeback =
		param_in_range("bch_cutoff_writeback", bch_cutoff_writeback,
			       CUTOFF_WRITEBACK,
			       min(CUTOFF_WRITEBACK_MAX,
				   bch_cutoff_writeback_sync));
}

static void bcache_debugfs_exit(void)
{
	bch_closure_debug_exit();
	debugfs_remove_recursive(bcache_debug);
	bcache_debug = NULL;
}

/* debugfs is a debugging aid: failing to set it up fails nothing else. */
static void bcache_debugfs_init(void)
{
	bcache_debug = debugfs_create_dir("bcache", NULL);
	if (IS_ERR(bcache_debug))
		return;
	if (bch_closure_debug_init(bcache_debug))
		pr_warn("cannot create the closures debugfs file\n");
}

static int __init bcache_init(void)
{
	int ret;

	check_module_parameters();

	bcache_major = register_blkdev(0, "bcache");
	if (bcache_major < 0)
		return bcache_major;

	ret = -ENOMEM;
	bcache_wq = alloc_workqueue("bcache", WQ_MEM_RECLAIM, 0);
	if (!bcache_wq)
		goto err_blkdev;

	bcache_kobj = kobject_create_and_add("bcache", fs_kobj);
	if (!bcache_kobj)
		goto err_wq;
	ret = sysfs_create_files(bcache_kobj, bcache_files);
	if (ret)
		goto err_kobj;

	bcache_debugfs_init();

	ret = register_reboot_notifier(&reboot_notifier);
	if (ret)
		goto err_debugfs;
	return 0;

err_debugfs:
	bcache_debugfs_exit();
err_kobj:
	kobject_put(bcache_kobj);
err_wq:
	destroy_workqueue(bcache_wq);
err_blkdev:
	unregister_blkdev(bcache_major, "bcache");
	return ret;
}

/*
 * Runs only once no device exists (each holds a module reference) and no
 * registration is in progress (each holds one too).
 */
static void __exit bcache_exit(void)
{
	unregister_reboot_notifier(&reboot_notifier);
	kobject_put(bcache_kobj);
	bcache_debugfs_exit();
	/* Waits for the free function that dropped the last reference. */
	destroy_workqueue(bcache_wq);
	unregister_blkdev(bcache_major, "bcache");
	ida_destroy(&bcache_device_idx);
}

module_init(bcache_init);
module_exit(bcache_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bcache: block devices cached on a faster one");

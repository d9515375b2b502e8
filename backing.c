// SPDX-License-Identifier: GPL-2.0
/*
 * Backing devices: bcacheN, running it, attaching it to a cache set and
 * detaching it, and the lifetime of the device object.
 *
 * A backing device registered through /sys/fs/bcache/register (super.c
 * claims it and reads its superblock) gets a device object here: a
 * gendisk, the stripe counters of its dirty-data accounting, and a place
 * on the list of registered devices. If its superblock says it holds no
 * dirty data of a missing cache, bcacheN is added at once; it is offered
 * to every running set, and attaches to the one its superblock names.
 *
 * Teardown is driven by the device closure (see bcache.h): stopping runs
 * cached_dev_flush(), which hides the device, and cached_dev_free() runs
 * once every opener, bio and superblock write is gone, on bcache_wq.
 *
 * Locks, in this order: dc->state_lock orders running, attaching,
 * detaching and stopping one device; c->attach_lock lets one attach or
 * detach at a time choose and write the set's uuid entries;
 * bch_register_lock (super.h) guards the lists of devices and sets and the
 * attachment itself (d->c, c->devices). Upstream holds bch_register_lock
 * across an attach's uuid and superblock writes, its count of dirty data
 * and add_disk(); ours holds it across none of them, so a slow backing
 * device stalls neither other registrations nor a set's stop.
 */

#include "bcache.h"
#include "alloc.h"
#include "backing.h"
#include "btree.h"
#include "debug.h"
#include "gc.h"
#include "io.h"
#include "movinggc.h"
#include "recovery.h"
#include "request.h"
#include "sb.h"
#include "set.h"
#include "super.h"
#include "sysfs.h"
#include "util.h"
#include "uuid.h"
#include "writeback.h"

#include <linux/blkdev.h>
#include <linux/cleanup.h>
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/idr.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/reboot.h>
#include <linux/sysfs.h>
#include <linux/wait.h>
#include <kunit/visibility.h>

/* Seconds a backing device may be offline before bcacheN gives up on it. */
#define BACKING_DEV_OFFLINE_TIMEOUT	5

static DEFINE_IDA(bcache_device_idx);
static int bcache_major;

int bch_backing_module_init(void)
{
	bcache_major = register_blkdev(0, "bcache");
	return bcache_major < 0 ? bcache_major : 0;
}

/* Once no device is left. */
void bch_backing_module_exit(void)
{
	unregister_blkdev(bcache_major, "bcache");
	ida_destroy(&bcache_device_idx);
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

/**
 * bch_stripe_geometry - the stripes dirty data will be counted in
 * @sectors: size of the device
 * @io_opt: its optimal I/O size in sectors, 0 if it has none
 * @stripe_size: set to the stripe size in sectors
 * @nr_stripes: set to the number of stripes
 *
 * A stripe is the device's optimal I/O size, rounded up to a multiple of
 * it of at least 4 MiB, or one 1 TiB stripe when it has none. The count
 * is computed in 64 bits: upstream's wrapped round for huge devices with
 * small stripes. Returns 0, or -EINVAL for an empty device or one that
 * would need more stripes than the accounting (an int) can index.
 */
VISIBLE_IF_KUNIT int bch_stripe_geometry(u64 sectors, unsigned int io_opt,
					 unsigned int *stripe_size,
					 unsigned int *nr_stripes)
{
	unsigned int size, rem;
	u64 n;

	if (!io_opt)
		size = 1U << 31;
	else if (io_opt < BCH_MIN_STRIPE_SZ)
		size = roundup(BCH_MIN_STRIPE_SZ, io_opt);
	else
		size = io_opt;

	n = div_u64_rem(sectors, size, &rem) + !!rem;
	if (!n || n > INT_MAX) {
		pr_err("nr_stripes too large or invalid: %llu (start sector beyond end of disk?)\n",
		       n);
		return -EINVAL;
	}
	*stripe_size = size;
	*nr_stripes = n;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(bch_stripe_geometry);

static int bcache_device_stripes_init(struct bcache_device *d,
				      sector_t sectors,
				      struct block_device *bdev)
{
	unsigned int n;
	int ret;

	ret = bch_stripe_geometry(sectors,
				  bdev_io_opt(bdev) >> SECTOR_SHIFT,
				  &d->stripe_size, &n);
	if (ret)
		return ret;
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
 * A device goes on without its cache (forced to run without it, or kept
 * alive after its set failed): whatever that cache holds is stale from
 * now on, and the superblock says so before bcacheN can be written.
 */
static void cached_dev_mark_stale(struct cached_dev *dc)
{
	struct closure cl;

	/* Forced with dirty data in the cache: what only the cache had is lost. */
	if (BDEV_STATE(&dc->sb) == BDEV_STATE_DIRTY)
		pr_warn("%pg: running without its cache, whose dirty data is now stale and will be discarded\n",
			dc->bdev);

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

	/*
	 * /dev/bcacheN exists from inside add_disk() on, before these links:
	 * whoever only waits for the node may find no bcacheN/bcache yet (in
	 * both drivers). The change uevent comes after them here (upstream
	 * sends it before), so that a rule it runs always finds them.
	 */
	ret = cached_dev_link(dc);
	bch_cached_dev_uevent(dc);
	if (ret)
		return ret;

	queue_delayed_work(bcache_wq, &dc->offline_watch, HZ);
	return 0;
}

/* Attaching backing devices to a cache set */

/* Size of everything the set caches, for writeback's share of the cache. */
static void cache_set_count_backing(struct cache_set *c)
{
	struct cached_dev *dc;
	u64 sectors = 0;

	list_for_each_entry(dc, &c->cached_devs, list)
		sectors += bdev_nr_sectors(dc->bdev);
	c->cached_dev_sectors = sectors;
}

/* bcacheN <-> set links in sysfs, and bcacheN as a holder of the cache. */
static void bcache_device_link(struct bcache_device *d, struct cache_set *c)
{
	snprintf(d->name, BCACHEDEVNAME_SIZE, "bdev%u", d->id);

	if (bd_link_disk_holder(c->cache->bdev, d->disk))
		pr_warn("%s: cannot link to holder %pg\n", d->disk->disk_name,
			c->cache->bdev);
	else
		set_bit(BCACHE_DEV_CACHE_HOLDER, &d->flags);

	if (sysfs_create_link(&d->kobj, &c->kobj, "cache"))
		pr_err("Couldn't create device -> cache set symlink\n");
	if (sysfs_create_link(&c->kobj, &d->kobj, d->name))
		pr_err("Couldn't create cache set -> device symlink\n");

	clear_bit(BCACHE_DEV_UNLINK_DONE, &d->flags);
}

/* Undoes bcache_device_link() once, whoever gets here first. */
static void bcache_device_unlink(struct bcache_device *d)
{
	struct cache_set *c = d->c;

	lockdep_assert_held(&bch_register_lock);

	if (!c || test_and_set_bit(BCACHE_DEV_UNLINK_DONE, &d->flags))
		return;

	sysfs_remove_link(&c->kobj, d->name);
	sysfs_remove_link(&d->kobj, "cache");
	if (test_and_clear_bit(BCACHE_DEV_CACHE_HOLDER, &d->flags))
		bd_unlink_disk_holder(c->cache->bdev, d->disk);
}

/*
 * @dc leaves its set in memory only (the set or the device is going
 * away); what the superblock and the uuid table say is left alone. The
 * caller drops the reference on c->caching the attachment held, after
 * letting go of bch_register_lock.
 */
static struct cache_set *cached_dev_leave_set(struct cached_dev *dc)
{
	struct bcache_device *d = &dc->disk;
	struct cache_set *c = d->c;

	lockdep_assert_held(&bch_register_lock);

	bcache_device_unlink(d);
	c->devices[d->id] = NULL;
	atomic_dec(&c->attached_dev_nr);
	d->c = NULL;
	list_move(&dc->list, &bch_uncached_devices);
	cache_set_count_backing(c);
	return c;
}

static bool attach_uuid_taken(struct cache_set *c, struct cached_dev *dc)
{
	struct cached_dev *other;

	list_for_each_entry(other, &c->cached_devs, list)
		if (!memcmp(other->sb.uuid, dc->sb.uuid, 16))
			return true;
	return false;
}

static int attach_check(struct cached_dev *dc, struct cache_set *c)
{
	const char *why = NULL;
	int ret = -EINVAL;

	lockdep_assert_held(&bch_register_lock);

	if (dc->disk.c) {
		why = "already attached";
	} else if (test_bit(CACHE_SET_STOPPING, &c->flags)) {
		why = "shutting down";
	} else if (test_bit(BCACHE_DEV_CLOSING, &dc->disk.flags)) {
		why = "device is being stopped";
		ret = -ENXIO;
	} else if (dc->sb.block_size < c->cache->sb.block_size) {
		why = "block size less than set's block size";
	} else if (attach_uuid_taken(c, dc)) {
		why = "duplicate UUID already attached";
	}

	if (!why)
		return 0;
	pr_err("Can't attach %pg: %s\n", dc->bdev, why);
	return ret;
}

/*
 * The running set @set_uuid names, pinned (a reference on c->caching, which
 * its teardown waits for) so that the attach can go on without
 * bch_register_lock; or an error pointer: -ENOENT if no such set runs,
 * otherwise a refusal, logged.
 */
static struct cache_set *attach_pin_set(struct cached_dev *dc,
					const u8 *set_uuid)
{
	struct cache_set *c;
	int ret;

	guard(mutex)(&bch_register_lock);
	list_for_each_entry(c, &bch_cache_sets, list) {
		if (memcmp(set_uuid, c->set_uuid, 16) ||
		    !test_bit(CACHE_SET_RUNNING, &c->flags))
			continue;
		ret = attach_check(dc, c);
		if (ret)
			return ERR_PTR(ret);
		/* Not stopping: its teardown has not got past our lock. */
		closure_get(&c->caching);
		return c;
	}
	return ERR_PTR(-ENOENT);
}

/*
 * The uuid entry @dc will use: its own if the set knows it and the device
 * still claims the attachment, otherwise a never-used one.
 */
static struct uuid_entry *attach_find_entry(struct cached_dev *dc,
					    struct cache_set *c)
{
	unsigned int state = BDEV_STATE(&dc->sb);
	struct uuid_entry *u = bch_uuid_lookup(c, dc->sb.uuid);

	lockdep_assert_held(&c->attach_lock);

	if (u && (state == BDEV_STATE_NONE || state == BDEV_STATE_STALE)) {
		/* Whatever the cache holds for it predates its last run. */
		bch_uuid_entry_invalidate(u);
		u = NULL;
	}
	if (u)
		return u;

	if (state == BDEV_STATE_DIRTY) {
		pr_err("Couldn't find uuid for %pg in set\n", dc->bdev);
		return ERR_PTR(-ENOENT);
	}
	u = bch_uuid_free_entry(c);
	if (!u) {
		pr_err("Not caching %pg, no room for UUID\n", dc->bdev);
		return ERR_PTR(-EINVAL);
	}
	return u;
}

/*
 * Records the attachment on disk: a first attachment fills the entry and
 * then marks the backing superblock as clean member of the set; a repeated
 * one only updates the entry's last registration time.
 */
static int attach_record(struct cached_dev *dc, struct cache_set *c,
			 struct uuid_entry *u)
{
	struct closure cl;
	int ret;

	lockdep_assert_held(&c->attach_lock);

	if (!bch_uuid_entry_unused(u)) {
		u->last_reg = bch_uuid_timestamp();
		bch_uuid_write(c);
		return 0;
	}

	memcpy(u->uuid, dc->sb.uuid, 16);
	memcpy(u->label, dc->sb.label, SB_LABEL_SIZE);
	u->first_reg = bch_uuid_timestamp();
	u->last_reg = u->first_reg;
	ret = bch_uuid_write(c);
	if (ret) {
		memset(u, 0, sizeof(*u));
		return ret;
	}

	memcpy(dc->sb.set_uuid, c->set_uuid, 16);
	SET_BDEV_STATE(&dc->sb, BDEV_STATE_CLEAN);
	closure_init_stack(&cl);
	bch_write_bdev_super(dc, &cl);
	closure_sync(&cl);
	return 0;
}

/*
 * The attachment becomes visible: requests, the set's teardown and sysfs
 * see it from here on. The set or the device may have begun to stop while
 * the attachment was recorded; then nothing is installed.
 */
static int attach_install(struct cached_dev *dc, struct cache_set *c,
			  unsigned int id)
{
	struct bcache_device *d = &dc->disk;
	int ret;

	guard(mutex)(&bch_register_lock);
	ret = attach_check(dc, c);
	if (ret)
		return ret;

	/* Held until the device leaves the set; the set's flush waits. */
	closure_get(&c->caching);
	set_bit(BCACHE_DEV_UNLINK_DONE, &d->flags);

	d->id = id;
	d->c = c;
	c->devices[id] = d;
	c->devices_max_used = max(c->devices_max_used, id + 1);
	atomic_inc(&c->attached_dev_nr);
	list_move(&dc->list, &c->cached_devs);
	cache_set_count_backing(c);

	/* d->c is visible before anybody can take the attachment ref. */
	smp_wmb();
	refcount_set(&dc->count, 1);
	return 0;
}

/*
 * Count what the cache holds dirty for @dc and start its writeback
 * thread. Writes wait meanwhile (writeback_lock), so no dirty key comes
 * or goes while the btree is counted. A detach that came first (the set
 * is being unregistered) has taken the attachment already: then there is
 * no thread to start.
 */
static void attach_start_writeback(struct cached_dev *dc)
{
	int ret;

	down_write(&dc->writeback_lock);
	bch_sectors_dirty_init(&dc->disk);
	if (BDEV_STATE(&dc->sb) == BDEV_STATE_DIRTY)
		atomic_set(&dc->has_dirty, 1);
	ret = bch_cached_dev_writeback_start(dc);
	up_write(&dc->writeback_lock);

	if (ret && ret != -ENOENT)
		pr_err("%pg: cannot start writeback (%d): dirty data stays in the cache\n",
		       dc->bdev, ret);
}

/* Everything after the check: the uuid entry, the disk, the links. */
static int attach_to_pinned(struct cached_dev *dc, struct cache_set *c)
{
	struct uuid_entry *u;
	int ret;

	/* One attach or detach of this set at a time chooses entries. */
	scoped_guard(mutex, &c->attach_lock) {
		u = attach_find_entry(dc, c);
		if (IS_ERR(u))
			return PTR_ERR(u);
		ret = attach_record(dc, c, u);
		if (!ret)
			ret = attach_install(dc, c, u - c->uuids);
		if (ret)
			return ret;
	}

	attach_start_writeback(dc);

	ret = bch_cached_dev_run(dc);
	if (ret && ret != -EBUSY) {
		/* Still attached: stopping the device lets go of the set. */
		pr_err("Couldn't run cached device %pg\n", dc->bdev);
		return ret;
	}

	/*
	 * A stop or detach that came meanwhile waits for dc->state_lock,
	 * which we hold: its unlink comes after this link.
	 */
	bcache_device_link(&dc->disk, c);
	return 0;
}

/**
 * bch_cached_dev_attach() - make a cache set cache @dc
 * @dc:		a registered backing device
 * @set_uuid:	the set the caller asks for, or NULL for the one in @dc's
 *		superblock
 *
 * The caller holds dc->state_lock, and not bch_register_lock: the uuid
 * table and superblock writes, the count of dirty data (a btree walk) and
 * add_disk() all run without it. Runs bcacheN if it is not running yet.
 *
 * Return: 0; -ENOENT if no set of that uuid is registered and running;
 * otherwise a refusal, also logged.
 */
int bch_cached_dev_attach(struct cached_dev *dc, const u8 *set_uuid)
{
	struct cache_set *c;
	int ret;

	lockdep_assert_held(&dc->state_lock);
	lockdep_assert_not_held(&bch_register_lock);

	c = attach_pin_set(dc, set_uuid ?: dc->sb.set_uuid);
	if (IS_ERR(c))
		return PTR_ERR(c);
	ret = attach_to_pinned(dc, c);
	if (!ret && (c->cache->sb.feature_incompat &
		     BCH_FEATURE_INCOMPAT_OBSO_LARGE_BUCKET)) {
		pr_err("The obsoleted large bucket layout is unsupported, set the bcache device into read-only\n");
		pr_err("Please update to the latest bcache-tools to create the cache device\n");
		set_disk_ro(dc->disk.disk, 1);
	}
	if (!ret)
		pr_info("Caching %pg as %s on set %pU\n", dc->bdev,
			dc->disk.disk->disk_name, c->set_uuid);
	closure_put(&c->caching);
	return ret;
}

/**
 * bch_cached_dev_detach() - stop caching @dc, for good
 * @dc:	an attached backing device
 *
 * Only requests the detach: it completes once no request holds the
 * attachment any more (cached_dev_detach_finish()). The writeback thread
 * holds it until it has written every dirty sector back, at full speed.
 *
 * Return: 0.
 */
int bch_cached_dev_detach(struct cached_dev *dc)
{
	struct bcache_device *d = &dc->disk;

	if (!d->c || test_bit(BCACHE_DEV_CLOSING, &d->flags))
		return 0;

	if (test_and_set_bit(BCACHE_DEV_DETACHING, &d->flags))
		return 0;
	bch_writeback_queue(dc);

	/*
	 * The device stays until the detach is finished. Its first
	 * reference is still held: a stop cannot have got past its flush,
	 * which needs a lock our callers hold.
	 */
	closure_get(&d->cl);
	cached_dev_put(dc);
	return 0;
}

/* dc->detach: the last attachment reference is gone. */
static void cached_dev_detach_finish(struct work_struct *work)
{
	struct cached_dev *dc = container_of(work, struct cached_dev, detach);
	struct bcache_device *d = &dc->disk;
	struct cache_set *c;
	struct closure cl;
	bool set_failed, dirty;

	/* It let go of its reference: done, or told to stop. */
	bch_cached_dev_writeback_stop(dc);

	mutex_lock(&dc->state_lock);

	mutex_lock(&bch_register_lock);
	c = d->c;
	set_failed = test_bit(CACHE_SET_IO_DISABLE, &c->flags);
	dirty = atomic_read(&dc->has_dirty) ||
		BDEV_STATE(&dc->sb) == BDEV_STATE_DIRTY;
	mutex_unlock(&bch_register_lock);

	/*
	 * A clean device whose set failed goes on alone, and what it writes
	 * from now on makes the cache's copy of it stale. The kernel's 6.12
	 * leaves its superblock clean and naming the set, so a later
	 * registration attaches and serves the old cached blocks. Ours marks
	 * it stale (which discards the cache's copy at the next attach)
	 * before it leaves the set: until then writes to it fail. A device
	 * being stopped writes nothing more and keeps its cached copy.
	 */
	if (set_failed && !dirty && !test_bit(BCACHE_DEV_CLOSING, &d->flags)) {
		pr_warn("%pg: cache set %pU failed, marking the device inconsistent with it\n",
			dc->bdev, c->set_uuid);
		cached_dev_mark_stale(dc);
	}

	/*
	 * A set that failed (I/O disabled) is let go of in memory only, as
	 * upstream does: the backing superblock keeps naming it. A dirty
	 * device then waits for that set when registered next time; a clean
	 * one, marked stale above, runs at once and the set drops its old
	 * copy when it attaches. So is a set that still holds dirty data of
	 * ours let go of (the device was stopped before writeback was done),
	 * where upstream forgets the device in the uuid table and strands
	 * the data.
	 */
	if (dirty && !set_failed)
		pr_warn("%pg: detach stopped with dirty data, which stays in set %pU\n",
			dc->bdev, c->set_uuid);
	set_failed |= dirty;
	if (!set_failed) {
		mutex_lock(&c->attach_lock);
		bch_uuid_entry_invalidate(c->uuids + d->id);
		bch_uuid_write(c);
		mutex_unlock(&c->attach_lock);
	}

	mutex_lock(&bch_register_lock);
	cached_dev_leave_set(dc);
	clear_bit(BCACHE_DEV_DETACHING, &d->flags);
	mutex_unlock(&bch_register_lock);

	if (!set_failed) {
		memset(dc->sb.set_uuid, 0, 16);
		SET_BDEV_STATE(&dc->sb, BDEV_STATE_NONE);
		closure_init_stack(&cl);
		bch_write_bdev_super(dc, &cl);
		closure_sync(&cl);
	}

	mutex_unlock(&dc->state_lock);

	pr_info("Caching disabled for %pg\n", dc->bdev);
	closure_put(&c->caching);
	/* Taken by bch_cached_dev_detach(). */
	closure_put(&d->cl);
}

/* Backing device errors reported by the request path. */
bool bch_cached_dev_error(struct cached_dev *dc)
{
	if (!dc || test_bit(BCACHE_DEV_CLOSING, &dc->disk.flags))
		return false;

	WRITE_ONCE(dc->io_disable, true);
	/* Submitters see io_disable before the device starts going away. */
	smp_mb();

	pr_err("stop %s: too many IO errors on backing device %pg\n",
	       dc->disk.disk->disk_name, dc->bdev);
	bcache_device_stop(&dc->disk);
	return true;
}

/* Runs once nothing refers to the device any more; see bcache.h. */
static CLOSURE_CALLBACK(cached_dev_free)
{
	closure_type(dc, struct cached_dev, disk.cl);
	struct bcache_device *d = &dc->disk;
	struct cache_set *c;

	cancel_delayed_work_sync(&dc->offline_watch);

	if (atomic_read(&dc->running)) {
		bd_unlink_disk_holder(dc->bdev, d->disk);
		del_gendisk(d->disk);
	}

	/*
	 * bcacheN is gone: leave the set (if still attached; the attachment
	 * on disk stays) and give the backing device back right away, so
	 * that it can be registered (or opened exclusively) again.
	 */
	mutex_lock(&bch_register_lock);
	c = d->c ? cached_dev_leave_set(dc) : NULL;
	list_del_init(&dc->list);
	mutex_unlock(&bch_register_lock);
	if (c)
		closure_put(&c->caching);
	put_page(virt_to_page(dc->sb_disk));
	/* Gives up the claim now: the file itself is closed later. */
	bdev_fput(dc->bdev_file);

	bcache_device_free(d);
	bch_cached_dev_request_exit(dc);

	if (dc->released)
		complete(dc->released);
	bch_device_freed();

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

	/* Dirty data stays in the cache, the superblock says DIRTY. */
	bch_cached_dev_writeback_stop(dc);

	/* running cannot change any more: only a run sets it, under the lock. */
	if (atomic_read(&dc->running))
		sysfs_remove_link(&disk_to_dev(d->disk)->kobj, "bcache");

	/* Before our directory goes: the set's link points into it. */
	mutex_lock(&bch_register_lock);
	bcache_device_unlink(d);
	mutex_unlock(&bch_register_lock);

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
	atomic_long_set(&dc->writeback_rate.rate, 1024);
	bch_cached_dev_writeback_init(dc);

	dc->sequential_cutoff = 4 << 20;
	dc->error_limit = DEFAULT_CACHED_DEV_ERROR_LIMIT;
	dc->cache_readahead_policy = BCH_CACHE_READA_ALL;
	dc->stop_when_cache_set_failed = BCH_CACHED_DEV_STOP_AUTO;

	/* Only meaningful on a device with stripes, such as md raid5. */
	dc->partial_stripes_expensive = bdev_io_opt(dc->bdev) &&
		(q->limits.features & BLK_FEAT_RAID_PARTIAL_STRIPES_EXPENSIVE);
}

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
	INIT_WORK(&dc->detach, cached_dev_detach_finish);
	bch_accounting_init(&dc->accounting);
	bch_device_created();

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

	/* Before attaching, which logs too: upstream's order of messages. */
	pr_info("registered backing device %pg\n", dc->bdev);

	/*
	 * Under the lock, against the reboot notifier: it stops every
	 * device on the list, so one added after it ran would be missed.
	 */
	mutex_lock(&bch_register_lock);
	if (!bcache_rebooting())
		list_add(&dc->list, &bch_uncached_devices);
	mutex_unlock(&bch_register_lock);
	if (list_empty(&dc->list)) {
		*err = "bcache is in reboot";
		return -EBUSY;
	}

	/*
	 * To the set its superblock names, if that set runs already;
	 * otherwise the set adopts it when it starts. A refusal is logged
	 * and leaves the device as it would be without the set.
	 */
	bch_cached_dev_attach(dc, NULL);

	/* Attaching ran bcacheN already. */
	if (atomic_read(&dc->running))
		return 0;
	if (BDEV_STATE(&dc->sb) != BDEV_STATE_NONE &&
	    BDEV_STATE(&dc->sb) != BDEV_STATE_STALE)
		return 0;

	*err = "failed to run cached device";
	return bch_cached_dev_run(dc);
}

int bch_register_bdev(struct registration *r, const char **err)
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

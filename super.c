// SPDX-License-Identifier: GPL-2.0
/*
 * Registration, the lifetime of cache sets, superblock writes, and the
 * module itself.
 *
 * A device path written to /sys/fs/bcache/register goes through three
 * steps. First it is opened shared, read-only, and its superblock (sector
 * 8) is read and checked by bch_sb_decode(); a bad superblock is refused
 * there, before anything else is allocated. Then it is reopened for writing
 * and claimed exclusively, with the new device object as holder: of two
 * concurrent registrations of one device exactly one gets the claim, the
 * other -EBUSY. Last, a backing device is handed to backing.c, a cache
 * device becomes (part of) a cache set here, which recovery.c starts.
 *
 * The global bch_register_lock is taken only to add a device to or remove
 * it from the list of registered devices and sets. Reading the superblock,
 * add_disk() (which scans partitions, so does I/O) and del_gendisk() all
 * run without it: registering or stopping one slow device never holds up
 * another one.
 *
 * Each registered device or set holds a reference on the module, dropped
 * as the very last step of its free, so the module cannot be unloaded
 * while one exists (rmmod says it is in use, as with upstream); module
 * exit destroys bcache_wq, which waits until that last free has returned.
 */

#include "bcache.h"
#include "alloc.h"
#include "backing.h"
#include "btree.h"
#include "btree_node.h"
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

DEFINE_MUTEX(bch_register_lock);	/* the list below; see bcache.h */

/*
 * Registered backing devices not attached to a set (cached_dev.list; an
 * attached one is on its set's cached_devs), and the registered cache
 * sets; both under bch_register_lock.
 */
LIST_HEAD(bch_uncached_devices);
LIST_HEAD(bch_cache_sets);
/*
 * How many devices and cache sets exist, up to the end of their free, and
 * how many have been freed so far; unregister_wait is woken at each free.
 */
static atomic_t nr_devices = ATOMIC_INIT(0);
static atomic_t nr_freed = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(unregister_wait);

/* How long registering waits for a stopping device to let go of its disk. */
#define REGISTER_STOPPING_WAIT	(10 * HZ)

static bool bcache_is_reboot;
static struct kobject *bcache_kobj;
static struct dentry *bcache_debug;

bool bcache_rebooting(void)
{
	return READ_ONCE(bcache_is_reboot);
}

/* A device or set exists from here until bch_device_freed(). */
void bch_device_created(void)
{
	atomic_inc(&nr_devices);
}

/* The last step of a device's or set's free; wakes whoever waits for it. */
void bch_device_freed(void)
{
	atomic_inc(&nr_freed);
	atomic_dec(&nr_devices);
	wake_up_all(&unregister_wait);
}

/*
 * Cache sets
 *
 * Lifetime: c->caching is the set as the devices see it. Stopping queues
 * it: cache_set_release_devices() lets every attached device go (stopping
 * or detaching it) and waits for the references they held on caching;
 * cache_set_flush() then stops the threads and writes back what is dirty;
 * returning drops caching's reference on c->cl, whose continuation
 * cache_set_free() frees everything once no superblock write or other
 * child of c->cl is left.
 */

/*
 * A failed cache may hold the only copy of a device's data: such a device
 * is stopped rather than left running on stale blocks, and so is any
 * whose admin asked for it ("always").
 */
static void conditional_stop_device(struct cache_set *c, struct cached_dev *dc)
{
	const char *name = dc->disk.disk->disk_name;
	bool dirty = atomic_read(&dc->has_dirty);

	if (dc->stop_when_cache_set_failed != BCH_CACHED_DEV_STOP_ALWAYS &&
	    !dirty) {
		pr_warn("stop_when_cache_set_failed of %s is \"auto\" and cache is clean, keep it alive.\n",
			name);
		return;
	}

	if (dc->stop_when_cache_set_failed == BCH_CACHED_DEV_STOP_ALWAYS) {
		pr_warn("stop_when_cache_set_failed of %s is \"always\", stop it for failed cache set %pU.\n",
			name, c->set_uuid);
	} else {
		pr_warn("stop_when_cache_set_failed of %s is \"auto\" and cache is dirty, stop it to avoid potential data corruption.\n",
			name);
		WRITE_ONCE(dc->io_disable, true);
		/* No request may reach the backing device meanwhile. */
		smp_mb();
	}
	bcache_device_stop(&dc->disk);
}

/* What a stopping set does with attached device @d (uuid entry @u). */
static void cache_set_release_device(struct cache_set *c,
				     struct bcache_device *d,
				     const struct uuid_entry *u)
{
	struct cached_dev *dc = to_cached_dev(d);

	if (UUID_FLASH_ONLY(u) ||
	    !test_bit(CACHE_SET_UNREGISTERING, &c->flags)) {
		bcache_device_stop(d);
		return;
	}

	/* A dirty device is written back first, unless the set failed. */
	bch_cached_dev_detach(dc);
	if (test_bit(CACHE_SET_IO_DISABLE, &c->flags))
		conditional_stop_device(c, dc);
}

/* c->caching, queued by bch_cache_set_stop(). */
static CLOSURE_CALLBACK(cache_set_release_devices);
static CLOSURE_CALLBACK(cache_set_flush);

static CLOSURE_CALLBACK(cache_set_release_devices)
{
	closure_type(c, struct cache_set, caching);
	unsigned int i;

	mutex_lock(&bch_register_lock);
	for (i = 0; i < c->devices_max_used; i++)
		if (c->devices[i])
			cache_set_release_device(c, c->devices[i],
						 c->uuids + i);
	mutex_unlock(&bch_register_lock);

	/* Each attached device holds caching until it has let go. */
	continue_at(cl, cache_set_flush, bcache_wq);
}

/* Only a set that came up and has not failed writes anything back. */
static bool cache_set_may_write(struct cache_set *c)
{
	return test_bit(CACHE_SET_RUNNING, &c->flags) &&
	       !test_bit(CACHE_SET_IO_DISABLE, &c->flags);
}

/* Takes the set and its cache device out of sysfs and debugfs. */
static void cache_set_hide(struct cache_set *c)
{
	struct cache *ca = c->cache;

	bch_accounting_destroy(&c->accounting);
	bch_debug_exit_cache_set(c);

	if (ca && ca->kobj.state_in_sysfs)
		kobject_del(&ca->kobj);
	if (c->internal.state_in_sysfs)
		kobject_del(&c->internal);
	if (c->kobj.state_in_sysfs)
		kobject_del(&c->kobj);
}

static void cache_set_stop_allocator(struct cache_set *c)
{
	struct cache *ca = c->cache;

	if (ca && !IS_ERR_OR_NULL(ca->alloc_thread)) {
		kthread_stop(ca->alloc_thread);
		ca->alloc_thread = NULL;
	}
}

static CLOSURE_CALLBACK(cache_set_flush)
{
	closure_type(c, struct cache_set, caching);
	struct closure wait;

	cache_set_hide(c);
	bch_gc_thread_stop(c);

	/* The root is kept off the node lists while it is the root. */
	if (!IS_ERR_OR_NULL(c->root))
		list_move(&c->root->list, &c->btree_cache);

	if (cache_set_may_write(c))
		bch_btree_flush_all(c);
	cache_set_stop_allocator(c);

	if (cache_set_may_write(c)) {
		/* A last entry, so the next start replays nothing stale. */
		closure_init_stack(&wait);
		bch_journal_meta(c, &wait);
		closure_sync(&wait);
	}
	if (c->journal.cur)
		cancel_delayed_work_sync(&c->journal.work);

	closure_return(cl);
}

/*
 * What a set allocates, in order; freed in reverse, as far as it got
 * (c->parts_ready), by the free path whatever stopped the set.
 */

static int set_devices_init(struct cache_set *c)
{
	c->devices = kcalloc(c->nr_uuids, sizeof(*c->devices), GFP_KERNEL);
	return c->devices ? 0 : -ENOMEM;
}

static void set_devices_exit(struct cache_set *c)
{
	kfree(c->devices);
}

/* Bios of btree node, prio and uuid I/O: one meta bucket's worth of pages. */
static int set_bio_meta_init(struct cache_set *c)
{
	size_t bytes = struct_size_t(struct bbio, bio.bi_inline_vecs,
				     meta_bucket_pages(&c->cache->sb));

	return mempool_init_kmalloc_pool(&c->bio_meta, 2, bytes);
}

static void set_bio_meta_exit(struct cache_set *c)
{
	mempool_exit(&c->bio_meta);
}

static unsigned int set_uuids_order(struct cache_set *c)
{
	return ilog2(meta_bucket_pages(&c->cache->sb));
}

static int set_uuids_init(struct cache_set *c)
{
	c->uuids = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO |
					    __GFP_COMP, set_uuids_order(c));
	return c->uuids ? 0 : -ENOMEM;
}

static void set_uuids_exit(struct cache_set *c)
{
	free_pages((unsigned long)c->uuids, set_uuids_order(c));
}

static const struct {
	int	(*init)(struct cache_set *c);
	void	(*exit)(struct cache_set *c);
} set_parts[] = {
	{ set_devices_init,	set_devices_exit },
	{ set_bio_meta_init,	set_bio_meta_exit },
	{ bch_request_set_init,	bch_request_set_exit },
	{ set_uuids_init,	set_uuids_exit },
	{ bch_moving_init_cache_set, bch_moving_exit_cache_set },
	{ bch_journal_alloc,	bch_journal_free },
	{ bch_btree_cache_alloc, bch_btree_cache_free },
	{ bch_open_buckets_alloc, bch_open_buckets_free },
};

/* Lets go of the cache device's claim now; its memory goes with its kobject. */
static void cache_drop_claim(struct cache *ca)
{
	if (ca->bdev_file) {
		bdev_fput(ca->bdev_file);
		ca->bdev_file = NULL;
	}
}

/* The continuation of c->cl: nothing refers to the set any more. */
static CLOSURE_CALLBACK(cache_set_free)
{
	closure_type(c, struct cache_set, cl);
	struct completion *freed = c->freed;
	struct cache *ca = c->cache;

	while (c->parts_ready)
		set_parts[--c->parts_ready].exit(c);

	/* Off the list before the claim goes, for a registrar waiting on it. */
	mutex_lock(&bch_register_lock);
	list_del_init(&c->list);
	mutex_unlock(&bch_register_lock);

	if (ca) {
		if (ca->alloc_ready) {
			bch_cache_alloc_exit(ca);
			ca->alloc_ready = false;
		}
		cache_drop_claim(ca);
		ca->set = NULL;
		c->cache = NULL;
		kobject_put(&ca->kobj);
	}

	pr_info("Cache set %pU unregistered\n", c->set_uuid);
	bch_device_freed();
	if (freed)
		complete(freed);

	closure_debug_destroy(&c->cl);
	kobject_put(&c->internal);
	kobject_put(&c->kobj);
}

/* The release of c->kobj: the very end of a set. */
void bch_cache_set_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct cache_set, kobj));
	module_put(THIS_MODULE);
}

/* internal/ lives inside the set and goes with it. */
void bch_cache_set_internal_release(struct kobject *kobj)
{
}

/* Btree nodes larger than this are cut down, to keep node writes small. */
#define BTREE_MAX_PAGES		(256 * 1024 / PAGE_SIZE)

static unsigned int cache_set_btree_pages(const struct cache_sb *sb)
{
	unsigned int pages = meta_bucket_pages(sb);

	if (pages > BTREE_MAX_PAGES)
		pages = max_t(unsigned int, pages / 4, BTREE_MAX_PAGES);
	return pages;
}

/* The closures: see the lifetime paragraph at the top of this section. */
static void cache_set_init_lifetime(struct cache_set *c)
{
	closure_init(&c->cl, NULL);
	closure_init(&c->caching, &c->cl);
	set_closure_fn(&c->caching, cache_set_release_devices, bcache_wq);
	set_closure_fn(&c->cl, cache_set_free, bcache_wq);

	/* From here on c->cl lives only through caching's reference. */
	closure_set_stopped(&c->cl);
	closure_put(&c->cl);
}

static void cache_set_init_fields(struct cache_set *c, struct cache *ca)
{
	struct list_head *lists[] = {
		&c->list, &c->cached_devs, &c->data_buckets, &c->btree_cache,
		&c->btree_cache_freeable, &c->btree_cache_freed,
	};
	const struct cache_sb *sb = &ca->sb;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lists); i++)
		INIT_LIST_HEAD(lists[i]);

	ca->set = c;
	c->cache = ca;
	memcpy(c->set_uuid, sb->set_uuid, 16);

	/* Geometry: everything is sized from the cache's buckets. */
	c->nbuckets = sb->nbuckets;
	c->nr_uuids = meta_bucket_bytes(sb) / sizeof(struct uuid_entry);
	c->btree_pages = cache_set_btree_pages(sb);
	c->block_bits = ilog2(sb->block_size);
	c->bucket_bits = ilog2(sb->bucket_size);

	sema_init(&c->sb_write_mutex, 1);
	sema_init(&c->uuid_write_mutex, 1);
	mutex_init(&c->attach_lock);
	mutex_init(&c->bucket_lock);
	spin_lock_init(&c->data_bucket_lock);
	spin_lock_init(&c->btree_cannibalize_lock);
	init_waitqueue_head(&c->btree_cache_wait);
	init_waitqueue_head(&c->bucket_wait);
	init_waitqueue_head(&c->gc_wait);
	bch_time_stats_init(&c->btree_gc_time);
	bch_time_stats_init(&c->btree_split_time);
	bch_time_stats_init(&c->btree_read_time);

	/* Upstream's defaults; all can be changed in sysfs. */
	c->journal_delay_ms = 100;
	c->congested_read_threshold_us = 2000;
	c->congested_write_threshold_us = 20000;
	c->error_limit = DEFAULT_IO_ERROR_LIMIT;
	c->idle_max_writeback_rate_enabled = 1;
}

/*
 * A set for cache device @ca, which it owns from now on whatever happens
 * (unless even the set cannot be allocated: NULL). If not all its parts
 * could be allocated, c->parts_ready says so and the caller stops it.
 */
static struct cache_set *cache_set_alloc(struct cache *ca)
{
	struct cache_set *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (!c)
		return NULL;

	/* Dropped by bch_cache_set_release(). */
	__module_get(THIS_MODULE);
	bch_device_created();

	cache_set_init_lifetime(c);
	kobject_init(&c->kobj, &bch_cache_set_ktype);
	kobject_init(&c->internal, &bch_cache_set_internal_ktype);
	bch_accounting_init(&c->accounting);
	cache_set_init_fields(c, ca);
	bch_btree_checker_init(c);

	while (c->parts_ready < ARRAY_SIZE(set_parts) &&
	       !set_parts[c->parts_ready].init(c))
		c->parts_ready++;
	return c;
}

/* Under bch_register_lock: the set becomes findable, unless it is a double. */
static int cache_set_list_add(struct cache_set *c, const char **err)
{
	struct cache_set *other;
	int ret = 0;

	mutex_lock(&bch_register_lock);
	list_for_each_entry(other, &bch_cache_sets, list)
		if (!memcmp(other->set_uuid, c->set_uuid, 16))
			ret = -EBUSY;
	if (ret)
		*err = "duplicate cache set member";
	else if (bcache_is_reboot)
		*err = "bcache is in reboot";
	else
		list_add(&c->list, &bch_cache_sets);
	mutex_unlock(&bch_register_lock);

	return list_empty(&c->list) ? -EBUSY : 0;
}

static int cache_set_publish(struct cache_set *c, const char **err)
{
	struct cache *ca = c->cache;
	int ret;

	ret = cache_set_list_add(c, err);
	if (ret)
		return ret;

	*err = "error creating kobject";
	ret = kobject_add(&c->kobj, bcache_kobj, "%pU", c->set_uuid);
	if (!ret)
		ret = kobject_add(&c->internal, &c->kobj, "internal");
	if (!ret)
		ret = bch_accounting_add_kobjs(&c->accounting, &c->kobj);
	if (!ret)
		ret = sysfs_create_link(&ca->kobj, &c->kobj, "set");
	if (!ret)
		ret = sysfs_create_link(&c->kobj, &ca->kobj, "cache0");
	if (ret)
		return ret;

	if (!IS_ERR_OR_NULL(bcache_debug))
		bch_debug_init_cache_set(c, bcache_debug);
	return 0;
}

/* Flash-only volumes are not supported yet: their entries are left alone. */
static void cache_set_skip_flash_volumes(struct cache_set *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_uuids; i++)
		if (UUID_FLASH_ONLY(c->uuids + i) &&
		    bch_uuid_entry_live(c->uuids + i))
			pr_info("set %pU: flash-only volume %pU skipped (not supported yet)\n",
				c->set_uuid, c->uuids[i].uuid);
}

/*
 * The set runs from here on: attach every registered backing device that
 * belongs to it. A device registering concurrently sees the set running
 * (and attaches itself) or is on the list we collect, never neither.
 */
static void cache_set_adopt_devices(struct cache_set *c)
{
	struct cached_dev **found = NULL, *dc;
	unsigned int n = 0, i;

	mutex_lock(&bch_register_lock);
	set_bit(CACHE_SET_RUNNING, &c->flags);
	list_for_each_entry(dc, &bch_uncached_devices, list)
		n++;
	if (n)
		found = kmalloc_array(n, sizeof(*found), GFP_KERNEL);
	n = 0;
	if (found)
		list_for_each_entry(dc, &bch_uncached_devices, list)
			if (!memcmp(dc->sb.set_uuid, c->set_uuid, 16) &&
			    closure_get_not_zero(&dc->disk.cl))
				found[n++] = dc;
	mutex_unlock(&bch_register_lock);

	/* dc->state_lock comes before bch_register_lock; see bcache.h. */
	for (i = 0; i < n; i++) {
		dc = found[i];
		mutex_lock(&dc->state_lock);
		/* Stable under state_lock: only attach and detach change it. */
		if (!dc->disk.c)
			bch_cached_dev_attach(dc, NULL);
		mutex_unlock(&dc->state_lock);
		closure_put(&dc->disk.cl);
	}
	kfree(found);
}

static int run_cache_set(struct cache_set *c)
{
	struct cache *ca = c->cache;
	LIST_HEAD(journal);
	const char *err;
	struct closure cl;
	bool recovering;

	closure_init_stack(&cl);
	set_gc_sectors(c);

	recovering = CACHE_SYNC(&ca->sb);
	if (recovering)
		err = bch_cache_set_recover(c, &journal);
	else
		err = bch_cache_set_create(c, &cl);
	if (!err && bch_gc_thread_start(c))
		err = "error starting gc thread";
	/*
	 * A new set gets one gc right away, as the kernel's bcache runs one
	 * (its allocator's first pass asks for it): sysfs then counts the
	 * root. A set read from disk gets none: bch_btree_check() has marked
	 * every bucket and counted the nodes below the root, and like the
	 * kernel's we leave the gc stats (btree_gc_last_sec -1) to the first
	 * gc that writes or the allocator asks for. A second walk of a full
	 * tree would double the time to register.
	 */
	if (!err && !recovering)
		force_wake_up_gc(c);

	/*
	 * A set that failed to start writes nothing back, as upstream's
	 * bch_cache_set_error() ensures: a prio write (and its jset) or a
	 * btree node from a half-done replay would make a journal that was
	 * refused look complete to the next registration.
	 */
	if (err)
		set_bit(CACHE_SET_IO_DISABLE, &c->flags);
	bch_journal_entries_free(&journal);
	closure_sync(&cl);
	if (err) {
		pr_err("error running cache set %pU: %s\n", c->set_uuid, err);
		return -EINVAL;
	}

	ca->sb.last_mount = (u32)ktime_get_real_seconds();
	bch_write_super(c);

	if (ca->sb.feature_incompat & BCH_FEATURE_INCOMPAT_OBSO_LARGE_BUCKET)
		pr_err("Detect obsoleted large bucket layout, all attached bcache device will be read-only\n");

	bch_journal_space_reserve(&c->journal);
	cache_set_skip_flash_volumes(c);
	cache_set_adopt_devices(c);
	return 0;
}

/* Cache devices */

/* The release of ca->kobj: whatever the cache still holds goes. */
void bch_cache_release(struct kobject *kobj)
{
	struct cache *ca = container_of(kobj, struct cache, kobj);

	if (ca->alloc_ready)
		bch_cache_alloc_exit(ca);
	if (ca->sb_disk)
		put_page(virt_to_page(ca->sb_disk));
	cache_drop_claim(ca);
	kfree(ca);
	module_put(THIS_MODULE);
}

/* As cached_dev_adopt(), for a cache device. */
static struct cache *cache_adopt(struct registration *r)
{
	struct cache *ca = r->ca;

	/* Dropped by bch_cache_release(). */
	__module_get(THIS_MODULE);
	kobject_init(&ca->kobj, &bch_cache_ktype);

	r->ca = NULL;
	r->sb_page = NULL;
	ca->sb_disk = no_free_ptr(r->sb_disk);
	ca->bdev_file = no_free_ptr(r->bdev_file);
	ca->bdev = file_bdev(ca->bdev_file);
	memcpy(&ca->sb, &r->sb, sizeof(ca->sb));

	if (bdev_max_discard_sectors(ca->bdev))
		ca->discard = CACHE_DISCARD(&ca->sb);
	return ca;
}

static int cache_setup(struct cache *ca, const char **err)
{
	int ret;

	ret = bch_cache_alloc_init(ca);
	if (ret) {
		/* alloc.c has logged which geometry it refused, if it did. */
		*err = ret == -ENOMEM ? "cannot allocate memory" :
					"unusable cache geometry";
		return ret;
	}
	ca->alloc_ready = true;

	*err = "error calling kobject_add";
	return kobject_add(&ca->kobj, bdev_kobj(ca->bdev), "bcache");
}

static int register_cache(struct registration *r, const char **err)
{
	DECLARE_COMPLETION_ONSTACK(freed);
	struct cache *ca = cache_adopt(r);
	struct cache_set *c;
	int ret;

	ret = cache_setup(ca, err);
	if (ret) {
		/* Not the set's yet: give the claim back before returning. */
		cache_drop_claim(ca);
		kobject_put(&ca->kobj);
		return ret;
	}

	c = cache_set_alloc(ca);
	if (!c) {
		*err = "cannot allocate memory";
		cache_drop_claim(ca);
		kobject_put(&ca->kobj);
		return -ENOMEM;
	}

	/* The set owns ca now, and keeps from going away while it starts. */
	closure_get(&c->caching);
	if (c->parts_ready < ARRAY_SIZE(set_parts)) {
		*err = "cannot allocate memory";
		ret = -ENOMEM;
	} else {
		ret = cache_set_publish(c, err);
	}
	if (!ret) {
		*err = "failed to run cache set";
		ret = run_cache_set(c);
	}

	if (!ret) {
		pr_info("registered cache device %pg\n", ca->bdev);
		closure_put(&c->caching);
		return 0;
	}

	/* Nothing half-built stays: return once the set and its claim are gone. */
	c->freed = &freed;
	bch_cache_set_unregister(c);
	closure_put(&c->caching);
	wait_for_completion(&freed);
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
	kfree(r->ca);
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

/* Whether @dev is a backing device on @list; if so, whether it stops. */
static bool backing_dev_listed(struct list_head *list, dev_t dev,
			       bool *stopping)
{
	struct cached_dev *dc;

	list_for_each_entry(dc, list, list) {
		if (dc->bdev->bd_dev == dev) {
			*stopping = test_bit(BCACHE_DEV_CLOSING,
					     &dc->disk.flags);
			return true;
		}
	}
	return false;
}

/* Whether @dev is registered, and if so whether it is being stopped. */
static bool bch_is_registered(dev_t dev, bool *stopping)
{
	struct cache_set *c;
	bool found;

	mutex_lock(&bch_register_lock);
	found = backing_dev_listed(&bch_uncached_devices, dev, stopping);
	list_for_each_entry(c, &bch_cache_sets, list) {
		if (found)
			break;
		found = backing_dev_listed(&c->cached_devs, dev, stopping);
		if (!found && c->cache && c->cache->bdev->bd_dev == dev) {
			found = true;
			*stopping = test_bit(CACHE_SET_STOPPING, &c->flags);
		}
	}
	mutex_unlock(&bch_register_lock);
	return found;
}

/* The object to be, as holder of the claim: a cached_dev or a cache. */
static void *registration_holder(struct registration *r)
{
	if (SB_IS_BDEV(&r->sb)) {
		r->dc = kzalloc(sizeof(*r->dc), GFP_KERNEL);
		return r->dc;
	}
	r->ca = kzalloc(sizeof(*r->ca), GFP_KERNEL);
	return r->ca;
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
	void *holder = registration_holder(r);
	long left;
	int freed;

	if (!holder) {
		*err = "cannot allocate memory";
		return -ENOMEM;
	}

	for (;;) {
		freed = atomic_read(&nr_freed);
		claimed = bdev_file_open_by_dev(dev,
						BLK_OPEN_READ | BLK_OPEN_WRITE,
						holder, NULL);
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
 * What sb.c leaves to us about a cache device: what this driver, like
 * 6.12's, can run. NULL if all is well.
 *
 * A bucket of one block (make-bcache --block 4k --bucket 4k) is refused,
 * where 6.12 corrupts memory at the first node split: a btree node is
 * then full after its first write, so every insert rewrites the nodes
 * up to the root, and a journal bucket holds one jset, so a few inserts
 * in flight fill the journal while the split that would free it waits
 * for journal room.
 */
VISIBLE_IF_KUNIT const char *bch_check_cache_sb(const struct cache_sb *sb)
{
	if (sb->nr_in_set != 1 || sb->nr_this_dev != 0)
		return "Bad cache device number in set (one cache per set is supported)";
	if (sb->bucket_size < sb->block_size)
		return "Bad bucket size (smaller than block size)";
	if (sb->bucket_size == sb->block_size)
		return "Bad bucket size (a bucket must hold two blocks or more)";
	if (sb->bucket_size < PAGE_SECTORS)
		return "Bad bucket size (smaller than page size)";
	if (sb->feature_incompat & ~BCH_FEATURE_INCOMPAT_SUPP)
		return "Unsupported incompatible feature found";
	if (sb->first_bucket >= sb->nbuckets)
		return "Bad first bucket (past the last bucket)";
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(bch_check_cache_sb);

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
		*err = bch_check_cache_sb(&r->sb);
		if (*err)
			return -EINVAL;
	}

	return claim_device(r, err);
}

static int register_device(struct registration *r, const char **err)
{
	if (SB_IS_BDEV(&r->sb))
		return bch_register_bdev(r, err);
	return register_cache(r, err);
}

static void register_worker(struct work_struct *work)
{
	struct registration *r = container_of(work, struct registration, work);
	const char *err = NULL;

	if (register_device(r, &err))
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
		ret = register_device(r, &err);
	}

	if (ret && err)
		pr_err("error %s: %s\n", r->path, err);
	registration_free(r);
	module_put(THIS_MODULE);
	return ret ? ret : size;
}

static bool cache_set_registered(const u8 *set_uuid)
{
	struct cache_set *c;

	lockdep_assert_held(&bch_register_lock);
	list_for_each_entry(c, &bch_cache_sets, list)
		if (!memcmp(c->set_uuid, set_uuid, 16))
			return true;
	return false;
}

/*
 * Stops every unattached backing device whose cache set is not
 * registered: those waiting for their cache and, as upstream does,
 * detached ones running without one too.
 */
static ssize_t pendings_cleanup_store(struct kobject *k,
				      struct kobj_attribute *attr,
				      const char *buf, size_t size)
{
	struct cached_dev *dc;

	mutex_lock(&bch_register_lock);
	list_for_each_entry(dc, &bch_uncached_devices, list) {
		if (cache_set_registered(dc->sb.set_uuid))
			continue;
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

/*
 * Stops every cache set (and with it the devices attached to it) and every
 * other registered device; they go away asynchronously.
 */
static void stop_all_devices(void)
{
	struct cache_set *c;
	struct cached_dev *dc;

	lockdep_assert_held(&bch_register_lock);
	list_for_each_entry(c, &bch_cache_sets, list)
		bch_cache_set_stop(c);
	list_for_each_entry(dc, &bch_uncached_devices, list)
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
	any = !list_empty(&bch_uncached_devices) || !list_empty(&bch_cache_sets);
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

	ret = bch_backing_module_init();
	if (ret)
		return ret;

	ret = bch_request_module_init();
	if (ret)
		goto err_blkdev;

	ret = bch_set_module_init();
	if (ret)
		goto err_request;
	ret = bch_journal_module_init();
	if (ret)
		goto err_wq;

	ret = -ENOMEM;
	bcache_kobj = kobject_create_and_add("bcache", fs_kobj);
	if (!bcache_kobj)
		goto err_journal;
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
err_journal:
	bch_journal_module_exit();
err_wq:
	bch_set_module_exit();
err_request:
	bch_request_module_exit();
err_blkdev:
	bch_backing_module_exit();
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
	bch_journal_module_exit();
	/* Waits for the free function that dropped the last reference. */
	bch_set_module_exit();
	bch_request_module_exit();
	bch_backing_module_exit();
}

module_init(bcache_init);
module_exit(bcache_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bcache: block devices cached on a faster one");
/*
 * The kernel's bcache.ko has no version. DKMS installs a module over the
 * distribution's only when their versions differ, and /sys/module/bcache/
 * version tells which driver runs. dkms.conf's PACKAGE_VERSION is the same.
 */
MODULE_VERSION("1.0");

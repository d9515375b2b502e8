// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs files of bcache devices.
 *
 * A backing device's directory is /sys/block/<backing>/bcache, also reached
 * as /sys/block/bcacheN/bcache. File names and the formats of what they
 * show and take are upstream's ABI, which scripts and bcache-tools rely
 * on. Each file is an entry of an attribute table (see sysfs_attr.h); all of a
 * device's files run under its state_lock, and none of them while the
 * system reboots.
 *
 * Files that concern writeback hold their values without a cache too, so
 * that settings made before a cache is attached are kept; the writeback
 * thread and its rate controller read them.
 */

#include "bcache.h"
#include "backing.h"
#include "btree.h"
#include "gc.h"
#include "io.h"
#include "recovery.h"
#include "request.h"
#include "set.h"
#include "super.h"
#include "sysfs.h"
#include "sysfs_attr.h"
#include "util.h"
#include "uuid.h"
#include "writeback.h"

#include <linux/blkdev.h>
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/sched/clock.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

/* Backing devices */

static const char * const bch_cache_modes[] = {
	"writethrough", "writeback", "writearound", "none", NULL
};

static const char * const bch_reada_cache_policies[] = {
	"all", "meta-only", NULL
};

static const char * const bch_stop_on_failure_modes[] = {
	"auto", "always", NULL
};

static const char * const bdev_states[] = {
	[BDEV_STATE_NONE]	= "no cache",
	[BDEV_STATE_CLEAN]	= "clean",
	[BDEV_STATE_DIRTY]	= "dirty",
	[BDEV_STATE_STALE]	= "inconsistent",
};

static struct cached_dev *kobj_to_dc(struct kobject *kobj)
{
	return container_of(kobj, struct cached_dev, disk.kobj);
}

#define DC_FIELD(member)	.field = BCH_FIELD(struct cached_dev, disk.kobj, member)

static ssize_t show_state(struct kobject *kobj, const struct bch_attr *a,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n", bdev_states[BDEV_STATE(&kobj_to_dc(kobj)->sb)]);
}

static ssize_t show_running(struct kobject *kobj, const struct bch_attr *a,
			    char *buf)
{
	return sysfs_emit(buf, "%i\n", atomic_read(&kobj_to_dc(kobj)->running));
}

/* Writing a non-zero number brings bcacheN up without its cache. */
static ssize_t store_running(struct kobject *kobj, const struct bch_attr *a,
			     const char *buf, size_t size)
{
	unsigned long v;
	int ret = kstrtoul(buf, 10, &v);

	if (!ret && v)
		ret = bch_cached_dev_run(kobj_to_dc(kobj));
	return ret ? ret : size;
}

/* Restarts the running totals of stats_total. */
static ssize_t store_clear_stats(struct kobject *kobj, const struct bch_attr *a,
				 const char *buf, size_t size)
{
	bch_accounting_clear(&kobj_to_dc(kobj)->accounting);
	return size;
}

static ssize_t store_stop(struct kobject *kobj, const struct bch_attr *a,
			  const char *buf, size_t size)
{
	bcache_device_stop(&kobj_to_dc(kobj)->disk);
	return size;
}

static ssize_t show_label(struct kobject *kobj, const struct bch_attr *a,
			  char *buf)
{
	const u8 *label = kobj_to_dc(kobj)->sb.label;

	return sysfs_emit(buf, "%.*s\n", (int)strnlen(label, SB_LABEL_SIZE),
			  label);
}

/*
 * An attached device's label is also kept in its set's uuid table. The
 * attachment is pinned (dc->count, which detach waits for) rather than
 * bch_register_lock held, so the uuid write does no I/O under that lock.
 */
static void label_uuid_entry(struct cached_dev *dc)
{
	struct cache_set *c;

	mutex_lock(&bch_register_lock);
	c = dc->disk.c;
	if (c && !refcount_inc_not_zero(&dc->count))
		c = NULL;
	mutex_unlock(&bch_register_lock);
	if (!c)
		return;

	memcpy(c->uuids[dc->disk.id].label, dc->sb.label, SB_LABEL_SIZE);
	bch_uuid_write(c);

	if (refcount_dec_and_test(&dc->count))
		schedule_work(&dc->detach);
}

/* Persisted in the superblock; a trailing newline is not part of it. */
static ssize_t store_label(struct kobject *kobj, const struct bch_attr *a,
			   const char *buf, size_t size)
{
	struct cached_dev *dc = kobj_to_dc(kobj);
	size_t len = size;

	if (size > SB_LABEL_SIZE)
		return -EINVAL;
	if (len && buf[len - 1] == '\n')
		len--;

	memset(dc->sb.label, 0, SB_LABEL_SIZE);
	memcpy(dc->sb.label, buf, len);
	bch_write_bdev_super(dc, NULL);
	label_uuid_entry(dc);

	if (atomic_read(&dc->running))
		bch_cached_dev_uevent(dc);
	return size;
}

static ssize_t show_cache_mode(struct kobject *kobj, const struct bch_attr *a,
			       char *buf)
{
	return bch_sysfs_show_choices(buf, bch_cache_modes,
				      BDEV_CACHE_MODE(&kobj_to_dc(kobj)->sb));
}

/* Persisted in the superblock. */
static ssize_t store_cache_mode(struct kobject *kobj, const struct bch_attr *a,
				const char *buf, size_t size)
{
	struct cached_dev *dc = kobj_to_dc(kobj);
	int mode = __sysfs_match_string(bch_cache_modes, -1, buf);

	if (mode < 0)
		return mode;
	if (mode != BDEV_CACHE_MODE(&dc->sb)) {
		SET_BDEV_CACHE_MODE(&dc->sb, mode);
		bch_write_bdev_super(dc, NULL);
	}
	return size;
}

/* The set named must be registered and running; see backing.h. */
static ssize_t store_attach(struct kobject *kobj, const struct bch_attr *a,
			    const char *buf, size_t size)
{
	struct cached_dev *dc = kobj_to_dc(kobj);
	u8 set_uuid[16];
	int ret;

	if (bch_sysfs_parse_uuid(buf, set_uuid) < 16)
		return -EINVAL;

	ret = bch_cached_dev_attach(dc, set_uuid);
	if (ret == -ENOENT)
		pr_err("Can't attach %.*s: cache set not found\n",
		       (int)strcspn(buf, "\n"), buf);
	return ret ? ret : size;
}

/* Detaching a device that is not attached does nothing, as upstream. */
static ssize_t store_detach(struct kobject *kobj, const struct bch_attr *a,
			    const char *buf, size_t size)
{
	struct cached_dev *dc = kobj_to_dc(kobj);
	int ret = 0;

	mutex_lock(&bch_register_lock);
	if (dc->disk.c)
		ret = bch_cached_dev_detach(dc);
	mutex_unlock(&bch_register_lock);
	/* Returns at once; dirty data is written back before the detach. */
	return ret ?: size;
}

static ssize_t show_backing_dev_name(struct kobject *kobj,
				     const struct bch_attr *a, char *buf)
{
	return sysfs_emit(buf, "%pg\n", kobj_to_dc(kobj)->bdev);
}

static ssize_t show_backing_dev_uuid(struct kobject *kobj,
				     const struct bch_attr *a, char *buf)
{
	return sysfs_emit(buf, "%pU\n", kobj_to_dc(kobj)->sb.uuid);
}

static ssize_t show_dirty_data(struct kobject *kobj, const struct bch_attr *a,
			       char *buf)
{
	return bch_sysfs_show_human(buf, bcache_dev_sectors_dirty(&kobj_to_dc(kobj)->disk)
				    << SECTOR_SHIFT);
}

static ssize_t show_stripe_size(struct kobject *kobj, const struct bch_attr *a,
				char *buf)
{
	return bch_sysfs_show_human(buf, (u64)kobj_to_dc(kobj)->disk.stripe_size
				    << SECTOR_SHIFT);
}

static ssize_t show_io_errors(struct kobject *kobj, const struct bch_attr *a,
			      char *buf)
{
	return sysfs_emit(buf, "%i\n", atomic_read(&kobj_to_dc(kobj)->io_errors));
}

static ssize_t show_sequential_cutoff(struct kobject *kobj,
				      const struct bch_attr *a, char *buf)
{
	return bch_sysfs_show_human(buf, kobj_to_dc(kobj)->sequential_cutoff);
}

/* The knobs of writeback, kept while no cache is attached */

static ssize_t store_writeback_percent(struct kobject *kobj,
				       const struct bch_attr *a,
				       const char *buf, size_t size)
{
	unsigned long v;
	int ret = bch_sysfs_parse_clamped(buf, 0, bch_cutoff_writeback, &v);

	if (ret)
		return ret;
	kobj_to_dc(kobj)->wb.percent = v;
	return size;
}

/*
 * Writeback runs only on an attached device, whose thread looks at the
 * flag when woken; without one there is nothing to start.
 */
static ssize_t store_writeback_running(struct kobject *kobj,
				       const struct bch_attr *a,
				       const char *buf, size_t size)
{
	struct cached_dev *dc = kobj_to_dc(kobj);
	ssize_t ret = bch_attr_store_bool(kobj, a, buf, size);

	if (ret < 0)
		return ret;
	if (READ_ONCE(dc->writeback_thread)) {
		bch_writeback_queue(dc);
	} else if (dc->writeback_running) {
		dc->writeback_running = false;
		pr_err("%s: failed to run non-existent writeback thread\n",
		       dc->disk.disk->disk_name);
	}
	return ret;
}

static u64 shown_rate(struct cached_dev *dc)
{
	return dc->writeback_running ?
		(u64)atomic_long_read(&dc->writeback_rate.rate) << SECTOR_SHIFT : 0;
}

static ssize_t show_writeback_rate(struct kobject *kobj,
				   const struct bch_attr *a, char *buf)
{
	return bch_sysfs_show_human(buf, shown_rate(kobj_to_dc(kobj)));
}

static ssize_t store_writeback_rate(struct kobject *kobj,
				    const struct bch_attr *a,
				    const char *buf, size_t size)
{
	unsigned long v;
	int ret = bch_sysfs_parse_clamped(buf, 1, INT_MAX, &v);

	if (ret)
		return ret;
	atomic_long_set(&kobj_to_dc(kobj)->writeback_rate.rate, v);
	return size;
}

static ssize_t show_writeback_rate_debug(struct kobject *kobj,
					 const struct bch_attr *a, char *buf)
{
	struct cached_dev *dc = kobj_to_dc(kobj);
	/* The controller terms are meaningful only while writeback runs. */
	bool wb = dc->writeback_running;
	const struct {
		const char	*name;
		s64		bytes;
		const char	*suffix;
	} rows[] = {
		{ "rate:\t\t", shown_rate(dc), "/sec" },
		{ "dirty:\t\t",
		  bcache_dev_sectors_dirty(&dc->disk) << SECTOR_SHIFT, "" },
		{ "target:\t\t", dc->writeback_rate_target << SECTOR_SHIFT, "" },
		{ "proportional:\t",
		  wb ? dc->writeback_rate_proportional << SECTOR_SHIFT : 0, "" },
		{ "integral:\t",
		  wb ? dc->writeback_rate_integral_scaled << SECTOR_SHIFT : 0, "" },
		{ "change:\t\t",
		  wb ? (s64)dc->writeback_rate_change << SECTOR_SHIFT : 0, "/sec" },
	};
	char h[BCH_HUMAN_LEN];
	ssize_t len = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		bch_format_human(h, rows[i].bytes);
		len += sysfs_emit_at(buf, len, "%s%s%s\n", rows[i].name, h,
				     rows[i].suffix);
	}
	/* When the rate limiter lets the next write go (past: negative). */
	return len + sysfs_emit_at(buf, len, "next io:\t%llims\n",
				   div64_s64(dc->writeback_rate.next -
					     local_clock(), NSEC_PER_MSEC));
}

/*
 * The fragmentation thresholds stay strictly increasing: each is clamped
 * between its neighbours (a->min is its index in wb.fp_term).
 */
static ssize_t store_fp_term(struct kobject *kobj, const struct bch_attr *a,
			     const char *buf, size_t size)
{
	unsigned int *terms = kobj_to_dc(kobj)->wb.fp_term;
	unsigned int i = a->min;
	unsigned long lo = i > FP_TERM_LOW ? terms[i - 1] + 1UL : 1;
	unsigned long hi = i < FP_TERM_HIGH ? terms[i + 1] - 1UL : UINT_MAX;
	unsigned long v;
	int ret = bch_sysfs_parse_clamped(buf, lo, hi, &v);

	if (ret)
		return ret;
	terms[i] = v;
	return size;
}

/* The table */

BCH_ATTR(attach,	0200, NULL, store_attach);
BCH_ATTR(detach,	0200, NULL, store_detach);
BCH_ATTR(stop,		0200, NULL, store_stop);
BCH_ATTR(clear_stats,	0200, NULL, store_clear_stats);
BCH_ATTR(running,	0644, show_running, store_running);
BCH_ATTR(state,		0444, show_state, NULL);
BCH_ATTR(label,		0644, show_label, store_label);
BCH_ATTR(cache_mode,	0644, show_cache_mode, store_cache_mode);
BCH_ATTR(readahead_cache_policy, 0644,
	 bch_attr_show_choice, bch_attr_store_choice,
	 DC_FIELD(cache_readahead_policy),
	 .choices = bch_reada_cache_policies);
BCH_ATTR(stop_when_cache_set_failed, 0644,
	 bch_attr_show_choice, bch_attr_store_choice,
	 DC_FIELD(stop_when_cache_set_failed),
	 .choices = bch_stop_on_failure_modes);
/* Stored as plain decimal bytes: 6.12 takes no unit suffix here. */
BCH_ATTR(sequential_cutoff, 0644, show_sequential_cutoff,
	 bch_attr_store_uint, DC_FIELD(sequential_cutoff), .max = UINT_MAX);
BCH_ATTR(backing_dev_name, 0444, show_backing_dev_name, NULL);
BCH_ATTR(backing_dev_uuid, 0444, show_backing_dev_uuid, NULL);
BCH_ATTR(dirty_data,	0444, show_dirty_data, NULL);
BCH_ATTR(stripe_size,	0444, show_stripe_size, NULL);
BCH_ATTR(partial_stripes_expensive, 0444, bch_attr_show_bool, NULL,
	 DC_FIELD(partial_stripes_expensive));

BCH_ATTR(io_errors,	0444, show_io_errors, NULL);
BCH_ATTR(io_error_limit, 0644, bch_attr_show_uint, bch_attr_store_uint,
	 DC_FIELD(error_limit), .max = INT_MAX);
BCH_ATTR(io_disable,	0644, bch_attr_show_bool, bch_attr_store_bool,
	 DC_FIELD(io_disable));

BCH_ATTR(writeback_metadata, 0644, bch_attr_show_bool, bch_attr_store_bool,
	 DC_FIELD(wb.metadata));
BCH_ATTR(writeback_running, 0644, bch_attr_show_bool,
	 store_writeback_running, DC_FIELD(writeback_running));
BCH_ATTR(writeback_consider_fragment, 0644,
	 bch_attr_show_bool, bch_attr_store_bool,
	 DC_FIELD(wb.consider_fragment));
BCH_ATTR(writeback_delay, 0644, bch_attr_show_uint, bch_attr_store_uint,
	 DC_FIELD(wb.delay), .max = UINT_MAX);
BCH_ATTR(writeback_percent, 0644, bch_attr_show_uint,
	 store_writeback_percent, DC_FIELD(wb.percent));
BCH_ATTR(writeback_rate, 0644, show_writeback_rate, store_writeback_rate);
BCH_ATTR(writeback_rate_update_seconds, 0644,
	 bch_attr_show_uint, bch_attr_store_uint,
	 DC_FIELD(wb.update_seconds),
	 .min = 1, .max = WRITEBACK_RATE_UPDATE_SECS_MAX);
BCH_ATTR(writeback_rate_i_term_inverse, 0644,
	 bch_attr_show_uint, bch_attr_store_uint,
	 DC_FIELD(wb.i_term_inverse), .min = 1, .max = UINT_MAX);
BCH_ATTR(writeback_rate_p_term_inverse, 0644,
	 bch_attr_show_uint, bch_attr_store_uint,
	 DC_FIELD(wb.p_term_inverse), .min = 1, .max = UINT_MAX);
BCH_ATTR(writeback_rate_fp_term_low, 0644, bch_attr_show_uint, store_fp_term,
	 DC_FIELD(wb.fp_term[FP_TERM_LOW]),
	 .min = FP_TERM_LOW);
BCH_ATTR(writeback_rate_fp_term_mid, 0644, bch_attr_show_uint, store_fp_term,
	 DC_FIELD(wb.fp_term[FP_TERM_MID]),
	 .min = FP_TERM_MID);
BCH_ATTR(writeback_rate_fp_term_high, 0644, bch_attr_show_uint, store_fp_term,
	 DC_FIELD(wb.fp_term[FP_TERM_HIGH]),
	 .min = FP_TERM_HIGH);
BCH_ATTR(writeback_rate_minimum, 0644, bch_attr_show_uint, bch_attr_store_uint,
	 DC_FIELD(wb.rate_minimum), .min = 1, .max = UINT_MAX);
BCH_ATTR(writeback_rate_debug, 0444, show_writeback_rate_debug, NULL);

static struct attribute *bch_cached_dev_attrs[] = {
	&bch_attr_attach.attr,
	&bch_attr_detach.attr,
	&bch_attr_stop.attr,
	&bch_attr_clear_stats.attr,
	&bch_attr_running.attr,
	&bch_attr_state.attr,
	&bch_attr_label.attr,
	&bch_attr_cache_mode.attr,
	&bch_attr_readahead_cache_policy.attr,
	&bch_attr_stop_when_cache_set_failed.attr,
	&bch_attr_sequential_cutoff.attr,
	&bch_attr_backing_dev_name.attr,
	&bch_attr_backing_dev_uuid.attr,
	&bch_attr_dirty_data.attr,
	&bch_attr_stripe_size.attr,
	&bch_attr_partial_stripes_expensive.attr,
	&bch_attr_io_errors.attr,
	&bch_attr_io_error_limit.attr,
	&bch_attr_io_disable.attr,
	&bch_attr_writeback_metadata.attr,
	&bch_attr_writeback_running.attr,
	&bch_attr_writeback_consider_fragment.attr,
	&bch_attr_writeback_delay.attr,
	&bch_attr_writeback_percent.attr,
	&bch_attr_writeback_rate.attr,
	&bch_attr_writeback_rate_update_seconds.attr,
	&bch_attr_writeback_rate_i_term_inverse.attr,
	&bch_attr_writeback_rate_p_term_inverse.attr,
	&bch_attr_writeback_rate_fp_term_low.attr,
	&bch_attr_writeback_rate_fp_term_mid.attr,
	&bch_attr_writeback_rate_fp_term_high.attr,
	&bch_attr_writeback_rate_minimum.attr,
	&bch_attr_writeback_rate_debug.attr,
	NULL
};
ATTRIBUTE_GROUPS(bch_cached_dev);

static ssize_t cached_dev_attr_show(struct kobject *kobj,
				    struct attribute *attr, char *buf)
{
	const struct bch_attr *a = to_bch_attr(attr);
	struct cached_dev *dc = kobj_to_dc(kobj);
	ssize_t ret;

	if (!a->show)
		return -EIO;

	mutex_lock(&dc->state_lock);
	ret = a->show(kobj, a, buf);
	mutex_unlock(&dc->state_lock);
	return ret;
}

static ssize_t cached_dev_attr_store(struct kobject *kobj,
				     struct attribute *attr,
				     const char *buf, size_t size)
{
	const struct bch_attr *a = to_bch_attr(attr);
	struct cached_dev *dc = kobj_to_dc(kobj);
	ssize_t ret;

	if (!a->store)
		return -EIO;
	/* No user space access while the system is rebooting. */
	if (bcache_rebooting())
		return -EBUSY;

	mutex_lock(&dc->state_lock);
	ret = a->store(kobj, a, buf, size);
	mutex_unlock(&dc->state_lock);
	return ret;
}

static const struct sysfs_ops bch_cached_dev_sysfs_ops = {
	.show	= cached_dev_attr_show,
	.store	= cached_dev_attr_store,
};

const struct kobj_type bch_cached_dev_ktype = {
	.release	= bch_cached_dev_release,
	.sysfs_ops	= &bch_cached_dev_sysfs_ops,
	.default_groups	= bch_cached_dev_groups,
};

/*
 * Cache sets: /sys/fs/bcache/<set uuid>/ and its internal/ directory.
 *
 * These files take no lock of their own around show and store: the
 * fields they show are single words, safe to read racily, and a store
 * that acts on the set takes what the action needs for just that long
 * (bch_register_lock to stop a set, bucket_lock to change what the
 * allocator reads), never across I/O. The set cannot go away under a
 * running show or store: super.c removes these directories, which waits
 * for them, before it tears the set down. Files that walk the btree answer
 * -EBUSY until the set runs.
 */

static const char * const error_actions[] = {
	[ON_ERROR_UNREGISTER]	= "unregister",
	[ON_ERROR_PANIC]	= "panic",
	NULL
};

/* One name per CACHE_REPLACEMENT_* value */
static const char * const cache_replacement_policies[] = {
	"lru", "fifo", "random", NULL
};

static struct cache_set *kobj_to_set(struct kobject *kobj)
{
	if (kobj->ktype == &bch_cache_set_internal_ktype)
		return container_of(kobj, struct cache_set, internal);
	return container_of(kobj, struct cache_set, kobj);
}

#define CS_FIELD(member)	.field = BCH_FIELD(struct cache_set, kobj, member)
#define CSI_FIELD(member)	.field = BCH_FIELD(struct cache_set, internal, member)

static bool set_running(struct cache_set *c)
{
	return test_bit(CACHE_SET_RUNNING, &c->flags) &&
	       !test_bit(CACHE_SET_STOPPING, &c->flags);
}

/* Bytes of one btree node */
static size_t node_bytes(struct cache_set *c)
{
	return (size_t)c->btree_pages * PAGE_SIZE;
}

static ssize_t store_set_unregister(struct kobject *kobj,
				    const struct bch_attr *a,
				    const char *buf, size_t size)
{
	mutex_lock(&bch_register_lock);
	bch_cache_set_unregister(kobj_to_set(kobj));
	mutex_unlock(&bch_register_lock);
	return size;
}

static ssize_t store_set_stop(struct kobject *kobj, const struct bch_attr *a,
			      const char *buf, size_t size)
{
	mutex_lock(&bch_register_lock);
	bch_cache_set_stop(kobj_to_set(kobj));
	mutex_unlock(&bch_register_lock);
	return size;
}

static ssize_t show_synchronous(struct kobject *kobj, const struct bch_attr *a,
				char *buf)
{
	return sysfs_emit(buf, "%u\n", CACHE_SYNC(&kobj_to_set(kobj)->cache->sb));
}

/*
 * Persisted in the cache superblock. Its flags word also holds discard
 * and the replacement policy, each set by its own file: every change of
 * it is made under bucket_lock, so two writers lose neither's. Turning
 * it on writes out what was kept only in memory first (recovery.c).
 */
static ssize_t store_synchronous(struct kobject *kobj, const struct bch_attr *a,
				 const char *buf, size_t size)
{
	struct cache_set *c = kobj_to_set(kobj);
	unsigned long v;
	int ret = kstrtoul(buf, 10, &v);

	if (ret)
		return ret;
	if (v && !CACHE_SYNC(&c->cache->sb)) {
		bch_cache_set_sync_on(c);
	} else if (!v && CACHE_SYNC(&c->cache->sb)) {
		mutex_lock(&c->bucket_lock);
		SET_CACHE_SYNC(&c->cache->sb, false);
		mutex_unlock(&c->bucket_lock);
		bch_write_super(c);
	}
	return size;
}

/* The size is checked as upstream would; making the volume is not done. */
static ssize_t store_flash_vol_create(struct kobject *kobj,
				      const struct bch_attr *a,
				      const char *buf, size_t size)
{
	u64 bytes;
	int ret = bch_sysfs_parse_human(buf, &bytes);

	if (ret)
		return ret;
	pr_err("flash only volumes are not supported\n");
	return -EOPNOTSUPP;
}

static ssize_t show_set_bucket_size(struct kobject *kobj,
				    const struct bch_attr *a, char *buf)
{
	return bch_sysfs_show_human(buf, bucket_bytes(kobj_to_set(kobj)->cache));
}

static ssize_t show_set_block_size(struct kobject *kobj,
				   const struct bch_attr *a, char *buf)
{
	return bch_sysfs_show_human(buf, block_bytes(kobj_to_set(kobj)->cache));
}

static ssize_t show_tree_depth(struct kobject *kobj, const struct bch_attr *a,
			       char *buf)
{
	struct cache_set *c = kobj_to_set(kobj);

	if (!set_running(c))
		return -EBUSY;
	return sysfs_emit(buf, "%u\n", READ_ONCE(c->root)->level);
}

/* Read-locks the root, retrying if a split replaced it meanwhile. */
static struct btree *lock_root(struct cache_set *c)
{
	struct btree *b;

	for (;;) {
		b = READ_ONCE(c->root);
		rw_lock(false, b, b->level);
		if (b == READ_ONCE(c->root))
			return b;
		rw_unlock(false, b);
	}
}

static ssize_t show_root_usage_percent(struct kobject *kobj,
				       const struct bch_attr *a, char *buf)
{
	struct cache_set *c = kobj_to_set(kobj);
	struct btree_iter_stack iter;
	struct btree *root;
	struct bkey *k;
	size_t used = 0;

	if (!set_running(c))
		return -EBUSY;

	root = lock_root(c);
	for_each_key_filter(&root->keys, k, &iter, bch_ptr_bad)
		used += bkey_bytes(k);
	rw_unlock(false, root);

	return sysfs_emit(buf, "%u\n", (unsigned int)(used * 100 / node_bytes(c)));
}

/* Memory held by the node cache */
static ssize_t show_btree_cache_size(struct kobject *kobj,
				     const struct bch_attr *a, char *buf)
{
	struct cache_set *c = kobj_to_set(kobj);
	struct btree *b;
	size_t bytes = 0;

	mutex_lock(&c->bucket_lock);
	list_for_each_entry(b, &c->btree_cache, list)
		bytes += PAGE_SIZE << b->keys.page_order;
	mutex_unlock(&c->bucket_lock);

	return bch_sysfs_show_human(buf, bytes);
}

static ssize_t show_cache_available_percent(struct kobject *kobj,
					    const struct bch_attr *a, char *buf)
{
	return sysfs_emit(buf, "%u\n", 100 - kobj_to_set(kobj)->gc_stats.in_use);
}

/* In sectors, shown with byte units: upstream's quirk, kept. */
static ssize_t show_average_key_size(struct kobject *kobj,
				     const struct bch_attr *a, char *buf)
{
	struct gc_stat *gs = &kobj_to_set(kobj)->gc_stats;

	return bch_sysfs_show_human(buf, gs->nkeys ?
				    div64_u64(gs->data, gs->nkeys) : 0);
}

/* Stored per 88 seconds: see the error decay in io.c. */
#define ERROR_DECAY_SECONDS	88

static ssize_t show_io_error_halflife(struct kobject *kobj,
				      const struct bch_attr *a, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  kobj_to_set(kobj)->error_decay * ERROR_DECAY_SECONDS);
}

static ssize_t store_io_error_halflife(struct kobject *kobj,
				       const struct bch_attr *a,
				       const char *buf, size_t size)
{
	unsigned long v;
	int ret = bch_sysfs_parse_clamped(buf, 0, UINT_MAX, &v);

	if (ret)
		return ret;
	kobj_to_set(kobj)->error_decay = v / ERROR_DECAY_SECONDS;
	return size;
}

static ssize_t show_congested(struct kobject *kobj, const struct bch_attr *a,
			      char *buf)
{
	return bch_sysfs_show_human(buf, (u64)bch_get_congested(kobj_to_set(kobj))
				    << SECTOR_SHIFT);
}

/* As upstream: also forgets what the last gc counted. */
static ssize_t store_set_clear_stats(struct kobject *kobj,
				     const struct bch_attr *a,
				     const char *buf, size_t size)
{
	struct cache_set *c = kobj_to_set(kobj);

	atomic_long_set(&c->writeback_keys_done, 0);
	atomic_long_set(&c->writeback_keys_failed, 0);
	memset(&c->gc_stats, 0, sizeof(c->gc_stats));
	bch_accounting_clear(&c->accounting);
	return size;
}

BCH_ATTR(unregister,	0200, NULL, store_set_unregister);
BCH_NAMED_ATTR(set_stop, "stop", 0200, NULL, store_set_stop);
BCH_ATTR(synchronous,	0644, show_synchronous, store_synchronous);
BCH_ATTR(journal_delay_ms, 0644, bch_attr_show_uint, bch_attr_store_uint,
	 CS_FIELD(journal_delay_ms), .max = USHRT_MAX);
BCH_ATTR(flash_vol_create, 0200, NULL, store_flash_vol_create);
BCH_NAMED_ATTR(set_bucket_size, "bucket_size", 0444, show_set_bucket_size,
	       NULL);
BCH_NAMED_ATTR(set_block_size, "block_size", 0444, show_set_block_size, NULL);
BCH_ATTR(tree_depth,	0444, show_tree_depth, NULL);
BCH_ATTR(root_usage_percent, 0444, show_root_usage_percent, NULL);
BCH_ATTR(btree_cache_size, 0444, show_btree_cache_size, NULL);
BCH_ATTR(cache_available_percent, 0444, show_cache_available_percent, NULL);
BCH_ATTR(average_key_size, 0444, show_average_key_size, NULL);
BCH_ATTR(errors,	0644, bch_attr_show_choice, bch_attr_store_choice,
	 CS_FIELD(on_error), .choices = error_actions);
BCH_NAMED_ATTR(set_io_error_limit, "io_error_limit", 0644, bch_attr_show_uint,
	       bch_attr_store_uint, CS_FIELD(error_limit), .max = UINT_MAX);
BCH_ATTR(io_error_halflife, 0644, show_io_error_halflife,
	 store_io_error_halflife);
BCH_ATTR(congested,	0444, show_congested, NULL);
BCH_ATTR(congested_read_threshold_us, 0644,
	 bch_attr_show_uint, bch_attr_store_uint,
	 CS_FIELD(congested_read_threshold_us), .max = UINT_MAX);
BCH_ATTR(congested_write_threshold_us, 0644,
	 bch_attr_show_uint, bch_attr_store_uint,
	 CS_FIELD(congested_write_threshold_us), .max = UINT_MAX);
BCH_NAMED_ATTR(set_clear_stats, "clear_stats", 0200, NULL,
	       store_set_clear_stats);

static struct attribute *bch_cache_set_attrs[] = {
	&bch_attr_unregister.attr,
	&bch_attr_set_stop.attr,
	&bch_attr_synchronous.attr,
	&bch_attr_journal_delay_ms.attr,
	&bch_attr_flash_vol_create.attr,
	&bch_attr_set_bucket_size.attr,
	&bch_attr_set_block_size.attr,
	&bch_attr_tree_depth.attr,
	&bch_attr_root_usage_percent.attr,
	&bch_attr_btree_cache_size.attr,
	&bch_attr_cache_available_percent.attr,
	&bch_attr_average_key_size.attr,
	&bch_attr_errors.attr,
	&bch_attr_set_io_error_limit.attr,
	&bch_attr_io_error_halflife.attr,
	&bch_attr_congested.attr,
	&bch_attr_congested_read_threshold_us.attr,
	&bch_attr_congested_write_threshold_us.attr,
	&bch_attr_set_clear_stats.attr,
	NULL
};
ATTRIBUTE_GROUPS(bch_cache_set);

/* internal/ */

static ssize_t show_active_journal_entries(struct kobject *kobj,
					   const struct bch_attr *a, char *buf)
{
	struct journal *j = &kobj_to_set(kobj)->journal;
	size_t used;

	spin_lock(&j->lock);
	used = bch_ring_used(&j->pin);
	spin_unlock(&j->lock);
	return sysfs_emit(buf, "%zu\n", used);
}

static ssize_t show_btree_nodes(struct kobject *kobj, const struct bch_attr *a,
				char *buf)
{
	return sysfs_emit(buf, "%zu\n", kobj_to_set(kobj)->gc_stats.nodes);
}

/* How full the nodes gc last saw are, on average. */
static ssize_t show_btree_used_percent(struct kobject *kobj,
				       const struct bch_attr *a, char *buf)
{
	struct cache_set *c = kobj_to_set(kobj);
	u64 room = (u64)(c->gc_stats.nodes ?: 1) * node_bytes(c);

	return sysfs_emit(buf, "%u\n",
			  (unsigned int)div64_u64(c->gc_stats.key_bytes * 100,
						  room));
}

/* The longest chain of the node cache's hash table */
static ssize_t show_btree_cache_max_chain(struct kobject *kobj,
					  const struct bch_attr *a, char *buf)
{
	struct cache_set *c = kobj_to_set(kobj);
	unsigned int longest = 0;
	size_t i;

	mutex_lock(&c->bucket_lock);
	for (i = 0; i < ARRAY_SIZE(c->bucket_hash); i++)
		longest = max_t(unsigned int, longest,
				hlist_count_nodes(&c->bucket_hash[i]));
	mutex_unlock(&c->bucket_lock);

	return sysfs_emit(buf, "%u\n", longest);
}

/*
 * bset_tree_stats walks every node of the tree (a read lock on each in
 * turn) and sums what bset.c reports of its sets and search trees.
 */
struct bset_census {
	struct btree_op		walk;
	size_t			nodes;
	struct bset_stats	sum;
};

static void census_add_node(struct bset_census *bc, struct btree_keys *keys)
{
	bc->nodes += 1;
	bch_btree_keys_stats(keys, &bc->sum);
}

static int census_visit(struct btree_op *walk, struct btree *b)
{
	census_add_node(container_of(walk, struct bset_census, walk), &b->keys);
	return MAP_CONTINUE;
}

static ssize_t show_bset_tree_stats(struct kobject *kobj,
				    const struct bch_attr *a, char *buf)
{
	struct cache_set *c = kobj_to_set(kobj);
	struct bset_census bc = {};
	int ret;

	if (!set_running(c))
		return -EBUSY;

	bch_btree_op_init(&bc.walk, -1);
	ret = __bch_btree_map_nodes(&bc.walk, c, &ZERO_KEY, census_visit,
				    MAP_ALL_NODES);
	if (ret < 0)
		return ret;

	return sysfs_emit(buf,
			  "btree nodes:\t\t%zu\nwritten sets:\t\t%zu\n"
			  "unwritten sets:\t\t%zu\nwritten key bytes:\t%zu\n"
			  "unwritten key bytes:\t%zu\nfloats:\t\t\t%zu\n"
			  "failed:\t\t\t%zu\n",
			  bc.nodes, bc.sum.sets_written, bc.sum.sets_unwritten,
			  bc.sum.bytes_written, bc.sum.bytes_unwritten,
			  bc.sum.floats, bc.sum.failed);
}

/* Wakes gc whatever is written, as upstream. */
static ssize_t store_trigger_gc(struct kobject *kobj, const struct bch_attr *a,
				const char *buf, size_t size)
{
	force_wake_up_gc(kobj_to_set(kobj));
	return size;
}

/* Asks the node cache's shrinker to free up to the number written. */
static ssize_t store_prune_cache(struct kobject *kobj, const struct bch_attr *a,
				 const char *buf, size_t size)
{
	struct cache_set *c = kobj_to_set(kobj);
	struct shrink_control sc = { .gfp_mask = GFP_KERNEL };
	unsigned long v;
	int ret = kstrtoul(buf, 10, &v);

	if (ret)
		return ret;
	sc.nr_to_scan = v;
	if (c->shrink)
		c->shrink->scan_objects(c->shrink, &sc);
	return size;
}

static ssize_t show_gc_after_writeback(struct kobject *kobj,
				       const struct bch_attr *a, char *buf)
{
	return sysfs_emit(buf, "%i\n",
			  READ_ONCE(kobj_to_set(kobj)->gc_after_writeback));
}

/*
 * Only BCH_ENABLE_AUTO_GC can be set here; this may clear a pending
 * BCH_DO_AUTO_GC, which writeback sets again when it next finishes.
 */
static ssize_t store_gc_after_writeback(struct kobject *kobj,
					const struct bch_attr *a,
					const char *buf, size_t size)
{
	unsigned long v;
	int ret = bch_sysfs_parse_clamped(buf, 0, 1, &v);

	if (ret)
		return ret;
	WRITE_ONCE(kobj_to_set(kobj)->gc_after_writeback, v);
	return size;
}

static ssize_t show_set_io_disable(struct kobject *kobj,
				   const struct bch_attr *a, char *buf)
{
	return sysfs_emit(buf, "%i\n", test_bit(CACHE_SET_IO_DISABLE,
						 &kobj_to_set(kobj)->flags));
}

/*
 * Disabling is for good: the allocator, gc and writeback threads end when
 * they see it, so the kernel's driver, which lets 0 clear the flag, runs
 * on with no allocator and hangs at the next bucket it needs. Ours
 * refuses to clear it; the set has to be stopped and registered again.
 */
static ssize_t store_set_io_disable(struct kobject *kobj,
				    const struct bch_attr *a,
				    const char *buf, size_t size)
{
	struct cache_set *c = kobj_to_set(kobj);
	unsigned long v;
	int ret = kstrtoul(buf, 10, &v);

	if (ret)
		return ret;
	if (v && test_and_set_bit(CACHE_SET_IO_DISABLE, &c->flags)) {
		pr_warn("CACHE_SET_IO_DISABLE already set\n");
	} else if (!v && test_bit(CACHE_SET_IO_DISABLE, &c->flags)) {
		pr_err("%pU: I/O stays disabled (its threads have ended): stop the set and register it again\n",
		       c->set_uuid);
		return -EBUSY;
	} else if (!v) {
		pr_warn("CACHE_SET_IO_DISABLE already cleared\n");
	}
	return size;
}

static ssize_t show_cutoff_writeback(struct kobject *kobj,
				     const struct bch_attr *a, char *buf)
{
	return sysfs_emit(buf, "%u\n", bch_cutoff_writeback);
}

static ssize_t show_cutoff_writeback_sync(struct kobject *kobj,
					  const struct bch_attr *a, char *buf)
{
	return sysfs_emit(buf, "%u\n", bch_cutoff_writeback_sync);
}

/*
 * The feature_* files list the features bcache knows of one kind, the
 * ones the set's superblock has in brackets. Only the incompatible kind
 * has any (large_bucket); the others show nothing at all.
 */
static ssize_t show_feature_none(struct kobject *kobj,
				 const struct bch_attr *a, char *buf)
{
	return 0;
}

static ssize_t show_feature_incompat(struct kobject *kobj,
				     const struct bch_attr *a, char *buf)
{
	const struct cache_sb *sb = &kobj_to_set(kobj)->cache->sb;
	bool on = sb->feature_incompat &
		  BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET_SIZE;

	return sysfs_emit(buf, on ? "[%s]\n" : "%s\n", "large_bucket");
}

BCH_ATTR(active_journal_entries, 0444, show_active_journal_entries, NULL);

/* The four files of one time_stats member of the set */
#define BCH_TIME_ATTR(_name, member, which, unit)			\
	BCH_ATTR(_name, 0444, bch_attr_show_time_stat, NULL,		\
		 CSI_FIELD(member), .time_stat = which, .unit_ns = unit)

BCH_TIME_ATTR(btree_gc_average_frequency_sec, btree_gc_time,
	      BCH_TIME_AVERAGE_FREQUENCY, NSEC_PER_SEC);
BCH_TIME_ATTR(btree_gc_average_duration_ms, btree_gc_time,
	      BCH_TIME_AVERAGE_DURATION, NSEC_PER_MSEC);
BCH_TIME_ATTR(btree_gc_max_duration_ms, btree_gc_time,
	      BCH_TIME_MAX_DURATION, NSEC_PER_MSEC);
BCH_TIME_ATTR(btree_gc_last_sec, btree_gc_time,
	      BCH_TIME_LAST, NSEC_PER_SEC);
BCH_TIME_ATTR(btree_split_average_frequency_sec, btree_split_time,
	      BCH_TIME_AVERAGE_FREQUENCY, NSEC_PER_SEC);
BCH_TIME_ATTR(btree_split_average_duration_us, btree_split_time,
	      BCH_TIME_AVERAGE_DURATION, NSEC_PER_USEC);
BCH_TIME_ATTR(btree_split_max_duration_us, btree_split_time,
	      BCH_TIME_MAX_DURATION, NSEC_PER_USEC);
BCH_TIME_ATTR(btree_split_last_sec, btree_split_time,
	      BCH_TIME_LAST, NSEC_PER_SEC);
BCH_TIME_ATTR(btree_sort_average_frequency_ms, sort.time,
	      BCH_TIME_AVERAGE_FREQUENCY, NSEC_PER_MSEC);
BCH_TIME_ATTR(btree_sort_average_duration_us, sort.time,
	      BCH_TIME_AVERAGE_DURATION, NSEC_PER_USEC);
BCH_TIME_ATTR(btree_sort_max_duration_us, sort.time,
	      BCH_TIME_MAX_DURATION, NSEC_PER_USEC);
BCH_TIME_ATTR(btree_sort_last_ms, sort.time,
	      BCH_TIME_LAST, NSEC_PER_MSEC);
BCH_TIME_ATTR(btree_read_average_frequency_ms, btree_read_time,
	      BCH_TIME_AVERAGE_FREQUENCY, NSEC_PER_MSEC);
BCH_TIME_ATTR(btree_read_average_duration_us, btree_read_time,
	      BCH_TIME_AVERAGE_DURATION, NSEC_PER_USEC);
BCH_TIME_ATTR(btree_read_max_duration_us, btree_read_time,
	      BCH_TIME_MAX_DURATION, NSEC_PER_USEC);
BCH_TIME_ATTR(btree_read_last_ms, btree_read_time,
	      BCH_TIME_LAST, NSEC_PER_MSEC);

BCH_ATTR(btree_nodes,	0444, show_btree_nodes, NULL);
BCH_ATTR(btree_used_percent, 0444, show_btree_used_percent, NULL);
BCH_ATTR(btree_cache_max_chain, 0444, show_btree_cache_max_chain, NULL);
BCH_ATTR(bset_tree_stats, 0444, show_bset_tree_stats, NULL);
BCH_ATTR(cache_read_races, 0444, bch_attr_show_atomic_long, NULL,
	 CSI_FIELD(cache_read_races));
BCH_ATTR(reclaim,	0444, bch_attr_show_atomic_long, NULL,
	 CSI_FIELD(reclaim));
BCH_ATTR(reclaimed_journal_buckets, 0444, bch_attr_show_atomic_long, NULL,
	 CSI_FIELD(reclaimed_journal_buckets));
BCH_ATTR(flush_write,	0444, bch_attr_show_atomic_long, NULL,
	 CSI_FIELD(flush_write));
BCH_ATTR(writeback_keys_done, 0444, bch_attr_show_atomic_long, NULL,
	 CSI_FIELD(writeback_keys_done));
BCH_ATTR(writeback_keys_failed, 0444, bch_attr_show_atomic_long, NULL,
	 CSI_FIELD(writeback_keys_failed));
BCH_ATTR(trigger_gc,	0200, NULL, store_trigger_gc);
BCH_ATTR(prune_cache,	0200, NULL, store_prune_cache);
#ifdef CONFIG_BCACHE_DEBUG
BCH_NAMED_ATTR(set_verify, "verify", 0644, bch_attr_show_bool,
	       bch_attr_store_bool, CSI_FIELD(verify));
BCH_ATTR(key_merging_disabled, 0644, bch_attr_show_bool, bch_attr_store_bool,
	 CSI_FIELD(key_merging_disabled));
BCH_ATTR(expensive_debug_checks, 0644, bch_attr_show_bool, bch_attr_store_bool,
	 CSI_FIELD(expensive_debug_checks));
#endif
BCH_ATTR(gc_always_rewrite, 0644, bch_attr_show_bool, bch_attr_store_bool,
	 CSI_FIELD(gc_always_rewrite));
BCH_ATTR(btree_shrinker_disabled, 0644, bch_attr_show_bool,
	 bch_attr_store_bool, CSI_FIELD(shrinker_disabled));
BCH_ATTR(copy_gc_enabled, 0644, bch_attr_show_bool, bch_attr_store_bool,
	 CSI_FIELD(copy_gc_enabled));
BCH_ATTR(idle_max_writeback_rate, 0644, bch_attr_show_bool,
	 bch_attr_store_bool, CSI_FIELD(idle_max_writeback_rate_enabled));
BCH_ATTR(gc_after_writeback, 0644, show_gc_after_writeback,
	 store_gc_after_writeback);
BCH_NAMED_ATTR(set_io_disable, "io_disable", 0644, show_set_io_disable,
	       store_set_io_disable);
BCH_ATTR(cutoff_writeback, 0444, show_cutoff_writeback, NULL);
BCH_ATTR(cutoff_writeback_sync, 0444, show_cutoff_writeback_sync, NULL);
BCH_ATTR(feature_compat, 0444, show_feature_none, NULL);
BCH_ATTR(feature_ro_compat, 0444, show_feature_none, NULL);
BCH_ATTR(feature_incompat, 0444, show_feature_incompat, NULL);

static struct attribute *bch_cache_set_internal_attrs[] = {
	&bch_attr_active_journal_entries.attr,
	&bch_attr_btree_gc_average_frequency_sec.attr,
	&bch_attr_btree_gc_average_duration_ms.attr,
	&bch_attr_btree_gc_max_duration_ms.attr,
	&bch_attr_btree_gc_last_sec.attr,
	&bch_attr_btree_split_average_frequency_sec.attr,
	&bch_attr_btree_split_average_duration_us.attr,
	&bch_attr_btree_split_max_duration_us.attr,
	&bch_attr_btree_split_last_sec.attr,
	&bch_attr_btree_sort_average_frequency_ms.attr,
	&bch_attr_btree_sort_average_duration_us.attr,
	&bch_attr_btree_sort_max_duration_us.attr,
	&bch_attr_btree_sort_last_ms.attr,
	&bch_attr_btree_read_average_frequency_ms.attr,
	&bch_attr_btree_read_average_duration_us.attr,
	&bch_attr_btree_read_max_duration_us.attr,
	&bch_attr_btree_read_last_ms.attr,
	&bch_attr_btree_nodes.attr,
	&bch_attr_btree_used_percent.attr,
	&bch_attr_btree_cache_max_chain.attr,
	&bch_attr_bset_tree_stats.attr,
	&bch_attr_cache_read_races.attr,
	&bch_attr_reclaim.attr,
	&bch_attr_reclaimed_journal_buckets.attr,
	&bch_attr_flush_write.attr,
	&bch_attr_writeback_keys_done.attr,
	&bch_attr_writeback_keys_failed.attr,
	&bch_attr_trigger_gc.attr,
	&bch_attr_prune_cache.attr,
#ifdef CONFIG_BCACHE_DEBUG
	&bch_attr_set_verify.attr,
	&bch_attr_key_merging_disabled.attr,
	&bch_attr_expensive_debug_checks.attr,
#endif
	&bch_attr_gc_always_rewrite.attr,
	&bch_attr_btree_shrinker_disabled.attr,
	&bch_attr_copy_gc_enabled.attr,
	&bch_attr_idle_max_writeback_rate.attr,
	&bch_attr_gc_after_writeback.attr,
	&bch_attr_set_io_disable.attr,
	&bch_attr_cutoff_writeback.attr,
	&bch_attr_cutoff_writeback_sync.attr,
	&bch_attr_feature_compat.attr,
	&bch_attr_feature_ro_compat.attr,
	&bch_attr_feature_incompat.attr,
	NULL
};
ATTRIBUTE_GROUPS(bch_cache_set_internal);

/* Cache devices: /sys/block/<cache device>/bcache/ */

static struct cache *kobj_to_cache(struct kobject *kobj)
{
	return container_of(kobj, struct cache, kobj);
}

static ssize_t show_cache_bucket_size(struct kobject *kobj,
				      const struct bch_attr *a, char *buf)
{
	return bch_sysfs_show_human(buf, bucket_bytes(kobj_to_cache(kobj)));
}

static ssize_t show_cache_block_size(struct kobject *kobj,
				     const struct bch_attr *a, char *buf)
{
	return bch_sysfs_show_human(buf, block_bytes(kobj_to_cache(kobj)));
}

static ssize_t show_nbuckets(struct kobject *kobj, const struct bch_attr *a,
			     char *buf)
{
	return sysfs_emit(buf, "%llu\n", kobj_to_cache(kobj)->sb.nbuckets);
}

static ssize_t show_discard(struct kobject *kobj, const struct bch_attr *a,
			    char *buf)
{
	return sysfs_emit(buf, "%i\n", kobj_to_cache(kobj)->discard);
}

/*
 * The setting persists in the superblock even where the device cannot
 * discard; discards are only issued where it can.
 */
static ssize_t store_discard(struct kobject *kobj, const struct bch_attr *a,
			     const char *buf, size_t size)
{
	struct cache *ca = kobj_to_cache(kobj);
	unsigned long v;
	int ret = kstrtoul(buf, 10, &v);

	if (ret)
		return ret;
	if (bdev_max_discard_sectors(ca->bdev))
		ca->discard = v;
	if (!v != !CACHE_DISCARD(&ca->sb)) {
		/* As for synchronous: the flags word changes under bucket_lock. */
		mutex_lock(&ca->set->bucket_lock);
		SET_CACHE_DISCARD(&ca->sb, !!v);
		mutex_unlock(&ca->set->bucket_lock);
		bch_write_super(ca->set);
	}
	return size;
}

static ssize_t show_human_sectors(char *buf, long sectors)
{
	return bch_sysfs_show_human(buf, (s64)sectors << SECTOR_SHIFT);
}

static ssize_t show_written(struct kobject *kobj, const struct bch_attr *a,
			    char *buf)
{
	struct cache *ca = kobj_to_cache(kobj);

	return show_human_sectors(buf, atomic_long_read(&ca->sectors_written));
}

static ssize_t show_btree_written(struct kobject *kobj,
				  const struct bch_attr *a, char *buf)
{
	struct cache *ca = kobj_to_cache(kobj);

	return show_human_sectors(buf,
				  atomic_long_read(&ca->btree_sectors_written));
}

/* Metadata includes the btree. */
static ssize_t show_metadata_written(struct kobject *kobj,
				     const struct bch_attr *a, char *buf)
{
	struct cache *ca = kobj_to_cache(kobj);

	return show_human_sectors(buf,
				  atomic_long_read(&ca->meta_sectors_written) +
				  atomic_long_read(&ca->btree_sectors_written));
}

static ssize_t show_cache_io_errors(struct kobject *kobj,
				    const struct bch_attr *a, char *buf)
{
	return sysfs_emit(buf, "%i\n",
			  atomic_read(&kobj_to_cache(kobj)->io_errors) >>
			  IO_ERROR_SHIFT);
}

static ssize_t store_cache_clear_stats(struct kobject *kobj,
				       const struct bch_attr *a,
				       const char *buf, size_t size)
{
	struct cache *ca = kobj_to_cache(kobj);

	/* The error count restarts too, with the I/O it decays against. */
	atomic_set(&ca->io_errors, 0);
	atomic_set(&ca->io_count, 0);

	atomic_long_set(&ca->meta_sectors_written, 0);
	atomic_long_set(&ca->btree_sectors_written, 0);
	atomic_long_set(&ca->sectors_written, 0);
	return size;
}

static ssize_t show_replacement_policy(struct kobject *kobj,
				       const struct bch_attr *a, char *buf)
{
	return bch_sysfs_show_choices(buf, cache_replacement_policies,
				      CACHE_REPLACEMENT(&kobj_to_cache(kobj)->sb));
}

/* The allocator reads the policy under bucket_lock. */
static ssize_t store_replacement_policy(struct kobject *kobj,
					const struct bch_attr *a,
					const char *buf, size_t size)
{
	struct cache *ca = kobj_to_cache(kobj);
	int policy = __sysfs_match_string(cache_replacement_policies, -1, buf);

	if (policy < 0)
		return policy;
	if (policy == CACHE_REPLACEMENT(&ca->sb))
		return size;

	mutex_lock(&ca->set->bucket_lock);
	SET_CACHE_REPLACEMENT(&ca->sb, policy);
	mutex_unlock(&ca->set->bucket_lock);
	bch_write_super(ca->set);
	return size;
}

/* Counts the buckets and copies out their prios, under bucket_lock. */
static size_t take_prio_census(struct cache *ca, struct bch_prio_census *pc,
			       u16 *prios)
{
	size_t i, n = 0;

	*pc = (struct bch_prio_census) {
		.nbuckets	= ca->sb.nbuckets,
		.bucket_size	= ca->sb.bucket_size,
	};

	mutex_lock(&ca->set->bucket_lock);
	for (i = ca->sb.first_bucket; i < ca->sb.nbuckets; i++) {
		const struct bucket *b = &ca->buckets[i];

		pc->unused += !GC_SECTORS_USED(b);
		pc->clean += GC_MARK(b) == GC_MARK_RECLAIMABLE;
		pc->dirty += GC_MARK(b) == GC_MARK_DIRTY;
		pc->metadata += GC_MARK(b) == GC_MARK_METADATA;
		prios[n++] = b->prio;
	}
	mutex_unlock(&ca->set->bucket_lock);
	return n;
}

static ssize_t show_priority_stats(struct kobject *kobj,
				   const struct bch_attr *a, char *buf)
{
	struct cache *ca = kobj_to_cache(kobj);
	struct bch_prio_census census;
	ssize_t ret;
	u16 *prios;
	size_t n;

	prios = vmalloc(array_size(sizeof(*prios), ca->sb.nbuckets));
	if (!prios)
		return -ENOMEM;

	n = take_prio_census(ca, &census, prios);
	ret = bch_sysfs_show_priority_stats(buf, &census, prios, n);
	vfree(prios);
	return ret;
}

BCH_NAMED_ATTR(cache_bucket_size, "bucket_size", 0444, show_cache_bucket_size,
	       NULL);
BCH_NAMED_ATTR(cache_block_size, "block_size", 0444, show_cache_block_size,
	       NULL);
BCH_ATTR(nbuckets,	0444, show_nbuckets, NULL);
BCH_ATTR(priority_stats, 0444, show_priority_stats, NULL);
BCH_ATTR(discard,	0644, show_discard, store_discard);
BCH_ATTR(written,	0444, show_written, NULL);
BCH_ATTR(btree_written,	0444, show_btree_written, NULL);
BCH_ATTR(metadata_written, 0444, show_metadata_written, NULL);
BCH_NAMED_ATTR(cache_io_errors, "io_errors", 0444, show_cache_io_errors, NULL);
BCH_NAMED_ATTR(cache_clear_stats, "clear_stats", 0200, NULL,
	       store_cache_clear_stats);
BCH_ATTR(cache_replacement_policy, 0644, show_replacement_policy,
	 store_replacement_policy);

static struct attribute *bch_cache_attrs[] = {
	&bch_attr_cache_bucket_size.attr,
	&bch_attr_cache_block_size.attr,
	&bch_attr_nbuckets.attr,
	&bch_attr_priority_stats.attr,
	&bch_attr_discard.attr,
	&bch_attr_written.attr,
	&bch_attr_btree_written.attr,
	&bch_attr_metadata_written.attr,
	&bch_attr_cache_io_errors.attr,
	&bch_attr_cache_clear_stats.attr,
	&bch_attr_cache_replacement_policy.attr,
	NULL
};
ATTRIBUTE_GROUPS(bch_cache);

/* Shared by the set, internal/ and cache directories: see above for locking. */
static ssize_t unlocked_attr_show(struct kobject *kobj, struct attribute *attr,
				  char *buf)
{
	const struct bch_attr *a = to_bch_attr(attr);

	return a->show ? a->show(kobj, a, buf) : -EIO;
}

static ssize_t unlocked_attr_store(struct kobject *kobj,
				   struct attribute *attr,
				   const char *buf, size_t size)
{
	const struct bch_attr *a = to_bch_attr(attr);

	if (!a->store)
		return -EIO;
	/* No user space access while the system is rebooting. */
	if (bcache_rebooting())
		return -EBUSY;
	return a->store(kobj, a, buf, size);
}

static const struct sysfs_ops bch_unlocked_sysfs_ops = {
	.show	= unlocked_attr_show,
	.store	= unlocked_attr_store,
};

const struct kobj_type bch_cache_set_ktype = {
	.release	= bch_cache_set_release,
	.sysfs_ops	= &bch_unlocked_sysfs_ops,
	.default_groups	= bch_cache_set_groups,
};

const struct kobj_type bch_cache_set_internal_ktype = {
	.release	= bch_cache_set_internal_release,
	.sysfs_ops	= &bch_unlocked_sysfs_ops,
	.default_groups	= bch_cache_set_internal_groups,
};

const struct kobj_type bch_cache_ktype = {
	.release	= bch_cache_release,
	.sysfs_ops	= &bch_unlocked_sysfs_ops,
	.default_groups	= bch_cache_groups,
};

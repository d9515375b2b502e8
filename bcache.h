/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcache's in-memory objects and the interfaces between its files.
 *
 * A backing device (struct cached_dev) is a slow disk that bcache presents
 * as /dev/bcacheN; its first data_offset sectors hold the superblock, the
 * rest is the data of bcacheN. Everything a bcacheN device has whether or
 * not a cache is behind it (its gendisk, its sysfs directory, its lifetime)
 * lives in the embedded struct bcache_device, which flash-only volumes will
 * share once cache sets exist.
 *
 * Lifetime in one paragraph: each bcache_device owns a closure, cl. Every
 * thing that needs the device to stay (an opener of bcacheN, a bio in
 * flight to the backing device, a superblock write) holds a reference on
 * it. Stopping sets BCACHE_DEV_CLOSING and runs cl's flush function, which
 * hides the device from sysfs and drops the initial reference; the free
 * function runs once the last of the others is gone. super.c owns both
 * functions; lower layers only take and drop references, and ask for a
 * stop through bcache_device_stop() below.
 *
 * Locking: bch_register_lock (a global mutex) protects the list of
 * registered devices and nothing else, and is never held across disk I/O,
 * add_disk() or del_gendisk(). Each cached_dev has its own state_lock that
 * serializes running it, its sysfs files and the start of its teardown.
 */
#ifndef _BCACHE_H
#define _BCACHE_H

#ifndef pr_fmt
#define pr_fmt(fmt) "bcache: %s() " fmt, __func__
#endif

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/semaphore.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "bcache_ondisk.h"
#include "closure.h"
#include "stats.h"

struct cache_set;
struct completion;

/* Partitions per bcacheN: minors are handed out in blocks of this size. */
#define BCACHE_MINORS		128
#define BCACHE_DEVICE_IDX_MAX	((1U << MINORBITS) / BCACHE_MINORS)

/* bcache_device.flags */
#define BCACHE_DEV_CLOSING	0	/* stop requested; no new openers */

/* Smallest stripe the dirty-data accounting tracks, in sectors. */
#define BCH_MIN_STRIPE_SZ	((4 << 20) >> SECTOR_SHIFT)

#define BCACHEDEVNAME_SIZE	12

struct bcache_device {
	/* See the lifetime paragraph at the top of this file. */
	struct closure		cl;
	struct kobject		kobj;

	/* Orders BCACHE_DEV_CLOSING against new openers taking references. */
	spinlock_t		open_lock;
	unsigned long		flags;

	struct cache_set	*c;		/* always NULL for now */
	unsigned int		id;
	char			name[BCACHEDEVNAME_SIZE];

	struct gendisk		*disk;

	/* Dirty data is counted per stripe of the backing device. */
	unsigned int		stripe_size;	/* sectors */
	unsigned int		nr_stripes;
	atomic_t		*stripe_sectors_dirty;
	unsigned long		*full_dirty_stripes;

	/* Clones of bios passed straight to the backing device. */
	struct bio_set		bio_passthru;
};

enum stop_on_failure {
	BCH_CACHED_DEV_STOP_AUTO = 0,
	BCH_CACHED_DEV_STOP_ALWAYS,
	BCH_CACHED_DEV_STOP_MODE_MAX,
};

#define BCH_CACHE_READA_ALL		0
#define BCH_CACHE_READA_META_ONLY	1

#define DEFAULT_CACHED_DEV_ERROR_LIMIT	64

/* Writeback tuning; the knobs exist (and persist in memory) before a cache. */
#define CUTOFF_WRITEBACK			40
#define CUTOFF_WRITEBACK_SYNC			70
#define CUTOFF_WRITEBACK_MAX			70
#define CUTOFF_WRITEBACK_SYNC_MAX		90
#define WRITEBACK_RATE_UPDATE_SECS_MAX		60
#define WRITEBACK_RATE_UPDATE_SECS_DEFAULT	5

/*
 * How writeback of dirty data to a backing device is paced: a
 * proportional-integral controller steers the rate towards keeping
 * @percent of the cache dirty, updating every @update_seconds.
 */
enum { FP_TERM_LOW, FP_TERM_MID, FP_TERM_HIGH, FP_TERMS };

struct writeback_tuning {
	unsigned int	percent;
	unsigned int	delay;			/* seconds */
	unsigned int	update_seconds;
	unsigned int	p_term_inverse;
	unsigned int	i_term_inverse;
	/* Fragmentation thresholds, strictly increasing */
	unsigned int	fp_term[FP_TERMS];
	unsigned int	rate_minimum;		/* sectors/s */
	bool		metadata;
	bool		consider_fragment;
};

struct cached_dev {
	struct list_head	list;		/* on the registered list */
	struct bcache_device	disk;
	struct block_device	*bdev;
	struct file		*bdev_file;	/* our exclusive claim */

	/*
	 * The superblock: decoded in sb, and the 4 KiB block as read in
	 * sb_disk (a page of the backing device's page cache, so buffered
	 * readers such as bcache-super-show see what we write). Writes of it
	 * are serialized by sb_write_mutex and tracked by sb_write.
	 */
	struct cache_sb		sb;
	struct semaphore	sb_write_mutex;
	struct closure		sb_write;
	struct cache_sb_disk	*sb_disk;
	struct bio_vec		sb_bv[1];
	struct bio		sb_bio;

	/* Serializes running, sysfs files and the start of teardown. */
	struct mutex		state_lock;
	/* 1 once bcacheN has been added; only ever set under state_lock. */
	atomic_t		running;
	/* Completed by the free path for a registrar waiting on a failure. */
	struct completion	*released;

	/* Backing device health */
	bool			io_disable;
	atomic_t		io_errors;
	unsigned int		error_limit;
	unsigned int		offline_seconds;
	struct delayed_work	offline_watch;

	/* The stats_* directories */
	struct bch_accounting	accounting;

	/* Policies; all show up in sysfs */
	unsigned int		cache_readahead_policy;
	unsigned int		stop_when_cache_set_failed;
	unsigned int		sequential_cutoff;	/* bytes */
	bool			partial_stripes_expensive;

	/*
	 * Writeback: the settings, and the state of the rate controller
	 * as sysfs shows it (all zero until a cache set drives it).
	 */
	struct writeback_tuning	wb;
	bool			writeback_running;
	atomic_long_t		writeback_rate;		/* sectors/s */
	u64			writeback_rate_target;
	s64			writeback_rate_proportional;
	s64			writeback_rate_integral_scaled;
	s32			writeback_rate_change;
};

static inline struct cached_dev *to_cached_dev(struct bcache_device *d)
{
	return container_of(d, struct cached_dev, disk);
}

/*
 * Ask for @d to be stopped; safe from any context, including bio
 * completion. Only the first call does anything: it runs the flush
 * function super.c installed in d->cl.
 */
static inline void bcache_device_stop(struct bcache_device *d)
{
	unsigned long irqflags;
	bool first;

	spin_lock_irqsave(&d->open_lock, irqflags);
	first = !test_and_set_bit(BCACHE_DEV_CLOSING, &d->flags);
	spin_unlock_irqrestore(&d->open_lock, irqflags);

	if (first)
		closure_queue(&d->cl);
}

static inline u64 bcache_dev_sectors_dirty(struct bcache_device *d)
{
	u64 sum = 0;
	unsigned int i;

	for (i = 0; i < d->nr_stripes; i++)
		sum += atomic_read(d->stripe_sectors_dirty + i);
	return sum;
}

/* super.c */
extern struct mutex bch_register_lock;
extern struct workqueue_struct *bcache_wq;
extern unsigned int bch_cutoff_writeback;
extern unsigned int bch_cutoff_writeback_sync;

bool bcache_rebooting(void);
void bch_cached_dev_release(struct kobject *kobj);
void bch_write_bdev_super(struct cached_dev *dc, struct closure *parent);
int bch_cached_dev_run(struct cached_dev *dc);
void bch_cached_dev_uevent(struct cached_dev *dc);

/* sysfs.c */
extern const struct kobj_type bch_cached_dev_ktype;

/* io.c */
void bch_count_backing_io_errors(struct cached_dev *dc, struct bio *bio);

#endif /* _BCACHE_H */

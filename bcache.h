/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcache's in-memory objects: what more than one layer of the driver
 * shares. Each file's own interface is in its header (alloc.h, btree.h,
 * journal.h, ...; Documentation/design.rst draws the layers).
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
 * function runs once the last of the others is gone. backing.c owns both
 * functions; lower layers only take and drop references, and ask for a
 * stop through bcache_device_stop() below.
 *
 * Locking: bch_register_lock (a global mutex, super.h) protects the lists
 * of registered devices and sets and who is attached to what, and is never
 * held across disk I/O, a bucket wait, add_disk() or del_gendisk(). Each
 * cached_dev has its own state_lock that serializes running it, attaching
 * it, its sysfs files and the start of its teardown; each set an
 * attach_lock for its uuid entries. Order: dc->state_lock, c->attach_lock,
 * bch_register_lock.
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

#include <linux/kthread.h>
#include <linux/mempool.h>
#include <linux/min_heap.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/shrinker.h>
#include <linux/wait.h>

#include "bcache_ondisk.h"
#include "bset.h"
#include "closure.h"
#include "extents.h"
#include "journal.h"
#include "set.h"
#include "stats.h"
#include "util.h"

struct btree;
struct cache_set;
struct completion;

/* Partitions per bcacheN: minors are handed out in blocks of this size. */
#define BCACHE_MINORS		128
#define BCACHE_DEVICE_IDX_MAX	((1U << MINORBITS) / BCACHE_MINORS)

/* bcache_device.flags */
#define BCACHE_DEV_CLOSING	0	/* stop requested; no new openers */
#define BCACHE_DEV_DETACHING	1	/* detach requested (super.c) */
#define BCACHE_DEV_UNLINK_DONE	2	/* set <-> device links removed */
#define BCACHE_DEV_CACHE_HOLDER	3	/* holder of the cache device */

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

	/* The set this device is attached to, or NULL (set under bch_register_lock). */
	struct cache_set	*c;
	unsigned int		id;
	char			name[BCACHEDEVNAME_SIZE];

	struct gendisk		*disk;

	/* Dirty data is counted per stripe of the backing device. */
	unsigned int		stripe_size;	/* sectors */
	unsigned int		nr_stripes;
	atomic_t		*stripe_sectors_dirty;
	unsigned long		*full_dirty_stripes;
	atomic64_t		sectors_dirty;	/* their sum (dirty.c) */

	/* Clones of bios passed straight to the backing device. */
	struct bio_set		bio_passthru;
	/* request.c: pieces of bios split off while a cache set is attached */
	struct bio_set		bio_split;
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

/*
 * A buffer of keys picked out of the btree by a predicate, in key order
 * (keybuf.c): what the debugfs dump, writeback and moving gc work through.
 * Keys being worked on stay in the rbtree until deleted, so a write to an
 * overlapping range can see them (bch_keybuf_check_overlapping()).
 */
struct keybuf_key {
	struct rb_node		node;
	void			*private;
	/* The key as it was when collected. */
	BKEY_PADDED(key);
};

#define KEYBUF_NR		500

struct keybuf {
	spinlock_t		lock;		/* keys, start, end, used */
	struct rb_root		keys;
	/* Range covered by keys, to skip the lock when nothing overlaps. */
	struct bkey		start, end;
	/* Where the next refill goes on from. */
	struct bkey		last_scanned;
	/* The slots of data[] in use. */
	DECLARE_BITMAP(used, KEYBUF_NR);
	struct keybuf_key	data[KEYBUF_NR];
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

	/*
	 * Attached to a cache set: @list moves to the set's cached_devs,
	 * @count holds the attachment (one ref, dropped by detach),
	 * @detach is queued when it reaches zero. Ordering of reads and
	 * bypassed writes of one range: see request.c.
	 */
	refcount_t		count;
	struct work_struct	detach;
	atomic_t		has_dirty;
	/*
	 * While the DIRTY superblock that sets has_dirty is being written,
	 * dirty_marking is set and later dirty writes wait on dirty_mark_wait
	 * instead of each writing one more (writeback.c).
	 */
	spinlock_t		dirty_mark_lock;
	bool			dirty_marking;
	struct closure_waitlist	dirty_mark_wait;

	/* Sequential-I/O detection for sequential_cutoff (request.c). */
#define RECENT_IO_BITS		7
#define RECENT_IO		BIT(RECENT_IO_BITS)
	spinlock_t		io_lock;	/* io, io_hash, io_lru */
	struct io_hist {
		struct hlist_node	hash;
		struct list_head	lru;
		u64			last;
		unsigned long		expires;	/* jiffies */
		unsigned int		sequential;
	}			io[RECENT_IO];
	struct hlist_head	io_hash[RECENT_IO + 1];
	struct list_head	io_lru;
	unsigned int		sequential_merge:1;
	unsigned int		verify:1;
	unsigned int		bypass_torture_test:1;

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
	struct bch_ratelimit	writeback_rate;		/* sectors/s */
	u64			writeback_rate_target;
	s64			writeback_rate_proportional;
	s64			writeback_rate_integral;
	s64			writeback_rate_integral_scaled;
	s32			writeback_rate_change;

	/*
	 * The writeback thread (writeback.c). Writes hold writeback_lock
	 * for read from their keybuf check until their keys are in; the
	 * thread holds it for write while it refills writeback_keys and
	 * while it decides that the device is clean.
	 */
	struct rw_semaphore	writeback_lock;
	struct keybuf		writeback_keys;
	struct task_struct	*writeback_thread;
	/* The thread holds an attachment reference (dc->count) while set. */
	bool			writeback_holds_ref;
	struct delayed_work	writeback_rate_update;
	/* Empty flushes sent to the backing device before keys went clean. */
	atomic_long_t		writeback_flushes;
	/* The rate is the idle set's maximum, until foreground I/O comes. */
	bool			writeback_rate_idle_max;
	/*
	 * Writes to the backing device completed, and how many of them the
	 * last completed flush covered: a flush is needed only when they
	 * differ (writeback.c).
	 */
	atomic64_t		backing_writes;
	atomic64_t		backing_flushed;
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
	s64 sum = atomic64_read(&d->sectors_dirty);

	return sum > 0 ? sum : 0;
}

/* ---------------------------------------------------------------------
 * Cache sets
 *
 * A cache set is the cache device (one per set in 6.12, as upstream) and
 * everything kept on it: the btree of extents, the journal, bucket prios
 * and gens, and the uuid table of attached devices. Each concern owns a
 * block of fields below, named after the file that owns it; other files
 * reach those fields only through that file's functions.
 */

/* Which free list a bucket is taken from; the order is the priority. */
enum alloc_reserve {
	RESERVE_BTREE = 0,	/* node splits and new roots */
	RESERVE_PRIO = 1,	/* the prio_set chain */
	RESERVE_MOVINGGC = 2,	/* copies made by moving gc */
	RESERVE_NONE = 3,	/* data and everything else */
	RESERVE_NR = 4,
};

/* Bucket priorities (LRU): metadata never ages. */
#define BTREE_PRIO		USHRT_MAX
#define INITIAL_PRIO		32768U

/* What gc found in a bucket, packed into bucket.gc_mark. */
enum {
	GC_MARK_RECLAIMABLE	= 1,
	GC_MARK_DIRTY		= 2,
	GC_MARK_METADATA	= 3,
};

#define GC_SECTORS_USED_BITS	13
#define MAX_GC_SECTORS_USED	((1U << GC_SECTORS_USED_BITS) - 1)

/* Generations a bucket may move past its oldest pointer before gc must run. */
#define BUCKET_GC_GEN_MAX	96U

struct bucket {
	atomic_t	pin;		/* readers of its data in flight */
	u16		prio;
	u8		gen;
	u8		last_gc;	/* oldest gen still pointed at, per gc */
	u16		gc_mark;	/* GC_MARK (2) | SECTORS_USED (13) | MOVE (1) */
	u16		reclaimable_in_gc:1;
	/*
	 * GC_SECTORS_USED as gc began, while gc counts afresh from zero:
	 * the lru keeps ranking by it meanwhile (bch_bucket_lru_key()).
	 */
	u16		sectors_before_gc:13;
};

/* Generations @b moved past the oldest pointer gc last saw into it. */
static inline u8 bucket_gc_gen(const struct bucket *b)
{
	return b->gen - b->last_gc;
}

/*
 * A bucket the allocator may invalidate, with the sort key its
 * replacement policy gave it (smaller goes first).
 */
struct bch_alloc_candidate {
	u64		key;
	size_t		bucket;		/* index into cache.buckets */
};

static inline unsigned int GC_MARK(const struct bucket *b)
{
	return b->gc_mark & 3;
}

static inline void SET_GC_MARK(struct bucket *b, unsigned int v)
{
	b->gc_mark = (b->gc_mark & ~3) | (v & 3);
}

static inline unsigned int GC_SECTORS_USED(const struct bucket *b)
{
	return (b->gc_mark >> 2) & MAX_GC_SECTORS_USED;
}

static inline void SET_GC_SECTORS_USED(struct bucket *b, unsigned int v)
{
	b->gc_mark = (b->gc_mark & ~(MAX_GC_SECTORS_USED << 2)) |
		     ((min(v, MAX_GC_SECTORS_USED)) << 2);
}

static inline bool GC_MOVE(const struct bucket *b)
{
	return b->gc_mark >> 15;
}

static inline void SET_GC_MOVE(struct bucket *b, bool v)
{
	b->gc_mark = (b->gc_mark & 0x7fff) | ((u16)v << 15);
}

/* gc_stat: what the last gc counted, for sysfs. */
struct gc_stat {
	unsigned int	in_use;		/* percent */
	u64		data;		/* sectors */
	size_t		nkeys;
	size_t		key_bytes;
	size_t		nodes_pre;	/* before coalescing */
	size_t		nodes;
};

/*
 * A bucket data is being written into (alloc.c, bch_alloc_sectors()).
 * Besides the set's LRU list it sits on two hash chains, by where its
 * last write ended (most recently used first) and by its writer (least
 * recently used first), so a write finds its stream without walking all
 * MAX_OPEN_BUCKETS of them.
 */
struct open_bucket {
	struct list_head	list;
	struct list_head	by_end;
	struct list_head	by_writer;
	unsigned int		last_write_point;
	unsigned int		sectors_free;
	bool			flash;	/* holds a flash-only volume's data */
	/* Where the next data goes: offset and gen of the bucket. */
	BKEY_PADDED(key);
};

/* cache_set.flags */
enum {
	CACHE_SET_UNREGISTERING,	/* detach everything, then stop */
	CACHE_SET_STOPPING,		/* first thing set on the way down */
	CACHE_SET_RUNNING,		/* journal replayed, btree usable */
	CACHE_SET_IO_DISABLE,		/* no new I/O to the cache device */
};

struct cache {
	struct cache_set	*set;
	struct cache_sb		sb;
	struct cache_sb_disk	*sb_disk;	/* page of the page cache */
	struct bio		sb_bio;
	struct bio_vec		sb_bv[1];

	struct kobject		kobj;		/* .../bcache/ of the device */
	struct block_device	*bdev;
	struct file		*bdev_file;
	bool			alloc_ready;	/* bch_cache_alloc_init() done */

	/* ---- alloc.c ---- */
	struct task_struct	*alloc_thread;
	/* Serialises prio writes; prio_buckets of the last complete one. */
	struct closure		prio;
	struct prio_set		*disk_buckets;	/* one bucket's worth */
	u64			*prio_buckets;	/* prio_buckets() of them */
	u64			*prio_last_buckets;
	struct bch_bucket_ring	free[RESERVE_NR];
	struct bch_bucket_ring	free_inc;	/* invalidated, prios unwritten */
	size_t			fifo_last_bucket;
	struct bucket		*buckets;	/* sb.nbuckets */
	/* Invalidation candidates, ordered by the replacement policy. */
	DEFINE_MIN_HEAP(struct bch_alloc_candidate, bch_alloc_heap) heap;
	unsigned int		invalidate_needs_gc;
	bool			discard;	/* sysfs; issue discards */

	/* ---- journal.c ---- */
	struct journal_device	journal;

	/* ---- io.c: traffic and errors, for sysfs and the error limit ---- */
	atomic_long_t		sectors_written;
	atomic_long_t		btree_sectors_written;
	atomic_long_t		meta_sectors_written;
#define IO_ERROR_SHIFT		20
	atomic_t		io_count;
	atomic_t		io_errors;
};

/*
 * Metadata written a bucket at a time (prio_sets, and upstream's uuid and
 * journal buffers) uses only its first meta_bucket_pages(): no more than
 * one page allocation can hold, nor than a u16 of sectors. Part of the
 * on-disk format, since it fixes how many prios a prio_set carries.
 */
static inline unsigned int meta_bucket_pages(const struct cache_sb *sb)
{
	unsigned int cap = min_t(unsigned int,
				 __rounddown_pow_of_two(USHRT_MAX) / PAGE_SECTORS,
				 MAX_ORDER_NR_PAGES);

	return min_t(unsigned int, sb->bucket_size / PAGE_SECTORS, cap);
}

static inline unsigned int meta_bucket_bytes(const struct cache_sb *sb)
{
	return meta_bucket_pages(sb) << PAGE_SHIFT;
}

/* Bucket prios and gens one prio_set bucket holds. */
static inline unsigned int prios_per_bucket(const struct cache *ca)
{
	return (meta_bucket_bytes(&ca->sb) - sizeof(struct prio_set)) /
	       sizeof(struct bucket_disk);
}

static inline unsigned int prio_buckets(const struct cache *ca)
{
	return DIV_ROUND_UP((size_t)ca->sb.nbuckets, prios_per_bucket(ca));
}

struct cache_set {
	/*
	 * Lifetime: @cl is the set; @caching holds it while cache devices
	 * and attached backing devices are live. Stopping (super.c) drops
	 * @caching first; @cl's destructor frees the set.
	 */
	struct closure		cl;
	struct closure		caching;
	struct list_head	list;		/* bch_cache_sets */
	struct kobject		kobj;		/* /sys/fs/bcache/<uuid> */
	struct kobject		internal;	/* .../internal */
	struct dentry		*debug;		/* debug.c */
	struct bch_accounting	accounting;	/* stats_* of the set */
	unsigned long		flags;		/* CACHE_SET_* */
	atomic_t		idle_counter;
	atomic_t		at_max_writeback_rate;

	struct cache		*cache;
	u8			set_uuid[16];

	/* ---- super.c: attached devices and the uuid table ---- */
	struct bcache_device	**devices;	/* by uuid index, nr_uuids */
	unsigned int		devices_max_used;
	atomic_t		attached_dev_nr;
	struct list_head	cached_devs;
	u64			cached_dev_sectors;
	atomic_long_t		flash_dev_dirty_sectors;
	unsigned int		nr_uuids;
	struct uuid_entry	*uuids;
	/* A table write waiting for its journal entry, then freeing uuid_old. */
	struct closure		uuid_write;
	struct semaphore	uuid_write_mutex;
	/* One attach or detach at a time chooses and writes uuid entries. */
	struct mutex		attach_lock;
	/* Where the table is on disk, and was before the last write. */
	BKEY_PADDED(uuid_bucket);
	BKEY_PADDED(uuid_old);

	struct closure		sb_write;
	struct semaphore	sb_write_mutex;
	/* How many of super.c's set_parts[] are set up, for the free. */
	unsigned int		parts_ready;
	/* Completed once the set is freed, for a registrar that failed. */
	struct completion	*freed;

	/* Bios and searches of the request path (request.c). */
	mempool_t		search;
	mempool_t		bio_meta;	/* btree node / prio / uuid I/O */
	struct bio_set		bio_split;

	/* Geometry, from the cache superblock. */
	unsigned short		bucket_bits;	/* ilog2(bucket sectors) */
	unsigned short		block_bits;	/* ilog2(block sectors) */
	unsigned int		btree_pages;	/* pages per btree node */

	/* ---- alloc.c ---- */
	struct mutex		bucket_lock;	/* buckets, free lists, heap */
	atomic_t		prio_blocked;
	wait_queue_head_t	bucket_wait;
	atomic_t		rescale;
	atomic_t		search_inflight;
	u16			min_prio;
	size_t			nbuckets;
	size_t			avail_nbuckets;
	struct list_head	data_buckets;	/* open_buckets, LRU first */
#define OPEN_BUCKET_HASH_BITS	6
	struct list_head	ob_by_end[1 << OPEN_BUCKET_HASH_BITS];
	struct list_head	ob_by_writer[1 << OPEN_BUCKET_HASH_BITS];
	spinlock_t		data_bucket_lock;	/* open buckets, chains */

	/* ---- btree.c: node cache ---- */
#define BUCKET_HASH_BITS	12
	struct hlist_head	bucket_hash[1 << BUCKET_HASH_BITS];
	/* Nodes with data, nodes with only buffers, bare structs. */
	struct list_head	btree_cache;
	struct list_head	btree_cache_freeable;
	struct list_head	btree_cache_freed;
	unsigned int		btree_cache_used;
	struct shrinker		*shrink;
	/* Who may cannibalize other nodes' memory, and who waits for it. */
	spinlock_t		btree_cannibalize_lock;
	struct task_struct	*btree_cache_alloc_lock;
	wait_queue_head_t	btree_cache_wait;
	struct btree		*root;
	mempool_t		fill_iter;
	struct bset_sort_state	sort;
	struct bch_ptr_checker	checker;	/* hung on every node */
	struct time_stats	btree_split_time;
	struct time_stats	btree_read_time;
#ifdef CONFIG_BCACHE_DEBUG
	struct btree		*verify_data;
	struct bset		*verify_ondisk;
	struct mutex		verify_lock;	/* verify_data, verify_ondisk */
#endif

	/* ---- gc (gc.c) and moving gc ---- */
	u8			need_gc;
	struct gc_stat		gc_stats;
	struct task_struct	*gc_thread;
	struct bkey		gc_done;	/* gc's progress, for readers */
#define BCH_ENABLE_AUTO_GC	1
#define BCH_DO_AUTO_GC		2
	u8			gc_after_writeback;
	int			gc_mark_valid;
	atomic_t		sectors_to_gc;
	wait_queue_head_t	gc_wait;
	struct time_stats	btree_gc_time;
	struct keybuf		moving_gc_keys;	/* movinggc.c */
	struct semaphore	moving_in_flight;
	struct workqueue_struct	*moving_gc_wq;
	/*
	 * Run after every gc when copy_gc_enabled (movinggc.c installs
	 * bch_moving_gc here; NULL: no moving gc). A pointer so that gc.c,
	 * below movinggc.c, never calls up into it directly.
	 */
	void			(*moving_gc_fn)(struct cache_set *c);

	/* ---- journal.c ---- */
	struct journal		journal;

	/* ---- request.c: congestion bypass ---- */
	unsigned int		congested_read_threshold_us;
	unsigned int		congested_write_threshold_us;
#define CONGESTED_MAX		1024
	atomic_t		congested;
	unsigned int		congested_last_us;

	/* Counters shown in internal/: journal, reads, writeback. */
	atomic_long_t		reclaim;
	atomic_long_t		reclaimed_journal_buckets;
	atomic_long_t		flush_write;
	atomic_long_t		cache_read_races;
	atomic_long_t		writeback_keys_done;
	atomic_long_t		writeback_keys_failed;

	/*
	 * Error policy and knobs (sysfs.c). Plain unsigned ints and bools,
	 * not bitfields, so sysfs.c's table-driven files can reach them.
	 */
#define ON_ERROR_UNREGISTER	0
#define ON_ERROR_PANIC		1
	unsigned int		on_error;
#define DEFAULT_IO_ERROR_LIMIT	8
	unsigned int		error_limit;
	unsigned int		error_decay;
	unsigned int		journal_delay_ms;	/* <= USHRT_MAX */
	bool			expensive_debug_checks;
	bool			verify;
	bool			key_merging_disabled;
	bool			gc_always_rewrite;
	bool			shrinker_disabled;
	bool			copy_gc_enabled;
	bool			idle_max_writeback_rate_enabled;
};

/* Geometry helpers, in sectors unless named otherwise. */
static inline unsigned int bucket_sectors(const struct cache_set *c)
{
	return c->cache->sb.bucket_size;
}

static inline unsigned int block_sectors(const struct cache_set *c)
{
	return c->cache->sb.block_size;
}

static inline unsigned int block_bytes(const struct cache *ca)
{
	return ca->sb.block_size << SECTOR_SHIFT;
}

/* 64 bits: large-bucket caches have buckets of 4 GiB and more. */
static inline u64 bucket_bytes(const struct cache *ca)
{
	return (u64)ca->sb.bucket_size << SECTOR_SHIFT;
}

static inline size_t sector_to_bucket(const struct cache_set *c, sector_t s)
{
	return s >> c->bucket_bits;
}

static inline sector_t bucket_to_sector(const struct cache_set *c, size_t b)
{
	return ((sector_t)b) << c->bucket_bits;
}

static inline sector_t bucket_remainder(const struct cache_set *c, sector_t s)
{
	return s & (c->cache->sb.bucket_size - 1);
}

static inline size_t PTR_BUCKET_NR(const struct cache_set *c,
				   const struct bkey *k, unsigned int ptr)
{
	return sector_to_bucket(c, PTR_OFFSET(k, ptr));
}

static inline struct bucket *PTR_BUCKET(const struct cache_set *c,
					const struct bkey *k, unsigned int ptr)
{
	return c->cache->buckets + PTR_BUCKET_NR(c, k, ptr);
}

/* How many generations @a is ahead of @b, modulo 2^8 (signed). */
static inline u8 gen_after(u8 a, u8 b)
{
	u8 r = a - b;

	return r > 128U ? 0 : r;
}

static inline u8 ptr_stale(const struct cache_set *c, const struct bkey *k,
			   unsigned int ptr)
{
	return gen_after(PTR_BUCKET(c, k, ptr)->gen, PTR_GEN(k, ptr));
}

static inline bool ptr_available(const struct cache_set *c,
				 const struct bkey *k, unsigned int ptr)
{
	return PTR_DEV(k, ptr) < MAX_CACHES_PER_SET && c->cache;
}

/*
 * Submit @bio on behalf of @cl (which its end_io must put). Once the set
 * is shutting down for errors no new I/O reaches the cache device: the bio
 * fails at once instead.
 */
static inline void closure_bio_submit(struct cache_set *c, struct bio *bio,
				      struct closure *cl)
{
	bool io_disabled = test_bit(CACHE_SET_IO_DISABLE, &c->flags);

	closure_get(cl);
	if (likely(!io_disabled))
		submit_bio_noacct(bio);
	else
		bio_io_error(bio);
}

/*
 * A kthread of the set that must not exit by itself while the set could
 * still kthread_stop() it: park here until told to stop. The state is set
 * before the test so a kthread_stop() in between is not missed.
 */
static inline void bch_wait_for_kthread_stop(void)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}

/*
 * The attachment reference (dc->count): whoever sends a bio through the
 * cache takes one; detaching drops the attachment's own, and the last
 * put finishes the detach.
 */
static inline bool cached_dev_get(struct cached_dev *dc)
{
	bool attached = refcount_inc_not_zero(&dc->count);

	if (!attached)
		return false;
	/* Loads of the attachment come after taking it (see attach). */
	smp_mb__after_atomic();
	return true;
}

static inline void cached_dev_put(struct cached_dev *dc)
{
	if (refcount_dec_and_test(&dc->count))
		queue_work(bcache_wq, &dc->detach);
}

#endif /* _BCACHE_H */

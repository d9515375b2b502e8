/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writeback (writeback.c): whether a write may leave dirty data in the
 * cache, the thread that writes dirty data back to the backing device, and
 * the controller that paces it.
 */
#ifndef _BCACHE_WRITEBACK_H
#define _BCACHE_WRITEBACK_H

#include "bcache.h"

/* In percent of the cache in use; module parameters, checked at load. */
extern unsigned int bch_cutoff_writeback;
extern unsigned int bch_cutoff_writeback_sync;

/* gc_after_writeback asks for a gc once in_use is at least this. */
#define BCH_AUTO_GC_DIRTY_THRESHOLD	50

/* Where the fragment term of the rate controller starts, and steepens. */
#define BCH_WRITEBACK_FRAGMENT_THRESHOLD_LOW	50
#define BCH_WRITEBACK_FRAGMENT_THRESHOLD_MID	57
#define BCH_WRITEBACK_FRAGMENT_THRESHOLD_HIGH	64

/* A device's share of the cache, in 2^-14ths of all backing sectors. */
#define WRITEBACK_SHARE_SHIFT	14

/* What decides whether one write goes to the cache as dirty data. */
struct wb_decision {
	unsigned int	mode;		/* CACHE_MODE_* */
	bool		detaching;
	unsigned int	in_use;		/* percent of the cache */
	unsigned int	cutoff;
	unsigned int	cutoff_sync;
	bool		discard;
	/* partial_stripes_expensive and a stripe it touches is dirty */
	bool		stripe_dirty;
	bool		bypass;		/* the cache would otherwise skip it */
	bool		sync;		/* sync, FUA/PREFLUSH, META or PRIO */
};

/* The inputs of one step of the rate controller. */
struct wb_rate_input {
	u64		target;		/* dirty sectors aimed for */
	u64		dirty;		/* dirty sectors now */
	unsigned int	in_use;		/* percent of the cache */
	u64		dirty_buckets;	/* buckets not available */
	unsigned int	bucket_size;	/* sectors */
	/* The thread kept up with the last rate (it is not behind). */
	bool		keeping_up;
};

/* What one step computed; sysfs shows these as writeback_rate_debug. */
struct wb_rate_output {
	s64		proportional;
	s64		integral_scaled;
	u32		rate;		/* sectors/s */
};

#if IS_ENABLED(CONFIG_KUNIT)
bool bch_writeback_decide(const struct wb_decision *w);
u64 bch_writeback_target(u64 cache_sectors, u64 dev_sectors,
			 u64 all_dev_sectors, unsigned int percent);
void bch_writeback_rate_step(const struct writeback_tuning *t,
			     const struct wb_rate_input *in, s64 *integral,
			     struct wb_rate_output *out);
#endif

/* Upstream's should_writeback(): does this write go to the cache dirty? */
bool bch_should_writeback(struct cached_dev *dc, struct bio *bio,
			  unsigned int mode, bool bypass);

/*
 * A dirty write is on its way: the backing superblock must say DIRTY
 * before the write is acknowledged. _mark_dirty() writes it, or joins the
 * write already in flight (either way waited for by @cl), unless
 * dc->has_dirty says it is on disk already; once @cl is done,
 * _marked_dirty() notes that and wakes the thread.
 */
void bch_writeback_mark_dirty(struct cached_dev *dc, struct closure *cl);
void bch_writeback_marked_dirty(struct cached_dev *dc);
void bch_writeback_queue(struct cached_dev *dc);

/*
 * Flushes of the backing device: count each completed write; a flush is
 * wanted only if one completed since the last flush did (*@seq is what
 * it covers, for _flushed() once it completed).
 */
static inline void bch_backing_wrote(struct cached_dev *dc)
{
	atomic64_inc(&dc->backing_writes);
}

bool bch_backing_flush_wanted(struct cached_dev *dc, u64 *seq);
void bch_backing_flushed(struct cached_dev *dc, u64 seq);

/* Foreground I/O arrived: an idle set at full writeback rate slows down. */
void bch_writeback_set_busy(struct cache_set *c);

/* Per device: init at registration; start at attach; stop is idempotent. */
void bch_cached_dev_writeback_init(struct cached_dev *dc);
int bch_cached_dev_writeback_start(struct cached_dev *dc);
void bch_cached_dev_writeback_stop(struct cached_dev *dc);

/* Count @d's dirty sectors from the btree (at attach). */
void bch_sectors_dirty_init(struct bcache_device *d);

#endif /* _BCACHE_WRITEBACK_H */

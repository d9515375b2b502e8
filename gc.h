/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Garbage collection (gc.c): the check and marking of a set read from
 * disk, the gc thread that re-marks every bucket, rewrites and coalesces
 * nodes and wakes the allocator, and what other files use to trigger it.
 */
#ifndef _BCACHE_GC_H
#define _BCACHE_GC_H

#include "bcache.h"
#include "btree.h"

/*
 * Registration of an existing set: read the whole tree once, checking
 * every node and marking every bucket it references (in parallel threads,
 * one per top-level subtree, as 6.12 does).
 */
int bch_btree_check(struct cache_set *c);
void bch_initial_mark_key(struct cache_set *c, int level, struct bkey *k);

int bch_gc_thread_start(struct cache_set *c);
void bch_gc_thread_stop(struct cache_set *c);
void bch_initial_gc_finish(struct cache_set *c);
u8 __bch_btree_mark_key(struct cache_set *c, int level, struct bkey *k);
#if IS_ENABLED(CONFIG_KUNIT)
/* gc's marking rule for one pointer, on a bare bucket (tests/kunit/gc_test.c). */
u8 bch_gc_mark_bucket(struct bucket *g, u8 ptr_gen, int level, bool dirty,
		      unsigned int sectors, bool *conflict);
/* Whether the walk pauses for foreground I/O now. */
bool bch_gc_should_pause(struct cache_set *c, struct gc_stat *gc);
#endif

/*
 * Writes between gcs: a sixteenth of the cache, held in an atomic_t, so
 * capped at INT_MAX sectors (1 TiB) for caches above 16 TiB.
 */
static inline void set_gc_sectors(struct cache_set *c)
{
	u64 sectors = (u64)c->cache->sb.bucket_size * c->nbuckets / 16;

	atomic_set(&c->sectors_to_gc, min_t(u64, sectors, INT_MAX));
}

static inline void wake_up_gc(struct cache_set *c)
{
	wake_up(&c->gc_wait);
}

/* Run gc now (sysfs trigger_gc, allocator out of buckets). */
static inline void force_wake_up_gc(struct cache_set *c)
{
	/* gc runs when sectors_to_gc < 0; see gc.c */
	atomic_set(&c->sectors_to_gc, -1);
	wake_up_gc(c);
}

#endif /* _BCACHE_GC_H */

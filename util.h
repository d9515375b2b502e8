/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by the btree-node code (bset.c, extents.c) that the
 * kernel does not already provide.
 *
 * For now that is only the latency bookkeeping behind the *_time sysfs
 * files: a struct time_stats records how long an operation took and how
 * often it runs, as exponentially weighted averages. Heaps come from
 * <linux/min_heap.h> and FIFOs from <linux/kfifo.h> wherever possible; this
 * header grows only when a helper is really needed by more than one file.
 */
#ifndef _BCACHE_UTIL_H
#define _BCACHE_UTIL_H

#include <linux/types.h>
#include <linux/bug.h>
#include <linux/spinlock.h>
#include <linux/sched/clock.h>

/*
 * Debug-only assertion: warns with CONFIG_BCACHE_DEBUG, compiled to
 * nothing (while still type-checking @cond) otherwise. Only for invariants
 * of our own code, never for anything read from disk.
 */
#ifdef CONFIG_BCACHE_DEBUG
#define EBUG_ON(cond)		WARN_ON(cond)
#else
#define EBUG_ON(cond)		BUILD_BUG_ON_INVALID(cond)
#endif

/*
 * Timing statistics of one kind of operation. Everything is in nanoseconds
 * of local_clock(); the two averages are kept multiplied by
 * 1 << TIME_STATS_EWMA_SHIFT so the ewma does not lose its low bits.
 */
#define TIME_STATS_EWMA_SHIFT	8
#define TIME_STATS_EWMA_WEIGHT	8

struct time_stats {
	spinlock_t	lock;		/* serialises updates of the fields */
	u64		max_duration;
	u64		average_duration;
	u64		average_frequency;
	u64		last;		/* local_clock() of the last update, 0 if none */
};

static inline void bch_time_stats_init(struct time_stats *stats)
{
	*stats = (struct time_stats) {};
	spin_lock_init(&stats->lock);
}

/* Account one operation that began at @start_time (a local_clock() value). */
void bch_time_stats_update(struct time_stats *stats, u64 start_time);

#endif /* _BCACHE_UTIL_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hit/miss accounting: the stats_total, stats_five_minute, stats_hour and
 * stats_day directories of every backing device and cache set.
 *
 * The request path only bumps per-object atomic counters (cheap, no lock);
 * a periodic worker folds them into the four windows and decays the
 * windows, so the hot path never touches the windows themselves. The
 * windows know nothing of devices or cache sets: bch_account_*() work on
 * one accounting object, and the bch_mark_*() wrappers below apply them
 * to a device and its set together.
 */
#ifndef _BCACHE_STATS_H
#define _BCACHE_STATS_H

#include <linux/atomic.h>
#include <linux/kobject.h>
#include <linux/workqueue.h>

enum bch_stat {
	BCH_STAT_HITS,
	BCH_STAT_MISSES,
	BCH_STAT_BYPASS_HITS,
	BCH_STAT_BYPASS_MISSES,
	BCH_STAT_MISS_COLLISIONS,
	BCH_STAT_SECTORS_BYPASSED,
	BCH_STAT_NR,
};

enum bch_stat_window {
	BCH_WINDOW_TOTAL,
	BCH_WINDOW_FIVE_MINUTE,
	BCH_WINDOW_HOUR,
	BCH_WINDOW_DAY,
	BCH_WINDOW_NR,
};

/* One stats_* directory: decayed sums, in 1/65536ths to keep precision. */
struct bch_stat_window_data {
	struct kobject		kobj;
	unsigned long		sum[BCH_STAT_NR];
	unsigned int		ticks;	/* since the last decay */
};

struct bch_accounting {
	atomic_t		pending[BCH_STAT_NR];
	struct bch_stat_window_data window[BCH_WINDOW_NR];
	struct delayed_work	fold_work;
	bool			kobjs_added;
};

void bch_accounting_init(struct bch_accounting *acc);
#if IS_ENABLED(CONFIG_KUNIT)
void bch_stats_fold(struct bch_accounting *acc);
unsigned long bch_stat_value(const struct bch_accounting *acc,
			     enum bch_stat_window w, enum bch_stat s);
#endif
int bch_accounting_add_kobjs(struct bch_accounting *acc,
			     struct kobject *parent);
void bch_accounting_clear(struct bch_accounting *acc);
void bch_accounting_destroy(struct bch_accounting *acc);

/* The first four stats in order: hits, misses, then the same bypassed. */
static inline enum bch_stat bch_lookup_stat(bool hit, bool bypass)
{
	static_assert(BCH_STAT_HITS + 1 == BCH_STAT_MISSES);
	static_assert(BCH_STAT_HITS + 2 == BCH_STAT_BYPASS_HITS);
	static_assert(BCH_STAT_HITS + 3 == BCH_STAT_BYPASS_MISSES);

	return BCH_STAT_HITS + 2 * bypass + !hit;
}

static inline void bch_account_lookup(struct bch_accounting *acc, bool hit,
				      bool bypass)
{
	atomic_inc(&acc->pending[bch_lookup_stat(hit, bypass)]);
}

static inline void bch_account_miss_collision(struct bch_accounting *acc)
{
	atomic_inc(&acc->pending[BCH_STAT_MISS_COLLISIONS]);
}

static inline void bch_account_bypassed(struct bch_accounting *acc,
					unsigned int sectors)
{
	atomic_add(sectors, &acc->pending[BCH_STAT_SECTORS_BYPASSED]);
}

/*
 * What the request path calls: each counts one request against both the
 * backing device it was for and the cache set behind it (upstream's
 * names and arguments).
 */
struct cache_set;
struct cached_dev;
struct bcache_device;

void bch_mark_cache_accounting(struct cache_set *c, struct bcache_device *d,
			       bool hit, bool bypass);
void bch_mark_cache_miss_collision(struct cache_set *c,
				   struct bcache_device *d);
void bch_mark_sectors_bypassed(struct cache_set *c, struct cached_dev *dc,
			       int sectors);

#endif /* _BCACHE_STATS_H */

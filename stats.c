// SPDX-License-Identifier: GPL-2.0
/*
 * Hit/miss accounting with decaying windows.
 *
 * The windows are exponentially weighted: every fold (22 per five minutes)
 * adds the pending counts to each window, and a window whose decay period
 * has come round is multiplied by 31/32. (31/32)^22 is about 1/2, so the
 * five-minute window halves every five minutes, the hour window every hour
 * (decaying once per 12 folds) and the day window every day (once per 288);
 * the total never decays. These are upstream's constants, so the numbers an
 * admin reads match the kernel's driver. Sums are kept shifted left by 16
 * so repeated decay does not round small counts away.
 *
 * Folding runs from a delayed work item rather than a timer: it can then be
 * cancelled synchronously when the owner goes away, with nothing left to
 * hold the owner alive.
 */

#include <kunit/visibility.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/sysfs.h>

#include "bcache.h"
#include "stats.h"
#include "sysfs_attr.h"
#include "util.h"

#define STAT_SHIFT		16
#define FOLD_INTERVAL		((HZ * 300) / 22)
#define DECAY_WEIGHT		32

static const struct {
	const char	*dir;
	unsigned int	decay_every;	/* folds; 0: never decays */
} windows[BCH_WINDOW_NR] = {
	[BCH_WINDOW_TOTAL]	 = { "stats_total",	  0 },
	[BCH_WINDOW_FIVE_MINUTE] = { "stats_five_minute", 1 },
	[BCH_WINDOW_HOUR]	 = { "stats_hour",	  12 },
	[BCH_WINDOW_DAY]	 = { "stats_day",	  288 },
};

static unsigned long window_value(const struct bch_stat_window_data *w,
				  enum bch_stat s)
{
	return w->sum[s] >> STAT_SHIFT;
}

#if IS_ENABLED(CONFIG_KUNIT)
/* What stats_<window>/<counter> shows, for the tests (and only them). */
VISIBLE_IF_KUNIT unsigned long bch_stat_value(const struct bch_accounting *acc,
					      enum bch_stat_window w,
					      enum bch_stat s)
{
	return window_value(&acc->window[w], s);
}
EXPORT_SYMBOL_IF_KUNIT(bch_stat_value);
#endif

/* sysfs: one file per counter, plus the hit ratio derived from two. */

enum stat_file {
	FILE_HITS, FILE_MISSES, FILE_BYPASS_HITS, FILE_BYPASS_MISSES,
	FILE_HIT_RATIO, FILE_MISS_COLLISIONS, FILE_BYPASSED, FILE_NR,
};

static const char * const stat_file_names[FILE_NR] = {
	[FILE_HITS]		= "cache_hits",
	[FILE_MISSES]		= "cache_misses",
	[FILE_BYPASS_HITS]	= "cache_bypass_hits",
	[FILE_BYPASS_MISSES]	= "cache_bypass_misses",
	[FILE_HIT_RATIO]	= "cache_hit_ratio",
	[FILE_MISS_COLLISIONS]	= "cache_miss_collisions",
	[FILE_BYPASSED]		= "bypassed",
};

static const enum bch_stat plain_counter[FILE_NR] = {
	[FILE_HITS]		= BCH_STAT_HITS,
	[FILE_MISSES]		= BCH_STAT_MISSES,
	[FILE_BYPASS_HITS]	= BCH_STAT_BYPASS_HITS,
	[FILE_BYPASS_MISSES]	= BCH_STAT_BYPASS_MISSES,
	[FILE_MISS_COLLISIONS]	= BCH_STAT_MISS_COLLISIONS,
};

static struct attribute stat_attrs[FILE_NR];
static struct attribute *stat_window_attrs[FILE_NR + 1];
ATTRIBUTE_GROUPS(stat_window);

static ssize_t stat_show(struct kobject *kobj, struct attribute *attr,
			 char *buf)
{
	struct bch_stat_window_data *w =
		container_of(kobj, struct bch_stat_window_data, kobj);
	enum stat_file f = attr - stat_attrs;
	unsigned long hits, misses;

	switch (f) {
	case FILE_HIT_RATIO:
		hits = window_value(w, BCH_STAT_HITS);
		misses = window_value(w, BCH_STAT_MISSES);
		return sysfs_emit(buf, "%lu\n",
				  hits + misses ? hits * 100 / (hits + misses) : 0);
	case FILE_BYPASSED:
		return bch_sysfs_show_human(buf,
			(s64)window_value(w, BCH_STAT_SECTORS_BYPASSED) << 9);
	default:
		return sysfs_emit(buf, "%lu\n", window_value(w, plain_counter[f]));
	}
}

static const struct sysfs_ops stat_sysfs_ops = {
	.show	= stat_show,
};

/* The windows live inside their owner, which frees them. */
static void stat_window_release(struct kobject *kobj)
{
}

static const struct kobj_type stat_window_ktype = {
	.release	= stat_window_release,
	.sysfs_ops	= &stat_sysfs_ops,
	.default_groups	= stat_window_groups,
};

static void fill_stat_attrs(void)
{
	unsigned int i;

	if (stat_window_attrs[0])
		return;
	for (i = 0; i < FILE_NR; i++) {
		stat_attrs[i].name = stat_file_names[i];
		stat_attrs[i].mode = 0444;
		stat_window_attrs[i] = &stat_attrs[i];
	}
}

/* Folding and decay */

static void decay(unsigned long *sum)
{
	*sum -= *sum / DECAY_WEIGHT;
}

/*
 * The pending counts are widened before the shift: upstream shifts them
 * as unsigned int, so 65,536 of anything in one fold (about 4,800 requests
 * a second, or 2.4 MB/s bypassed) wraps its windows' sums.
 */
VISIBLE_IF_KUNIT void bch_stats_fold(struct bch_accounting *acc)
{
	unsigned int s, w;

	for (s = 0; s < BCH_STAT_NR; s++) {
		unsigned long n = (unsigned long)atomic_xchg(&acc->pending[s], 0);

		for (w = 0; w < BCH_WINDOW_NR; w++)
			acc->window[w].sum[s] += n << STAT_SHIFT;
	}

	for (w = 0; w < BCH_WINDOW_NR; w++) {
		struct bch_stat_window_data *win = &acc->window[w];

		if (!windows[w].decay_every ||
		    ++win->ticks < windows[w].decay_every)
			continue;
		win->ticks = 0;
		for (s = 0; s < BCH_STAT_NR; s++)
			decay(&win->sum[s]);
	}
}
EXPORT_SYMBOL_IF_KUNIT(bch_stats_fold);

static void fold_work_fn(struct work_struct *work)
{
	struct bch_accounting *acc = container_of(to_delayed_work(work),
						  struct bch_accounting,
						  fold_work);

	bch_stats_fold(acc);
	schedule_delayed_work(&acc->fold_work, FOLD_INTERVAL);
}

void bch_accounting_init(struct bch_accounting *acc)
{
	unsigned int w;

	memset(acc, 0, sizeof(*acc));
	fill_stat_attrs();
	for (w = 0; w < BCH_WINDOW_NR; w++)
		kobject_init(&acc->window[w].kobj, &stat_window_ktype);
	INIT_DELAYED_WORK(&acc->fold_work, fold_work_fn);
	schedule_delayed_work(&acc->fold_work, FOLD_INTERVAL);
}

int bch_accounting_add_kobjs(struct bch_accounting *acc,
			     struct kobject *parent)
{
	unsigned int w;
	int ret;

	for (w = 0; w < BCH_WINDOW_NR; w++) {
		ret = kobject_add(&acc->window[w].kobj, parent, "%s",
				  windows[w].dir);
		if (ret)
			return ret;
	}
	acc->kobjs_added = true;
	return 0;
}

/* clear_stats: only the running total restarts, as upstream's does. */
void bch_accounting_clear(struct bch_accounting *acc)
{
	memset(acc->window[BCH_WINDOW_TOTAL].sum, 0,
	       sizeof(acc->window[BCH_WINDOW_TOTAL].sum));
}

void bch_accounting_destroy(struct bch_accounting *acc)
{
	unsigned int w;

	cancel_delayed_work_sync(&acc->fold_work);
	for (w = 0; w < BCH_WINDOW_NR; w++)
		kobject_put(&acc->window[w].kobj);
}

/*
 * A request is counted twice, once for its backing device and once for
 * the set caching it, so each has its own stats_* directories.
 */

void bch_mark_cache_accounting(struct cache_set *c, struct bcache_device *d,
			       bool hit, bool bypass)
{
	bch_account_lookup(&to_cached_dev(d)->accounting, hit, bypass);
	bch_account_lookup(&c->accounting, hit, bypass);
}

void bch_mark_cache_miss_collision(struct cache_set *c,
				   struct bcache_device *d)
{
	bch_account_miss_collision(&to_cached_dev(d)->accounting);
	bch_account_miss_collision(&c->accounting);
}

void bch_mark_sectors_bypassed(struct cache_set *c, struct cached_dev *dc,
			       int sectors)
{
	bch_account_bypassed(&dc->accounting, sectors);
	bch_account_bypassed(&c->accounting, sectors);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stopping a cache set, from any layer, and the driver's shared workqueue.
 *
 * The files below registration (io.c, alloc.c, btree.c, gc.c, journal.c,
 * uuid.c) find errors that must stop the set, yet the teardown itself
 * belongs to super.c. What they call here only sets flags and queues the
 * set's caching closure, whose continuation super.c installed when it
 * created the set: no file below super.c depends on how the teardown is
 * done, and any context may call these.
 */
#ifndef _BCACHE_SET_H
#define _BCACHE_SET_H

#include <linux/compiler_attributes.h>

struct cache_set;
struct workqueue_struct;

/*
 * Work of the driver that may have to run for memory to be freed (device
 * and set teardown, registration, btree node writes): a WQ_MEM_RECLAIM
 * queue, created at module load and destroyed last at unload.
 */
extern struct workqueue_struct *bcache_wq;
int bch_set_module_init(void);
void bch_set_module_exit(void);

/* Stops the set; attached devices stop with it. */
void bch_cache_set_stop(struct cache_set *c);
/* Stops the set and detaches its devices for good. */
void bch_cache_set_unregister(struct cache_set *c);

/*
 * A cache set found something on disk or in memory that cannot be: log
 * it and stop the set (upstream's cache_bug()). Never a BUG_ON.
 */
__printf(2, 3)
void bch_cache_set_error(struct cache_set *c, const char *fmt, ...);
#define cache_bug(c, ...)	bch_cache_set_error(c, __VA_ARGS__)
#define cache_bug_on(cond, c, ...)					\
	({ bool __bad = (cond); if (__bad) cache_bug(c, __VA_ARGS__); __bad; })
#define cache_set_err_on(cond, c, ...)	cache_bug_on(cond, c, __VA_ARGS__)

#endif /* _BCACHE_SET_H */

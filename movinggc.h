/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Moving gc (movinggc.c): copies the live data out of fragmented buckets
 * so gc can free them; it installs itself as c->moving_gc_fn.
 */
#ifndef _BCACHE_MOVINGGC_H
#define _BCACHE_MOVINGGC_H

#include "bcache.h"

/* The bcache_gc workqueue and c->moving_gc_fn; undone by _exit. */
int bch_moving_init_cache_set(struct cache_set *c);
void bch_moving_exit_cache_set(struct cache_set *c);
void bch_moving_gc(struct cache_set *c);

#endif /* _BCACHE_MOVINGGC_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Starting a cache set (recovery.c): from the journal, prios, btree and
 * uuid table on the cache device, or afresh on a cache never synced. Each
 * returns NULL or why the set cannot start.
 */
#ifndef _BCACHE_RECOVERY_H
#define _BCACHE_RECOVERY_H

#include "bcache.h"

/* @journal gets the jsets read back; the caller frees it either way. */
const char *bch_cache_set_recover(struct cache_set *c,
				  struct list_head *journal);
/* The first metadata writes wait on @cl. */
const char *bch_cache_set_create(struct cache_set *c, struct closure *cl);
/* `synchronous` 0 -> 1: the superblock says so once the disk agrees. */
void bch_cache_set_sync_on(struct cache_set *c);

#endif /* _BCACHE_RECOVERY_H */

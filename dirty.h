/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How much of a bcache device is dirty (dirty.c): sectors per stripe of
 * the backing device, which stripes are dirty all over, and the total.
 * The btree's extent fixups report every change of a dirty key here
 * (through the checker's sectors_dirty_add hook); writeback and the
 * write path read it.
 */
#ifndef _BCACHE_DIRTY_H
#define _BCACHE_DIRTY_H

#include <linux/types.h>

struct bcache_device;
struct cache_set;

/* @sectors (negative: cleaned) at backing sector @offset of @d. */
void bch_dirty_add(struct bcache_device *d, u64 offset, s64 sectors);
/* The same for whatever device is attached to @c as @inode, if any. */
void bch_set_dirty_add(struct cache_set *c, unsigned int inode, u64 offset,
		       int sectors);
/* Forget all of @d's counts, before they are rebuilt from the btree. */
void bch_dirty_reset(struct bcache_device *d);
/* Does any stripe that @sectors at @offset touch hold dirty data? */
bool bch_dirty_stripes_touched(struct bcache_device *d, u64 offset,
			       unsigned int sectors);
/* The stripe @offset lies in, or -1 past the device's stripes. */
long bch_dirty_stripe_of(const struct bcache_device *d, u64 offset);

#endif /* _BCACHE_DIRTY_H */

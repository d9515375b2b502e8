/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Superblock codec: turns the 4 KiB block at sector 8 of a member device
 * into a checked, host-endian struct cache_sb and back.
 *
 * Decoding is the one place where a superblock's bytes are trusted or not:
 * bch_sb_decode() checks every field it fills against the range the format
 * defines and against the device it came from, and names the first thing
 * wrong. Registration (super.c) reports that reason and refuses the device;
 * nothing later re-validates.
 */
#ifndef _BCACHE_SB_H
#define _BCACHE_SB_H

#include <linux/types.h>
#include "bcache_ondisk.h"

/* What the checks need to know about the device the superblock came from. */
struct bch_sb_dev_info {
	sector_t	capacity;		/* in 512-byte sectors */
	unsigned int	logical_block_size;	/* in bytes */
};

u64 bch_sb_csum(const struct cache_sb_disk *d);

int bch_sb_decode(struct cache_sb *sb, const struct cache_sb_disk *d,
		  const struct bch_sb_dev_info *dev, const char **reason);
/* The checks of the host form, read and before every write; 0 or -EINVAL. */
int bch_sb_verify(const struct cache_sb *sb, const struct bch_sb_dev_info *dev,
		  const char **why);

void bch_sb_encode(struct cache_sb_disk *d, const struct cache_sb *sb);

#endif /* _BCACHE_SB_H */

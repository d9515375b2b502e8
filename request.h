/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The I/O path of a bcacheN device. Without a cache set every bio is
 * remapped past the superblock and handed to the backing device; with one
 * attached, reads are looked up in the btree and writes go to the backing
 * device and (unless bypassed) into the cache, as request.c explains.
 *
 * struct data_insert_op is how data gets into the cache, for the request
 * path and for moving gc: bch_data_insert() writes
 * op->bio to freshly allocated cache sectors, journals the keys that point
 * at them and inserts them into the btree. With @bypass set it writes
 * nothing and instead inserts pointerless keys over the range, which
 * deletes whatever the cache held there.
 */
#ifndef _BCACHE_REQUEST_H
#define _BCACHE_REQUEST_H

#include <linux/blkdev.h>

#include "bcache_ondisk.h"
#include "bset.h"
#include "closure.h"

struct cache_set;
struct cached_dev;

struct data_insert_op {
	struct closure		cl;
	blk_status_t		status;		/* of the whole insert */

	/* What to do */
	unsigned int		bypass:1;	/* invalidate instead of insert */
	unsigned int		replace:1;	/* only where replace_key still is */
	unsigned int		flush_journal:1;
	unsigned int		writeback:1;	/* dirty data: keys get KEY_DIRTY */
	unsigned int		csum:1;		/* never set, as upstream */
	/* How it went */
	unsigned int		insert_data_done:1;
	unsigned int		replace_collision:1;
	/* Some of the range was invalidated rather than cached. */
	unsigned int		invalidated:1;
	/* Set by cache write completions, so not a bitfield. */
	bool			cache_write_failed;

	/*
	 * The data to insert, positioned at its backing-device sector; the
	 * op holds a reference on it while it runs. May be NULL for a pure
	 * invalidation whose range is set in inval_* below.
	 */
	struct bio		*bio;
	unsigned int		inode;		/* key inode: the device id */
	/* Invalidation still to do: backing-device sectors. */
	u64			inval_sector;
	unsigned int		inval_sectors;

	struct cache_set	*c;
	struct workqueue_struct	*wq;		/* where the steps run */
	u16			write_point;	/* open bucket hint */
	u16			write_prio;

	/* For op->replace: the check key the data may only replace. */
	BKEY_PADDED(replace_key);
	struct keylist		insert_keys;
};

CLOSURE_CALLBACK(bch_data_insert);

/* 0, or the sequential size (sectors) past which congestion bypasses. */
unsigned int bch_get_congested(const struct cache_set *c);

void bch_cached_dev_submit_bio(struct bio *bio);
int bch_cached_dev_ioctl(struct block_device *bdev, blk_mode_t mode,
			 unsigned int cmd, unsigned long arg);
int bch_cached_dev_request_init(struct cached_dev *dc);
void bch_cached_dev_request_exit(struct cached_dev *dc);

/* The slab cache of every set's c->search; module load and unload. */
int bch_request_module_init(void);
void bch_request_module_exit(void);

/* c->search and c->bio_split; undone by _exit (safe on a failed _init). */
int bch_request_set_init(struct cache_set *c);
void bch_request_set_exit(struct cache_set *c);

#endif /* _BCACHE_REQUEST_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bios to member devices (io.c): bbios to the cache device carry the key
 * they were sent for, so completions count errors and latency against the
 * right bucket; errors of the backing device are counted per device.
 */
#ifndef _BCACHE_IO_H
#define _BCACHE_IO_H

#include "bcache.h"

void bch_bbio_free(struct bio *bio, struct cache_set *c);
struct bio *bch_bbio_alloc(struct cache_set *c);
void bch_submit_bbio(struct bio *bio, struct cache_set *c,
		     struct bkey *k, unsigned int ptr);
void __bch_submit_bbio(struct bio *bio, struct cache_set *c);
void bch_bbio_count_io_errors(struct cache_set *c, struct bio *bio,
			      blk_status_t error, const char *m);
void bch_bbio_endio(struct cache_set *c, struct bio *bio,
		    blk_status_t error, const char *m);
void bch_count_io_errors(struct cache *ca, blk_status_t error,
			 int is_read, const char *m);

/*
 * A bio to a cache device carries the key it was submitted for, so its
 * completion can account errors and latency against the right bucket.
 */
struct bbio {
	unsigned int		submit_time_us;
	/* The key, with just the pointer this bio went to. */
	BKEY_PADDED(key);

	struct bio		bio;	/* last: bios have inline vecs after */
};

void bch_count_backing_io_errors(struct cached_dev *dc, struct bio *bio);

/* A bbio that copies a key's data through pages of its own (io.c). */
int bch_copy_bbio_init(struct bbio *b, unsigned int sectors, bool idle);
void bch_copy_bbio_rewind(struct bbio *b, struct block_device *bdev,
			  u64 sector, unsigned int sectors);
void bch_copy_bbio_release(struct bbio *b);

/*
 * Superblock writes, the backing device's and the cache set's: each
 * sleeps until the previous write of the same superblock is done, and
 * refuses (logs, does not write) one that would not register again.
 */
void bch_write_bdev_super(struct cached_dev *dc, struct closure *parent);
void bch_write_super(struct cache_set *c);
void bch_write_super_hold(struct cache_set *c);
void bch_write_super_held(struct cache_set *c);

#endif /* _BCACHE_IO_H */

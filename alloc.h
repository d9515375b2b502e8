/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The bucket allocator of a cache device (alloc.c): free lists refilled by
 * its thread from gc's marks, metadata buckets for the btree, the journal
 * and the uuid table, sectors of open buckets for data, generations and
 * priorities, and the prio_set chain that keeps them on disk.
 */
#ifndef _BCACHE_ALLOC_H
#define _BCACHE_ALLOC_H

#include "bcache.h"

/* Set-up and the allocator thread of a cache device. */
int bch_cache_alloc_init(struct cache *ca);	/* free lists, heap, buckets */
void bch_cache_alloc_exit(struct cache *ca);
int bch_cache_allocator_start(struct cache *ca);
int bch_open_buckets_alloc(struct cache_set *c);
void bch_open_buckets_free(struct cache_set *c);

/* Taking buckets: for metadata (whole buckets) and for data (sectors). */
long bch_bucket_alloc(struct cache *ca, unsigned int reserve, bool wait);
int bch_bucket_alloc_set(struct cache_set *c, unsigned int reserve,
			 struct bkey *k, bool wait);
int __bch_bucket_alloc_set(struct cache_set *c, unsigned int reserve,
			   struct bkey *k, bool wait);	/* bucket_lock held */
bool bch_alloc_sectors(struct cache_set *c, struct bkey *k,
		       unsigned int sectors, unsigned int write_point,
		       unsigned int write_prio, bool wait);

/* Giving them back, and dropping the pins readers hold. */
void bch_bucket_free(struct cache_set *c, struct bkey *k);
void __bch_bucket_free(struct cache *ca, struct bucket *b);
void bch_bucket_pin_put(struct cache_set *c, struct bkey *k);	/* upstream bkey_put */

/* Generations and priorities. */
u8 bch_inc_gen(struct cache *ca, struct bucket *b);
bool bch_can_invalidate_bucket(struct cache *ca, struct bucket *b);
void __bch_invalidate_one_bucket(struct cache *ca, struct bucket *b);
void bch_rescale_priorities(struct cache_set *c, int sectors);

/* Prios and gens on disk (prio_set chain): read at start, written by the allocator. */
int bch_prio_read(struct cache *ca, u64 bucket, const char **err);
int bch_prio_write(struct cache *ca, bool wait);
#if IS_ENABLED(CONFIG_KUNIT)
/* Pure pieces of alloc.c, exposed to tests/kunit/alloc_test.c. */
int bch_reserve_source(unsigned int reserve, unsigned int nth);
u64 bch_bucket_lru_key(const struct bucket *b, u16 min_prio);
int bch_alloc_lru_candidates(struct cache *ca);
void bch_prio_set_seal(struct prio_set *p, size_t bytes, u64 magic);
int bch_prio_set_verify(const struct prio_set *p, size_t bytes, u64 magic,
			const char **why);
int bch_prio_set_verify_write(const struct prio_set *p, u64 magic,
			      u64 first_bucket, u64 nbuckets, const char **why);
struct open_bucket *bch_pick_data_bucket(struct cache_set *c,
					 const struct bkey *search,
					 unsigned int write_point,
					 struct bkey *fresh);
void bch_carve_open_bucket(struct cache_set *c, struct open_bucket *ob,
			   struct bkey *k, unsigned int sectors,
			   unsigned int write_point);
size_t bch_btree_reserve_buckets(u64 nbuckets);
#endif

/* The share of buckets in use, in percent, into @stats->in_use. */
void bch_update_bucket_in_use(struct cache_set *c, struct gc_stat *stats);

#endif /* _BCACHE_ALLOC_H */

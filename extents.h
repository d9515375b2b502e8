/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two kinds of keys a btree node holds, as struct btree_keys_ops:
 *
 * - bch_extent_keys_ops, for leaf nodes: a key is an extent of a backing
 *   device (inode) ending at its offset, with pointers to where the data
 *   is cached. Inserting an extent trims, splits or drops whatever it
 *   overlaps, and sorting resolves overlaps between sets the same way.
 * - bch_btree_keys_ops, for interior nodes: a key points at a child node
 *   and covers everything up to its offset.
 *
 * Whether a pointer is any good depends on the cache set (device present,
 * bucket generation, bucket marks), which this layer cannot see. It asks
 * through a pointer checker, below, that the cache set code provides.
 */
#ifndef _BCACHE_EXTENTS_H
#define _BCACHE_EXTENTS_H

#include <linux/types.h>

struct bkey;
struct btree_keys;
struct bch_ptr_checker;

extern const struct btree_keys_ops bch_btree_keys_ops;
extern const struct btree_keys_ops bch_extent_keys_ops;

/*
 * Generations a bucket may move on past a pointer before gc must have
 * run; a staler pointer means the cache set's accounting is broken.
 */
#define BCH_PTR_STALE_MAX	96

/*
 * The pointer checker: what extents.c needs from the cache set.
 *
 * One instance per cache set, filled in by the cache set code and hung on
 * every node with bch_btree_keys_set_checker() (or left NULL, as in unit
 * tests and for nodes of a set still being assembled).
 *
 * Pure layout checks need no callback: a zero-sized extent, an extent
 * longer than its end offset, more pointers than a key can hold, and, when
 * the bucket geometry below is filled in (bucket_size != 0), a pointer that
 * leaves its bucket or lies outside first_bucket .. nbuckets. Everything
 * that looks at live state goes through @ops, except the two questions
 * every lookup asks of every key it meets (is a pointer's device there,
 * has its bucket moved on): those are answered from data in the checker,
 * without a call. Every callback may be NULL, as may the whole checker;
 * the fallback is given with each.
 *
 * Callbacks are called with whatever lock protects the node (the btree
 * node lock), never with bucket_lock held.
 */
struct bch_ptr_checker_ops {
	/*
	 * A key was found that should never exist: the cache set is
	 * inconsistent (upstream's cache_bug()/btree_bug(), which stop the
	 * set). @msg is the complete message; it has been logged already.
	 * NULL: only logged.
	 */
	void	(*inconsistent)(struct bch_ptr_checker *pc, const char *msg);
	/*
	 * Expensive check of pointer @ptr of @k in node @bk against the
	 * bucket's marks and priority, run only with expensive_debug_checks.
	 * True if inconsistent (the callback reports it). NULL: consistent.
	 */
	bool	(*ptr_inconsistent)(struct bch_ptr_checker *pc,
				    struct btree_keys *bk,
				    const struct bkey *k, unsigned int ptr);
	/*
	 * Dirty data accounting of backing device @inode: @sectors (may be
	 * negative) at @offset became dirty. NULL: not accounted.
	 */
	void	(*sectors_dirty_add)(struct bch_ptr_checker *pc,
				     unsigned int inode, u64 offset,
				     int sectors);
	/*
	 * A btree pointer with offset 0 is being inserted into @bk (upstream
	 * bumps the node's current write's prio_blocked). NULL: nothing.
	 */
	void	(*btree_ptr_insert)(struct btree_keys *bk,
				    const struct bkey *k);
	/* Bucket priority, for dumps only. NULL: not printed. */
	int	(*bucket_prio)(struct bch_ptr_checker *pc,
			       const struct bkey *k, unsigned int ptr);
	/* The debug knob that turns key merging off. NULL: merging on. */
	bool	(*merging_disabled)(struct bch_ptr_checker *pc);
};

struct bch_ptr_checker {
	const struct bch_ptr_checker_ops	*ops;

	/*
	 * Geometry of the cache device, from its superblock: bucket_size in
	 * sectors (a power of two), 0 if unknown (no geometry checks, every
	 * bucket "the same" for merging).
	 */
	u32			bucket_size;
	u16			first_bucket;
	u64			nbuckets;

	/*
	 * Pointers to a device at or past @nr_devs are unavailable; 0: all
	 * are available. (Upstream: PTR_DEV < MAX_CACHES_PER_SET while the
	 * set has its cache.)
	 */
	u8			nr_devs;
	/*
	 * Bucket generations, for staleness (gen_after(bucket gen, PTR_GEN)):
	 * bucket b's gen is gens[b * gen_stride]. Only read for pointers that
	 * passed the geometry checks above. NULL: no pointer is stale.
	 */
	const u8		*gens;
	u32			gen_stride;
};

/* Bucket of pointer @ptr of @k under @pc's geometry. */
u64 bch_ptr_bucket(const struct bch_ptr_checker *pc, const struct bkey *k,
		   unsigned int ptr);

/*
 * Upstream's text form of a key, "inode:start len size -> [dev:offset gen
 * g, ...]" with " dirty" and " cs<n> <csum>" appended where they apply.
 */
/* Upstream formats keys into buffers of this size in its messages. */
#define KEY_TEXT_LEN		80
void bch_extent_to_text(char *buf, size_t size, const struct bkey *k);
bool __bch_btree_ptr_invalid(struct bch_ptr_checker *pc,
			     const struct bkey *k);
bool __bch_extent_invalid(struct bch_ptr_checker *pc, const struct bkey *k);
const char *bch_extent_invalid_reason(struct bch_ptr_checker *pc,
				      const struct bkey *k);

#endif /* _BCACHE_EXTENTS_H */

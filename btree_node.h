/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A btree node (btree_node.c): reading and verifying it, writing its open
 * set, and the cache of nodes in memory. struct btree itself and the
 * locking helpers are in btree.h; the tree as a whole is btree.c's.
 */
#ifndef _BCACHE_BTREE_NODE_H
#define _BCACHE_BTREE_NODE_H

#include "btree.h"

/* Nodes from the cache, read from disk if need be. */
struct btree *bch_btree_node_get(struct cache_set *c, struct btree_op *op,
				 struct bkey *k, int level, bool write,
				 struct btree *parent);
void bch_btree_node_prefetch(struct btree *parent, struct bkey *k);
void bch_cannibalize_unlock(struct cache_set *c);

/* Node I/O; the _sync write takes b->write_lock and waits. */
void bch_btree_node_write_wait(struct btree *b);
void bch_btree_node_write_sync(struct btree *b);
void bch_btree_node_read_done(struct btree *b);
void bch_btree_node_write(struct btree *b, struct closure *parent);
void __bch_btree_node_write(struct btree *b, struct closure *parent);

/*
 * What verifying a node read from disk needs to know; all of it comes
 * from the cache set's superblock and the node's key.
 */
struct bch_node_geometry {
	u64		magic;		/* bset_magic() of the set */
	u64		csum_seed;	/* first pointer word of the node's key */
	unsigned int	block_bytes;
	unsigned int	node_bytes;	/* KEY_SIZE() of the node's key */
};

/* The outcome of bch_btree_node_verify(). */
struct bch_node_verdict {
	unsigned int	written;	/* blocks of valid sets */
	unsigned int	bad_block;	/* where the offending set starts */
	const char	*reason;	/* NULL if the node passed */
};

#if IS_ENABLED(CONFIG_KUNIT)
/* The node verifiers, read and write: pure, for tests/kunit/btree_test.c. */
int bch_btree_node_verify(const struct bch_node_geometry *g,
			  const void *buf, size_t bytes,
			  struct bch_node_verdict *v);
int bch_btree_node_verify_write(const struct bch_node_geometry *g,
				const struct bset *i, unsigned int block,
				const char **why);
#endif

/* Node cache: set-up and teardown with the cache set. */
int bch_btree_cache_alloc(struct cache_set *c);
void bch_btree_cache_free(struct cache_set *c);

/*
 * btree_node.c, for btree.c: node I/O and the node cache as the tree code
 * uses them. No other file calls these.
 */
static inline unsigned int node_block_bytes(const struct btree *b)
{
	return block_bytes(b->c->cache);
}

/* Where the next set of @b goes: right after what is on disk. */
static inline struct bset *next_write_pos(struct btree *b)
{
	return (void *)btree_bset_first(b) + b->written * node_block_bytes(b);
}

/* Sort the written set and open the next one, unless the node is full. */
void bch_btree_node_open_next_set(struct btree *b);
/* Keys journaled under @journal_ref went into leaf @b: schedule its write. */
void bch_btree_leaf_mark_dirty(struct btree *b, atomic_t *journal_ref);
/* What @w held up is now on disk (or never will be): let it go. */
void bch_btree_write_retire(struct btree *b, struct btree_write *w);
/* Take b->write_lock once journal reclaim no longer holds @b. */
void bch_btree_node_lock_unflushed(struct btree *b);
/* Forget which bucket @b caches. */
void bch_btree_node_unhash(struct btree *b);
/* A write-locked empty node cached for @k; NULL if raced, or ERR_PTR. */
struct btree *bch_btree_node_cache_get(struct cache_set *c,
				       struct btree_op *op,
				       struct bkey *k, int level);
/* One cannibalizer at a time; 0, or -EINTR after queueing op->wait. */
int bch_cannibalize_lock(struct cache_set *c, struct btree_op *op);

#endif /* _BCACHE_BTREE_NODE_H */

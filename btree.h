/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The btree of a cache set: nodes in memory, their I/O, and the
 * operations on the tree as a whole.
 *
 * A node is one btree_pages-page buffer holding up to MAX_BSETS sorted sets
 * of keys (struct btree_keys, bset.c); leaves hold extents, interior nodes
 * pointers to children (extents.c decides which). Nodes live in a cache
 * indexed by the bucket they sit in (bucket_hash), shrunk by a shrinker
 * and, when memory is short, by cannibalizing the least recently used
 * clean node while holding btree_cache_alloc_lock.
 *
 * Locking, as upstream: each node has an rw_semaphore (lock) taken top
 * down, write-locked from level op->lock and below; b->seq changes on
 * every write unlock so a traversal can tell whether a node it let go of
 * changed meanwhile. write_lock (a mutex) guards the node's keys against
 * its own write-out, and io_mutex one write in flight at a time. An insert
 * that does not fit splits the node (allocating new ones from
 * RESERVE_BTREE) and pushes the new keys up; a traversal that would need
 * to relock higher returns -EINTR and restarts from the root.
 *
 * Each node's two btree_writes alternate: the open one collects the journal
 * pin of the newest keys the node holds; writing the node out drops it, so
 * journal reclaim can free the jset (journal.c).
 *
 * Garbage collection (gc.c) walks the whole tree, recomputes every
 * bucket's marks and oldest gen, rewrites and coalesces sparse nodes, and
 * lets the allocator invalidate what is no longer referenced.
 */
#ifndef _BCACHE_BTREE_H
#define _BCACHE_BTREE_H

#include "bcache.h"

/*
 * What one write of a node owes: the journal pin of the newest keys it
 * carries, and the prio writes that wait for it (a new btree pointer must
 * not reach the disk before the prios of its bucket do).
 */
struct btree_write {
	int			prio_blocked;
	atomic_t		*journal;
};

struct btree {
	struct cache_set	*c;
	struct btree		*parent;
	u8			level;
	u16			written;	/* blocks already on disk */
	unsigned long		flags;		/* BTREE_NODE_* */

	/* Where the node lives, and its place in c->bucket_hash. */
	BKEY_PADDED(key);
	struct hlist_node	hash;
	/* btree_cache, btree_cache_freeable or btree_cache_freed */
	struct list_head	list;

	/* Traversal lock; seq changes with every write unlock. */
	struct rw_semaphore	lock;
	unsigned long		seq;
	/* Keys against their own write-out. */
	struct mutex		write_lock;

	struct btree_keys	keys;

	/* One write in flight at a time: io_mutex guards the closure io. */
	struct semaphore	io_mutex;
	struct closure		io;
	struct bio		*bio;
	struct btree_write	writes[2];
	struct delayed_work	work;	/* delayed write of a dirty node */
};

enum btree_node_flag {
	BTREE_NODE_io_error,
	BTREE_NODE_dirty,
	BTREE_NODE_write_idx,
	BTREE_NODE_journal_flush,	/* reclaim wants it written */
};

static inline bool btree_node_io_error(struct btree *b)
{
	return test_bit(BTREE_NODE_io_error, &b->flags);
}

static inline bool btree_node_dirty(struct btree *b)
{
	return test_bit(BTREE_NODE_dirty, &b->flags);
}

static inline bool btree_node_journal_flush(struct btree *b)
{
	return test_bit(BTREE_NODE_journal_flush, &b->flags);
}

static inline void set_btree_node_journal_flush(struct btree *b)
{
	set_bit(BTREE_NODE_journal_flush, &b->flags);
}

/* The first and the newest (open) set of keys of a node. */
static inline struct bset *btree_bset_first(struct btree *b)
{
	return b->keys.set[0].data;
}

static inline struct bset *btree_bset_last(struct btree *b)
{
	struct bset_tree *newest = bset_tree_last(&b->keys);

	return newest->data;
}

/* Where set @i starts in the node, in blocks. */
static inline unsigned int bset_block_offset(struct btree *b, struct bset *i)
{
	unsigned int sectors = bset_sector_offset(&b->keys, i);

	return sectors >> b->c->block_bits;
}

/*
 * The two btree_writes alternate; BTREE_NODE_write_idx names the open one,
 * the other belongs to the write in flight (if any).
 */
static inline struct btree_write *btree_current_write(struct btree *b)
{
	unsigned int open = test_bit(BTREE_NODE_write_idx, &b->flags);

	return &b->writes[open];
}

static inline struct btree_write *btree_prev_write(struct btree *b)
{
	unsigned int open = test_bit(BTREE_NODE_write_idx, &b->flags);

	return &b->writes[open ^ 1];
}

/* Blocks the node spans on disk (its key's size), and a new node's. */
static inline unsigned int btree_blocks(struct btree *b)
{
	return KEY_SIZE(&b->key) >> b->c->block_bits;
}

static inline unsigned int btree_default_blocks(struct cache_set *c)
{
	return (c->btree_pages * PAGE_SECTORS) >> c->block_bits;
}

/* One walk down the tree (an insert, a lookup, a map). */
struct btree_op {
	wait_queue_entry_t	wait;	/* on btree_cache_wait, for a reserve */
	short			lock;	/* write-lock nodes at this level and below */
	unsigned int		insert_collision:1;
};

static inline void bch_btree_op_init(struct btree_op *op, int write_lock_level)
{
	/*
	 * Field by field: a memset of the wait entry, which init_wait()
	 * sets anew, would cost more than the rest of this.
	 */
	init_wait(&op->wait);
	op->lock = write_lock_level;
	op->insert_collision = 0;
}

/*
 * The order two nodes are locked in: higher levels first, then by key
 * within a level. Negative if @l must be locked before @r, 0 if they are
 * the same node.
 */
static inline int btree_node_lock_cmp(const struct btree *l,
				      const struct btree *r)
{
	s64 d;

	if (l->level != r->level)
		return l->level > r->level ? -1 : 1;
	d = bkey_cmp(&l->key, &r->key);
	return d < 0 ? -1 : d > 0;
}

/*
 * Nodes are locked top down and, within a level, left to right (gc holds
 * several siblings). All node locks share one lockdep class whose
 * comparator (node_lock_order() in btree.c) knows that order, so no
 * subclass is needed; @level is kept for the callers' readability.
 */
static inline void rw_lock(bool w, struct btree *b, int level)
{
	if (w) {
		down_write(&b->lock);
		b->seq++;
	} else {
		down_read(&b->lock);
	}
}

static inline void rw_unlock(bool w, struct btree *b)
{
	if (w) {
		b->seq++;
		up_write(&b->lock);
	} else {
		up_read(&b->lock);
	}
}

/* Return values of map callbacks, and map flags. */
#define MAP_DONE	0
#define MAP_CONTINUE	1
#define MAP_ALL_NODES	0
#define MAP_LEAF_NODES	1
#define MAP_END_KEY	1

/* ---- btree.c ---- */
/* Nodes: making and freeing. */
struct btree *__bch_btree_node_alloc(struct cache_set *c, struct btree_op *op,
				     int level, bool wait, struct btree *parent);
void bch_btree_node_free(struct btree *b);
void bch_btree_set_root(struct btree *b);

#if IS_ENABLED(CONFIG_KUNIT)
/* Pure pieces of splitting, for tests/kunit/btree_test.c. */
size_t bch_btree_insert_room(struct btree_keys *keys);
unsigned int bch_btree_split_pivot(const struct bset *i);
struct bkey *bch_btree_split_bset(struct bset *left, struct bset *right);
bool bch_btree_split_needs_two(const struct bset *i, unsigned int block_bytes,
			       unsigned int node_blocks);
#endif

/* Insert @keys (journaled with @journal_ref) up to @replace_key's version. */
int bch_btree_insert(struct cache_set *c, struct keylist *keys,
		     atomic_t *journal_ref, struct bkey *replace_key);
int bch_btree_insert_check_key(struct btree *b, struct btree_op *op,
			       struct bkey *check_key);

/* Flush every dirty node (set stop); waits for the writes. */
void bch_btree_flush_all(struct cache_set *c);

/*
 * Walks from @from on (NULL: the start), calling @fn on each node or leaf,
 * or on each key of the leaves; @fn returns MAP_CONTINUE, MAP_DONE or an
 * error, which ends the walk. -EINTR from @fn restarts it at the root.
 */
typedef int (btree_map_keys_fn)(struct btree_op *op, struct btree *b,
				struct bkey *k);
typedef int (btree_map_nodes_fn)(struct btree_op *op, struct btree *b);

int bch_btree_map_keys(struct btree_op *op, struct cache_set *c,
		       struct bkey *from, btree_map_keys_fn *fn, int flags);
/* @flags: MAP_LEAF_NODES (where inserts and lookups go) or MAP_ALL_NODES. */
int __bch_btree_map_nodes(struct btree_op *op, struct cache_set *c,
			  struct bkey *from, btree_map_nodes_fn *fn, int flags);

/*
 * btree.c internals that gc.c needs to rewrite and coalesce nodes; no
 * other file calls these.
 */
struct btree *bch_btree_node_alloc_replacement(struct btree *b,
					       struct btree_op *op);
int bch_btree_insert_node(struct btree *b, struct btree_op *op,
			  struct keylist *insert_keys, atomic_t *journal_ref,
			  struct bkey *replace_key);
/* A key that, inserted into @b's parent, frees @b's bucket. */
void bch_make_btree_freeing_key(struct btree *b, struct bkey *k);
int bch_btree_check_reserve(struct btree *b, struct btree_op *op);
/* Fill in c->checker (geometry, gens, callbacks) once the cache is known. */
void bch_btree_checker_init(struct cache_set *c);

/*
 * Recursion (upstream's bcache_btree()/bcache_btree_root() macros):
 * bch_btree_recurse() gets the child of @parent that @k points to, locked
 * for writing if its level is <= op->lock, calls @fn on it and unlocks it.
 * bch_btree_root_recurse() calls @fn on the locked root, again and again
 * while @fn returns -EINTR (after a wait on btree_cache_wait if op->wait
 * was queued there), so @fn may ask for more write locks by raising
 * op->lock and returning -EINTR.
 */
typedef int (btree_recurse_fn)(struct btree *b, struct btree_op *op,
			       void *arg);
int bch_btree_recurse(struct btree *parent, struct btree_op *op,
		      struct bkey *k, btree_recurse_fn *fn, void *arg);
int bch_btree_root_recurse(struct cache_set *c, struct btree_op *op,
			   btree_recurse_fn *fn, void *arg);

#endif /* _BCACHE_BTREE_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * The btree of a cache set as a tree: walking it, inserting keys
 * (splitting nodes that fill up, and growing a new root), allocating and
 * freeing nodes, flushing every dirty node at stop, and the pointer
 * checker extents.c asks about the cache set.
 *
 * Everything below the node level is bset.c's (sorted sets, iterators)
 * and extents.c's (what a key means); a node's I/O and the node cache are
 * btree_node.c's; everything about buckets is alloc.c's and gc.c's.
 *
 * Lock order: node locks (b->lock) top down; then bucket_lock; then a
 * node's write_lock; then journal.lock.
 */

#include "bcache.h"
#include "alloc.h"
#include "btree.h"
#include "btree_node.h"
#include "dirty.h"
#include "io.h"
#include "set.h"
#include "util.h"

#include <kunit/visibility.h>
#include <linux/delay.h>
#include <linux/hash.h>
#include <linux/prefetch.h>
#include <linux/random.h>
#include <linux/rculist.h>
#include <linux/sched/clock.h>

/* ---- Locks a traversal takes ---- */

static bool write_locks_level(const struct btree_op *op, int level)
{
	return level <= op->lock;
}

/* ---- Allocating and freeing nodes ---- */

/**
 * bch_btree_node_free - give up node @b (write-locked) and its bucket
 * @b: a node no longer referenced from the tree (or never linked in)
 *
 * Unwritten keys are dropped, with the pins they held.
 */
void bch_btree_node_free(struct btree *b)
{
	struct cache_set *c = b->c;

	WARN_ON_ONCE(b == c->root);

	bch_btree_node_lock_unflushed(b);
	if (btree_node_dirty(b)) {
		bch_btree_write_retire(b, btree_current_write(b));
		clear_bit(BTREE_NODE_dirty, &b->flags);
	}
	mutex_unlock(&b->write_lock);

	cancel_delayed_work(&b->work);

	mutex_lock(&c->bucket_lock);
	bch_bucket_free(c, &b->key);
	bch_btree_node_unhash(b);
	mutex_unlock(&c->bucket_lock);
}

/**
 * __bch_btree_node_alloc - a new, empty node in a fresh bucket
 * @c: cache set
 * @op: the walk, for waiting on the cannibalize lock; or NULL
 * @level: its level
 * @wait: wait for a bucket if RESERVE_BTREE is empty
 * @parent: its parent-to-be
 *
 * Returns the node write-locked with its first set open, or an ERR_PTR
 * (-EAGAIN: no bucket; -EINTR: restart for the cannibalize lock).
 */
struct btree *__bch_btree_node_alloc(struct cache_set *c, struct btree_op *op,
				     int level, bool wait, struct btree *parent)
{
	BKEY_PADDED(key) k;
	struct btree *b;

	mutex_lock(&c->bucket_lock);

	if (__bch_bucket_alloc_set(c, RESERVE_BTREE, &k.key, wait)) {
		b = ERR_PTR(-EAGAIN);
		goto out;
	}
	/* A btree bucket is kept by its node, not by a pin. */
	bch_bucket_pin_put(c, &k.key);
	SET_KEY_SIZE(&k.key, c->btree_pages * PAGE_SECTORS);

	b = bch_btree_node_cache_get(c, op, &k.key, level);
	if (!b) {
		cache_bug(c, "Tried to allocate bucket that was in btree cache");
		b = ERR_PTR(-EIO);
	}
	if (IS_ERR(b)) {
		bch_bucket_free(c, &k.key);
		goto out;
	}

	b->parent = parent;
	bch_bset_init_next(&b->keys, btree_bset_first(b),
			   bset_magic(&c->cache->sb));
out:
	mutex_unlock(&c->bucket_lock);
	return b;
}

static struct btree *node_alloc(struct cache_set *c, struct btree_op *op,
				int level, struct btree *parent)
{
	return __bch_btree_node_alloc(c, op, level, !!op, parent);
}

/* A new node holding @b's keys, compacted, covering what @b covers. */
struct btree *bch_btree_node_alloc_replacement(struct btree *b,
					       struct btree_op *op)
{
	struct btree *n = node_alloc(b->c, op, b->level, b->parent);

	if (IS_ERR(n))
		return n;

	mutex_lock(&n->write_lock);
	bch_btree_sort_into(&b->keys, &n->keys, &b->c->sort);
	bkey_copy_key(&n->key, &b->key);
	mutex_unlock(&n->write_lock);

	return n;
}

/*
 * The key that, inserted into @b's parent, unlinks @b: @b's pointers with
 * their buckets' gens bumped (so @b's old pointer is stale from now on),
 * at position zero, which extents.c treats as a btree pointer whose prios
 * must be written before the parent: until then c->prio_blocked holds the
 * allocator's prio write back.
 */
void bch_make_btree_freeing_key(struct btree *b, struct bkey *k)
{
	struct cache_set *c = b->c;
	unsigned int i;

	mutex_lock(&c->bucket_lock);

	atomic_inc(&c->prio_blocked);

	bkey_copy(k, &b->key);
	bkey_copy_key(k, &ZERO_KEY);

	for (i = 0; i < KEY_PTRS(k); i++)
		SET_PTR_GEN(k, i, bch_inc_gen(c->cache,
					      PTR_BUCKET(c, &b->key, i)));

	mutex_unlock(&c->bucket_lock);
}

/*
 * Can a split of @b run to the root without blocking? It needs up to two
 * new nodes per level above (plus a new root) and the cannibalize lock.
 * -EINTR (with op->wait queued on btree_cache_wait) if not.
 */
int bch_btree_check_reserve(struct btree *b, struct btree_op *op)
{
	struct cache_set *c = b->c;
	unsigned int need = (c->root->level - b->level) * 2 + 1;
	bool short_of_buckets;

	mutex_lock(&c->bucket_lock);
	short_of_buckets =
		bch_ring_used(&c->cache->free[RESERVE_BTREE]) < need;
	if (short_of_buckets && op)
		prepare_to_wait(&c->btree_cache_wait, &op->wait,
				TASK_UNINTERRUPTIBLE);
	mutex_unlock(&c->bucket_lock);

	if (short_of_buckets)
		return -EINTR;
	return bch_cannibalize_lock(c, op);
}

/* ---- Inserting keys into a node ---- */

static bool node_insert_one(struct btree *b, struct bkey *k,
			    struct bkey *replace_key)
{
	unsigned int status;

	if (WARN_ON_ONCE(bkey_cmp(k, &b->key) > 0))
		return false;

	status = bch_btree_insert_key(&b->keys, k, replace_key);
	if (status == BTREE_INSERT_STATUS_NO_INSERT)
		return false;

	bch_check_keys(&b->keys, "%u for %s", status,
		       replace_key ? "replace" : "insert");
	return true;
}

/*
 * Insert the part of @k up to @b's end; @k keeps the rest, for the next
 * node. (Its bucket pins stay with that rest.)
 */
static bool node_insert_front(struct btree *b, struct bkey *k,
			      struct bkey *replace_key)
{
	BKEY_PADDED(key) front;

	bkey_copy(&front.key, k);
	bch_cut_back(&b->key, &front.key);
	bch_cut_front(&b->key, k);

	return node_insert_one(b, &front.key, replace_key);
}

/*
 * Words of keys the open set of @keys can still take: what the node has
 * left, less, in a leaf, room for one extent an overlapping insert may
 * cut in two. An insert that does not fit splits the node.
 */
VISIBLE_IF_KUNIT size_t bch_btree_insert_room(struct btree_keys *keys)
{
	long room = bch_btree_keys_u64s_remaining(keys);

	if (keys->ops->is_extents)
		room -= KEY_MAX_U64S;

	return max(room, 0L);
}
EXPORT_SYMBOL_IF_KUNIT(bch_btree_insert_room);

/*
 * Move keys from the front of @keys into @b while they fit and lie in
 * @b's range; a key straddling @b's end is split and its front part goes
 * in. True if anything was inserted. If keys were offered and none went
 * in (all collided with @replace_key), op->insert_collision says so; a
 * node that merely held none of the keys (a walk restarted from an
 * earlier position after a split) is no collision.
 */
static bool node_take_keys(struct btree *b, struct btree_op *op,
			   struct keylist *keys, struct bkey *replace_key)
{
	bool inserted = false, offered = false;
	int before = bch_count_data(&b->keys);

	while (!bch_keylist_empty(keys)) {
		struct bkey *k = keys->keys;

		if (bkey_u64s(k) > bch_btree_insert_room(&b->keys))
			break;

		if (bkey_cmp(k, &b->key) > 0) {
			/* Past our end; only a straddling key has a part here. */
			if (bkey_cmp(&START_KEY(k), &b->key) < 0) {
				offered = true;
				inserted |= node_insert_front(b, k,
							      replace_key);
			}
			break;
		}

		/* The write that made the key held its buckets. */
		if (!b->level)
			bch_bucket_pin_put(b->c, k);

		offered = true;
		inserted |= node_insert_one(b, k, replace_key);
		bch_keylist_pop_front(keys);
	}

	if (offered && !inserted)
		op->insert_collision = true;

	/* An interior node always takes all: its keys were made for it. */
	WARN_ON_ONCE(!bch_keylist_empty(keys) && b->level);
	if (before >= 0)
		WARN_ON_ONCE(bch_count_data(&b->keys) < before);

	return inserted;
}

/*
 * Where the set @i (not empty) of a node being split is cut: the word
 * offset of the last key that stays in the left node, the first key at
 * or past 3/5 of the words. The left node keeps the bigger part, since
 * keys inserted in order (the common case) go on landing on the right.
 * The pivot is always a key of @i: a set of one or two keys (one-block
 * nodes split that small) keeps its last key and leaves the right empty.
 */
VISIBLE_IF_KUNIT unsigned int bch_btree_split_pivot(const struct bset *i)
{
	const u64 *words = (const u64 *)bset_start(i);
	unsigned int total = bset_u64s(i), mark = total * 3 / 5, at = 0;

	while (at < mark) {
		unsigned int next = at +
			bkey_u64s((const struct bkey *)(words + at));

		if (next >= total)
			break;
		at = next;
	}
	return at;
}
EXPORT_SYMBOL_IF_KUNIT(bch_btree_split_pivot);

/*
 * Does a node whose keys, compacted into the one set @i, still fill more
 * than 4/5 of its @node_blocks need two nodes? Less full, a rewrite into
 * one node is enough and leaves it room to grow. A node of one block
 * (block size equal to bucket size) is full after its first write and
 * any set rounds up to the whole of it: there the words decide, or every
 * insert would split it, down to nodes of no keys.
 */
VISIBLE_IF_KUNIT bool bch_btree_split_needs_two(const struct bset *i,
						unsigned int block_bytes,
						unsigned int node_blocks)
{
	if (node_blocks < 2)
		return set_bytes(i) > block_bytes * 4 / 5;
	return set_blocks(i, block_bytes) > node_blocks * 4 / 5;
}
EXPORT_SYMBOL_IF_KUNIT(bch_btree_split_needs_two);

/*
 * Move the keys past the pivot of @left (one set, not indexed) into the
 * empty @right. Returns the last key left in @left: its new end.
 */
VISIBLE_IF_KUNIT struct bkey *bch_btree_split_bset(struct bset *left,
						   struct bset *right)
{
	unsigned int total = bset_u64s(left);
	struct bkey *last = bset_bkey_idx(left, bch_btree_split_pivot(left));
	unsigned int kept = (u64 *)bkey_next(last) - (u64 *)bset_start(left);

	bset_set_u64s(right, total - kept);
	bset_set_u64s(left, kept);
	memcpy(bset_start(right), bset_bkey_last(left),
	       bset_u64s(right) * sizeof(u64));
	return last;
}
EXPORT_SYMBOL_IF_KUNIT(bch_btree_split_bset);

/*
 * @n1 (write_lock held) has all of @b's keys and the new ones: hand its
 * upper part to @n2, which covers the rest of @b's range, and start
 * writing @n2. Its key joins @parent_keys.
 */
static void split_upper_half(struct btree *b, struct btree *n1,
			     struct btree *n2, struct keylist *parent_keys,
			     struct closure *cl)
{
	/* Two new nodes of one level: lockdep needs telling. */
	mutex_lock_nested(&n2->write_lock, SINGLE_DEPTH_NESTING);
	bkey_copy_key(&n1->key, bch_btree_split_bset(btree_bset_first(n1),
						     btree_bset_first(n2)));
	bkey_copy_key(&n2->key, &b->key);
	bch_keylist_add(parent_keys, &n2->key);
	bch_btree_node_write(n2, cl);
	mutex_unlock(&n2->write_lock);
	rw_unlock(true, n2);
}

/* Undo a new node of a failed split: it was never linked in. */
static void split_discard(struct btree *n)
{
	bch_btree_node_free(n);
	rw_unlock(true, n);
}

static int split_error(struct btree *b, struct btree *n1, struct btree *n2,
		       struct btree *n3)
{
	WARN(1, "bcache: btree split failed (level %u)", b->level);

	if (n1 == ERR_PTR(-EAGAIN) || n2 == ERR_PTR(-EAGAIN) ||
	    n3 == ERR_PTR(-EAGAIN))
		return -EAGAIN;
	return -ENOMEM;
}

/*
 * Link the nodes of a split in: a new root above them (@n3), @n1 as the
 * new root, or the new keys into the parent together with the key that
 * frees @b. @parent_keys holds the new nodes' keys.
 */
static void split_link(struct btree *b, struct btree_op *op,
		       struct btree *n1, struct btree *n3,
		       struct keylist *parent_keys, struct closure *cl)
{
	if (n3) {
		/* The tree grows a level. */
		mutex_lock(&n3->write_lock);
		bkey_copy_key(&n3->key, &MAX_KEY);
		node_take_keys(n3, op, parent_keys, NULL);
		bch_btree_node_write(n3, cl);
		mutex_unlock(&n3->write_lock);

		closure_sync(cl);
		bch_btree_set_root(n3);
		rw_unlock(true, n3);
	} else if (!b->parent) {
		/* The root was compacted, not split. */
		closure_sync(cl);
		bch_btree_set_root(n1);
	} else {
		/* New nodes must be on disk before the parent points there. */
		closure_sync(cl);
		bch_make_btree_freeing_key(b, parent_keys->top);
		bch_keylist_push(parent_keys);

		bch_btree_insert_node(b->parent, op, parent_keys, NULL, NULL);
		WARN_ON_ONCE(!bch_keylist_empty(parent_keys));
	}
}

/*
 * @b is full: rewrite it with @keys inserted, as one compacted node or,
 * if that is still more than 4/5 full, as two (plus a new root if @b was
 * the root), and replace @b by them in its parent.
 */
static int btree_split(struct btree *b, struct btree_op *op,
		       struct keylist *keys, struct bkey *replace_key)
{
	struct btree *n1, *n2 = NULL, *n3 = NULL;
	struct cache_set *c = b->c;
	u64 started = local_clock();
	struct keylist parent_keys;
	struct closure cl;
	bool two;

	closure_init_stack(&cl);
	bch_keylist_init(&parent_keys);

	if (bch_btree_check_reserve(b, op)) {
		if (!b->level)
			return -EINTR;
		/* Interior splits come from below and cannot back out. */
		WARN(1, "insufficient reserve for split\n");
	}

	n1 = bch_btree_node_alloc_replacement(b, op);
	if (IS_ERR(n1))
		return split_error(b, n1, n2, n3);

	two = bch_btree_split_needs_two(btree_bset_first(n1),
					node_block_bytes(n1), btree_blocks(b));

	if (two) {
		n2 = node_alloc(c, op, b->level, b->parent);
		if (IS_ERR(n2))
			goto fail;

		if (!b->parent) {
			n3 = node_alloc(c, op, b->level + 1, NULL);
			if (IS_ERR(n3))
				goto fail;
		}
	}

	mutex_lock(&n1->write_lock);
	node_take_keys(n1, op, keys, replace_key);
	if (n2)
		split_upper_half(b, n1, n2, &parent_keys, &cl);

	bch_keylist_add(&parent_keys, &n1->key);
	bch_btree_node_write(n1, &cl);
	mutex_unlock(&n1->write_lock);

	split_link(b, op, n1, n3, &parent_keys, &cl);

	bch_btree_node_free(b);
	rw_unlock(true, n1);

	bch_time_stats_update(&c->btree_split_time, started);
	return 0;
fail:
	/*
	 * The new nodes' bucket pins were dropped when they were allocated
	 * (__bch_btree_node_alloc()); freeing the nodes returns the buckets.
	 */
	if (!IS_ERR_OR_NULL(n2))
		split_discard(n2);
	split_discard(n1);
	return split_error(b, n1, n2, n3);
}

/* The node was written since the last insert: open its next set. */
static void node_reopen_after_write(struct btree *b)
{
	if (next_write_pos(b) != btree_bset_last(b) &&
	    b->keys.last_set_unwritten)
		bch_btree_node_open_next_set(b);
}

/**
 * bch_btree_insert_node - insert @keys into @b, splitting it if needed
 * @b: the node, write-locked
 * @op: the walk
 * @keys: keys, in order, within @b's parent's range for @b
 * @journal_ref: pin of the jset that has the keys (leaves), or NULL
 * @replace_key: insert only over this key's version (leaves), or NULL
 *
 * Returns 0 when done; -EINTR when the walk must restart (with op->lock
 * raised if a split needs write locks higher up, or when keys remain for
 * another leaf); -EAGAIN under submit_bio.
 */
int bch_btree_insert_node(struct btree *b, struct btree_op *op,
			  struct keylist *keys, atomic_t *journal_ref,
			  struct bkey *replace_key)
{
	struct cache_set *c = b->c;
	struct closure cl;
	int ret;

	if (WARN_ON_ONCE(b->level && replace_key))
		return -EINVAL;

	closure_init_stack(&cl);

	mutex_lock(&b->write_lock);
	node_reopen_after_write(b);

	if (bch_keylist_nkeys(keys) <= bch_btree_insert_room(&b->keys)) {
		WARN_ON_ONCE(next_write_pos(b) != btree_bset_last(b));

		if (node_take_keys(b, op, keys, replace_key)) {
			if (!b->level)
				bch_btree_leaf_mark_dirty(b, journal_ref);
			else
				bch_btree_node_write(b, &cl);
		}
		mutex_unlock(&b->write_lock);

		/* Waiting for an interior write: only after unlocking. */
		closure_sync(&cl);
		return 0;
	}
	mutex_unlock(&b->write_lock);

	/* A split needs the write lock on every node up to the root. */
	if (current->bio_list) {
		op->lock = c->root->level + 1;
		return -EAGAIN;
	}
	if (op->lock <= c->root->level) {
		op->lock = c->root->level + 1;
		return -EINTR;
	}

	/* All iterators into @b are invalid from here. */
	ret = btree_split(b, op, keys, replace_key);
	if (bch_keylist_empty(keys))
		return 0;
	return ret ?: -EINTR;
}

/*
 * Trade the read lock on @b for a write lock. False if another writer got
 * in between (each write lock and unlock bumps b->seq; ours makes one).
 */
static bool node_upgrade_lock(struct btree *b)
{
	unsigned long seq_before = b->seq;
	__le64 ptr_before = b->key.ptr[0];

	rw_unlock(false, b);
	rw_lock(true, b, b->level);

	return b->seq == seq_before + 1 && b->key.ptr[0] == ptr_before;
}

/* A key over @k's range pointing nowhere: one random pointer, check dev. */
static void make_check_key(struct bkey *k)
{
	SET_KEY_PTRS(k, 1);
	k->ptr[0] = cpu_to_le64(get_random_u64());
	SET_PTR_DEV(k, 0, PTR_CHECK_DEV);
}

/**
 * bch_btree_insert_check_key - insert a placeholder over a cache miss
 * @b: the leaf the miss was found in, read- or write-locked
 * @op: the lookup; op->lock == -1 means @b is only read-locked
 * @check_key: the range; gets a random pointer on the check device
 *
 * The key (which reads never use) lets the later insert of the data read
 * from the backing device (with @check_key as replace_key) tell whether
 * anything overwrote the range meanwhile. -EINTR if @b changed while
 * the lock was upgraded.
 */
int bch_btree_insert_check_key(struct btree *b, struct btree_op *op,
			       struct bkey *check_key)
{
	bool read_locked = op->lock == -1;
	struct keylist insert;
	int ret = -EINTR;

	if (read_locked && !node_upgrade_lock(b)) {
		/* Changed while unlocked: walk again, write-locking it. */
		op->lock = b->level;
		goto out;
	}

	make_check_key(check_key);
	bch_keylist_init(&insert);
	bch_keylist_add(&insert, check_key);

	ret = bch_btree_insert_node(b, op, &insert, NULL, NULL);
	WARN_ON_ONCE(!ret && !bch_keylist_empty(&insert));
out:
	if (read_locked)
		downgrade_write(&b->lock);
	return ret;
}

/* A walk inserting a keylist, one leaf per walk. */
struct leaf_insert {
	struct btree_op	op;
	struct keylist	*keys;
	atomic_t	*journal_ref;
	struct bkey	*replace_key;
};

static int insert_into_leaf(struct btree_op *op, struct btree *b)
{
	struct leaf_insert *li = container_of(op, struct leaf_insert, op);
	int ret;

	ret = bch_btree_insert_node(b, op, li->keys, li->journal_ref,
				    li->replace_key);
	if (!ret || bch_keylist_empty(li->keys))
		return MAP_DONE;
	/* -EINTR restarts the walk; other errors end the insert. */
	return ret;
}

/* After a failed insert, what was not inserted gives its buckets back. */
static void release_keys(struct cache_set *c, struct keylist *keys)
{
	struct bkey *k;

	while ((k = bch_keylist_pop(keys)))
		bch_bucket_pin_put(c, k);
}

/**
 * bch_btree_insert - insert @keys into the btree
 * @c: cache set
 * @keys: keys in order; emptied on success
 * @journal_ref: pin of the jset holding them, or NULL (not journaled)
 * @replace_key: insert only where this key still is, or NULL
 *
 * Returns 0, -ESRCH if nothing was inserted because @replace_key was
 * gone, or an error (the keys' bucket pins are then released).
 */
int bch_btree_insert(struct cache_set *c, struct keylist *keys,
		     atomic_t *journal_ref, struct bkey *replace_key)
{
	struct leaf_insert li = {
		.keys		= keys,
		.journal_ref	= journal_ref,
		.replace_key	= replace_key,
	};
	int ret;

	if (WARN_ON_ONCE(current->bio_list) ||
	    WARN_ON_ONCE(bch_keylist_empty(keys)))
		return -EINVAL;

	bch_btree_op_init(&li.op, 0);
	do {
		struct bkey start = START_KEY(keys->keys);

		/* Each leaf's walk write-locks leaves only, at first. */
		li.op.lock = 0;
		ret = __bch_btree_map_nodes(&li.op, c, &start,
					    insert_into_leaf, MAP_LEAF_NODES);
	} while (!ret && !bch_keylist_empty(keys));

	if (ret) {
		pr_err("error %i\n", ret);
		release_keys(c, keys);
		return ret;
	}
	return li.op.insert_collision ? -ESRCH : 0;
}

/**
 * bch_btree_set_root - make @b, written and write-locked, the root
 * @b: the new root
 *
 * Journals the change and waits for that journal write.
 */
void bch_btree_set_root(struct btree *b)
{
	struct cache_set *c = b->c;
	struct closure cl;
	unsigned int i;

	closure_init_stack(&cl);

	WARN_ON_ONCE(!b->written);
	for (i = 0; i < KEY_PTRS(&b->key); i++)
		WARN_ON_ONCE(PTR_BUCKET(c, &b->key, i)->prio != BTREE_PRIO);

	/* The root is never reclaimed, so it is on no cache list. */
	mutex_lock(&c->bucket_lock);
	list_del_init(&b->list);
	mutex_unlock(&c->bucket_lock);

	c->root = b;

	bch_journal_root(c, &cl);
	closure_sync(&cl);
}

/* ---- Walking the tree ---- */

int bch_btree_recurse(struct btree *parent, struct btree_op *op,
		      struct bkey *k, btree_recurse_fn *fn, void *arg)
{
	int level = parent->level - 1;
	bool write = write_locks_level(op, level);
	struct btree *child;
	int ret;

	child = bch_btree_node_get(parent->c, op, k, level, write, parent);
	if (IS_ERR(child))
		return PTR_ERR(child);

	ret = fn(child, op, arg);
	rw_unlock(write, child);
	return ret;
}

/* One try at the root: -EINTR if it changed before we had it locked. */
static int root_attempt(struct cache_set *c, struct btree_op *op,
			btree_recurse_fn *fn, void *arg)
{
	struct btree *root = READ_ONCE(c->root);
	bool write = write_locks_level(op, root->level);
	int ret = -EINTR;

	rw_lock(write, root, root->level);
	if (root == c->root && write == write_locks_level(op, root->level))
		ret = fn(root, op, arg);
	rw_unlock(write, root);

	return ret;
}

int bch_btree_root_recurse(struct cache_set *c, struct btree_op *op,
			   btree_recurse_fn *fn, void *arg)
{
	int ret;

	for (;;) {
		ret = root_attempt(c, op, fn, arg);
		bch_cannibalize_unlock(c);
		if (ret != -EINTR)
			break;
		/*
		 * A set whose I/O is disabled can fail every node allocation
		 * with -EINTR; retrying would spin until the set is gone.
		 */
		if (test_bit(CACHE_SET_IO_DISABLE, &c->flags)) {
			ret = -EIO;
			break;
		}
		/*
		 * If op->wait was queued on btree_cache_wait we sleep until
		 * the reserve or cannibalize lock frees up; otherwise the
		 * task is runnable and this only yields.
		 */
		schedule();
	}

	finish_wait(&c->btree_cache_wait, &op->wait);
	return ret;
}

struct map_nodes_args {
	struct bkey		*start;	/* as the caller gave it */
	struct bkey		*from;	/* NULL once past the first path */
	btree_map_nodes_fn	*fn;
	int			flags;
};

static int map_nodes_in(struct btree *b, struct btree_op *op, void *arg)
{
	struct map_nodes_args *a = arg;
	int ret = MAP_CONTINUE;

	if (b->level) {
		struct btree_iter_stack iter __uninitialized;
		struct bkey *k;

		bch_btree_iter_stack_init(&b->keys, &iter, a->from);
		while ((k = bch_btree_iter_next_filter(&iter.iter, &b->keys,
						       bch_ptr_bad))) {
			ret = bch_btree_recurse(b, op, k, map_nodes_in, a);
			a->from = NULL;
			if (ret != MAP_CONTINUE)
				return ret;
		}
	}

	if (!b->level || a->flags == MAP_ALL_NODES)
		ret = a->fn(op, b);

	return ret;
}

/* Every attempt from the root starts at the caller's position again. */
static int map_nodes_root(struct btree *b, struct btree_op *op, void *arg)
{
	struct map_nodes_args *a = arg;

	a->from = a->start;
	return map_nodes_in(b, op, a);
}

int __bch_btree_map_nodes(struct btree_op *op, struct cache_set *c,
			  struct bkey *from, btree_map_nodes_fn *fn, int flags)
{
	struct map_nodes_args a = {
		.start = from, .fn = fn, .flags = flags,
	};

	return bch_btree_root_recurse(c, op, map_nodes_root, &a);
}

struct map_keys_args {
	struct bkey		*start;
	struct bkey		*from;
	btree_map_keys_fn	*fn;
	int			flags;
};

static int map_keys_in(struct btree *b, struct btree_op *op, void *arg)
{
	struct map_keys_args *a = arg;
	struct btree_iter_stack iter __uninitialized;
	int ret = MAP_CONTINUE;
	struct bkey *k;

	bch_btree_iter_stack_init(&b->keys, &iter, a->from);
	while ((k = bch_btree_iter_next_filter(&iter.iter, &b->keys,
					       bch_ptr_bad))) {
		if (b->level)
			ret = bch_btree_recurse(b, op, k, map_keys_in, a);
		else
			ret = a->fn(op, b, k);
		a->from = NULL;
		if (ret != MAP_CONTINUE)
			return ret;
	}

	/* A zero-sized key at the leaf's end: "nothing further here". */
	if (!b->level && (a->flags & MAP_END_KEY))
		ret = a->fn(op, b, &KEY(KEY_INODE(&b->key),
					KEY_OFFSET(&b->key), 0));

	return ret;
}

static int map_keys_root(struct btree *b, struct btree_op *op, void *arg)
{
	struct map_keys_args *a = arg;

	a->from = a->start;
	return map_keys_in(b, op, a);
}

int bch_btree_map_keys(struct btree_op *op, struct cache_set *c,
		       struct bkey *from, btree_map_keys_fn *fn, int flags)
{
	struct map_keys_args a = {
		.start = from, .fn = fn, .flags = flags,
	};

	return bch_btree_root_recurse(c, op, map_keys_root, &a);
}

/* ---- Flushing ---- */

/* A write already in flight counts: its keys are not on disk yet either. */
static void node_flush(struct btree *b, struct closure *cl)
{
	mutex_lock(&b->write_lock);
	if (btree_node_dirty(b))
		__bch_btree_node_write(b, cl);
	else
		bch_btree_node_write_wait(b);
	mutex_unlock(&b->write_lock);
}

/**
 * bch_btree_flush_all - write every dirty node of @c and wait
 * @c: a set being stopped, or one whose later inserts are all journaled
 *
 * Every key inserted before the call is on disk when it returns.
 */
void bch_btree_flush_all(struct cache_set *c)
{
	struct closure cl;
	struct btree *b;

	closure_init_stack(&cl);

	/* bucket_lock keeps the cache lists still; it nests outside write_lock. */
	mutex_lock(&c->bucket_lock);
	list_for_each_entry(b, &c->btree_cache, list)
		node_flush(b, &cl);
	if (!IS_ERR_OR_NULL(c->root) && list_empty(&c->root->list))
		node_flush(c->root, &cl);
	mutex_unlock(&c->bucket_lock);

	closure_sync(&cl);
}

/* ---- The pointer checker: what extents.c asks of the cache set ---- */

static struct cache_set *checker_set(struct bch_ptr_checker *pc)
{
	return container_of(pc, struct cache_set, checker);
}

static void checker_inconsistent(struct bch_ptr_checker *pc, const char *msg)
{
	bch_cache_set_error(checker_set(pc), "%s", msg);
}

/* Does bucket @g contradict a btree node pointer (@btree) or extent? */
static const char *bucket_contradicts(struct cache_set *c, struct bucket *g,
				      const struct bkey *k, bool btree)
{
	unsigned int mark = GC_MARK(g);

	if (btree) {
		if (KEY_DIRTY(k))
			return "dirty btree pointer";
		if (g->prio != BTREE_PRIO)
			return "btree bucket without btree prio";
		if (c->gc_mark_valid && mark != GC_MARK_METADATA)
			return "btree bucket not marked metadata";
		return NULL;
	}

	if (c->gc_mark_valid &&
	    (!mark || mark == GC_MARK_METADATA ||
	     (mark != GC_MARK_DIRTY && KEY_DIRTY(k))))
		return "extent bucket mark";
	if (g->prio == BTREE_PRIO)
		return "extent in btree bucket";
	return NULL;
}

/*
 * The expensive debug check of a pointer against its bucket. Best effort
 * (trylock): it must not wait for bucket_lock under a node lock.
 */
static bool checker_ptr_inconsistent(struct bch_ptr_checker *pc,
				     struct btree_keys *bk,
				     const struct bkey *k, unsigned int ptr)
{
	struct cache_set *c = checker_set(pc);
	bool btree = bk->ops == &bch_btree_keys_ops;
	const char *why = NULL;
	struct bucket *g;
	char buf[80];

	if (!ptr_available(c, k, ptr) ||
	    PTR_BUCKET_NR(c, k, ptr) >= c->cache->sb.nbuckets)
		return false;
	if (!mutex_trylock(&c->bucket_lock))
		return false;

	g = PTR_BUCKET(c, k, ptr);
	why = bucket_contradicts(c, g, k, btree);
	if (why) {
		bch_extent_to_text(buf, sizeof(buf), k);
		bch_cache_set_error(c,
				    "inconsistent pointer %s (%s): bucket %zu pin %i prio %i gen %i mark %u",
				    buf, why, PTR_BUCKET_NR(c, k, ptr),
				    atomic_read(&g->pin), g->prio, g->gen,
				    GC_MARK(g));
	}
	mutex_unlock(&c->bucket_lock);

	return !!why;
}

/* A new btree pointer's prio must reach disk before the node does. */
static void checker_btree_ptr_insert(struct btree_keys *bk,
				     const struct bkey *k)
{
	struct btree *b = container_of(bk, struct btree, keys);

	btree_current_write(b)->prio_blocked++;
}

static int checker_bucket_prio(struct bch_ptr_checker *pc,
			       const struct bkey *k, unsigned int ptr)
{
	return PTR_BUCKET(checker_set(pc), k, ptr)->prio;
}

static bool checker_merging_disabled(struct bch_ptr_checker *pc)
{
	return checker_set(pc)->key_merging_disabled;
}

static void checker_sectors_dirty_add(struct bch_ptr_checker *pc,
				      unsigned int inode, u64 offset,
				      int sectors)
{
	bch_set_dirty_add(checker_set(pc), inode, offset, sectors);
}

static const struct bch_ptr_checker_ops btree_checker_ops = {
	.inconsistent		= checker_inconsistent,
	.ptr_inconsistent	= checker_ptr_inconsistent,
	.sectors_dirty_add	= checker_sectors_dirty_add,
	.btree_ptr_insert	= checker_btree_ptr_insert,
	.bucket_prio		= checker_bucket_prio,
	.merging_disabled	= checker_merging_disabled,
};

void bch_btree_checker_init(struct cache_set *c)
{
	struct cache_sb *sb = &c->cache->sb;

	c->checker.ops = &btree_checker_ops;
	c->checker.bucket_size = sb->bucket_size;
	c->checker.first_bucket = sb->first_bucket;
	c->checker.nbuckets = sb->nbuckets;
	/*
	 * The set keeps its cache, and the cache its bucket array, for as
	 * long as any node exists: the checker may point into both.
	 */
	c->checker.nr_devs = MAX_CACHES_PER_SET;
	c->checker.gens = c->cache->buckets ? &c->cache->buckets[0].gen : NULL;
	c->checker.gen_stride = sizeof(struct bucket);
}

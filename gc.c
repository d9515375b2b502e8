// SPDX-License-Identifier: GPL-2.0
/*
 * Garbage collection: finding out which buckets still hold anything.
 *
 * Buckets are never freed explicitly. A bucket is reused by bumping its
 * generation, which makes every pointer carrying the old generation stale;
 * to know which buckets can be bumped safely, gc walks the whole btree and
 * recomputes, for every bucket, what points into it (metadata, dirty or
 * clean data), how many sectors are live and the oldest generation still
 * referenced (last_gc, which bounds how far the gen may move on). While it
 * is at it, gc rewrites nodes full of stale keys and merges runs of up to
 * GC_MERGE_NODES sparse siblings into fewer nodes.
 *
 * The walk is incremental: c->gc_done records how far it got, so it can
 * step aside for foreground I/O (every min-nodes nodes while searches are
 * in flight) and pick up where it left off. Marks are reset at the start
 * under bucket_lock and only declared valid again (gc_mark_valid) by
 * bch_btree_gc_finish(), which also adds the buckets the btree does not
 * know about: the uuid table, prios and gens, and the journal. Until then
 * the allocator may only invalidate buckets that were reclaimable when gc
 * began (bucket.reclaimable_in_gc).
 *
 * Bucket fields are updated during the walk without bucket_lock, as
 * upstream: the btree node locks order gc against inserts, and the
 * allocator does not look at marks while they are invalid. bucket_lock is
 * only taken for the short start and finish sections, so gc never holds
 * it while waiting on the allocator.
 *
 * gc runs in its own thread, woken when enough sectors were written since
 * the last run (sectors_to_gc) or when the allocator found nothing to
 * invalidate. Registration marks the buckets once itself, before gc can
 * run: bch_btree_check() reads the whole tree in parallel walkers and
 * catches the gens read from disk up to the btree's pointers.
 */

#define pr_fmt(fmt) "bcache: %s() " fmt, __func__

#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/delay.h>
#include <kunit/visibility.h>

#include "bcache.h"
#include "alloc.h"
#include "btree.h"
#include "btree_node.h"
#include "gc.h"
#include "set.h"
#include "util.h"

/* Most siblings btree_gc_coalesce-style merging considers at once. */
#define GC_MERGE_NODES		4U

/* A node with a pointer this stale gets rewritten without its dead keys. */
#define GC_REWRITE_STALENESS	10

/*
 * Pacing against foreground I/O: with searches in flight, gc pauses for
 * GC_SLEEP_MS after every 1/GC_PASSES_PER_RUN of the tree, but never
 * after fewer than GC_MIN_NODES_PER_PASS nodes.
 */
#define GC_PASSES_PER_RUN	100
#define GC_MIN_NODES_PER_PASS	100
#define GC_SLEEP_MS		100

static inline struct bucket *first_bucket(struct cache *ca)
{
	return ca->buckets + ca->sb.first_bucket;
}

static inline struct bucket *end_bucket(struct cache *ca)
{
	return ca->buckets + ca->sb.nbuckets;
}

/* Blocks in a node of the set's default size, and in node @b. */
static inline unsigned int default_node_blocks(const struct cache_set *c)
{
	return (PAGE_SECTORS * c->btree_pages) >> c->block_bits;
}

static inline unsigned int node_blocks(const struct btree *b)
{
	return KEY_SIZE(&b->key) >> b->c->block_bits;
}

/* ---------------------------------------------------------------------
 * Marking buckets
 */

/*
 * Account one pointer to bucket @g: @ptr_gen is the pointer's generation,
 * @level the btree level of the key holding it (0: a data extent of
 * @sectors sectors, dirty if @dirty; above: a btree node).
 *
 * Kept apart from the cache set so the rules can be unit tested. Returns
 * how many generations the pointer is behind the bucket; a stale pointer
 * only lowers last_gc. *@conflict is set when the bucket was already
 * marked as the other kind (metadata vs data), which means the btree
 * is inconsistent; the caller reports it.
 */
VISIBLE_IF_KUNIT u8 bch_gc_mark_bucket(struct bucket *g, u8 ptr_gen,
				       int level, bool dirty,
				       unsigned int sectors, bool *conflict)
{
	u8 behind = gen_after(g->gen, ptr_gen);
	unsigned int mark = GC_MARK(g);

	*conflict = false;

	/* last_gc is the oldest gen anything still points at. */
	if (gen_after(g->last_gc, ptr_gen))
		g->last_gc = ptr_gen;

	if (behind)
		return behind;

	*conflict = mark && (mark == GC_MARK_METADATA) != (level != 0);

	if (level)
		SET_GC_MARK(g, GC_MARK_METADATA);
	else if (dirty)
		SET_GC_MARK(g, GC_MARK_DIRTY);
	else if (!mark)
		SET_GC_MARK(g, GC_MARK_RECLAIMABLE);

	/* The field saturates: a full bucket is all moving gc needs to know. */
	SET_GC_SECTORS_USED(g, GC_SECTORS_USED(g) + sectors);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(bch_gc_mark_bucket);

/*
 * A pointer gc may follow into the bucket array: its device exists and
 * its bucket lies inside the cache. Keys come from disk; an out-of-range
 * bucket must not index past ca->buckets even if the key checks missed it.
 */
static bool gc_ptr_usable(struct cache_set *c, const struct bkey *k,
			  unsigned int ptr)
{
	return ptr_available(c, k, ptr) &&
	       PTR_BUCKET_NR(c, k, ptr) < c->cache->sb.nbuckets;
}

/*
 * Mark every bucket @k (a key at btree @level) points into; returns the
 * staleness of its stalest pointer.
 */
u8 __bch_btree_mark_key(struct cache_set *c, int level, struct bkey *k)
{
	unsigned int i;
	u8 stalest = 0;

	/*
	 * Keys at position zero are the ones that free btree nodes: bad
	 * keys by construction, never followed, so they mark nothing.
	 */
	if (!bkey_cmp(k, &ZERO_KEY))
		return 0;

	for (i = 0; i < KEY_PTRS(k); i++) {
		struct bucket *g;
		bool conflict;
		u8 behind;

		if (!gc_ptr_usable(c, k, i))
			continue;

		g = PTR_BUCKET(c, k, i);
		behind = bch_gc_mark_bucket(g, PTR_GEN(k, i), level,
					    KEY_DIRTY(k), KEY_SIZE(k),
					    &conflict);
		stalest = max(stalest, behind);

		if (conflict)
			cache_bug(c, "inconsistent ptrs: bucket %zu mark %u, level %i",
				  PTR_BUCKET_NR(c, k, i), GC_MARK(g), level);
	}

	return stalest;
}

/*
 * Registration (btree check, journal replay): the prios and gens read
 * from disk may be older than the btree, whose pointers are the truth.
 * Catch each bucket's gen up to the pointers into it and give btree node
 * buckets the metadata prio, then mark as gc would.
 */
void bch_initial_mark_key(struct cache_set *c, int level, struct bkey *k)
{
	bool live_node_key = level && bkey_cmp(k, &ZERO_KEY);
	unsigned int i;

	for (i = 0; i < KEY_PTRS(k); i++) {
		struct bucket *g;

		if (!gc_ptr_usable(c, k, i) || ptr_stale(c, k, i))
			continue;

		g = PTR_BUCKET(c, k, i);
		g->gen = PTR_GEN(k, i);

		if (live_node_key)
			g->prio = BTREE_PRIO;
		else if (!level && g->prio == BTREE_PRIO)
			g->prio = INITIAL_PRIO;
	}

	__bch_btree_mark_key(c, level, k);
}

/* ---------------------------------------------------------------------
 * Checking the whole tree at registration: every node is read (and so
 * verified) and every key marked with bch_initial_mark_key(), the
 * subtrees under the root walked in parallel.
 */

/* Walkers of bch_btree_check(), the registering task included. */
#define CHECK_THREADS_MAX	12

struct check_child {
	BKEY_PADDED(key);
};

/*
 * The subtrees under the root, shared out among the walkers (kthreads
 * plus the caller) one at a time. Every walker holds a reference in
 * @active; the last one out completes @done.
 */
struct check_walk {
	struct cache_set	*c;
	struct check_child	*children;
	unsigned int		nr;
	atomic_t		next;
	atomic_t		active;
	atomic_long_t		nodes;
	int			err;
	struct completion	done;
};

static void check_mark_node(struct btree *b)
{
	struct btree_iter_stack iter;
	struct bkey *k;

	for_each_key_filter(&b->keys, k, &iter, bch_ptr_invalid)
		bch_initial_mark_key(b->c, b->level, k);

	bch_initial_mark_key(b->c, b->level + 1, &b->key);
}

static int check_node(struct btree *b, struct btree_op *op, void *arg)
{
	struct check_walk *w = arg;
	struct btree_iter_stack iter;
	struct bkey *k;
	int ret = 0;

	check_mark_node(b);
	if (!b->level)
		return 0;

	bch_btree_iter_stack_init(&b->keys, &iter, NULL);
	while (!ret && !READ_ONCE(w->err) &&
	       (k = bch_btree_iter_next_filter(&iter.iter, &b->keys,
					       bch_ptr_bad))) {
		atomic_long_inc(&w->nodes);
		ret = bch_btree_recurse(b, op, k, check_node, w);
	}

	return ret;
}

/*
 * Check the subtree under the root's child @k. -EINTR (memory so short
 * that we had to wait for another cannibalizing walker) walks it again:
 * marking a key twice only overstates the sectors in use until gc runs.
 */
static int check_subtree(struct check_walk *w, struct bkey *k)
{
	struct cache_set *c = w->c;
	struct btree_op op;
	int ret;

	/* Read locks only: nothing changes the tree yet. */
	bch_btree_op_init(&op, -1);
	do {
		ret = bch_btree_recurse(c->root, &op, k, check_node, w);
		bch_cannibalize_unlock(c);
		if (ret == -EINTR)
			schedule();
	} while (ret == -EINTR);
	/* op lives on our stack: it must be off btree_cache_wait. */
	finish_wait(&c->btree_cache_wait, &op.wait);

	return ret;
}

static void check_walk_run(struct check_walk *w)
{
	unsigned int idx;
	int ret;

	while (!READ_ONCE(w->err)) {
		idx = atomic_inc_return(&w->next) - 1;
		if (idx >= w->nr)
			break;

		atomic_long_inc(&w->nodes);
		ret = check_subtree(w, &w->children[idx].key);
		if (ret)
			cmpxchg(&w->err, 0, ret);
		cond_resched();
	}
}

static void check_walk_leave(struct check_walk *w)
{
	if (atomic_dec_and_test(&w->active))
		complete(&w->done);
}

static int check_walk_thread(void *arg)
{
	struct check_walk *w = arg;

	check_walk_run(w);
	/* @w lives on the registering task's stack: last use. */
	check_walk_leave(w);
	return 0;
}

/* Copy the root's usable child pointers (the root is read-locked). */
static int check_collect_children(struct check_walk *w, struct btree *root)
{
	struct btree_iter_stack iter;
	size_t u64s = 0, room;
	struct bkey *k;
	unsigned int i;

	/* A usable pointer key is at least three words long. */
	for (i = 0; i <= root->keys.nsets; i++)
		u64s += bset_u64s(root->keys.set[i].data);
	room = u64s / 3 + 1;

	w->children = kvmalloc_array(room, sizeof(*w->children), GFP_KERNEL);
	if (!w->children)
		return -ENOMEM;

	for_each_key_filter(&root->keys, k, &iter, bch_ptr_bad)
		if (!WARN_ON_ONCE(w->nr >= room))
			bkey_copy(&w->children[w->nr++].key, k);
	return 0;
}

static unsigned int check_thread_count(unsigned int subtrees)
{
	unsigned int n = clamp(num_online_cpus() / 2, 1U, CHECK_THREADS_MAX);

	return min(n, max(subtrees, 1U));
}

/* Walk the subtrees in parallel: n - 1 kthreads and this task. */
static int check_children_parallel(struct check_walk *w)
{
	unsigned int i, n = check_thread_count(w->nr);
	struct task_struct *t;

	init_completion(&w->done);
	atomic_set(&w->active, 1);

	for (i = 1; i < n; i++) {
		atomic_inc(&w->active);
		t = kthread_run(check_walk_thread, w, "bch_btrchk[%u]", i);
		if (IS_ERR(t)) {
			/* Fewer walkers do the same work, only slower. */
			atomic_dec(&w->active);
			pr_warn("could not start btree check thread %u: %ld\n",
				i, PTR_ERR(t));
			break;
		}
	}

	check_walk_run(w);
	check_walk_leave(w);
	wait_for_completion(&w->done);

	return w->err;
}

/**
 * bch_btree_check - read the whole btree of a set being registered
 * @c: the set, with c->root loaded
 *
 * Verifies every node (reading it in) and marks every key's buckets with
 * bch_initial_mark_key(). Returns 0 or the first error.
 */
int bch_btree_check(struct cache_set *c)
{
	struct btree *root = c->root;
	struct check_walk w = { .c = c };
	int ret = 0;

	rw_lock(false, root, root->level);

	check_mark_node(root);
	if (root->level) {
		ret = check_collect_children(&w, root);
		if (!ret)
			ret = check_children_parallel(&w);
		kvfree(w.children);
	}

	rw_unlock(false, root);

	c->gc_stats.nodes += atomic_long_read(&w.nodes);
	if (ret)
		pr_err("btree check failed: %i\n", ret);
	return ret;
}

/*
 * Every written set of @b must end at or before the node's own key; a
 * set reaching past it means the parent's pointer lost part of the node.
 */
static void gc_check_set_ends(struct btree *b)
{
	struct bset_tree *t;

	for (t = b->keys.set; t <= bset_tree_last(&b->keys); t++) {
		if (!t->size || !bset_written(&b->keys, t))
			continue;
		if (bkey_cmp(&b->key, bset_tree_end(t)) < 0) {
			cache_bug(b->c, "found short btree key in gc (node at bucket %zu)",
				  PTR_BUCKET_NR(b->c, &b->key, 0));
			return;
		}
	}
}

/*
 * Mark everything node @b points at and count its live keys into @gc.
 * True if the node is worth rewriting: a stale pointer too far behind,
 * more dead than live keys, or the gc_always_rewrite debug knob.
 */
static noinline_for_stack bool gc_mark_node(struct btree *b,
					    struct gc_stat *gc)
{
	struct btree_iter_stack iter;
	unsigned int all = 0, live = 0;
	u8 stalest = 0;
	struct bkey *k;

	gc->nodes++;

	for_each_key_filter(&b->keys, k, &iter, bch_ptr_invalid) {
		stalest = max(stalest, __bch_btree_mark_key(b->c, b->level, k));
		all++;

		if (bch_ptr_bad(&b->keys, k))
			continue;

		live++;
		gc->nkeys++;
		gc->key_bytes += bkey_u64s(k);	/* scaled to bytes at the end */
		gc->data += KEY_SIZE(k);
	}

	gc_check_set_ends(b);

	return b->c->gc_always_rewrite ||
	       stalest > GC_REWRITE_STALENESS ||
	       (all - live) * 2 > all;
}

/* ---------------------------------------------------------------------
 * Rewriting and merging nodes
 */

/* One node of the sliding window gc_recurse() keeps over a node's children. */
struct gc_slot {
	struct btree	*b;	/* write-locked; NULL: past the end; ERR: none */
	unsigned int	u64s;	/* of live keys, what a merge would move */
};

static void gc_write_node_sync(struct btree *n)
{
	struct closure cl;

	closure_init_stack(&cl);
	mutex_lock(&n->write_lock);
	bch_btree_node_write(n, &cl);
	mutex_unlock(&n->write_lock);
	closure_sync(&cl);
}

/*
 * Done with @n: leaves must reach disk before gc ends (inserts that
 * replace keys are not journalled), so start its write, then unlock it.
 */
static void gc_release_node(struct btree *n, struct closure *writes)
{
	mutex_lock(&n->write_lock);
	if (btree_node_dirty(n))
		bch_btree_node_write(n, writes);
	mutex_unlock(&n->write_lock);
	rw_unlock(true, n);
}

/* Give back a node we allocated but will not use, or one replaced. */
static void gc_discard_node(struct btree *n)
{
	bch_btree_node_free(n);
	rw_unlock(true, n);
}

static noinline_for_stack unsigned int gc_live_u64s(struct btree *b)
{
	struct btree_iter_stack iter;
	unsigned int u64s = 0;
	struct bkey *k;

	for_each_key_filter(&b->keys, k, &iter, bch_ptr_bad)
		u64s += bkey_u64s(k);

	return u64s;
}

/*
 * Room in @list for @nr more keys of up to @u64s_each, reserved before
 * anything irreversible happens so no later step can fail for memory.
 */
static int gc_reserve_keys(struct keylist *list, unsigned int nr,
			   unsigned int u64s_each)
{
	return __bch_keylist_realloc(list, nr * u64s_each);
}

/*
 * Replace @old, a child of @parent, with a compacted copy. Returns -EINTR
 * once done (the parent changed under gc's iterator), 0 if it could not
 * be done now (no reserve); @old stays locked for the caller either way.
 */
static noinline_for_stack int gc_rewrite_child(struct btree *parent,
					       struct btree_op *op,
					       struct btree *old)
{
	struct keylist keys;
	struct btree *n;

	if (bch_btree_check_reserve(parent, NULL))
		return 0;

	bch_keylist_init(&keys);
	if (gc_reserve_keys(&keys, 2, BKEY_PAD))
		return 0;

	n = bch_btree_node_alloc_replacement(old, NULL);
	if (IS_ERR_OR_NULL(n))
		goto no_rewrite;

	/* Allocating may have used up the reserve the insert needs. */
	if (bch_btree_check_reserve(parent, NULL)) {
		gc_discard_node(n);
		goto no_rewrite;
	}

	gc_write_node_sync(n);

	bch_keylist_add(&keys, &n->key);
	bch_make_btree_freeing_key(old, keys.top);
	bch_keylist_push(&keys);

	bch_btree_insert_node(parent, op, &keys, NULL, NULL);
	WARN_ON_ONCE(!bch_keylist_empty(&keys));
	bch_keylist_free(&keys);

	bch_btree_node_free(old);
	rw_unlock(true, n);
	return -EINTR;

no_rewrite:
	bch_keylist_free(&keys);
	return 0;
}

/*
 * Move keys from the front of @hi's (only) set to the back of @lo's, @lo
 * being @hi's left sibling. With @emptied NULL, move what fits while @lo
 * stays within @limit blocks; otherwise move all of @hi (whose range ends
 * at @emptied's key) or nothing, if it would not fit in @lo at all.
 * @lo's key moves up to the last key it took. False if nothing could be
 * done because @hi does not fit.
 */
static bool gc_pour_keys(struct btree *lo, struct btree *hi,
			 struct btree *emptied, unsigned int limit)
{
	unsigned int bytes = block_bytes(lo->c->cache);
	struct bset *to = btree_bset_first(lo);
	struct bset *from = btree_bset_first(hi);
	unsigned int to_u64s = bset_u64s(to), from_u64s = bset_u64s(from);
	struct bkey *new_end = NULL;
	unsigned int moved = 0;
	struct bkey *k;

	if (emptied) {
		if (__set_blocks(to, to_u64s + from_u64s, bytes) > node_blocks(lo))
			return false;
		moved = from_u64s;
		new_end = &emptied->key;
	} else {
		for (k = bset_start(from); k < bset_bkey_last(from);
		     k = bkey_next(k)) {
			unsigned int next = moved + bkey_u64s(k);

			if (__set_blocks(to, to_u64s + next, bytes) > limit)
				break;
			moved = next;
			new_end = k;
		}
	}

	if (new_end)
		bkey_copy_key(&lo->key, new_end);

	memcpy(bset_bkey_last(to), bset_start(from), moved * sizeof(u64));
	bset_set_u64s(to, to_u64s + moved);

	memmove(bset_start(from), bset_bkey_idx(from, moved),
		(from_u64s - moved) * sizeof(u64));
	bset_set_u64s(from, from_u64s - moved);
	return true;
}

/*
 * Would @u64s of keys spread over @nodes siblings fit in one node fewer,
 * each filled to at most @limit blocks?
 */
static bool gc_merge_worthwhile(struct btree *b, unsigned int nodes,
				unsigned int u64s, unsigned int limit)
{
	return nodes >= 2 &&
	       __set_blocks(btree_bset_first(b), u64s,
			    block_bytes(b->c->cache)) <= limit * (nodes - 1);
}

/*
 * Allocate a compacted copy of each old node; on failure free what was
 * allocated and leave fresh[] all NULL.
 */
static bool gc_alloc_copies(struct gc_slot *win, struct btree **fresh,
			    unsigned int nodes)
{
	unsigned int i;

	for (i = 0; i < nodes; i++) {
		fresh[i] = bch_btree_node_alloc_replacement(win[i].b, NULL);
		if (IS_ERR_OR_NULL(fresh[i]))
			break;
	}
	if (i == nodes)
		return true;

	while (i--)
		gc_discard_node(fresh[i]);
	memset(fresh, 0, sizeof(fresh[0]) * nodes);
	return false;
}

static void gc_lock_writes(struct btree **fresh, unsigned int nodes, bool lock)
{
	unsigned int i;

	for (i = 0; i < nodes; i++) {
		if (lock)
			mutex_lock_nested(&fresh[i]->write_lock, i);
		else
			mutex_unlock(&fresh[i]->write_lock);
	}
}

/*
 * Spread the keys of copies fresh[nodes - 1] (lowest keys) .. fresh[0]
 * leftwards so fresh[0] ends up empty, starting the writes of the others
 * and collecting their new keys in @keys. False (nothing written) if
 * fresh[0]'s leftovers do not fit in fresh[1].
 */
static bool gc_squeeze_copies(struct gc_slot *win, struct btree **fresh,
			      unsigned int nodes, unsigned int limit,
			      struct keylist *keys, struct closure *cl)
{
	unsigned int i;

	gc_lock_writes(fresh, nodes, true);

	for (i = nodes - 1; i > 0; i--) {
		struct btree *emptied = i == 1 ? win[0].b : NULL;

		if (!gc_pour_keys(fresh[i], fresh[i - 1], emptied, limit)) {
			/* Only the last step can fail, before any write. */
			gc_lock_writes(fresh, nodes, false);
			return false;
		}
		win[i].u64s = bset_u64s(btree_bset_first(fresh[i]));
	}

	/* Every pour succeeded: write them, lowest keys first. */
	for (i = nodes - 1; i > 0; i--) {
		bch_btree_node_write(fresh[i], cl);
		bch_keylist_add(keys, &fresh[i]->key);
	}

	gc_lock_writes(fresh, nodes, false);
	return true;
}

/*
 * Try to merge the run of siblings at the front of @win (win[0] has the
 * highest keys) into one node fewer. On success the old nodes are freed,
 * the window holds the new ones and -EINTR tells the caller its iterator
 * over @parent is invalid; 0 means nothing changed.
 */
static noinline_for_stack int gc_coalesce(struct btree *parent,
					  struct btree_op *op,
					  struct gc_stat *gc,
					  struct gc_slot *win)
{
	unsigned int limit = default_node_blocks(parent->c) * 2 / 3;
	struct btree *fresh[GC_MERGE_NODES] = {};
	unsigned int nodes = 0, u64s = 0, i;
	struct keylist keys;
	struct closure cl;

	while (nodes < GC_MERGE_NODES && !IS_ERR_OR_NULL(win[nodes].b))
		u64s += win[nodes++].u64s;

	if (!gc_merge_worthwhile(parent, nodes, u64s, limit) ||
	    bch_btree_check_reserve(parent, NULL))
		return 0;

	/* New keys for nodes - 1 copies plus a freeing key per old node. */
	bch_keylist_init(&keys);
	if (gc_reserve_keys(&keys, nodes * 2, BKEY_PAD))
		goto out_free_list;

	if (!gc_alloc_copies(win, fresh, nodes))
		goto out_free_list;

	/*
	 * Checked again now the copies are allocated, so the insert into
	 * @parent below cannot run short; the first check only saved the
	 * copying when there was no chance.
	 */
	if (bch_btree_check_reserve(parent, NULL))
		goto out_discard;

	closure_init_stack(&cl);
	if (!gc_squeeze_copies(win, fresh, nodes, limit, &keys, &cl))
		goto out_discard;
	closure_sync(&cl);

	/* fresh[0] gave all its keys away. */
	WARN_ON_ONCE(bset_u64s(btree_bset_first(fresh[0])));
	gc_discard_node(fresh[0]);
	fresh[0] = NULL;

	/* Committed: from here on the old nodes are going away. */
	for (i = 0; i < nodes; i++) {
		bch_make_btree_freeing_key(win[i].b, keys.top);
		bch_keylist_push(&keys);
	}

	bch_btree_insert_node(parent, op, &keys, NULL, NULL);
	WARN_ON_ONCE(!bch_keylist_empty(&keys));
	bch_keylist_free(&keys);

	for (i = 0; i < nodes; i++) {
		gc_discard_node(win[i].b);
		win[i].b = fresh[i];
	}

	/* Drop the emptied slot; the caller releases what is left. */
	memmove(win, win + 1, sizeof(win[0]) * (nodes - 1));
	win[nodes - 1].b = ERR_PTR(-EINTR);

	gc->nodes--;
	return -EINTR;

out_discard:
	for (i = 0; i < nodes; i++)
		if (!IS_ERR_OR_NULL(fresh[i]))
			gc_discard_node(fresh[i]);
out_free_list:
	bch_keylist_free(&keys);
	return 0;
}

/* ---------------------------------------------------------------------
 * The walk
 */

/* Nodes gc may visit before it makes way for foreground I/O. */
static size_t gc_nodes_per_pass(struct cache_set *c)
{
	return max_t(size_t, c->gc_stats.nodes / GC_PASSES_PER_RUN,
		     GC_MIN_NODES_PER_PASS);
}

/*
 * Whether to pause the walk (for GC_SLEEP_MS) so that foreground I/O gets
 * the locks. Only by the pass rule: pausing whenever another task wants
 * the CPU, as this did before, made gc under steady I/O pause after a few
 * nodes and walk again from the root each time; a run then never ended
 * (16 s of a sequential read, 0.5 s of gc CPU, no gc done), leaving the
 * marks invalid all along. Yielding the CPU is enough for that.
 */
VISIBLE_IF_KUNIT
bool bch_gc_should_pause(struct cache_set *c, struct gc_stat *gc)
{
	if (atomic_read(&c->search_inflight) &&
	    gc->nodes >= gc->nodes_pre + gc_nodes_per_pass(c)) {
		gc->nodes_pre = gc->nodes;
		return true;
	}

	cond_resched();
	return false;
}
EXPORT_SYMBOL_IF_KUNIT(bch_gc_should_pause);

static int gc_recurse(struct btree *b, struct btree_op *op,
		      struct closure *writes, struct gc_stat *gc);

/*
 * Finish with child @n of @parent, the oldest node of the window: mark
 * it, rewrite it if it is mostly garbage, descend into it, record the
 * progress and release it. On error @n stays locked in the window.
 */
static int gc_visit_child(struct btree *parent, struct btree_op *op,
			  struct closure *writes, struct gc_stat *gc,
			  struct btree *n)
{
	int ret;

	if (gc_mark_node(n, gc)) {
		ret = gc_rewrite_child(parent, op, n);
		if (ret)
			return ret;
	}

	if (n->level) {
		ret = gc_recurse(n, op, writes, gc);
		if (ret)
			return ret;
	}

	bkey_copy_key(&parent->c->gc_done, &n->key);
	gc_release_node(n, writes);
	return 0;
}

/* Lock the child @k points at into win[0] and try merging from there. */
static int gc_admit_child(struct btree *parent, struct btree_op *op,
			  struct gc_stat *gc, struct gc_slot *win,
			  struct bkey *k)
{
	struct btree *n;

	n = bch_btree_node_get(parent->c, op, k, parent->level - 1, true,
			       parent);
	if (IS_ERR(n))
		return PTR_ERR(n);

	win[0].b = n;
	win[0].u64s = gc_live_u64s(n);
	return gc_coalesce(parent, op, gc, win);
}

/*
 * gc the children of interior node @b past c->gc_done, in key order.
 *
 * A window of GC_MERGE_NODES children slides over them: each new child
 * enters at win[0] (where merging with its left siblings is tried), and
 * the child leaving the window is marked, maybe rewritten, recursed into
 * and released. Any change to @b invalidates the iterator: the walk then
 * returns -EINTR and restarts from the root at gc_done.
 */
static int gc_recurse(struct btree *b, struct btree_op *op,
		      struct closure *writes, struct gc_stat *gc)
{
	struct gc_slot win[GC_MERGE_NODES];
	struct gc_slot *leaving = &win[GC_MERGE_NODES - 1];
	struct btree_iter_stack iter;
	unsigned int i;
	int ret = 0;

	bch_btree_iter_stack_init(&b->keys, &iter, &b->c->gc_done);

	for (i = 0; i < GC_MERGE_NODES; i++)
		win[i].b = ERR_PTR(-EINTR);

	for (;;) {
		struct bkey *k = bch_btree_iter_next_filter(&iter.iter,
							    &b->keys,
							    bch_ptr_bad);

		if (k) {
			ret = gc_admit_child(b, op, gc, win, k);
			if (ret)
				break;
		}

		/* NULL slots come in once the children ran out. */
		if (!leaving->b)
			break;

		if (!IS_ERR(leaving->b)) {
			ret = gc_visit_child(b, op, writes, gc, leaving->b);
			if (ret)
				break;
		}

		memmove(win + 1, win, sizeof(win[0]) * (GC_MERGE_NODES - 1));
		win[0].b = NULL;

		if (bch_gc_should_pause(b->c, gc)) {
			ret = -EAGAIN;
			break;
		}
	}

	for (i = 0; i < GC_MERGE_NODES; i++)
		if (!IS_ERR_OR_NULL(win[i].b))
			gc_release_node(win[i].b, writes);

	return ret;
}

struct gc_walk_args {
	struct closure		*writes;
	struct gc_stat		*gc;
};

/*
 * gc from the (write-locked: gc's op locks every level) root @b, which
 * bch_btree_root_recurse() unlocks.
 */
static int gc_root(struct btree *b, struct btree_op *op, void *arg)
{
	struct gc_walk_args *a = arg;
	struct cache_set *c = b->c;
	int ret;

	if (gc_mark_node(b, a->gc)) {
		struct btree *n = bch_btree_node_alloc_replacement(b, NULL);

		if (!IS_ERR_OR_NULL(n)) {
			gc_write_node_sync(n);
			bch_btree_set_root(n);
			bch_btree_node_free(b);
			rw_unlock(true, n);
			return -EINTR;
		}
	}

	/* Nothing points at the root; its own bucket is metadata too. */
	__bch_btree_mark_key(c, b->level + 1, &b->key);

	if (b->level) {
		ret = gc_recurse(b, op, a->writes, a->gc);
		if (ret)
			return ret;
	}

	bkey_copy_key(&c->gc_done, &b->key);
	return 0;
}

/*
 * One go at the tree from c->gc_done; the shared root loop retries while
 * the root moves under us or the walk must restart. -EAGAIN: paused for
 * foreground I/O; -EIO: the set's I/O is disabled.
 */
static int gc_walk(struct cache_set *c, struct btree_op *op,
		   struct closure *writes, struct gc_stat *gc)
{
	struct gc_walk_args a = { .writes = writes, .gc = gc };

	return bch_btree_root_recurse(c, op, gc_root, &a);
}

/* ---------------------------------------------------------------------
 * One gc run
 */

/*
 * Forget the old marks: every bucket starts unreferenced and at its own
 * gen, except those pinned by I/O in flight, whose marks the allocator
 * set and nothing in the btree may confirm yet. Buckets reclaimable now
 * stay available to the allocator while marks are invalid.
 */
static void btree_gc_start(struct cache_set *c)
{
	struct cache *ca = c->cache;
	struct bucket *g;

	if (!c->gc_mark_valid)
		return;

	mutex_lock(&c->bucket_lock);

	c->gc_done = ZERO_KEY;

	for (g = first_bucket(ca); g < end_bucket(ca); g++) {
		g->last_gc = g->gen;
		/* Asked while gc_mark_valid still holds. */
		if (bch_can_invalidate_bucket(ca, g)) {
			g->reclaimable_in_gc = 1;
			g->sectors_before_gc = GC_SECTORS_USED(g);
		}
		if (!atomic_read(&g->pin)) {
			SET_GC_MARK(g, 0);
			SET_GC_SECTORS_USED(g, 0);
		}
	}

	c->gc_mark_valid = 0;
	mutex_unlock(&c->bucket_lock);
}

static void gc_mark_metadata_bucket(struct cache *ca, u64 nr)
{
	/* These come from the superblock and prio chain: check the range. */
	if (nr >= ca->sb.nbuckets) {
		pr_err("metadata bucket %llu beyond the cache's %llu buckets\n",
		       nr, ca->sb.nbuckets);
		return;
	}
	SET_GC_MARK(ca->buckets + nr, GC_MARK_METADATA);
}

static void gc_mark_metadata_key(struct cache_set *c, struct bkey *k)
{
	unsigned int i;

	for (i = 0; i < KEY_PTRS(k); i++)
		if (gc_ptr_usable(c, k, i))
			SET_GC_MARK(PTR_BUCKET(c, k, i), GC_MARK_METADATA);
}

/*
 * Metadata the btree does not point at: uuids, prios and gens, journal.
 * The uuid table's old home too, while the jset naming its new one is in
 * flight: the journal on disk still points there (the kernel's driver
 * let gc hand it out in that window).
 */
static void gc_mark_unindexed_metadata(struct cache_set *c)
{
	struct cache *ca = c->cache;
	unsigned int i, nr_prio = prio_buckets(ca);

	gc_mark_metadata_key(c, &c->uuid_bucket);
	gc_mark_metadata_key(c, &c->uuid_old);

	for (i = 0; i < min_t(unsigned int, ca->sb.keys, SB_JOURNAL_BUCKETS); i++)
		gc_mark_metadata_bucket(ca, ca->sb.d[i]);

	for (i = 0; i < nr_prio; i++) {
		if (ca->prio_buckets)
			gc_mark_metadata_bucket(ca, ca->prio_buckets[i]);
		if (ca->prio_last_buckets)
			gc_mark_metadata_bucket(ca, ca->prio_last_buckets[i]);
	}
}

/*
 * The walk is complete: add the metadata it cannot see, make the marks
 * valid again and count what the allocator may invalidate.
 */
static void bch_btree_gc_finish(struct cache_set *c)
{
	struct cache *ca = c->cache;
	struct bucket *g;
	size_t avail = 0;

	mutex_lock(&c->bucket_lock);

	set_gc_sectors(c);
	c->gc_mark_valid = 1;
	c->need_gc = 0;
	ca->invalidate_needs_gc = 0;

	/*
	 * Upstream also marks the buckets of keys queued for writeback
	 * dirty here: they are dirty keys of the btree, which the walk
	 * marked already.
	 */
	gc_mark_unindexed_metadata(c);

	for (g = first_bucket(ca); g < end_bucket(ca); g++) {
		c->need_gc = max(c->need_gc, bucket_gc_gen(g));
		g->reclaimable_in_gc = 0;
		g->sectors_before_gc = 0;

		if (atomic_read(&g->pin))
			continue;

		/* Sectors can only have been counted along with a mark. */
		if (IS_ENABLED(CONFIG_BCACHE_DEBUG))
			WARN_ON_ONCE(!GC_MARK(g) && GC_SECTORS_USED(g));

		if (!GC_MARK(g) || GC_MARK(g) == GC_MARK_RECLAIMABLE)
			avail++;
	}

	c->avail_nbuckets = avail;
	mutex_unlock(&c->bucket_lock);
}

static void gc_wake_allocator(struct cache_set *c)
{
	struct cache *ca = c->cache;

	wake_up(&c->bucket_wait);
	if (ca->alloc_thread)
		wake_up_process(ca->alloc_thread);
}

/* The set is going away (stop, or I/O errors): abandon the walk. */
static bool gc_must_quit(struct cache_set *c)
{
	return kthread_should_stop() ||
	       test_bit(CACHE_SET_IO_DISABLE, &c->flags);
}

static void bch_btree_gc(struct cache_set *c)
{
	u64 start_time = local_clock();
	struct gc_stat stats = {};
	struct closure writes;
	struct btree_op op;
	int ret;

	if (IS_ERR_OR_NULL(c->root))
		return;

	closure_init_stack(&writes);
	bch_btree_op_init(&op, SHRT_MAX);

	btree_gc_start(c);

	for (;;) {
		ret = gc_walk(c, &op, &writes, &stats);
		closure_sync(&writes);
		cond_resched();

		if (!ret || gc_must_quit(c))
			break;
		/* Paused for foreground I/O, or failed: either way, back off. */
		if (ret != -EAGAIN)
			pr_warn_ratelimited("gc failed (%d), retrying\n", ret);
		schedule_timeout_interruptible(msecs_to_jiffies(GC_SLEEP_MS));
	}

	/*
	 * An abandoned walk leaves the marks invalid: unvisited buckets look
	 * empty, and must not be handed to the allocator as such.
	 */
	if (ret)
		return;

	bch_btree_gc_finish(c);
	gc_wake_allocator(c);

	bch_time_stats_update(&c->btree_gc_time, start_time);

	stats.key_bytes *= sizeof(u64);
	stats.data <<= SECTOR_SHIFT;
	bch_update_bucket_in_use(c, &stats);
	c->gc_stats = stats;

	if (c->copy_gc_enabled && c->moving_gc_fn)
		c->moving_gc_fn(c);
}

/* ---------------------------------------------------------------------
 * The gc thread
 */

static bool gc_should_run(struct cache_set *c)
{
	return READ_ONCE(c->cache->invalidate_needs_gc) ||
	       atomic_read(&c->sectors_to_gc) < 0;
}

static int bch_gc_thread(void *arg)
{
	struct cache_set *c = arg;

	for (;;) {
		wait_event_interruptible(c->gc_wait,
					 gc_must_quit(c) || gc_should_run(c));
		if (gc_must_quit(c))
			break;

		set_gc_sectors(c);
		bch_btree_gc(c);
	}

	bch_wait_for_kthread_stop();
	return 0;
}

int bch_gc_thread_start(struct cache_set *c)
{
	struct task_struct *t = kthread_run(bch_gc_thread, c, "bcache_gc");

	if (IS_ERR(t)) {
		c->gc_thread = NULL;
		return PTR_ERR(t);
	}

	c->gc_thread = t;
	return 0;
}

void bch_gc_thread_stop(struct cache_set *c)
{
	if (!c->gc_thread)
		return;

	kthread_stop(c->gc_thread);
	c->gc_thread = NULL;
}

/*
 * After the btree check at registration marked every bucket: finish that
 * first gc, and prime the allocator. It needs free buckets to write prios
 * and gens, and must write prios and gens before it may free buckets; so
 * empty buckets go straight to the prio and btree reserves here.
 */
void bch_initial_gc_finish(struct cache_set *c)
{
	struct cache *ca = c->cache;
	struct bucket *g;

	bch_btree_gc_finish(c);

	mutex_lock(&c->bucket_lock);

	for (g = first_bucket(ca); g < end_bucket(ca); g++) {
		long nr = g - ca->buckets;

		if (bch_ring_full(&ca->free[RESERVE_PRIO]) &&
		    bch_ring_full(&ca->free[RESERVE_BTREE]))
			break;

		if (GC_MARK(g) || !bch_can_invalidate_bucket(ca, g))
			continue;

		__bch_invalidate_one_bucket(ca, g);
		if (!bch_ring_push_back(&ca->free[RESERVE_PRIO], nr))
			bch_ring_push_back(&ca->free[RESERVE_BTREE], nr);
	}

	mutex_unlock(&c->bucket_lock);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Sorted sets of keys inside one btree node: their search indexes,
 * insertion, the node iterator, and sorting several sets into one.
 *
 * The layout of the indexes is described in bset.h. This file keeps both
 * kinds up to date (a tree per frozen set, a flat table for the open set),
 * answers "first key after X" per set, and merges the sets for iteration
 * and compaction. Key semantics (extents vs. btree pointers) come from
 * b->ops; see extents.c.
 *
 * All keys handled here are trusted to be well formed only as far as
 * memory safety goes: a set read from disk is sorted (which drops invalid
 * keys) before anything indexes it, and index building still gives up on
 * a set whose keys would not fit the packed node format.
 */

#define pr_fmt(fmt) "bcache: %s() " fmt, __func__

#include "bset.h"
#include "util.h"

#include <linux/bitops.h>
#include <linux/console.h>
#include <linux/gfp.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/prefetch.h>
#include <linux/random.h>
#include <linux/ratelimit.h>
#include <linux/sched/clock.h>

/* Exponent value that marks a node whose key could not be packed. */
#define BFLOAT_FAILED		((1U << BKEY_EXPONENT_BITS) - 1)

/* A cacheline's first key starts within this many u64s of its start. */
#define BFLOAT_MAX_OFFSET	((1U << BKEY_MID_BITS) - 1)

/* Each set's index starts on a 64-byte boundary of the index memory. */
#define INDEX_ALIGN		(64 / sizeof(struct bkey_float))

/* Lazy sorting: below this many u64s (times crit_factor^n), merge. */
#define SORT_CRIT		(4096 / sizeof(u64))

/* Keylists */

/*
 * Room the keylist has now, in u64s. A heap array is always allocated a
 * power of two long and only ever holds more than half of that after
 * growing, so its capacity is implied by its fill.
 */
static size_t keylist_capacity(struct keylist *l)
{
	size_t used = bch_keylist_nkeys(l);

	if (l->keys_p == l->inline_keys)
		return KEYLIST_INLINE;
	return used ? roundup_pow_of_two(used) : 0;
}

int __bch_keylist_realloc(struct keylist *l, unsigned int u64s)
{
	size_t used = bch_keylist_nkeys(l);
	size_t want = roundup_pow_of_two(used + u64s);
	bool was_inline = l->keys_p == l->inline_keys;
	u64 *keys;

	if (used + u64s <= keylist_capacity(l))
		return 0;

	keys = krealloc(was_inline ? NULL : l->keys_p, want * sizeof(u64),
			GFP_NOIO);
	if (!keys)
		return -ENOMEM;
	if (was_inline)
		memcpy(keys, l->inline_keys, used * sizeof(u64));

	l->keys_p = keys;
	l->top_p = keys + used;
	return 0;
}

/*
 * Remove the last key. Keys have no back links, so walk from the front;
 * keylists are short.
 */
struct bkey *bch_keylist_pop(struct keylist *l)
{
	struct bkey *k, *last = NULL;

	for (k = l->keys; k < l->top; k = bkey_next(k))
		last = k;
	if (last)
		l->top = last;
	return last;
}

void bch_keylist_pop_front(struct keylist *l)
{
	size_t first = bkey_u64s(l->keys);

	memmove(l->keys_p, l->keys_p + first,
		(bch_keylist_nkeys(l) - first) * sizeof(u64));
	l->top_p -= first;
}

/* Single keys */

void bch_bkey_copy_single_ptr(struct bkey *dest, const struct bkey *src,
			      unsigned int i)
{
	if (WARN_ON_ONCE(i >= KEY_PTRS(src)))
		return;

	dest->high = src->high;
	dest->low = src->low;
	dest->ptr[0] = src->ptr[i];
	SET_KEY_PTRS(dest, 1);
	/* A checksum would follow the pointers we dropped: it is gone. */
	SET_KEY_CSUM(dest, 0);
}

/*
 * Trimming keeps a key's end (its position) fixed at the front and moves
 * it at the back. Pointers address the first sector of the extent, so
 * trimming the front advances them by the number of sectors dropped.
 */
bool __bch_cut_front(const struct bkey *where, struct bkey *k)
{
	unsigned int keep, i, dropped;

	if (bkey_cmp(where, &START_KEY(k)) <= 0)
		return false;

	if (bkey_cmp(where, k) >= 0) {
		keep = 0;
		bkey_copy_key(k, where);
	} else {
		keep = KEY_OFFSET(k) - KEY_OFFSET(where);
	}

	dropped = KEY_SIZE(k) - keep;
	for (i = 0; i < KEY_PTRS(k); i++)
		SET_PTR_OFFSET(k, i, PTR_OFFSET(k, i) + dropped);
	SET_KEY_SIZE(k, keep);
	return true;
}

bool __bch_cut_back(const struct bkey *where, struct bkey *k)
{
	unsigned int keep = 0;

	if (bkey_cmp(where, k) >= 0)
		return false;

	if (bkey_cmp(where, &START_KEY(k)) > 0)
		keep = KEY_OFFSET(where) - KEY_START(k);

	bkey_copy_key(k, where);
	SET_KEY_SIZE(k, keep);
	return true;
}

bool bch_cut_front(const struct bkey *where, struct bkey *k)
{
	/* Cutting at a point past the key's end is a caller bug. */
	if (WARN_ON_ONCE(bkey_cmp(where, k) > 0))
		return false;
	return __bch_cut_front(where, k);
}

bool bch_cut_back(const struct bkey *where, struct bkey *k)
{
	struct bkey start = START_KEY(k);

	if (WARN_ON_ONCE(bkey_cmp(where, &start) < 0))
		return false;
	return __bch_cut_back(where, k);
}

/* Index memory */

static size_t node_cachelines(const struct btree_keys *b)
{
	return btree_keys_bytes(b) / BSET_CACHELINE;
}

/*
 * The index arrays of a node, sized by its cachelines: a page or more
 * comes straight from the page allocator (like the node's keys), since a
 * kmalloc cache of such sizes would hold a slab of them per node size.
 */
static void *index_alloc(size_t bytes, gfp_t gfp)
{
	if (bytes < PAGE_SIZE)
		return kmalloc(bytes, gfp);
	return (void *)__get_free_pages(gfp, get_order(bytes));
}

static void index_free(void *p, size_t bytes)
{
	if (bytes < PAGE_SIZE)
		kfree(p);
	else if (p)
		free_pages((unsigned long)p, get_order(bytes));
}

void bch_btree_keys_free(struct btree_keys *b)
{
	struct bset_tree *t = b->set;
	size_t n = node_cachelines(b);

	index_free(t->prev, n * sizeof(u8));
	index_free(t->tree, n * sizeof(struct bkey_float));
	if (t->data)
		free_pages((unsigned long)t->data, b->page_order);

	t->prev = NULL;
	t->tree = NULL;
	t->data = NULL;
}

int bch_btree_keys_alloc(struct btree_keys *b, unsigned int page_order,
			 gfp_t gfp)
{
	struct bset_tree *t = b->set;
	size_t n;

	if (WARN_ON_ONCE(t->data))
		return -EBUSY;

	b->page_order = page_order;
	n = node_cachelines(b);

	/*
	 * Compound pages: sorting swaps this buffer with one from the sort
	 * mempool and frees either kind with free_pages().
	 */
	t->data = (void *)__get_free_pages(gfp | __GFP_COMP, page_order);
	t->tree = index_alloc(n * sizeof(struct bkey_float), gfp);
	t->prev = index_alloc(n * sizeof(u8), gfp);

	if (!t->data || !t->tree || !t->prev) {
		bch_btree_keys_free(b);
		return -ENOMEM;
	}
	return 0;
}

void bch_btree_keys_init(struct btree_keys *b, const struct btree_keys_ops *ops,
			 bool *expensive_debug_checks)
{
	unsigned int i;

	b->ops = ops;
	b->expensive_debug_checks = expensive_debug_checks;
	b->nsets = 0;
	b->last_set_unwritten = 0;
	/* set[0]'s memory stays; only the indexes of all sets are reset. */
	for (i = 0; i < MAX_BSETS; i++)
		b->set[i].size = 0;
}

/*
 * Give @t the index memory right after its predecessor's and forget the
 * indexes of @t and all later sets.
 */
static void index_place(struct btree_keys *b, struct bset_tree *t)
{
	struct bset_tree *u;

	if (t != b->set) {
		size_t used = roundup(t[-1].size, INDEX_ALIGN);

		t->tree = t[-1].tree + used;
		t->prev = t[-1].prev + used;
	}

	for (u = t; u < b->set + MAX_BSETS; u++)
		u->size = 0;
}

/* Index entries still available to @t, which uses the last of the memory. */
static unsigned int index_room(struct btree_keys *b, struct bset_tree *t)
{
	ptrdiff_t used = t->tree - b->set->tree;
	ptrdiff_t total = node_cachelines(b);

	return used < total ? total - used : 0;
}

/* Cachelines of a set, counted from its header. */

static struct bkey *cacheline_base(struct bset_tree *t, unsigned int cl)
{
	return (void *)t->data + cl * BSET_CACHELINE;
}

static unsigned int cacheline_of(struct bset_tree *t, const struct bkey *k)
{
	return ((void *)k - (void *)t->data) / BSET_CACHELINE;
}

/* Offset in u64s of @k from the start of cacheline @cl. */
static unsigned int cacheline_offset(struct bset_tree *t, unsigned int cl,
				     const struct bkey *k)
{
	return (u64 *)k - (u64 *)cacheline_base(t, cl);
}

/*
 * The in-order numbering of the tree.
 *
 * Node j sits on level fls(j) (root = 1) at index j - 2^(level-1) of its
 * level. In a perfect tree of L = fls(size - 1) levels its in-order
 * position would be (2 * index + 1) << (L - level). Our tree is complete
 * rather than perfect: only the leftmost extra / 2 slots of the bottom
 * level exist, and the missing ones occupy every other position above
 * extra, so positions past extra shrink by half their distance to it.
 * The in-order position is the cacheline the node indexes (cacheline 0
 * has no node: a lookup below node 1's key starts at the set's start).
 */
static unsigned int tree_levels(const struct bset_tree *t)
{
	return fls(t->size - 1);
}

/* Both directions are inlined: lookups convert on every search. */
static __always_inline unsigned int node_to_cacheline(const struct bset_tree *t,
						      unsigned int j)
{
	unsigned int level = fls(j);
	unsigned int index = j - (1U << (level - 1));
	unsigned int pos = (2 * index + 1) << (tree_levels(t) - level);

	if (pos > t->extra)
		pos -= (pos - t->extra) / 2;
	return pos;
}

/* The inverse of node_to_cacheline(), for 1 <= cl < t->size. */
static __always_inline unsigned int cacheline_to_node(const struct bset_tree *t,
						      unsigned int cl)
{
	unsigned int pos = cl > t->extra ? 2 * cl - t->extra : cl;
	unsigned int height = __ffs(pos);

	return (pos >> (height + 1)) |
	       (1U << (tree_levels(t) - 1 - height));
}

/* Node of cacheline @cl, or 0 if that cacheline has none. */
static unsigned int cacheline_node_or_zero(const struct bset_tree *t,
					   unsigned int cl)
{
	return cl && cl < t->size ? cacheline_to_node(t, cl) : 0;
}

/* The key node @j indexes, given the cacheline @cl it stands for. */
static __always_inline struct bkey *indexed_key(struct bset_tree *t,
						unsigned int cl,
						unsigned int j)
{
	return bkey_idx(cacheline_base(t, cl), t->tree[j].m);
}

static struct bkey *node_key(struct bset_tree *t, unsigned int j)
{
	return indexed_key(t, node_to_cacheline(t, j), j);
}

static struct bkey *node_prev_key(struct bset_tree *t, unsigned int j)
{
	return (struct bkey *)((u64 *)node_key(t, j) - t->prev[j]);
}

static __always_inline struct bkey *cacheline_key(struct bset_tree *t,
						  unsigned int cl)
{
	return indexed_key(t, cl, cacheline_to_node(t, cl));
}

static struct bkey *last_key(struct bset_tree *t)
{
	return bset_bkey_idx(t->data, bset_u64s(t->data) - bkey_u64s(bset_tree_end(t)));
}

/*
 * Packed positions.
 *
 * A position is the 84-bit number inode:offset. A node stores the
 * BKEY_MANTISSA_BITS bits of it starting at bit "exponent", where the
 * exponent is chosen so that the window starts right below the highest
 * bit in which the lowest and highest keys the node can be reached for
 * differ: all keys in that range agree above the window, so comparing
 * windows orders them (ties aside, which the node build rules out).
 */
static unsigned int position_window(const struct bkey *k, unsigned int shift)
{
	u64 lo = KEY_OFFSET(k), hi = KEY_INODE(k);

	/*
	 * A shift of the 128-bit position in two 64-bit halves, without
	 * branches in the lookup's descent. Not a u128: on x86-64 that makes
	 * gcc realign the stack of every function this is inlined into.
	 */
	if (shift & 64) {
		lo = hi;
		hi = 0;
	}
	shift &= 63;
	/* hi's part is shifted in two steps, so that shift 0 adds nothing. */
	return ((lo >> shift) | (hi << 1 << (63 - shift))) & BKEY_MANTISSA_MASK;
}

static unsigned int window_shift(const struct bkey *lo, const struct bkey *hi)
{
	unsigned int top;

	if (KEY_INODE(lo) != KEY_INODE(hi))
		top = 64 + fls64(KEY_INODE(lo) ^ KEY_INODE(hi));
	else
		top = fls64(KEY_OFFSET(lo) ^ KEY_OFFSET(hi));

	return top > BKEY_MANTISSA_BITS ? top - BKEY_MANTISSA_BITS : 0;
}

/*
 * (Re)compute node j. The keys a lookup can be looking for when it
 * reaches j lie between its bounds: below, the key before the nearest
 * ancestor that j is right of (or the set's first key); above, the
 * nearest ancestor that j is left of (or the set's last key). The node's
 * window must separate its key from the key before it, otherwise the
 * lookup compares the full key there.
 */
static void node_build(struct bset_tree *t, unsigned int j)
{
	struct bkey_float *f = &t->tree[j];
	struct bkey *key = node_key(t, j);
	struct bkey *before = node_prev_key(t, j);
	struct bkey *lo, *hi;
	unsigned int shift, mine;

	lo = is_power_of_2(j) ? bset_start(t->data)
			      : node_prev_key(t, j >> (__ffs(j) + 1));
	hi = is_power_of_2(j + 1) ? last_key(t)
				  : node_key(t, j >> (ffz(j) + 1));

	shift = window_shift(lo, hi);
	mine = position_window(key, shift);

	if (mine == position_window(before, shift)) {
		f->exponent = BFLOAT_FAILED;
		return;
	}

	f->exponent = shift;
	/* Stored one lower so that "window <= mantissa" means "key < node". */
	f->mantissa = mine - 1;
}

/* Rebuild node j and the nodes reached from it by always going @right. */
static void node_build_spine(struct bset_tree *t, unsigned int j, bool right)
{
	for (; j && j < t->size; j = 2 * j + right)
		node_build(t, j);
}

/*
 * Build the search tree of the newest set, which has just been frozen
 * (written, or sorted).
 */
void bch_bset_build_written_tree(struct btree_keys *b)
{
	struct bset_tree *t = bset_tree_last(b);
	struct bkey *end = bset_bkey_last(t->data);
	struct bkey *k = bset_start(t->data), *prev = NULL;
	unsigned int cl, j;

	b->last_set_unwritten = 0;
	index_place(b, t);

	t->size = min(cacheline_of(t, end), index_room(b, t));
	if (t->size < 2) {
		t->size = 0;
		return;
	}
	t->extra = (t->size - rounddown_pow_of_two(t->size - 1)) << 1;

	/* Find the first key of each indexed cacheline. */
	for (cl = 1; cl < t->size; cl++) {
		unsigned int offset;

		while (k < end && cacheline_of(t, k) < cl) {
			prev = k;
			k = bkey_next(k);
		}

		offset = cacheline_offset(t, cl, k);
		if (k >= end || !prev || offset > BFLOAT_MAX_OFFSET) {
			/* Oversized keys: not indexable, scan instead. */
			t->size = 0;
			return;
		}

		j = cacheline_to_node(t, cl);
		t->prev[j] = bkey_u64s(prev);
		t->tree[j].m = offset;
	}

	while (bkey_next(k) < end)
		k = bkey_next(k);
	t->end[0] = k->high;
	t->end[1] = k->low;

	for (j = 1; j < t->size; j++)
		node_build(t, j);
}

/*
 * A key of a frozen set changed its position in place (it was trimmed).
 * Recompute the nodes whose packing used it: the node whose key it is,
 * with the nodes below it that use that key as a bound, the node it is
 * the predecessor of, and the spines bounded by the set's first or last
 * key. The open set's table stores offsets only and needs nothing.
 */
void bch_bset_fix_invalidated_key(struct btree_keys *b, struct bkey *k)
{
	struct bset_tree *t;
	unsigned int cl, j;

	for (t = b->set; t <= bset_tree_last(b); t++)
		if (k < bset_bkey_last(t->data))
			break;
	if (WARN_ON_ONCE(t > bset_tree_last(b)))
		return;

	if (!t->size || !bset_written(b, t))
		return;

	cl = cacheline_of(t, k);

	if (bkey_next(k) == bset_bkey_last(t->data) &&
	    k != bset_start(t->data)) {
		t->end[0] = k->high;
		t->end[1] = k->low;
		node_build_spine(t, 1, true);
		return;
	}

	if (k == bset_start(t->data)) {
		node_build_spine(t, 1, false);
	} else {
		j = cacheline_node_or_zero(t, cl);
		if (j && k == node_key(t, j))
			node_build_spine(t, j, false);
	}

	j = cacheline_node_or_zero(t, cl + 1);
	if (j && k == node_prev_key(t, j))
		node_build_spine(t, j, true);
}

/*
 * The open set's table: entry cl is the offset in u64s from the start of
 * cacheline cl of some key starting in that cacheline (at most
 * BFLOAT_MAX_OFFSET words in, where the first key must start).
 */
static struct bkey *table_key(struct bset_tree *t, unsigned int cl)
{
	return bkey_idx(cacheline_base(t, cl), t->prev[cl]);
}

/* Offset in cacheline @cl of the first key at or after @from that starts in it. */
static unsigned int table_first_in(struct bset_tree *t, struct bkey *from,
				   unsigned int cl)
{
	while (from < cacheline_base(t, cl))
		from = bkey_next(from);
	return cacheline_offset(t, cl, from);
}

static void bset_open_table(struct btree_keys *b)
{
	struct bset_tree *t = bset_tree_last(b);

	WARN_ON_ONCE(b->last_set_unwritten);
	b->last_set_unwritten = 1;
	index_place(b, t);

	if (index_room(b, t)) {
		t->prev[0] = cacheline_offset(t, 0, bset_start(t->data));
		t->size = 1;
	}
}

/*
 * @k was just inserted into the open set, moving every later key up by
 * its size: shift the entries that point past it, re-find those pushed
 * out of the first words of their cacheline, and add entries for the
 * cachelines the set has grown into.
 */
static void table_after_insert(struct btree_keys *b, struct bset_tree *t,
			       struct bkey *k)
{
	unsigned int grow = bkey_u64s(k), room = index_room(b, t);
	struct bkey *end = bset_bkey_last(t->data);
	unsigned int cl;

	/* Called while splitting or in gc, with no table: nothing to do. */
	if (!t->size)
		return;

	for (cl = cacheline_of(t, k); cl < t->size; cl++)
		if (table_key(t, cl) > k)
			break;

	for (; cl < t->size; cl++) {
		t->prev[cl] += grow;
		if (t->prev[cl] > BFLOAT_MAX_OFFSET)
			t->prev[cl] = table_first_in(t, table_key(t, cl - 1), cl);
	}

	for (k = table_key(t, t->size - 1); k < end && t->size < room;
	     k = bkey_next(k)) {
		if (cacheline_of(t, k) != t->size)
			continue;
		t->prev[t->size] = cacheline_offset(t, t->size, k);
		t->size++;
	}
}

/*
 * Start a new set at @i: the node's first (@i is the start of the
 * buffer, and gets a fresh random sequence number), or one appended after
 * the written ones (sharing the first's sequence number, which is how a
 * reader tells this node's sets from stale data).
 */
void bch_bset_init_next(struct btree_keys *b, struct bset *i, u64 magic)
{
	if (i == b->set->data) {
		get_random_bytes(&i->seq, sizeof(i->seq));
	} else {
		if (WARN_ON_ONCE(b->nsets + 1 >= MAX_BSETS))
			return;
		b->set[++b->nsets].data = i;
		i->seq = b->set->data->seq;
	}

	i->magic = cpu_to_le64(magic);
	i->version = 0;
	bset_set_u64s(i, 0);

	bset_open_table(b);
}

/* Insertion */

/* bch_btree_keys_u64s_remaining(), inlined into every insert. */
static __always_inline size_t open_set_room(struct btree_keys *b)
{
	struct bset *i = bset_tree_last(b)->data;
	size_t used = bset_byte_offset(b, i) + set_bytes(i);

	if (WARN_ON_ONCE(used > btree_keys_bytes(b)) || !b->last_set_unwritten)
		return 0;
	return (btree_keys_bytes(b) - used) / sizeof(u64);
}

size_t bch_btree_keys_u64s_remaining(struct btree_keys *b)
{
	return open_set_room(b);
}

/*
 * Merge @r into @l if the generic rules allow it (same header, @r starts
 * exactly where @l ends) and the key type agrees. On success @l covers
 * both; @r is untouched (the caller drops it).
 */
bool bch_bkey_try_merge(struct btree_keys *b, struct bkey *l, struct bkey *r)
{
	struct bkey r_start = START_KEY(r);

	if (!b->ops->key_merge || !bch_bkey_equal_header(l, r) ||
	    bkey_cmp(l, &r_start))
		return false;

	return b->ops->key_merge(b, l, r);
}

/*
 * Copy @insert into the open set at @where, which must be its sorted
 * position. False (and nothing changed) if no set is open or it is full.
 */
bool bch_bset_insert(struct btree_keys *b, struct bkey *where,
		     struct bkey *insert)
{
	struct bset_tree *t = bset_tree_last(b);
	struct bset *i = t->data;
	unsigned int u64s = bkey_u64s(insert);
	void *end = bset_bkey_last(i);

	if (WARN_ON_ONCE(!b->last_set_unwritten))
		return false;
	if (WARN_ON_ONCE(bset_byte_offset(b, i) +
			 __set_bytes(i, bset_u64s(i) + u64s) >
			 btree_keys_bytes(b)))
		return false;

	memmove(bkey_idx(where, u64s), where, end - (void *)where);
	bset_set_u64s(i, bset_u64s(i) + u64s);
	bkey_copy(where, insert);
	table_after_insert(b, t, where);
	return true;
}

/* The position a search has to start from to meet everything @k touches. */
static bool insert_search_key(struct btree_keys *b, struct bkey *k,
			      struct bkey *out)
{
	struct bkey start = START_KEY(k);

	return bkey_predecessor(b->ops->is_extents ? &start : k, out);
}

/* Position @k is ordered by within a set: its start for extents. */
static bool key_sorts_after(struct btree_keys *b, struct bkey *k,
			    struct bkey *m)
{
	struct bkey m_start = START_KEY(m);

	return bkey_cmp(k, b->ops->is_extents ? &m_start : m) > 0;
}

/*
 * Insert @k into the open set, first letting ops->insert_fixup trim what
 * it overwrites in every set (or refuse, when @replace_key no longer
 * matches). Adjacent keys of the open set are merged where possible.
 * Refuses, too, when the open set cannot take @k plus a key split off by
 * the fixup.
 */
unsigned int bch_btree_insert_key(struct btree_keys *b, struct bkey *k,
				  struct bkey *replace_key)
{
	struct bset *i = bset_tree_last(b)->data;
	unsigned int reserve = bkey_u64s(k);
	struct btree_iter_stack iter __uninitialized;
	struct bkey search, *m, *end, *prev = NULL;

	if (b->ops->is_extents) {
		if (WARN_ON_ONCE(!KEY_SIZE(k)))
			return BTREE_INSERT_STATUS_NO_INSERT;
		reserve += KEY_MAX_U64S;
	}
	if (open_set_room(b) < reserve)
		return BTREE_INSERT_STATUS_NO_INSERT;

	m = bch_btree_iter_stack_init(b, &iter,
				      insert_search_key(b, k, &search) ?
				      &search : NULL);

	if (b->ops->insert_fixup(b, k, &iter.iter, replace_key))
		return BTREE_INSERT_STATUS_NO_INSERT;

	end = bset_bkey_last(i);
	for (; m != end && key_sorts_after(b, k, m); m = bkey_next(m))
		prev = m;

	/* Only a predecessor we actually stepped over is a merge candidate. */
	if (prev && bch_bkey_try_merge(b, prev, k))
		return BTREE_INSERT_STATUS_BACK_MERGE;

	if (m != end && bch_bkey_try_merge(b, k, m)) {
		bkey_copy(m, k);
		return BTREE_INSERT_STATUS_FRONT_MERGE;
	}

	if (!bch_bset_insert(b, m, k))
		return BTREE_INSERT_STATUS_NO_INSERT;
	return BTREE_INSERT_STATUS_INSERT;
}

/* Lookup */

/* Descend the tree: the keys around @search, [*l, *r), one cacheline apart. */
static void tree_search(struct bset_tree *t, const struct bkey *search,
			struct bkey **l, struct bkey **r)
{
	unsigned int j = 1, cl;
	bool right;

	for (;;) {
		struct bkey_float *f = &t->tree[j];

		if ((j << 4) < t->size)
			prefetch(&t->tree[j << 4]);

		if (unlikely(f->exponent == BFLOAT_FAILED))
			right = bkey_cmp(node_key(t, j), search) <= 0;
		else
			right = f->mantissa <
				position_window(search, f->exponent);

		if (2 * j + right >= t->size)
			break;
		j = 2 * j + right;
	}

	cl = node_to_cacheline(t, j);
	if (right) {
		*l = indexed_key(t, cl, j);
		*r = cl + 1 < t->size ? cacheline_key(t, cl + 1)
				      : bset_bkey_last(t->data);
	} else {
		*r = indexed_key(t, cl, j);
		*l = cl > 1 ? cacheline_key(t, cl - 1) : bset_start(t->data);
	}
}

/* Binary search of the open set's table. */
static void table_search(struct bset_tree *t, const struct bkey *search,
			 struct bkey **l, struct bkey **r)
{
	unsigned int below = 0, above = t->size;

	/* table_key(below) <= search (or below == 0) < table_key(above) */
	while (above - below > 1) {
		unsigned int mid = below + (above - below) / 2;

		if (bkey_cmp(table_key(t, mid), search) > 0)
			above = mid;
		else
			below = mid;
	}

	*l = table_key(t, below);
	*r = above < t->size ? table_key(t, above) : bset_bkey_last(t->data);
}

/*
 * The search proper: narrow down with the set's tree or table, then step
 * to the first key past @search. Out of line, so that the cases settled
 * without it (below) cost no more than a few compares: they are most of
 * the searches of a read past the cached data, which meets empty open
 * sets and written sets that end before it.
 */
static noinline struct bkey *bset_search_keys(struct btree_keys *b,
					      struct bset_tree *t,
					      const struct bkey *search,
					      bool written)
{
	struct bkey *l, *r;

	if (unlikely(!t->size)) {
		l = bset_start(t->data);
		r = bset_bkey_last(t->data);
	} else if (written) {
		tree_search(t, search, &l, &r);
	} else {
		table_search(t, search, &l, &r);
	}

	if (btree_keys_expensive_checks(b))
		WARN_ON_ONCE(r != bset_bkey_last(t->data) &&
			     bkey_cmp(r, search) <= 0);

	while (l != r && bkey_cmp(l, search) <= 0)
		l = bkey_next(l);
	return l;
}

/* The first key of @t strictly greater than @search. */
struct bkey *__bch_bset_search(struct btree_keys *b, struct bset_tree *t,
			       const struct bkey *search)
{
	bool written = bset_written(b, t);

	if (!bset_u64s(t->data))
		return bset_start(t->data);

	/*
	 * Node windows only separate keys within the set; a search outside
	 * its range could alias, so settle those here.
	 */
	if (written && t->size) {
		if (bkey_cmp(search, bset_tree_end(t)) >= 0)
			return bset_bkey_last(t->data);
		if (bkey_cmp(search, bset_start(t->data)) < 0)
			return bset_start(t->data);
	}
	return bset_search_keys(b, t, search, written);
}

/* The node iterator */

static void iter_set_swap(void *l, void *r, void __always_unused *args)
{
	swap(*(struct btree_iter_set *)l, *(struct btree_iter_set *)r);
}

/*
 * Plain iteration order: by key, and among equal keys the newer set
 * (higher in the buffer) first, so the order never depends on the heap.
 */
static bool iter_key_less(const void *l, const void *r,
			  void __always_unused *args)
{
	const struct btree_iter_set *a = l, *b = r;
	s64 c = bkey_cmp(a->k, b->k);

	return c ? c < 0 : a->k > b->k;
}

/* Merge order of a sort, which depends on the key type. */
static bool iter_sort_less(const void *l, const void *r, void *args)
{
	const struct btree_keys_ops *ops = args;

	return ops->sort_cmp(l, r);
}

static const struct min_heap_callbacks iter_key_order = {
	.less	= iter_key_less,
	.swp	= iter_set_swap,
};

static const struct min_heap_callbacks iter_sort_order = {
	.less	= iter_sort_less,
	.swp	= iter_set_swap,
};

void bch_btree_iter_init(struct btree_iter *iter, struct btree_keys *b,
			 unsigned int nsets)
{
	min_heap_init(&iter->heap, iter->sets, nsets);
	iter->b = b;
}

/* Inlined into iter_seek(), which every lookup runs once per node. */
static __always_inline void iter_push(struct btree_iter *iter,
				      struct bkey *k, struct bkey *end)
{
	struct btree_iter_set s = { .k = k, .end = end };

	if (k == end)
		return;
	min_heap_push(&iter->heap, &s, &iter_key_order, NULL);
}

void bch_btree_iter_push(struct btree_iter *iter, struct bkey *k,
			 struct bkey *end)
{
	iter_push(iter, k, end);
}

/*
 * Restore the heap's order after the key of entry @idx moved on. The
 * kernel's sift goes down to a leaf and back up, about two compares a
 * level whatever the keys; but in a merge one set usually supplies a run
 * of keys, so the entry mostly still comes first, and checking that costs
 * at most two compares.
 */
static __always_inline void iter_resift(struct btree_iter *iter, size_t idx,
					const struct min_heap_callbacks *order,
					void *args)
{
	struct btree_iter_set *d = iter->heap.data;
	size_t nr = iter->heap.nr, l = 2 * idx + 1, r = l + 1;

	if ((l >= nr || !order->less(&d[l], &d[idx], args)) &&
	    (r >= nr || !order->less(&d[r], &d[idx], args)))
		return;
	min_heap_sift_down(&iter->heap, idx, order, args);
}

void bch_btree_iter_sort_sift(struct btree_iter *iter, unsigned int idx,
			      const struct btree_keys_ops *ops)
{
	iter_resift(iter, idx, &iter_sort_order, (void *)ops);
}

/* Push the search position in sets first..nsets; return the newest's. */
static struct bkey *iter_seek(struct btree_keys *b, struct btree_iter *iter,
			      struct bkey *search, unsigned int first)
{
	struct bkey *pos = NULL;
	struct bset_tree *t;

	for (t = b->set + first; t <= bset_tree_last(b); t++) {
		pos = bch_bset_search(b, t, search);
		iter_push(iter, pos, bset_bkey_last(t->data));
	}
	return pos;
}

static void iter_stack_reset(struct btree_keys *b,
			     struct btree_iter_stack *iter)
{
	min_heap_init(&iter->iter.heap, iter->stack_data, MAX_BSETS);
	iter->iter.b = b;
}

struct bkey *bch_btree_iter_stack_init(struct btree_keys *b,
				       struct btree_iter_stack *iter,
				       struct bkey *search)
{
	iter_stack_reset(b, iter);
	return iter_seek(b, &iter->iter, search, 0);
}

struct btree_iter *bch_btree_iter_stack_begin(struct btree_keys *b,
					      struct btree_iter_stack *iter)
{
	bch_btree_iter_stack_init(b, iter, NULL);
	return &iter->iter;
}

#ifdef CONFIG_BCACHE_DEBUG
/*
 * Keys of one set must never go backwards; a set that does is corrupt
 * (possibly as read from disk, so this is logged, not a warning).
 */
static DEFINE_RATELIMIT_STATE(order_report_rs, 5 * HZ, 1);

static void iter_check_order(struct btree_iter *iter)
{
	struct btree_keys *b = iter->b;
	struct bkey *k = iter->heap.data->k, *next = bkey_next(k);
	struct bkey next_start;

	if (!b || next >= iter->heap.data->end)
		return;

	next_start = START_KEY(next);
	if (bkey_cmp(k, b->ops->is_extents ? &next_start : next) > 0 &&
	    __ratelimit(&order_report_rs)) {
		bch_dump_bucket(b);
		pr_err("key skipped backwards\n");
	}
}
#else
static inline void iter_check_order(struct btree_iter *iter) {}
#endif

/*
 * Take the head of the heap and step its set forward. Always inlined, so
 * that each caller's constant @order turns the heap's callbacks into
 * direct (inlined) calls instead of indirect ones on every step.
 */
static __always_inline struct bkey *iter_take(struct btree_iter *iter,
					      const struct min_heap_callbacks *order,
					      void *args)
{
	struct btree_iter_set *top = iter->heap.data;
	struct bkey *ret;

	if (bch_btree_iter_end(iter))
		return NULL;

	iter_check_order(iter);

	ret = top->k;
	top->k = bkey_next(ret);
	if (top->k > top->end) {
		/* The last key claimed more words than its set has. */
		pr_err_ratelimited("bset was corrupt!\n");
		top->k = top->end;
	}

	if (top->k == top->end)
		min_heap_pop(&iter->heap, order, args);
	else
		iter_resift(iter, 0, order, args);
	return ret;
}

struct bkey *bch_btree_iter_next(struct btree_iter *iter)
{
	return iter_take(iter, &iter_key_order, NULL);
}

struct bkey *__bch_btree_iter_next_filter(struct btree_iter *iter,
					  struct btree_keys *b, ptr_filter_fn fn)
{
	struct bkey *k;

	/* iter_take() itself, not bch_btree_iter_next(): a call less a key. */
	while ((k = iter_take(iter, &iter_key_order, NULL)) && fn(b, k))
		;
	return k;
}

/* Sorting */

void bch_bset_sort_state_free(struct bset_sort_state *state)
{
	mempool_exit(&state->pool);
}

int bch_bset_sort_state_init(struct bset_sort_state *state,
			     unsigned int page_order)
{
	bch_time_stats_init(&state->time);
	state->page_order = page_order;
	state->crit_factor = int_sqrt(1U << page_order);

	return mempool_init_page_pool(&state->pool, 1, page_order);
}

/*
 * Merge everything left in @iter into @out's keys, dropping keys that are
 * invalid (or, with @remove_stale, merely bad) and merging neighbours. With
 * @fixup, ops->sort_fixup resolves overlaps between sets on the way.
 *
 * @out holds @room words of keys. Only the fixup can make the output
 * bigger than the input (an extent overlapped in its middle becomes two),
 * so only a crafted node read from disk can need more: false then, with
 * the keys that fit in @out and nothing written past it.
 */
static bool merge_into(struct btree_keys *b, struct bset *out, size_t room,
		       struct btree_iter *iter, bool fixup, bool remove_stale)
{
	BKEY_PADDED(k) spare;
	const struct btree_keys_ops *ops = b->ops;
	void *order_arg = (void *)ops;
	ptr_filter_fn drop = remove_stale ? bch_ptr_bad : bch_ptr_invalid;
	struct bkey *k, *last = NULL;
	size_t used = 0;
	bool fits = true;

	/* Keys were pushed in plain key order; re-heap in merge order. */
	min_heapify_all(&iter->heap, &iter_sort_order, order_arg);

	while (!bch_btree_iter_end(iter)) {
		k = fixup && ops->sort_fixup ? ops->sort_fixup(iter, &spare.k)
					     : NULL;
		if (!k)
			k = iter_take(iter, &iter_sort_order, order_arg);

		if (drop(b, k))
			continue;
		if (last && bch_bkey_try_merge(b, last, k))
			continue;

		if (used + bkey_u64s(k) > room) {
			fits = false;
			break;
		}
		last = last ? bkey_next(last) : bset_start(out);
		bkey_copy(last, k);
		used += bkey_u64s(k);
	}

	bset_set_u64s(out, used);
	return fits;
}

/* Words of keys a set at @i can hold within @bytes from @i on. */
static size_t set_room(size_t bytes)
{
	return (bytes - sizeof(struct bset)) / sizeof(u64);
}

/*
 * Sort sets start..nsets of @b (whose keys @iter covers) into set @start
 * and rebuild its tree. The output goes to a scratch buffer of 2^order
 * pages (the mempool's node-sized one if memory is tight); a full sort
 * then simply adopts that buffer as the node's. False if the keys did not
 * fit where set @start is (see merge_into()).
 */
static bool sort_sets(struct btree_keys *b, struct btree_iter *iter,
		      unsigned int start, unsigned int order, bool fixup,
		      struct bset_sort_state *state)
{
	struct bset *out, *first = b->set->data;
	bool from_pool = false, fits;
	size_t room;
	u64 started;

	out = (void *)__get_free_pages(__GFP_NOWARN | GFP_NOWAIT, order);
	if (!out) {
		if (WARN_ON_ONCE(order > state->page_order))
			return false;
		out = page_address(mempool_alloc(&state->pool, GFP_NOIO));
		order = state->page_order;
		from_pool = true;
	}

	room = min(set_room(PAGE_SIZE << order),
		   set_room(btree_keys_bytes(b) -
			    bset_byte_offset(b, b->set[start].data)));

	started = local_clock();
	fits = merge_into(b, out, room, iter, fixup, false);
	b->nsets = start;

	if (!start && order == b->page_order) {
		out->magic = first->magic;
		out->seq = first->seq;
		out->version = first->version;
		b->set->data = out;
		out = first;
	} else {
		struct bset *dst = b->set[start].data;

		dst->keys = out->keys;
		memcpy(bset_start(dst), bset_start(out), bset_u64s(out) * sizeof(u64));
	}

	/* Pool pages are plain page allocations, so either kind goes back. */
	if (from_pool)
		mempool_free(virt_to_page(out), &state->pool);
	else
		free_pages((unsigned long)out, order);

	bch_bset_build_written_tree(b);

	if (!start)
		bch_time_stats_update(&state->time, started);
	return fits;
}

/*
 * A node just read: @iter holds all its sets, which may overlap (older
 * writes are never rewritten), so the merge also resolves overlaps.
 * False if the result does not fit the node (a crafted node only).
 */
bool bch_btree_sort_and_fix_extents(struct btree_keys *b,
				    struct btree_iter *iter,
				    struct bset_sort_state *state)
{
	return sort_sets(b, iter, 0, b->page_order, true, state);
}

void bch_btree_sort_partial(struct btree_keys *b, unsigned int start,
			    struct bset_sort_state *state)
{
	unsigned int order = b->page_order;
	struct btree_iter_stack iter;
	int before = bch_count_data(b);

	iter_stack_reset(b, &iter);
	iter_seek(b, &iter.iter, NULL, start);

	if (start) {
		size_t u64s = 0;
		unsigned int i;

		for (i = start; i <= b->nsets; i++)
			u64s += bset_u64s(b->set[i].data);
		order = get_order(__set_bytes(b->set->data, u64s));
	}

	sort_sets(b, &iter.iter, start, order, false, state);

	/* Sorting may drop and merge keys, but never data. */
	if (before >= 0)
		EBUG_ON(bch_count_data(b) != before);
}

/*
 * Compact @b into the first set of @new (a node being rewritten), also
 * dropping keys that are bad rather than only invalid. @new's index is
 * left empty: its owner builds it once the node is complete.
 */
void bch_btree_sort_into(struct btree_keys *b, struct btree_keys *new,
			 struct bset_sort_state *state)
{
	struct btree_iter_stack iter;
	struct btree_iter *all;
	u64 started;

	new->set->size = 0;

	started = local_clock();
	all = bch_btree_iter_stack_begin(b, &iter);
	/* Without the fixup the keys only shrink: they fit. */
	merge_into(b, new->set->data, set_room(btree_keys_bytes(new)), all,
		   false, true);
	bch_time_stats_update(&state->time, started);
}

/*
 * Called when the open set is written. Rather than always sorting, merge
 * the newest sets once they are small compared to the ones before: the
 * threshold grows by crit_factor per set going back, so older sets are
 * merged into only when they are small, too. With MAX_BSETS sets there is
 * no room for another, so everything is merged.
 */
void bch_btree_sort_lazy(struct btree_keys *b, struct bset_sort_state *state)
{
	size_t crit = SORT_CRIT;
	int i;

	if (b->nsets) {
		for (i = b->nsets - 1; i >= 0; i--) {
			crit *= state->crit_factor;
			if (bset_u64s(b->set[i].data) < crit) {
				bch_btree_sort_partial(b, i, state);
				return;
			}
		}

		if (b->nsets + 1 == MAX_BSETS) {
			bch_btree_sort(b, state);
			return;
		}
	}

	bch_bset_build_written_tree(b);
}

void bch_btree_keys_stats(struct btree_keys *b, struct bset_stats *stats)
{
	unsigned int i, j;

	for (i = 0; i <= b->nsets; i++) {
		struct bset_tree *t = &b->set[i];
		size_t bytes = bset_u64s(t->data) * sizeof(u64);

		if (!bset_written(b, t)) {
			stats->sets_unwritten++;
			stats->bytes_unwritten += bytes;
			continue;
		}

		stats->sets_written++;
		stats->bytes_written += bytes;
		if (!t->size)
			continue;

		stats->floats += t->size - 1;
		for (j = 1; j < t->size; j++)
			stats->failed += t->tree[j].exponent == BFLOAT_FAILED;
	}
}

/* Debugging */

void bch_dump_bset(struct btree_keys *b, struct bset *i, unsigned int set)
{
	struct bkey *end = bset_bkey_last(i), *k, *next;
	char buf[160];

	for (k = bset_start(i); k < end; k = next) {
		struct bkey next_start;

		next = bkey_next(k);
		if (b->ops->key_dump)
			b->ops->key_dump(b, k, buf, sizeof(buf));
		else
			scnprintf(buf, sizeof(buf), "%u:%llu", KEY_INODE(k),
				  KEY_OFFSET(k));
		pr_err("block %u key %u/%u: %s\n", set,
		       (unsigned int)((__le64 *)k - i->d), bset_u64s(i), buf);

		if (next >= end)
			continue;
		next_start = START_KEY(next);
		if (bkey_cmp(k, b->ops->is_extents ? &next_start : next) > 0)
			pr_err("Key skipped backwards\n");
	}
}

#ifdef CONFIG_BCACHE_DEBUG

/* Every set of the node, each tagged with the sector it starts at. */
void bch_dump_bucket(struct btree_keys *b)
{
	struct bset_tree *t, *last = bset_tree_last(b);

	console_lock();
	for (t = b->set; t <= last; t++) {
		unsigned int sector = bset_sector_offset(b, t->data);

		bch_dump_bset(b, t->data, sector);
	}
	console_unlock();
}

int __bch_count_data(struct btree_keys *b)
{
	struct btree_iter_stack iter;
	unsigned int sectors = 0;
	struct bkey *k;

	if (!b->ops->is_extents)
		return 0;
	for_each_key(b, k, &iter)
		sectors += KEY_SIZE(k);
	return sectors;
}

/*
 * What is wrong with @k coming after @p (the last key checked) in the
 * node, or NULL. Sets *@skip for keys that are not compared further.
 */
static const char *check_next_key(struct btree_keys *b, struct bkey *p,
				  struct bkey *k, bool *skip)
{
	struct bkey ks = START_KEY(k);

	if (!b->ops->is_extents) {
		*skip = bch_ptr_bad(b, k);
		return !*skip && p && !bkey_cmp(p, k) ? "Duplicate keys" : NULL;
	}

	if (p) {
		struct bkey ps = START_KEY(p);

		if (bkey_cmp(&ps, &ks) > 0)
			return "Keys out of order";
	}
	*skip = bch_ptr_invalid(b, k);
	return !*skip && p && bkey_cmp(p, &ks) > 0 ? "Overlapping keys" : NULL;
}

void bch_check_keys(struct btree_keys *b, const char *fmt, ...)
{
	struct btree_iter_stack iter;
	struct bkey *k, *p = NULL;
	const char *err = NULL;
	va_list args;

	if (!btree_keys_expensive_checks(b))
		return;

	for_each_key(b, k, &iter) {
		bool skip = false;

		err = check_next_key(b, p, k, &skip);
		if (err)
			break;
		if (!skip)
			p = k;
	}

	if (!err)
		return;

	bch_dump_bucket(b);
	va_start(args, fmt);
	vprintk(fmt, args);
	va_end(args);
	WARN(1, "bcache: %s error: %s\n", __func__, err);
}

#endif /* CONFIG_BCACHE_DEBUG */

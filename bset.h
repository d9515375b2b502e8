/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The keys of one btree node, in memory.
 *
 * A btree node on disk is a log of sorted sets of keys (bsets), appended
 * one per write. In memory we keep at most MAX_BSETS of them: the older ones
 * are frozen (already written), and the newest one may still be open for
 * insertions. Lookups have to search every set, so each frozen set gets an
 * auxiliary search tree and the open one a flat lookup table; the btree
 * node iterator merges all sets into one sorted stream, and sorting
 * compacts several sets into one when there are too many or they got small.
 *
 * Nothing here knows about the cache set, buckets or btree nodes: what a key
 * means (extent or btree pointer) comes in through struct btree_keys_ops
 * (see extents.c), and checks against the cache set through the pointer
 * checker declared in extents.h. btree.c embeds a struct btree_keys in each
 * struct btree.
 *
 * Keylists (a growable list of keys waiting to be inserted) live here too,
 * since they are plain arrays of bkeys.
 *
 * Search tree layout. Keys have variable length, so a set cannot be binary
 * searched directly. Instead the set is cut into BSET_CACHELINE-byte
 * cachelines, and the first key starting in each cacheline is indexed:
 *
 * - a frozen set indexes them with a complete binary tree stored in an
 *   array (node 1 is the root, node j has children 2j and 2j + 1), whose
 *   in-order numbering is the cacheline number. Each node is a 32-bit
 *   struct bkey_float: the key's offset inside its cacheline (in u64s)
 *   and a "floating point" window of the key's bits, just wide enough to
 *   tell it apart from its predecessor within the range the node covers.
 *   A descent compares only these windows and so touches one small array;
 *   where no window of BKEY_MANTISSA_BITS bits separates a key from its
 *   predecessor the node is marked (exponent BFLOAT_FAILED) and the descent
 *   compares the real key there instead.
 * - the open set keeps prev[cacheline] = offset of an indexed key in that
 *   cacheline, cheap to shift when keys are inserted.
 *
 * Either way the index narrows a lookup to the keys of about one cacheline,
 * which are then scanned linearly.
 */
#ifndef _BCACHE_BSET_H
#define _BCACHE_BSET_H

#include <linux/kernel.h>
#include <linux/types.h>
#include <linux/mempool.h>
#include <linux/min_heap.h>
#include <linux/slab.h>

#include "bcache_ondisk.h"
#include "util.h"

struct btree_keys;
struct btree_iter;
struct bch_ptr_checker;

#define MAX_BSETS		4U

/* Bytes of a set covered by one node of its search tree. */
#define BSET_CACHELINE		128

/*
 * A search tree node packs into 32 bits: the key's offset inside its
 * cacheline (3 bits: keys are at most KEY_MAX_U64S words, so the first key
 * of a cacheline starts within its first 8 words), the exponent (7 bits:
 * the lowest of the 84 position bits the window starts at) and the window
 * itself.
 */
#define BKEY_MID_BITS		3
#define BKEY_EXPONENT_BITS	7
#define BKEY_MANTISSA_BITS	(32 - BKEY_MID_BITS - BKEY_EXPONENT_BITS)
#define BKEY_MANTISSA_MASK	((1U << BKEY_MANTISSA_BITS) - 1)

struct bkey_float {
	unsigned int	exponent:BKEY_EXPONENT_BITS;
	unsigned int	m:BKEY_MID_BITS;
	unsigned int	mantissa:BKEY_MANTISSA_BITS;
} __packed;

/* One sorted set and its index. */
struct bset_tree {
	/*
	 * Frozen set: number of tree slots in use; nodes are 1 .. size - 1
	 * and node j indexes cacheline to_inorder(j). Open set: number of
	 * lookup table entries (cachelines 0 .. size - 1). 0: no index, a
	 * lookup scans the whole set.
	 */
	unsigned int		size;

	/*
	 * Twice the number of nodes on the bottom level of the tree, which
	 * need not be full; precomputed for the in-order mapping.
	 */
	unsigned int		extra;

	/*
	 * Header words (position and size) of the last key of a frozen set;
	 * read through bset_tree_end(). Not a struct bkey, whose flexible
	 * pointer array may not sit in the set[] array of struct btree_keys.
	 */
	__le64			end[2];

	struct bkey_float	*tree;

	/*
	 * Frozen set: prev[j] = size in u64s of the key before node j's key,
	 * needed to rebuild node j but not for lookups, so kept apart from
	 * the 4-byte nodes. Open set: the lookup table.
	 */
	u8			*prev;

	struct bset		*data;
};

/*
 * An entry of the node iterator: the next key of one set and the end of
 * that set.
 */
struct btree_iter_set {
	struct bkey		*k, *end;
};

/*
 * What keys mean. Two instances exist, bch_extent_keys_ops and
 * bch_btree_keys_ops (extents.c).
 */
struct btree_keys_ops {
	/* Keys are extents: they are ordered and compared by their start. */
	bool		is_extents;

	void		(*key_to_text)(char *buf, size_t size,
				       const struct bkey *k);
	/*
	 * Try to extend @l by @r (already known to be adjacent with equal
	 * headers). True if @l now covers both. NULL: keys never merge.
	 */
	bool		(*key_merge)(struct btree_keys *bk,
				     struct bkey *l, struct bkey *r);
	/* Key that may legitimately exist but points at nothing useful. */
	bool		(*key_bad)(struct btree_keys *bk,
				   const struct bkey *k);
	/* Malformed key: drop it, it should never have been written. */
	bool		(*key_invalid)(struct btree_keys *bk,
				       const struct bkey *k);

	/* key_to_text plus what the cache set knows of it, for dumps. */
	void		(*key_dump)(struct btree_keys *keys,
				    const struct bkey *k,
				    char *buf, size_t size);

	/*
	 * Makes room for @insert among the node's keys (trimming what it
	 * overwrites). True means: do not insert it (the compare-and-replace
	 * against @replace_key failed).
	 */
	bool		(*insert_fixup)(struct btree_keys *b,
					struct bkey *insert,
					struct btree_iter *iter,
					struct bkey *replace_key);

	/*
	 * Merge order for sorting: true when @l has to come out before @r.
	 * Must be a strict total order over the iterator's entries (ties
	 * broken by the entries' addresses, i.e. by set age).
	 */
	bool		(*sort_cmp)(const struct btree_iter_set *l,
				    const struct btree_iter_set *r);
	/*
	 * Called while merging with the iterator's heap in sort order: may
	 * trim keys so that the output does not overlap, and may return a key
	 * (copied into @tmp) to emit before the iterator's head. May be NULL.
	 */
	struct bkey	*(*sort_fixup)(struct btree_iter *iter,
				       struct bkey *tmp);
};

struct btree_keys {
	const struct btree_keys_ops	*ops;
	u8			page_order;
	/* Index of the newest set in set[]. */
	u8			nsets;
	/* set[nsets] is open for insertions (not yet written). */
	unsigned int		last_set_unwritten:1;
	bool			*expensive_debug_checks;

	/* Cache-set checks for pointers; NULL: see extents.h. */
	struct bch_ptr_checker	*checker;

	/*
	 * set[0].data is the whole node buffer (PAGE_SIZE << page_order
	 * bytes) and set[0].tree/prev the whole index memory; later sets point
	 * into them.
	 */
	struct bset_tree	set[MAX_BSETS];
};

/* Number of u64s of keys in a set: the on-disk count, host order. */
static inline unsigned int bset_u64s(const struct bset *i)
{
	return le32_to_cpu(i->keys);
}

static inline void bset_set_u64s(struct bset *i, unsigned int u64s)
{
	i->keys = cpu_to_le32(u64s);
}

static inline const struct bkey *bset_tree_end(const struct bset_tree *t)
{
	return (const struct bkey *)t->end;
}

static inline struct bset_tree *bset_tree_last(struct btree_keys *b)
{
	return b->set + b->nsets;
}

static inline bool bset_written(struct btree_keys *b, struct bset_tree *t)
{
	return t <= b->set + b->nsets - b->last_set_unwritten;
}

static inline bool bkey_written(struct btree_keys *b, struct bkey *k)
{
	struct bset *open = b->set[b->nsets].data;

	return !b->last_set_unwritten || k < bset_start(open);
}

static inline unsigned int bset_byte_offset(struct btree_keys *b,
					    struct bset *i)
{
	return (void *)i - (void *)b->set->data;
}

static inline unsigned int bset_sector_offset(struct btree_keys *b,
					      struct bset *i)
{
	return bset_byte_offset(b, i) >> SECTOR_SHIFT;
}

/* Bytes of a set header plus @u64s words of keys. */
static inline size_t __set_bytes(const struct bset *i, size_t u64s)
{
	return sizeof(*i) + u64s * sizeof(u64);
}

static inline size_t set_bytes(const struct bset *i)
{
	return __set_bytes(i, bset_u64s(i));
}

static inline size_t __set_blocks(const struct bset *i, size_t u64s,
				  unsigned int block_bytes)
{
	return DIV_ROUND_UP(__set_bytes(i, u64s), block_bytes);
}

static inline size_t set_blocks(const struct bset *i,
				unsigned int block_bytes)
{
	return __set_blocks(i, bset_u64s(i), block_bytes);
}

static inline size_t btree_keys_bytes(const struct btree_keys *b)
{
	return PAGE_SIZE << b->page_order;
}

/* Room left for keys in the open set, in u64s; 0 if no set is open. */
size_t bch_btree_keys_u64s_remaining(struct btree_keys *b);

/* Where the next set starts: after the newest one, on a block boundary. */
static inline struct bset *bset_next_set(struct btree_keys *b,
					 unsigned int block_bytes)
{
	struct bset *i = bset_tree_last(b)->data;

	return (void *)i + roundup(set_bytes(i), block_bytes);
}

void bch_btree_keys_free(struct btree_keys *b);
int bch_btree_keys_alloc(struct btree_keys *b, unsigned int page_order,
			 gfp_t gfp);
void bch_btree_keys_init(struct btree_keys *b, const struct btree_keys_ops *ops,
			 bool *expensive_debug_checks);

static inline void bch_btree_keys_set_checker(struct btree_keys *b,
					      struct bch_ptr_checker *checker)
{
	b->checker = checker;
}

/* Open a new set at @i (the node's start for its first set). */
void bch_bset_init_next(struct btree_keys *b, struct bset *i, u64 magic);
/* Freeze the open set: build its search tree. */
void bch_bset_build_written_tree(struct btree_keys *b);

/* What bch_btree_insert_key() did with the key. */
enum {
	BTREE_INSERT_STATUS_NO_INSERT	= 0,	/* refused: full or replaced */
	BTREE_INSERT_STATUS_INSERT	= 1,
	BTREE_INSERT_STATUS_BACK_MERGE	= 2,	/* grew the key before it */
	BTREE_INSERT_STATUS_OVERWROTE	= 3,	/* unused, kept for numbering */
	BTREE_INSERT_STATUS_FRONT_MERGE	= 4,	/* absorbed the key after it */
};

unsigned int bch_btree_insert_key(struct btree_keys *b, struct bkey *k,
				  struct bkey *replace_key);
bool bch_bset_insert(struct btree_keys *b, struct bkey *where,
		     struct bkey *insert);
/* A key of a frozen set was trimmed in place: refresh its tree. */
void bch_bset_fix_invalidated_key(struct btree_keys *b, struct bkey *k);
bool bch_bkey_try_merge(struct btree_keys *b, struct bkey *l, struct bkey *r);

/* Lookup within one set: the first key strictly greater than @search. */
struct bkey *__bch_bset_search(struct btree_keys *b, struct bset_tree *t,
			       const struct bkey *search);

/* As __bch_bset_search(); a NULL @search means the set's first key. */
static inline struct bkey *bch_bset_search(struct btree_keys *b,
					   struct bset_tree *t,
					   const struct bkey *search)
{
	if (!search)
		return bset_start(t->data);
	return __bch_bset_search(b, t, search);
}

/*
 * Node iterator: a min-heap (<linux/min_heap.h>) of the sets' next keys.
 * The heap's array is sets[] for an iterator sized with
 * bch_btree_iter_bytes(), or the stack_data of a struct btree_iter_stack.
 */
DEFINE_MIN_HEAP(struct btree_iter_set, btree_iter_heap);

struct btree_iter {
	struct btree_iter_heap	heap;
	/* The node iterated, for for_each_key_filter() and debug checks. */
	struct btree_keys	*b;
	struct btree_iter_set	sets[];
};

/*
 * Iterator over the sets of one node, small enough for the stack. Its
 * init sets everything that is read later, so the lookup and insert paths
 * declare theirs __uninitialized: with CONFIG_INIT_STACK_ALL_ZERO the
 * compiler would clear its 88 bytes first, at every node a request visits.
 */
struct btree_iter_stack {
	struct btree_iter	iter;
	struct btree_iter_set	stack_data[MAX_BSETS];
};

static inline size_t bch_btree_iter_bytes(unsigned int nsets)
{
	return sizeof(struct btree_iter) +
	       nsets * sizeof(struct btree_iter_set);
}

static inline bool bch_btree_iter_end(const struct btree_iter *iter)
{
	return !iter->heap.nr;
}

typedef bool (*ptr_filter_fn)(struct btree_keys *b, const struct bkey *k);

/*
 * Empties @iter, which has room for @nsets sets in iter->sets[]
 * (allocated with bch_btree_iter_bytes(@nsets)); @b is only kept for
 * debug checks and may be NULL.
 */
void bch_btree_iter_init(struct btree_iter *iter, struct btree_keys *b,
			 unsigned int nsets);
void bch_btree_iter_push(struct btree_iter *iter, struct bkey *k,
			 struct bkey *end);
struct bkey *bch_btree_iter_next(struct btree_iter *iter);
/*
 * For ops->sort_fixup, while a sort merges in ops->sort_cmp order: restore
 * the heap below entry @idx after its key was advanced or trimmed.
 */
void bch_btree_iter_sort_sift(struct btree_iter *iter, unsigned int idx,
			      const struct btree_keys_ops *ops);
struct bkey *__bch_btree_iter_next_filter(struct btree_iter *iter,
					  struct btree_keys *b,
					  ptr_filter_fn fn);

/*
 * The next key @fn does not filter out, or NULL. An iterator that is
 * already empty is answered here: a lookup past a leaf's last key meets
 * one at every request.
 */
static inline struct bkey *bch_btree_iter_next_filter(struct btree_iter *iter,
						      struct btree_keys *b,
						      ptr_filter_fn fn)
{
	if (bch_btree_iter_end(iter))
		return NULL;
	return __bch_btree_iter_next_filter(iter, b, fn);
}

/*
 * Positions @iter at the first key after @search (at the start if NULL)
 * in every set of @b; returns that position in the newest set.
 */
struct bkey *bch_btree_iter_stack_init(struct btree_keys *b,
				       struct btree_iter_stack *iter,
				       struct bkey *search);

/* Start iterating all of @b from its first key; returns the iterator. */
struct btree_iter *bch_btree_iter_stack_begin(struct btree_keys *b,
					      struct btree_iter_stack *iter);

#define for_each_key_filter(keys, k, stack_iter, filter)		\
	for (struct btree_iter *__it =					\
		bch_btree_iter_stack_begin((keys), (stack_iter));	\
	     ((k) = bch_btree_iter_next_filter(__it, __it->b, (filter)));)

#define for_each_key(keys, k, stack_iter)				\
	for (struct btree_iter *__it =					\
		bch_btree_iter_stack_begin((keys), (stack_iter));	\
	     ((k) = bch_btree_iter_next(__it));)

/* Sorting */

struct bset_sort_state {
	/* Spare node-sized buffers, so a sort never fails for memory. */
	mempool_t		pool;

	unsigned int		page_order;
	/* Growth of the lazy-sort threshold per older set. */
	unsigned int		crit_factor;

	struct time_stats	time;
};

/* One per cache set, sized for its largest node. */
int bch_bset_sort_state_init(struct bset_sort_state *state,
			     unsigned int page_order);
void bch_bset_sort_state_free(struct bset_sort_state *state);

/* Merge sets start .. nsets into set start (all of them for 0). */
void bch_btree_sort_partial(struct btree_keys *b, unsigned int start,
			    struct bset_sort_state *state);

static inline void bch_btree_sort(struct btree_keys *b,
				  struct bset_sort_state *state)
{
	bch_btree_sort_partial(b, 0, state);
}

/* After writing the open set: freeze it, merging sets if worthwhile. */
void bch_btree_sort_lazy(struct btree_keys *b, struct bset_sort_state *state);
bool bch_btree_sort_and_fix_extents(struct btree_keys *b,
				    struct btree_iter *iter,
				    struct bset_sort_state *state);
void bch_btree_sort_into(struct btree_keys *b, struct btree_keys *new,
			 struct bset_sort_state *state);

/* What sysfs reports of a node's sets and search trees (summed). */
struct bset_stats {
	size_t sets_written;
	size_t bytes_written;
	size_t sets_unwritten;
	size_t bytes_unwritten;
	size_t floats;		/* search tree nodes */
	size_t failed;		/* ... that could not be packed */
};

void bch_btree_keys_stats(struct btree_keys *b, struct bset_stats *stats);

/* Single keys */

static inline struct bkey *bset_bkey_idx(struct bset *i, unsigned int idx)
{
	return bkey_idx(bset_start(i), idx);
}

static inline void bkey_init(struct bkey *k)
{
	*k = ZERO_KEY;
}

/*
 * Order of key positions: by inode, then offset. Negative, zero or
 * positive like memcmp(); only the sign is meaningful.
 */
static __always_inline s64 bkey_cmp(const struct bkey *l,
				    const struct bkey *r)
{
	unsigned int li = KEY_INODE(l), ri = KEY_INODE(r);

	if (likely(li == ri))
		return (s64)KEY_OFFSET(l) - (s64)KEY_OFFSET(r);
	return (s64)li - (s64)ri;
}

void bch_bkey_copy_single_ptr(struct bkey *dest, const struct bkey *src,
			      unsigned int i);
bool __bch_cut_front(const struct bkey *where, struct bkey *k);
bool __bch_cut_back(const struct bkey *where, struct bkey *k);
/*
 * Drop the part of @k before @where (cut_front) or after it (cut_back).
 * @where must lie inside or at the edges of @k; true if @k changed.
 */
bool bch_cut_front(const struct bkey *where, struct bkey *k);
bool bch_cut_back(const struct bkey *where, struct bkey *k);

/*
 * The position right before @k's: what a search has to start from to find
 * @k itself. False (and @out untouched) if @k is the smallest position.
 */
static inline bool bkey_predecessor(const struct bkey *k, struct bkey *out)
{
	u64 inode = KEY_INODE(k), offset = KEY_OFFSET(k);

	if (!inode && !offset)
		return false;
	*out = offset ? KEY(inode, offset - 1, 0) : KEY(inode - 1, U64_MAX, 0);
	return true;
}

/* Key-type dispatch: see struct btree_keys_ops. */
static inline void bch_bkey_to_text(struct btree_keys *b, char *buf,
				    size_t size, const struct bkey *k)
{
	const struct btree_keys_ops *ops = b->ops;

	ops->key_to_text(buf, size, k);
}

static inline bool bch_ptr_bad(struct btree_keys *b, const struct bkey *k)
{
	const struct btree_keys_ops *ops = b->ops;

	return ops->key_bad(b, k);
}

static inline bool bch_ptr_invalid(struct btree_keys *b, const struct bkey *k)
{
	const struct btree_keys_ops *ops = b->ops;

	return ops->key_invalid(b, k);
}

/* Same flags and pointer count: the precondition for merging two keys. */
static inline bool bch_bkey_equal_header(const struct bkey *l,
					 const struct bkey *r)
{
	return KEY_DIRTY(l) == KEY_DIRTY(r) &&
	       KEY_PTRS(l) == KEY_PTRS(r) &&
	       KEY_CSUM(l) == KEY_CSUM(r);
}

/*
 * Keylists: keys packed back to back, in inline_keys until they outgrow
 * it, then in a kmalloc'ed array (always a power of two u64s long).
 * keys..top is the list; callers add with bch_keylist_add() or by writing
 * at top and calling bch_keylist_push(), after __bch_keylist_realloc()
 * made room.
 */

/* Enough room for btree_split's keys without realloc */
#define KEYLIST_INLINE		16

struct keylist {
	union {
		struct bkey	*keys;
		u64		*keys_p;
	};
	union {
		struct bkey	*top;
		u64		*top_p;
	};
	u64			inline_keys[KEYLIST_INLINE];
};

static inline bool keylist_is_inline(const struct keylist *l)
{
	return l->keys_p == l->inline_keys;
}

/* Length of the list in u64s, and in bytes. */
static inline size_t bch_keylist_nkeys(struct keylist *l)
{
	return l->top_p - l->keys_p;
}

static inline size_t bch_keylist_bytes(struct keylist *l)
{
	return sizeof(u64) * bch_keylist_nkeys(l);
}

static inline bool bch_keylist_empty(struct keylist *l)
{
	return !bch_keylist_nkeys(l);
}

/* Forget the keys, keeping the memory. */
static inline void bch_keylist_reset(struct keylist *l)
{
	l->top_p = l->keys_p;
}

static inline void bch_keylist_init(struct keylist *l)
{
	l->keys_p = l->inline_keys;
	bch_keylist_reset(l);
}

/* A list that is just @k (which the caller owns); never realloc it. */
static inline void bch_keylist_init_single(struct keylist *l, struct bkey *k)
{
	l->keys = k;
	l->top_p = l->keys_p + bkey_u64s(k);
}

/* Take in the key the caller has written at l->top. */
static inline void bch_keylist_push(struct keylist *l)
{
	l->top_p += bkey_u64s(l->top);
}

static inline void bch_keylist_add(struct keylist *l, struct bkey *k)
{
	memcpy(l->top, k, bkey_bytes(k));
	bch_keylist_push(l);
}

static inline void bch_keylist_free(struct keylist *l)
{
	if (!keylist_is_inline(l))
		kfree(l->keys_p);
}

struct bkey *bch_keylist_pop(struct keylist *l);
void bch_keylist_pop_front(struct keylist *l);
int __bch_keylist_realloc(struct keylist *l, unsigned int u64s);

/* Debugging */

void bch_dump_bset(struct btree_keys *b, struct bset *i, unsigned int set);

#ifdef CONFIG_BCACHE_DEBUG
int __bch_count_data(struct btree_keys *b);
/*
 * With expensive_debug_checks on: warn and dump the node if its keys are
 * out of order, overlap or repeat; @fmt says who asked.
 */
void __printf(2, 3) bch_check_keys(struct btree_keys *b,
				   const char *fmt, ...);
void bch_dump_bucket(struct btree_keys *b);
#else
static inline int __bch_count_data(struct btree_keys *b) { return -1; }
static inline __printf(2, 3)
void bch_check_keys(struct btree_keys *b, const char *fmt, ...) {}
static inline void bch_dump_bucket(struct btree_keys *b) {}
#endif

static inline bool btree_keys_expensive_checks(struct btree_keys *b)
{
#ifdef CONFIG_BCACHE_DEBUG
	return b->expensive_debug_checks && *b->expensive_debug_checks;
#else
	return false;
#endif
}

static inline int bch_count_data(struct btree_keys *b)
{
	return btree_keys_expensive_checks(b) ? __bch_count_data(b) : -1;
}

#endif /* _BCACHE_BSET_H */

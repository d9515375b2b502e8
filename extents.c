// SPDX-License-Identifier: GPL-2.0
/*
 * Key semantics of btree nodes: extents in leaves, child pointers in
 * interior nodes (see extents.h).
 *
 * The extent rules decide what the cache holds: an extent inserted over
 * existing ones wins, and the older keys are trimmed at the front or back,
 * split around it, or reduced to nothing. The same rules, applied across
 * sets while sorting, resolve the overlaps that appear when a node's sets
 * from different writes are read back. Both must give exactly the node
 * contents the kernel's own driver gives for the same sequence of
 * inserts, since the result is written to disk.
 *
 * Pointer validity that needs the cache set goes through the pointer
 * checker (extents.h); a key found invalid is reported in upstream's text
 * form and dropped, never trusted and never fatal.
 */

#define pr_fmt(fmt) "bcache: %s() " fmt, __func__

#include "bset.h"
#include "extents.h"

#include <linux/log2.h>
#include <linux/ratelimit.h>

/* Most pointers a key can carry and still fit a padded key slot. */
#define KEY_MAX_PTRS		(KEY_MAX_U64S - sizeof(struct bkey) / sizeof(u64))

/* Pointer checker access, with the documented fallbacks. */

static const struct bch_ptr_checker_ops *checker_ops(struct bch_ptr_checker *pc)
{
	return pc ? pc->ops : NULL;
}

static __always_inline bool
ptr_available(const struct bch_ptr_checker *pc, const struct bkey *k,
	      unsigned int ptr)
{
	return !pc || !pc->nr_devs || PTR_DEV(k, ptr) < pc->nr_devs;
}

/* How many gens the pointer's bucket has moved on, modulo 2^8 (signed). */
static __always_inline u8
ptr_stale(const struct bch_ptr_checker *pc, const struct bkey *k,
	  unsigned int ptr)
{
	u8 moved;

	if (!pc || !pc->gens)
		return 0;
	moved = pc->gens[bch_ptr_bucket(pc, k, ptr) * pc->gen_stride] -
		PTR_GEN(k, ptr);
	return moved > 128U ? 0 : moved;
}

static bool has_geometry(const struct bch_ptr_checker *pc)
{
	return pc && pc->bucket_size;
}

u64 bch_ptr_bucket(const struct bch_ptr_checker *pc, const struct bkey *k,
		   unsigned int ptr)
{
	return has_geometry(pc) ? PTR_OFFSET(k, ptr) >> ilog2(pc->bucket_size)
				: 0;
}

static u64 ptr_bucket_offset(const struct bch_ptr_checker *pc,
			     const struct bkey *k, unsigned int ptr)
{
	return PTR_OFFSET(k, ptr) & (pc->bucket_size - 1);
}

static void dirty_add(struct bch_ptr_checker *pc, const struct bkey *k,
		      u64 offset, int sectors)
{
	const struct bch_ptr_checker_ops *ops = checker_ops(pc);

	if (KEY_DIRTY(k) && ops && ops->sectors_dirty_add)
		ops->sectors_dirty_add(pc, KEY_INODE(k), offset, sectors);
}

/* Text form of keys */

struct text_out {
	char	*pos;
	char	*end;
};

static __printf(2, 3) void text_add(struct text_out *out, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	out->pos += vscnprintf(out->pos, out->end - out->pos, fmt, args);
	va_end(args);
}

void bch_extent_to_text(char *buf, size_t size, const struct bkey *k)
{
	struct text_out out = { .pos = buf, .end = buf + size };
	unsigned int i;

	if (!size)
		return;
	*buf = '\0';

	text_add(&out, "%u:%llu len %u -> [", KEY_INODE(k), KEY_START(k),
		 KEY_SIZE(k));
	/* A corrupt pointer count must not make us read past the key. */
	for (i = 0; i < min_t(unsigned int, KEY_PTRS(k), KEY_MAX_PTRS); i++) {
		const char *sep = i ? ", " : "";

		if (PTR_DEV(k, i) == PTR_CHECK_DEV)
			text_add(&out, "%scheck dev", sep);
		else
			text_add(&out, "%s%u:%llu gen %u", sep, PTR_DEV(k, i),
				 PTR_OFFSET(k, i), PTR_GEN(k, i));
	}
	text_add(&out, "]");

	if (KEY_DIRTY(k))
		text_add(&out, " dirty");
	/* Upstream prints the second pointer word as "the checksum". */
	if (KEY_CSUM(k))
		text_add(&out, " cs%u %llx", KEY_CSUM(k),
			 le64_to_cpu(k->ptr[1]));
}

/*
 * Layout checks of the pointers against the bucket geometry. Inlined:
 * every lookup checks the pointers of the nodes it descends through.
 */
static __always_inline const char *
ptr_layout_problem(struct bch_ptr_checker *pc, const struct bkey *k,
		   unsigned int ptr)
{
	u64 bucket;

	if (!has_geometry(pc))
		return NULL;

	bucket = bch_ptr_bucket(pc, k, ptr);
	if (KEY_SIZE(k) + ptr_bucket_offset(pc, k, ptr) > pc->bucket_size)
		return "bad, length too big";
	if (bucket < pc->first_bucket)
		return "bad, short offset";
	if (bucket >= pc->nbuckets)
		return "bad, offset past end of device";
	return NULL;
}

/*
 * Whether an available pointer of @k lies outside the cache's layout; sets
 * *@unavailable if one is not available (its layout is not checked), so
 * extent_bad() and btree_ptr_bad() need no second walk over the pointers.
 */
static __always_inline bool ptrs_scan(struct bch_ptr_checker *pc,
				      const struct bkey *k, bool *unavailable)
{
	unsigned int i;

	if (KEY_PTRS(k) > KEY_MAX_PTRS)
		return true;

	for (i = 0; i < KEY_PTRS(k); i++) {
		if (!ptr_available(pc, k, i))
			*unavailable = true;
		else if (ptr_layout_problem(pc, k, i))
			return true;
	}
	return false;
}

/* The first layout problem of an available pointer of @k, or NULL. */
static const char *ptrs_layout_reason(struct bch_ptr_checker *pc,
				      const struct bkey *k)
{
	unsigned int i;

	for (i = 0; i < KEY_PTRS(k) && i < KEY_MAX_PTRS; i++) {
		const char *why;

		if (!ptr_available(pc, k, i))
			continue;
		why = ptr_layout_problem(pc, k, i);
		if (why)
			return why;
	}
	return NULL;
}

/* Why a key is not usable, for messages; "" if it is. */
static const char *key_status(struct bch_ptr_checker *pc,
			      const struct bkey *k)
{
	unsigned int i;
	const char *why;

	if (KEY_PTRS(k) > KEY_MAX_PTRS)
		return "bad, too many pointers";

	why = ptrs_layout_reason(pc, k);
	if (why)
		return why;
	for (i = 0; i < KEY_PTRS(k); i++)
		if (ptr_available(pc, k, i) && ptr_stale(pc, k, i))
			return "stale";

	if (!KEY_INODE(k) && !KEY_OFFSET(k))
		return "bad, null key";
	return !KEY_PTRS(k) ? "bad, no pointers" :
	       !KEY_SIZE(k) ? "zeroed key" : "";
}

/* Log an inconsistency and hand it to the cache set. */
static __printf(2, 3) void report_inconsistent(struct bch_ptr_checker *pc,
					       const char *fmt, ...)
{
	const struct bch_ptr_checker_ops *ops = checker_ops(pc);
	char msg[2 * KEY_TEXT_LEN];
	va_list args;

	va_start(args, fmt);
	vscnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);

	pr_err_ratelimited("%s\n", msg);
	if (ops && ops->inconsistent)
		ops->inconsistent(pc, msg);
}

/*
 * Out of line and cold: inlined, its key buffer would give every lookup's
 * key check a stack frame to clear.
 */
static noinline __cold void report_bad_key(struct bch_ptr_checker *pc,
					   const char *what,
					   const struct bkey *k)
{
	char buf[KEY_TEXT_LEN];

	bch_extent_to_text(buf, sizeof(buf), k);
	report_inconsistent(pc, "spotted %s %s: %s", what, buf,
			    key_status(pc, k));
}

/* The key, each pointer's bucket (and its priority) and the key's status. */
static void key_dump(struct btree_keys *bk, const struct bkey *k,
		     char *buf, size_t size)
{
	struct bch_ptr_checker *pc = bk->checker;
	const struct bch_ptr_checker_ops *ops = checker_ops(pc);
	struct text_out out = { .pos = buf, .end = buf + size };
	char text[KEY_TEXT_LEN];
	unsigned int i, nptrs = min_t(unsigned int, KEY_PTRS(k), KEY_MAX_PTRS);

	bch_extent_to_text(text, sizeof(text), k);
	text_add(&out, "%s", text);

	for (i = 0; has_geometry(pc) && i < nptrs; i++) {
		u64 bucket = bch_ptr_bucket(pc, k, i);

		text_add(&out, " bucket %llu", bucket);
		if (ops && ops->bucket_prio && bucket >= pc->first_bucket &&
		    bucket < pc->nbuckets)
			text_add(&out, " prio %i", ops->bucket_prio(pc, k, i));
	}

	text_add(&out, " %s", key_status(pc, k));
}

static bool expensive_ptr_checks(struct btree_keys *bk, const struct bkey *k,
				 unsigned int ptr)
{
	const struct bch_ptr_checker_ops *ops = checker_ops(bk->checker);

	return btree_keys_expensive_checks(bk) && ops &&
	       ops->ptr_inconsistent &&
	       ops->ptr_inconsistent(bk->checker, bk, k, ptr);
}

/*
 * Ordering shared by both key types: by a position, then the newer set
 * first (sets lie in the node buffer oldest first), which the extent
 * fixups rely on when positions tie.
 */
static bool iter_set_before(const struct btree_iter_set *l,
			    const struct btree_iter_set *r,
			    const struct bkey *lpos, const struct bkey *rpos)
{
	s64 c = bkey_cmp(lpos, rpos);

	return c ? c < 0 : l->k > r->k;
}

/* Btree pointers */

static bool btree_ptr_sort_cmp(const struct btree_iter_set *l,
			       const struct btree_iter_set *r)
{
	return iter_set_before(l, r, l->k, r->k);
}

/*
 * __bch_btree_ptr_invalid(), also saying whether a pointer is unavailable.
 * Inlined into btree_ptr_bad(), which every lookup runs per node.
 */
static __always_inline bool
btree_ptr_invalid_scan(struct bch_ptr_checker *pc, const struct bkey *k,
		       bool *unavailable)
{
	bool bad = !KEY_PTRS(k) || !KEY_SIZE(k) || KEY_DIRTY(k) ||
		   ptrs_scan(pc, k, unavailable);

	if (bad)
		report_bad_key(pc, "btree ptr", k);
	return bad;
}

bool __bch_btree_ptr_invalid(struct bch_ptr_checker *pc, const struct bkey *k)
{
	bool unavailable = false;

	return btree_ptr_invalid_scan(pc, k, &unavailable);
}

static bool btree_ptr_invalid(struct btree_keys *bk, const struct bkey *k)
{
	return __bch_btree_ptr_invalid(bk->checker, k);
}

/*
 * Every lookup passes here for each node it descends through, so the
 * validity check and the availability of the pointers share one walk (as
 * in extent_bad()), and only the staleness takes a second.
 */
static bool btree_ptr_bad(struct btree_keys *bk, const struct bkey *k)
{
	struct bch_ptr_checker *pc = bk->checker;
	bool unavailable = false;
	unsigned int i;

	if ((!KEY_INODE(k) && !KEY_OFFSET(k)) || !KEY_PTRS(k) ||
	    btree_ptr_invalid_scan(pc, k, &unavailable) || unavailable)
		return true;

	for (i = 0; i < KEY_PTRS(k); i++)
		if (ptr_stale(pc, k, i))
			return true;

	for (i = 0; i < KEY_PTRS(k); i++)
		if (expensive_ptr_checks(bk, k, i))
			return true;
	return false;
}

static bool btree_ptr_insert_fixup(struct btree_keys *bk, struct bkey *insert,
				   struct btree_iter *iter,
				   struct bkey *replace_key)
{
	const struct bch_ptr_checker_ops *ops = checker_ops(bk->checker);

	/* Never refuses: child pointers have no overlaps to resolve. */
	if (ops && ops->btree_ptr_insert && !KEY_OFFSET(insert))
		ops->btree_ptr_insert(bk, insert);
	return false;
}

/* Extents */

/*
 * Extents merge by start position; among equal starts the newer one comes
 * first, so that the sort fixup sees the key that wins an overlap first.
 */
static bool extent_sort_cmp(const struct btree_iter_set *l,
			    const struct btree_iter_set *r)
{
	struct bkey ls = START_KEY(l->k), rs = START_KEY(r->k);

	return iter_set_before(l, r, &ls, &rs);
}

/* Step heap entry @idx past its key; drop it when its set runs out. */
static void sort_skip_key(struct btree_iter *iter, unsigned int idx)
{
	struct btree_iter_set *s = &iter->heap.data[idx];

	s->k = bkey_next(s->k);
	if (s->k >= s->end)
		*s = iter->heap.data[--iter->heap.nr];
	bch_btree_iter_sort_sift(iter, idx, &bch_extent_keys_ops);
}

/*
 * The heap entry holding the second key in merge order: one of the two
 * children of the head.
 */
static unsigned int sort_runner_up(struct btree_iter *iter)
{
	struct btree_iter_set *d = iter->heap.data;

	return iter->heap.nr > 2 && extent_sort_cmp(&d[2], &d[1]) ? 2 : 1;
}

/*
 * Before the head of the merge is emitted, make it and the next key not
 * overlap. Of two overlapping keys the one from the newer set wins:
 *
 * - the older one is behind (starts no earlier): cut its front, or skip
 *   it when the newer one covers it whole;
 * - the older one is ahead and ends past the newer one: emit its front
 *   part now (through @tmp) and keep its back part in the heap;
 * - the older one is ahead and ends inside the newer one: cut its back.
 *
 * Zero-sized keys carry nothing and are skipped where they overlap.
 */
static struct bkey *extent_sort_fixup(struct btree_iter *iter,
				      struct bkey *tmp)
{
	while (iter->heap.nr > 1) {
		struct btree_iter_set *head = &iter->heap.data[0];
		unsigned int idx = sort_runner_up(iter);
		struct bkey *next = iter->heap.data[idx].k;
		struct bkey next_start = START_KEY(next);

		if (bkey_cmp(head->k, &next_start) <= 0)
			break;

		if (!KEY_SIZE(next)) {
			sort_skip_key(iter, idx);
			continue;
		}

		if (head->k > next) {
			/* The head is newer: the next key loses its overlap. */
			if (bkey_cmp(head->k, next) >= 0) {
				sort_skip_key(iter, idx);
			} else {
				bch_cut_front(head->k, next);
				bch_btree_iter_sort_sift(iter, idx,
							 &bch_extent_keys_ops);
			}
			continue;
		}

		/* The head is older and starts first (ties favour newer). */
		if (bkey_cmp(next, head->k) < 0) {
			bkey_copy(tmp, head->k);
			bch_cut_back(&next_start, tmp);
			bch_cut_front(next, head->k);
			bch_btree_iter_sort_sift(iter, 0, &bch_extent_keys_ops);
			return tmp;
		}
		bch_cut_back(&next_start, head->k);
	}

	return NULL;
}

/*
 * Compare-and-replace: does @k still hold what @replace_key described,
 * given that the insert has matched @found sectors so far? @k may have
 * been split since, so it must be a piece of @replace_key, start right
 * where the matched part ends, and have the same pointers shifted by its
 * distance into @replace_key.
 */
static bool replace_matches(const struct bkey *k,
			    const struct bkey *replace_key,
			    const struct bkey *insert, unsigned int found)
{
	u64 shift;
	unsigned int i;

	if (KEY_START(k) < KEY_START(replace_key) ||
	    KEY_OFFSET(k) > KEY_OFFSET(replace_key) ||
	    KEY_START(k) > KEY_START(insert) + found ||
	    !bch_bkey_equal_header(k, replace_key) ||
	    !KEY_PTRS(replace_key))
		return false;

	/* Pointer offsets start above the 8-bit generation. */
	shift = (KEY_START(k) - KEY_START(replace_key)) << BPTR_OFFSET_SHIFT;
	for (i = 0; i < KEY_PTRS(replace_key); i++)
		if (le64_to_cpu(k->ptr[i]) !=
		    le64_to_cpu(replace_key->ptr[i]) + shift)
			return false;
	return true;
}

/* Add a second copy of @k to the open set; return it (NULL if full). */
static struct bkey *extent_second_copy(struct btree_keys *b, struct bkey *k,
				       const struct bkey *insert)
{
	struct bkey *where;

	if (!bkey_written(b, k)) {
		BKEY_PADDED(key) copy;

		/* Right behind the original: the open set stays sorted. */
		bkey_copy(&copy.key, k);
		return bch_bset_insert(b, k, &copy.key) ? bkey_next(k) : NULL;
	}

	/* Where the back half will sort: after everything up to @insert. */
	where = bch_bset_search(b, bset_tree_last(b), insert);
	return bch_bset_insert(b, where, k) ? where : NULL;
}

/*
 * @insert lands strictly inside @k: keep @k's front in place and add its
 * back as a new key. A written @k cannot move, so the back goes into the
 * open set at its sorted position; an unwritten one is duplicated where
 * it is. (sort_fixup relies on the back being the new key.)
 */
static void extent_split(struct btree_keys *b, struct bkey *k,
			 const struct bkey *insert)
{
	struct bkey insert_start = START_KEY(insert);
	struct bkey *back = extent_second_copy(b, k, insert);

	dirty_add(b->checker, k, KEY_START(insert), -(int)KEY_SIZE(insert));

	bch_cut_back(&insert_start, k);
	bch_bset_fix_invalidated_key(b, k);
	/* No room is impossible: bch_btree_insert_key() reserved it. */
	if (back)
		bch_cut_front(insert, back);
}

/*
 * @insert covers the end of @k (and maybe all of it): trim @k. A written
 * key covered whole is zeroed in place, keeping its position so the
 * search tree stays valid; otherwise its end moves down to where @insert
 * starts, and the tree is told.
 */
static void extent_trim_back(struct btree_keys *b, struct bkey *k,
			     const struct bkey *insert)
{
	struct bkey insert_start = START_KEY(insert);
	struct bkey k_start = START_KEY(k);

	if (bkey_written(b, k) && bkey_cmp(&insert_start, &k_start) <= 0) {
		bch_cut_front(k, k);
	} else {
		__bch_cut_back(&insert_start, k);
		bch_bset_fix_invalidated_key(b, k);
	}
}

static bool extent_insert_fixup(struct btree_keys *b, struct bkey *insert,
				struct btree_iter *iter,
				struct bkey *replace_key)
{
	struct bkey insert_start = START_KEY(insert);
	unsigned int found = 0;
	struct bkey *k;

	if (WARN_ON_ONCE(!KEY_OFFSET(insert) || !KEY_SIZE(insert)))
		return true;

	while ((k = bch_btree_iter_next(iter))) {
		struct bkey k_start = START_KEY(k);
		u64 removed_at = KEY_START(k);
		unsigned int size_before = KEY_SIZE(k);

		/* Past the insert; zero-sized keys there are stepped over. */
		if (bkey_cmp(&k_start, insert) >= 0) {
			if (KEY_SIZE(k))
				break;
			continue;
		}
		if (bkey_cmp(k, &insert_start) <= 0)
			continue;

		/* Zero-sized keys overlap nothing a replace cares about. */
		if (replace_key && KEY_SIZE(k)) {
			if (!replace_matches(k, replace_key, insert, found))
				break;
			found = KEY_OFFSET(k) - KEY_START(insert);
		}

		if (bkey_cmp(insert, k) < 0 &&
		    bkey_cmp(&insert_start, &k_start) > 0) {
			extent_split(b, k, insert);
			goto done;
		}

		if (bkey_cmp(insert, k) < 0) {
			bch_cut_front(insert, k);
		} else {
			if (bkey_cmp(&insert_start, &k_start) > 0)
				removed_at = KEY_START(insert);
			extent_trim_back(b, k, insert);
		}

		dirty_add(b->checker, k, removed_at,
			  -(int)(size_before - KEY_SIZE(k)));
	}

	if (replace_key) {
		/* Nothing left of what we meant to replace: drop the insert. */
		if (!found)
			return true;
		if (found < KEY_SIZE(insert)) {
			SET_KEY_OFFSET(insert, KEY_START(insert) + found);
			SET_KEY_SIZE(insert, found);
		}
	}
done:
	dirty_add(b->checker, insert, KEY_START(insert), KEY_SIZE(insert));
	return false;
}

/* __bch_extent_invalid(), also saying whether a pointer is unavailable. */
static __always_inline bool
extent_invalid_scan(struct bch_ptr_checker *pc, const struct bkey *k,
		    bool *unavailable)
{
	/* Zero-sized keys are what overwrites leave behind: not an error. */
	if (!KEY_SIZE(k))
		return true;

	if (KEY_SIZE(k) > KEY_OFFSET(k) || ptrs_scan(pc, k, unavailable)) {
		report_bad_key(pc, "extent", k);
		return true;
	}
	return false;
}

bool __bch_extent_invalid(struct bch_ptr_checker *pc, const struct bkey *k)
{
	bool unavailable = false;

	return extent_invalid_scan(pc, k, &unavailable);
}

/*
 * Why extent @k must not go into the btree, or NULL: the test of
 * __bch_extent_invalid() without the report, for a caller that decides
 * itself what a bad key means (journal replay drops it and says why).
 */
const char *bch_extent_invalid_reason(struct bch_ptr_checker *pc,
				      const struct bkey *k)
{
	if (!KEY_SIZE(k))
		return "zero size";
	if (KEY_SIZE(k) > KEY_OFFSET(k))
		return "bad, starts before sector 0";
	if (KEY_PTRS(k) > KEY_MAX_PTRS)
		return "bad, too many pointers";
	return ptrs_layout_reason(pc, k);
}

static bool extent_invalid(struct btree_keys *bk, const struct bkey *k)
{
	return __bch_extent_invalid(bk->checker, k);
}

/* A stale pointer that should not be: dirty, or staler than gc allows. */
static noinline __cold void report_stale(struct bch_ptr_checker *pc,
					 const struct bkey *k, unsigned int stale)
{
	char buf[KEY_TEXT_LEN];

	if (KEY_DIRTY(k)) {
		bch_extent_to_text(buf, sizeof(buf), k);
		pr_info("stale dirty pointer, stale %u, key: %s\n", stale, buf);
	}
	if (stale > BCH_PTR_STALE_MAX)
		report_inconsistent(pc, "key too stale: %u", stale);
}

/* Check the staleness of pointer @i of @k; true if it is stale. */
static __always_inline bool extent_ptr_stale(struct btree_keys *bk,
					     const struct bkey *k,
					     unsigned int i)
{
	unsigned int stale = ptr_stale(bk->checker, k, i);

	if (!stale)
		return false;
	if (unlikely(KEY_DIRTY(k) || stale > BCH_PTR_STALE_MAX))
		report_stale(bk->checker, k, stale);
	return true;
}

/*
 * Every lookup passes here for each key it meets: one walk over the
 * pointers serves both the validity and the availability test.
 */
static bool extent_bad(struct btree_keys *bk, const struct bkey *k)
{
	bool unavailable = false;
	unsigned int i;

	if (!KEY_PTRS(k) ||
	    extent_invalid_scan(bk->checker, k, &unavailable) || unavailable)
		return true;

	for (i = 0; i < KEY_PTRS(k); i++)
		if (extent_ptr_stale(bk, k, i) ||
		    expensive_ptr_checks(bk, k, i))
			return true;
	return false;
}

/*
 * Two adjacent extents merge when each pointer of @r continues the same
 * pointer of @l within the same bucket. A merged extent cannot exceed the
 * size field: then @l grows to the maximum, @r loses that much from its
 * front, and they stay two keys.
 */
static bool extent_merge(struct btree_keys *bk, struct bkey *l, struct bkey *r)
{
	const struct bch_ptr_checker_ops *ops = checker_ops(bk->checker);
	u64 step = (u64)KEY_SIZE(l) << BPTR_OFFSET_SHIFT;
	unsigned int i, total = KEY_SIZE(l) + KEY_SIZE(r);

	if (ops && ops->merging_disabled && ops->merging_disabled(bk->checker))
		return false;

	for (i = 0; i < KEY_PTRS(l); i++) {
		if (le64_to_cpu(l->ptr[i]) + step != le64_to_cpu(r->ptr[i]))
			return false;
		if (bch_ptr_bucket(bk->checker, l, i) !=
		    bch_ptr_bucket(bk->checker, r, i))
			return false;
	}

	if (total > MAX_KEY_SIZE) {
		u64 start = KEY_START(l);

		SET_KEY_SIZE(l, MAX_KEY_SIZE);
		SET_KEY_OFFSET(l, start + MAX_KEY_SIZE);
		bch_cut_front(l, r);
		return false;
	}

	/*
	 * Checksums (a word after the pointers) add up, without the top bit;
	 * equal headers mean both keys have one or neither does.
	 */
	if (KEY_CSUM(l)) {
		unsigned int at = KEY_PTRS(l);
		u64 sum = le64_to_cpu(l->ptr[at]) + le64_to_cpu(r->ptr[at]);

		if (KEY_CSUM(r))
			l->ptr[at] = cpu_to_le64(sum & ~BIT_ULL(63));
		else
			SET_KEY_CSUM(l, 0);
	}

	/* @r starts where @l ends, so @l now ends where @r does. */
	SET_KEY_SIZE(l, total);
	bkey_copy_key(l, r);
	return true;
}

const struct btree_keys_ops bch_btree_keys_ops = {
	.key_invalid	= &btree_ptr_invalid,
	.key_bad	= &btree_ptr_bad,
	.key_to_text	= &bch_extent_to_text,
	.key_dump	= &key_dump,
	.insert_fixup	= &btree_ptr_insert_fixup,
	.sort_cmp	= &btree_ptr_sort_cmp,
};

const struct btree_keys_ops bch_extent_keys_ops = {
	.is_extents	= true,
	.key_invalid	= &extent_invalid,
	.key_bad	= &extent_bad,
	.key_to_text	= &bch_extent_to_text,
	.key_dump	= &key_dump,
	.key_merge	= &extent_merge,
	.insert_fixup	= &extent_insert_fixup,
	.sort_cmp	= &extent_sort_cmp,
	.sort_fixup	= &extent_sort_fixup,
};

// SPDX-License-Identifier: GPL-2.0
/*
 * Keybufs: batches of btree keys that background work goes through.
 *
 * Writeback and moving gc do not walk the btree while they work: they scan
 * it now and then (bch_refill_keybuf()) for keys a predicate picks, up to
 * KEYBUF_NR at a time, and then take keys from the buffer one by one. The
 * buffer is an rbtree of extents ordered by position, in which overlapping
 * extents compare equal, so it never holds two keys for the same data. Its
 * KEYBUF_NR slots are handed out through the @used bitmap.
 *
 * A key handed out by bch_keybuf_next() is marked busy (its @private is
 * set) until its owner deletes it. A foreground write to a range calls
 * bch_keybuf_check_overlapping(): idle keys there are dropped, since they
 * are about to be overwritten, and busy ones make the caller wait or back
 * off. @start and @end bound the keys in the buffer so that check costs no
 * lock when the write is elsewhere.
 *
 * The keys are copies; the btree stays the authority. Whoever acts on a
 * key inserts its result with the copy as the replace key, so a key that
 * changed in the btree meanwhile is simply not replaced.
 */

#define pr_fmt(fmt) "bcache: %s() " fmt, __func__

#include <linux/bitmap.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <kunit/visibility.h>

#include "bcache.h"
#include "btree.h"
#include "keybuf.h"

static inline struct keybuf_key *to_keybuf_key(const struct rb_node *n)
{
	return rb_entry_safe(n, struct keybuf_key, node);
}

/* Set @pos to the bare position (no size, no pointers) of @k's end. */
static inline void keybuf_set_pos(struct bkey *pos, const struct bkey *k)
{
	*pos = KEY(KEY_INODE(k), KEY_OFFSET(k), 0);
}

/*
 * Tree order for inserting: extents that share any sector are "equal",
 * which is how an insert finds that the range is taken already.
 */
static int keybuf_overlap_cmp(struct rb_node *a, const struct rb_node *b)
{
	const struct bkey *l = &to_keybuf_key(a)->key;
	const struct bkey *r = &to_keybuf_key(b)->key;

	if (bkey_cmp(l, &START_KEY(r)) <= 0)
		return -1;
	if (bkey_cmp(&START_KEY(l), r) >= 0)
		return 1;
	return 0;
}

/* The leftmost key ending strictly after @pos, or NULL. */
static struct keybuf_key *keybuf_first_ending_after(struct keybuf *buf,
						    const struct bkey *pos)
{
	struct rb_node *n = buf->keys.rb_node;
	struct keybuf_key *best = NULL;

	while (n) {
		struct keybuf_key *w = to_keybuf_key(n);

		if (bkey_cmp(&w->key, pos) > 0) {
			best = w;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}

	return best;
}

static unsigned int keybuf_slots_free(struct keybuf *buf)
{
	return KEYBUF_NR - bitmap_weight(buf->used, KEYBUF_NR);
}

static void keybuf_slot_release(struct keybuf *buf, struct keybuf_key *w)
{
	clear_bit(w - buf->data, buf->used);
}

static void keybuf_remove_locked(struct keybuf *buf, struct keybuf_key *w)
{
	lockdep_assert_held(&buf->lock);
	rb_erase(&w->node, &buf->keys);
	keybuf_slot_release(buf, w);
}

/*
 * Copy @k into a free slot of @buf, unless it overlaps a key already
 * there. Returns the slots left free afterwards, -EEXIST if @k overlaps
 * (nothing added) or -ENOSPC if every slot is taken.
 */
VISIBLE_IF_KUNIT int bch_keybuf_add(struct keybuf *buf, const struct bkey *k)
{
	unsigned long slot;
	struct keybuf_key *w;
	int ret;

	spin_lock(&buf->lock);

	slot = find_first_zero_bit(buf->used, KEYBUF_NR);
	if (slot >= KEYBUF_NR) {
		ret = -ENOSPC;
		goto out;
	}

	w = buf->data + slot;
	bkey_copy(&w->key, k);
	w->private = NULL;

	if (rb_find_add(&w->node, &buf->keys, keybuf_overlap_cmp)) {
		ret = -EEXIST;
		goto out;
	}

	__set_bit(slot, buf->used);
	ret = keybuf_slots_free(buf);
out:
	spin_unlock(&buf->lock);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(bch_keybuf_add);

/* Recompute the bounds @start .. @end of what @buf holds. */
VISIBLE_IF_KUNIT void bch_keybuf_update_range(struct keybuf *buf)
{
	struct keybuf_key *first, *last;

	spin_lock(&buf->lock);

	first = to_keybuf_key(rb_first(&buf->keys));
	last = to_keybuf_key(rb_last(&buf->keys));

	if (first) {
		buf->start = START_KEY(&first->key);
		keybuf_set_pos(&buf->end, &last->key);
	} else {
		/* An empty range that no write can overlap. */
		buf->start = MAX_KEY;
		buf->end = MAX_KEY;
	}

	spin_unlock(&buf->lock);
}
EXPORT_SYMBOL_IF_KUNIT(bch_keybuf_update_range);

void bch_keybuf_init(struct keybuf *buf)
{
	spin_lock_init(&buf->lock);
	buf->keys = RB_ROOT;
	bitmap_zero(buf->used, KEYBUF_NR);

	/* Nothing scanned yet: the first next_rescan() refills at once. */
	buf->last_scanned = MAX_KEY;
	buf->start = MAX_KEY;
	buf->end = MAX_KEY;
}

/* The state of one refill, around the map callback's btree_op. */
struct keybuf_scan {
	struct btree_op		op;
	struct keybuf		*buf;
	struct bkey		*end;
	keybuf_pred_fn		*pred;
	unsigned int		found;
};

static int keybuf_scan_key(struct btree_op *op, struct btree *b,
			   struct bkey *k)
{
	struct keybuf_scan *scan = container_of(op, struct keybuf_scan, op);
	struct keybuf *buf = scan->buf;
	int room;

	if (bkey_cmp(k, scan->end) > 0) {
		keybuf_set_pos(&buf->last_scanned, k);
		return MAP_DONE;
	}

	/* Zero-sized keys are the ends of leaves (MAP_END_KEY): progress only. */
	if (KEY_SIZE(k) && scan->pred(buf, k)) {
		room = bch_keybuf_add(buf, k);

		/* Full: stop before @k, so the next refill looks at it again. */
		if (room == -ENOSPC)
			return MAP_DONE;

		if (room >= 0)
			scan->found++;

		if (!room) {
			keybuf_set_pos(&buf->last_scanned, k);
			return MAP_DONE;
		}
	}

	keybuf_set_pos(&buf->last_scanned, k);
	return MAP_CONTINUE;
}

void bch_refill_keybuf(struct cache_set *c, struct keybuf *buf,
		       struct bkey *end, keybuf_pred_fn *pred)
{
	struct keybuf_scan scan = {
		.buf	= buf,
		.end	= end,
		.pred	= pred,
	};
	struct bkey from = buf->last_scanned;

	cond_resched();

	/* Read locks only: the scan changes nothing in the btree. */
	bch_btree_op_init(&scan.op, -1);
	bch_btree_map_keys(&scan.op, c, &buf->last_scanned, keybuf_scan_key,
			   MAP_END_KEY);

	pr_debug("found %u keys from %u:%llu to %u:%llu\n", scan.found,
		 KEY_INODE(&from), KEY_OFFSET(&from),
		 KEY_INODE(&buf->last_scanned), KEY_OFFSET(&buf->last_scanned));

	bch_keybuf_update_range(buf);
}

void bch_keybuf_del(struct keybuf *buf, struct keybuf_key *w)
{
	spin_lock(&buf->lock);
	keybuf_remove_locked(buf, w);
	spin_unlock(&buf->lock);
}

/*
 * A write to @start .. @end is coming: drop the idle keys it overlaps.
 * True if a key there is being worked on, so the caller must not
 * proceed as if the range were untouched.
 */
bool bch_keybuf_check_overlapping(struct keybuf *buf, struct bkey *start,
				  struct bkey *end)
{
	struct keybuf_key *w;
	bool busy = false;

	/* Unlocked peek at the bounds: a miss here is a miss for sure. */
	if (bkey_cmp(end, &buf->start) <= 0 ||
	    bkey_cmp(start, &buf->end) >= 0)
		return false;

	spin_lock(&buf->lock);

	w = keybuf_first_ending_after(buf, start);
	while (w && bkey_cmp(&START_KEY(&w->key), end) < 0) {
		struct keybuf_key *next = to_keybuf_key(rb_next(&w->node));

		if (w->private)
			busy = true;
		else
			keybuf_remove_locked(buf, w);
		w = next;
	}

	spin_unlock(&buf->lock);
	return busy;
}

/* The first key from @n on that nobody is working on, or NULL. */
static struct keybuf_key *keybuf_idle_from(struct keybuf *buf,
					   struct rb_node *n)
{
	lockdep_assert_held(&buf->lock);

	for (; n; n = rb_next(n)) {
		struct keybuf_key *w = to_keybuf_key(n);

		if (!w->private)
			return w;
	}

	return NULL;
}

/*
 * Hand out the first idle key after @prev (one the caller holds busy, so
 * it is still in the tree), or the lowest idle key if @prev is NULL,
 * marked busy: @private holds an error pointer until the new owner
 * stores its own there. NULL if none. A caller taking many keys in a row
 * passes the last one, so that each call does not walk again over the
 * keys it took before (a batch of n keys would cost n^2 / 2 steps).
 */
struct keybuf_key *bch_keybuf_next_after(struct keybuf *buf,
					 struct keybuf_key *prev)
{
	struct keybuf_key *found;

	spin_lock(&buf->lock);
	found = keybuf_idle_from(buf, prev ? rb_next(&prev->node) :
					     rb_first(&buf->keys));
	if (found)
		found->private = ERR_PTR(-EINTR);
	spin_unlock(&buf->lock);

	return found;
}

struct keybuf_key *bch_keybuf_next(struct keybuf *buf)
{
	return bch_keybuf_next_after(buf, NULL);
}

/*
 * bch_keybuf_next(), refilling from the btree while the buffer has no
 * idle key and the scan has not reached @end yet.
 */
struct keybuf_key *bch_keybuf_next_rescan(struct cache_set *c,
					  struct keybuf *buf,
					  struct bkey *end,
					  keybuf_pred_fn *pred)
{
	struct keybuf_key *found = bch_keybuf_next(buf);

	while (!found && bkey_cmp(&buf->last_scanned, end) < 0) {
		bch_refill_keybuf(c, buf, end, pred);
		found = bch_keybuf_next(buf);
	}

	return found;
}

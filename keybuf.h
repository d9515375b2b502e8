/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Batches of keys for background work (keybuf.c): a refill walks the
 * btree from where the last one stopped and keeps the keys a predicate
 * picks, in an rbtree ordered by position.
 */
#ifndef _BCACHE_KEYBUF_H
#define _BCACHE_KEYBUF_H

#include "bcache.h"
#include "btree.h"

/* Which keys a keybuf collects. */
typedef bool (keybuf_pred_fn)(struct keybuf *buf, struct bkey *k);

void bch_keybuf_init(struct keybuf *buf);
/* Next key to work on; the _rescan form refills up to @end when empty. */
struct keybuf_key *bch_keybuf_next_rescan(struct cache_set *c,
					  struct keybuf *buf,
					  struct bkey *end,
					  keybuf_pred_fn *pred);
struct keybuf_key *bch_keybuf_next(struct keybuf *buf);
struct keybuf_key *bch_keybuf_next_after(struct keybuf *buf,
					 struct keybuf_key *prev);
void bch_keybuf_del(struct keybuf *buf, struct keybuf_key *w);
void bch_refill_keybuf(struct cache_set *c, struct keybuf *buf,
		       struct bkey *end, keybuf_pred_fn *pred);
/* Does a write of start..end overlap a key being worked on? */
bool bch_keybuf_check_overlapping(struct keybuf *buf, struct bkey *start,
				  struct bkey *end);
#if IS_ENABLED(CONFIG_KUNIT)
/* The pieces of a refill, for tests/kunit/gc_test.c. */
int bch_keybuf_add(struct keybuf *buf, const struct bkey *k);
void bch_keybuf_update_range(struct keybuf *buf);
#endif

#endif /* _BCACHE_KEYBUF_H */

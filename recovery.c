// SPDX-License-Identifier: GPL-2.0
/*
 * Starting a cache set: from what is on the cache device, or afresh.
 *
 * A set that was synced before is recovered in this order: read the
 * journal and refuse it if it has a hole (before anything can write),
 * check the newest jset's pointers, read the prios and gens, open the
 * btree root and the uuid table, walk the whole tree once (gc.c's check,
 * which marks every bucket a node or extent uses), pin the jsets read
 * back and mark the buckets their keys use, open a new jset, start the
 * allocator, and replay the keys into the btree. A cache never synced is
 * laid out as make-bcache would: journal buckets after first_bucket, the
 * prios, an empty uuid table and an empty root, then the first jset.
 *
 * This file trusts nothing it reads: the journal's own checks (journal.c)
 * vet each jset, the btree's node verifier each node, and every key is
 * checked here before it is marked. It runs from registration, under no
 * lock but the set's own (no other thread knows the set yet); it sits
 * above btree.c and gc.c, whose inserts and marking it drives.
 */

#include "bcache.h"
#include "alloc.h"
#include "btree.h"
#include "btree_node.h"
#include "gc.h"
#include "io.h"
#include "journal.h"
#include "recovery.h"
#include "uuid.h"

#include <linux/lockdep.h>

/*
 * Deeper than any tree a cache device can hold (even 4 KiB nodes fan out
 * a hundredfold, so level 6 indexes more extents than any device has): a
 * corrupt jset says so. The node cache gives each level its own lockdep
 * subclass, level + 1, of which lockdep has eight; a root level past them
 * is a lockdep BUG on a debug kernel (the kernel's driver has it too).
 */
#define BTREE_MAX_DEPTH		6
static_assert(BTREE_MAX_DEPTH + 1 < MAX_LOCKDEP_SUBCLASSES);

/* ---------------------------------------------------------------------
 * Journal: marking and replay
 */

/*
 * A jset's checksum says it was written whole, not that its keys are sane:
 * a key the btree could not hold (no size, a start before sector 0, more
 * pointers than a key may have, a pointer outside the cache's buckets) is
 * neither marked nor replayed. It addresses no data the cache can serve,
 * and the rest of the set is worth keeping: such a key is dropped, with
 * the reason, rather than the whole set refused
 * (bch_extent_invalid_reason() decides, for marking and replay alike).
 *
 * Every pointer of a valid @k counts as in use until replay inserted it.
 */
static void recovery_mark_key(struct cache_set *c, struct bkey *k)
{
	unsigned int p;

	if (bch_extent_invalid_reason(&c->checker, k))
		return;

	for (p = 0; p < KEY_PTRS(k); p++)
		if (ptr_available(c, k, p))
			atomic_inc(&PTR_BUCKET(c, k, p)->pin);

	bch_initial_mark_key(c, 0, k);
}

/*
 * Pins for the jsets read back, and every bucket their keys point into
 * marked in use: the allocator must not hand out a bucket that replay is
 * about to reference.
 */
static void recovery_mark_journal(struct cache_set *c, struct list_head *list)
{
	struct journal_replay *r;
	struct bkey *k;

	bch_journal_pin_entries(&c->journal, list);
	list_for_each_entry_reverse(r, list, list)
		for (k = bch_jset_next_key(&r->j, NULL); k;
		     k = bch_jset_next_key(&r->j, k))
			recovery_mark_key(c, k);
}

static void replay_report_dropped(const struct journal_replay *r,
				  const struct bkey *k, const char *why)
{
	char buf[KEY_TEXT_LEN];

	bch_extent_to_text(buf, sizeof(buf), k);
	pr_err_ratelimited("journal entry %llu: dropping key %s: %s\n",
			   jset_seq(&r->j), buf, why);
}

struct replay_count {
	unsigned int keys, dropped, entries;
};

/* Insert the valid keys of one jset, then let its pin go. */
static int recovery_replay_one(struct cache_set *c, struct journal_replay *r,
			       struct replay_count *n)
{
	struct keylist single;
	struct bkey *k;
	int ret;

	for (k = bch_jset_next_key(&r->j, NULL); k;
	     k = bch_jset_next_key(&r->j, k)) {
		const char *why = bch_extent_invalid_reason(&c->checker, k);

		if (why) {
			replay_report_dropped(r, k, why);
			n->dropped++;
			continue;
		}
		bch_keylist_init_single(&single, k);

		ret = bch_btree_insert(c, &single, r->pin, NULL);
		if (ret)
			return ret;

		n->keys++;
		cond_resched();
	}

	if (r->pin)
		atomic_dec(r->pin);
	return 0;
}

/* @list passed bch_journal_complete() when registration read it. */
static int recovery_replay_journal(struct cache_set *c, struct list_head *list)
{
	struct replay_count n = {};
	struct journal_replay *r;
	int ret = 0;
	u64 last;

	if (list_empty(list))
		return 0;

	last = jset_seq(&replay_newest(list)->j);
	list_for_each_entry(r, list, list) {
		ret = recovery_replay_one(c, r, &n);
		if (ret) {
			pr_err("journal replay of entry %llu failed: %i\n",
			       jset_seq(&r->j), ret);
			goto out;
		}
		n.entries++;
	}

	pr_info("journal replay done, %i keys in %i entries, seq %llu\n",
		n.keys, n.entries, last);
	if (n.dropped)
		pr_err("journal replay dropped %u invalid keys\n", n.dropped);
out:
	bch_journal_entries_free(list);
	return ret;
}

/* ---------------------------------------------------------------------
 * The set as a whole
 */

static const char *check_jset_pointers(struct cache_set *c,
				       const struct jset *j)
{
	u64 prio = le64_to_cpu(j->prio_bucket[0]);
	struct cache *ca = c->cache;

	if (prio < ca->sb.first_bucket || prio >= ca->sb.nbuckets)
		return "bad prio bucket";
	if (le16_to_cpu(j->btree_level) > BTREE_MAX_DEPTH)
		return "bad btree root level";
	return NULL;
}

static const char *open_btree_root(struct cache_set *c, struct jset *j)
{
	struct bkey *k = &j->btree_root;
	struct btree *b;

	if (__bch_btree_ptr_invalid(&c->checker, k))
		return "bad btree root";

	b = bch_btree_node_get(c, NULL, k, le16_to_cpu(j->btree_level),
			       true, NULL);
	if (IS_ERR_OR_NULL(b))
		return "error reading btree root";

	list_del_init(&b->list);
	rw_unlock(true, b);
	c->root = b;
	return NULL;
}

/* Why reading the journal failed, as registration reports it. */
static const char *journal_read_error(int ret)
{
	switch (ret) {
	case -ENOMEM:
		return "cannot allocate memory for journal";
	case -EINVAL:
		return "too many journal buckets";
	default:
		return "IO error reading journal";
	}
}

/* The newest jset says where everything is; the journal has the rest. */
const char *bch_cache_set_recover(struct cache_set *c, struct list_head *journal)
{
	BKEY_PADDED(key) old;
	struct cache *ca = c->cache;
	const char *err = NULL;
	struct jset *j;
	int ret;

	ret = bch_journal_read(c, journal);
	if (ret)
		return journal_read_error(ret);
	if (list_empty(journal))
		return "no journal entries found";
	/* Before the allocator or a btree split could write a jset. */
	if (!bch_journal_complete(journal, CACHE_DISCARD(&ca->sb)))
		return "bcache: replay journal failed";
	j = &list_last_entry(journal, struct journal_replay, list)->j;

	err = check_jset_pointers(c, j);
	if (err)
		return err;
	if (bch_prio_read(ca, le64_to_cpu(j->prio_bucket[0]), &err))
		return err ?: "IO error reading priorities";

	err = open_btree_root(c, j);
	if (!err)
		err = bch_uuid_table_read(c, j);
	if (err)
		return err;

	if (bch_btree_check(c))
		return "error in recovery";
	recovery_mark_journal(c, journal);
	bch_initial_gc_finish(c);

	/* Not sooner: gc's finish would see gens past the journal's. */
	bch_journal_next(&c->journal);

	if (bch_cache_allocator_start(ca))
		return "error starting allocator thread";

	/*
	 * The first point where buckets may be allocated. An old-format
	 * table is rewritten before the next journal entry records it.
	 */
	if (le32_to_cpu(j->version) < BCACHE_JSET_VERSION_UUID &&
	    bch_uuid_table_relocate(c, &old.key))
		return "cannot write uuids";

	if (recovery_replay_journal(c, journal))
		return "bcache: replay journal failed";
	return NULL;
}

/* Journal buckets right after first_bucket, as make-bcache lays them out. */
static const char *cache_set_lay_out_journal(struct cache *ca)
{
	unsigned int n = clamp_t(u64, ca->sb.nbuckets >> 7, 2,
				 SB_JOURNAL_BUCKETS);
	unsigned int i;

	if ((u64)ca->sb.first_bucket + n > ca->sb.nbuckets)
		return "not enough buckets for the journal";

	ca->sb.keys = n;
	for (i = 0; i < n; i++)
		ca->sb.d[i] = ca->sb.first_bucket + i;
	return NULL;
}

static const char *cache_set_make_root(struct cache_set *c, struct closure *cl)
{
	struct btree *b = __bch_btree_node_alloc(c, NULL, 0, true, NULL);

	if (IS_ERR_OR_NULL(b))
		return "cannot allocate new btree root";

	mutex_lock(&b->write_lock);
	bkey_copy_key(&b->key, &MAX_KEY);
	bch_btree_node_write(b, cl);
	mutex_unlock(&b->write_lock);

	bch_btree_set_root(b);
	rw_unlock(true, b);
	return NULL;
}

/* A cache never synced holds nothing we can use: start it afresh. */
const char *bch_cache_set_create(struct cache_set *c, struct closure *cl)
{
	BKEY_PADDED(key) old;
	struct cache *ca = c->cache;
	const char *err;
	int ret;

	pr_notice("invalidating existing data\n");
	err = cache_set_lay_out_journal(ca);
	if (err)
		return err;

	bch_initial_gc_finish(c);
	if (bch_cache_allocator_start(ca))
		return "error starting allocator thread";

	mutex_lock(&c->bucket_lock);
	ret = bch_prio_write(ca, true);
	mutex_unlock(&c->bucket_lock);
	if (ret)
		return "cannot write priorities";

	if (bch_uuid_table_relocate(c, &old.key))
		return "cannot allocate new UUID bucket";

	err = cache_set_make_root(c, cl);
	if (err)
		return err;

	/* No journal entry is written before this: the set is complete now. */
	SET_CACHE_SYNC(&ca->sb, true);
	bch_journal_next(&c->journal);
	bch_journal_meta(c, cl);
	return NULL;
}

/* ---------------------------------------------------------------------
 * Synchronous again
 */

/**
 * bch_cache_set_sync_on() - turn `synchronous` on in a running set
 * @c: the set, with synchronous off
 *
 * With CACHE_SYNC on disk the next registration trusts the journal and
 * the btree there; while it was off, inserts went only to nodes in memory
 * and no jset was written. So the flag may reach the disk only after the
 * metadata describes the cache as it is: journaling resumes first (every
 * later insert is journaled), then every node written before is on disk
 * (the keys made while it was off), then a jset names the root, the uuids
 * and the prios (the allocator kept writing gens all along), and only
 * then does the superblock go out. No other superblock write may carry
 * the flag out earlier: they wait.
 */
void bch_cache_set_sync_on(struct cache_set *c)
{
	struct closure cl;

	bch_write_super_hold(c);
	mutex_lock(&c->bucket_lock);
	SET_CACHE_SYNC(&c->cache->sb, true);
	mutex_unlock(&c->bucket_lock);

	bch_btree_flush_all(c);
	closure_init_stack(&cl);
	bch_journal_meta(c, &cl);
	closure_sync(&cl);

	bch_write_super_held(c);
}

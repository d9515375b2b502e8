/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The journal: a log of btree keys, so that an insert is durable as soon
 * as its jset is on disk, long before the btree nodes it went into are
 * written.
 *
 * On disk the journal is the ring of buckets listed in the cache
 * superblock (sb.d[]); each holds jsets written one after another, each
 * jset a block-aligned run of keys with its sequence number, the seq of
 * the oldest jset still needed (last_seq), and the btree root, uuid bucket
 * and prio buckets as of that write. Replay (on registration) finds the
 * newest bucket, reads every jset from last_seq on and re-inserts their
 * keys in order.
 *
 * In memory there are two write buffers (w[0], w[1]): keys go into the
 * current one while the other may be in flight. Each open jset has a pin
 * (an atomic count in the pin ring, front = oldest = last_seq): a btree
 * node that takes keys from jset N holds N's pin until the node is written;
 * when the ring or the buckets are full, journal reclaim flushes the btree
 * nodes holding the oldest pin and frees buckets whose jsets are all
 * unpinned.
 *
 * Lock order: journal.lock nests inside a btree node's write_lock, never
 * the other way round; flush_write_lock serialises btree flushes.
 */
#ifndef _BCACHE_JOURNAL_H
#define _BCACHE_JOURNAL_H

#include <linux/bio.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "bcache_ondisk.h"
#include "closure.h"
#include "util.h"

struct cache_set;
struct cache;
struct keylist;

/* A jset read back from disk during registration, until replay is done. */
struct journal_replay {
	struct list_head	list;
	atomic_t		*pin;
	struct jset		j;	/* followed by its keys */
};

/* Largest jset we write or read: 2^JSET_BITS pages. */
#define JSET_BITS		3

struct journal_write {
	struct jset		*data;
	struct cache_set	*c;
	struct closure_waitlist	wait;	/* closures waiting for this write */
	bool			dirty;
	bool			need_write;
};

struct journal {
	spinlock_t		lock;
	spinlock_t		flush_write_lock;
	bool			btree_flushing;
	bool			do_reserve;
	/* Waiting for room in the journal. */
	struct closure_waitlist	wait;
	struct closure		io;
	int			io_in_flight;
	struct delayed_work	work;		/* journal_delay_ms flush */

	unsigned int		blocks_free;	/* in the current bucket */
	u64			seq;		/* of the current jset */
	BCH_RING(atomic_t)	pin;

	/* Where the next jset goes: the current journal bucket. */
	BKEY_PADDED(key);

	struct journal_write	w[2], *cur;
};

/* Per cache device: which bucket of sb.d[] holds what. */
struct journal_device {
	/* Newest seq written to each journal bucket. */
	u64			seq[SB_JOURNAL_BUCKETS];
	unsigned int		cur_idx;	/* being written */
	unsigned int		last_idx;	/* oldest still needed */
	unsigned int		discard_idx;	/* next to discard */

#define DISCARD_READY		0
#define DISCARD_IN_FLIGHT	1
#define DISCARD_DONE		2
	atomic_t		discard_in_flight;
	struct work_struct	discard_work;
	struct bio		discard_bio;
	struct bio_vec		discard_bv;

	struct bio		bio;
	struct bio_vec		bv[8];
};

/* Journal reservations: room kept for the btree flush itself. */
#define BCH_JOURNAL_RESERVE	7
#define BCH_JOURNAL_RPOS	1
#define BCH_JOURNAL_BUCKETS_RESERVE	(BCH_JOURNAL_RESERVE + BCH_JOURNAL_RPOS)

/* Pin count per open jset; the ring holds this many. */
#define JOURNAL_PIN		20000

static inline u64 journal_pin_seq(struct journal *j, atomic_t *pin)
{
	return j->seq - bch_ring_used(&j->pin) + 1 +
	       bch_ring_index(&j->pin, pin);
}

static inline u64 journal_last_seq(struct journal *j)
{
	return j->seq - bch_ring_used(&j->pin) + 1;
}

/*
 * Add @keys (may be NULL: only a commit point) to the journal. Returns the
 * pin of the jset they went into, with a reference the caller hands to
 * the btree node (or drops); @parent, if given, waits for the write.
 */
atomic_t *bch_journal(struct cache_set *c, struct keylist *keys,
		      struct closure *parent);
void bch_journal_next(struct journal *j);
void bch_journal_mark(struct cache_set *c, struct list_head *list);
void bch_journal_meta(struct cache_set *c, struct closure *cl);
int bch_journal_read(struct cache_set *c, struct list_head *list);
int bch_journal_replay(struct cache_set *c, struct list_head *list);
void bch_journal_space_reserve(struct journal *j);
void bch_journal_free(struct cache_set *c);
int bch_journal_alloc(struct cache_set *c);
/* Free the list bch_journal_read() built. */
void bch_journal_entries_free(struct list_head *list);

#endif /* _BCACHE_JOURNAL_H */

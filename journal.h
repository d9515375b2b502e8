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
#define JSET_MAX_BYTES		(PAGE_SIZE << JSET_BITS)

/* One of the two jset buffers: filling up, or being written. */
struct journal_write {
	struct cache_set	*c;
	struct jset		*data;		/* 2^JSET_BITS pages */
	bool			need_write;	/* somebody wants it on disk */
	bool			dirty;		/* delayed flush queued */
	/* Parents of bch_journal() callers that wait for the write. */
	struct closure_waitlist	wait;
};

/* Journal pins (one count per open jset). */
DEFINE_BCH_RING(bch_pin_ring, atomic_t);

struct journal {
	u64			seq;		/* of the open jset */
	struct journal_write	w[2];
	struct journal_write	*cur;		/* the open one */

	/* One count per open jset; the front one is last_seq's. */
	struct bch_pin_ring	pin;

	/* Where the next jset goes, in the current journal bucket. */
	BKEY_PADDED(key);
	unsigned int		blocks_free;

	spinlock_t		lock;		/* everything above */

	/*
	 * last_seq of the newest jset whose write completed: what replay
	 * would need if the set stopped now. Set in the write's completion
	 * (interrupt context), hence atomic rather than under lock.
	 */
	atomic64_t		last_seq_ondisk;

	/* The write path: one journal_write in flight at a time. */
	struct closure		io;
	int			io_in_flight;
	struct delayed_work	work;		/* journal_delay_ms flush */

	/* bch_journal() callers waiting for room. */
	struct closure_waitlist	wait;

	spinlock_t		flush_write_lock; /* btree_flushing */
	bool			btree_flushing;
	/*
	 * Writes the btree nodes that pin @oldest (btree.c installs it with
	 * the node cache): the journal knows pins, not nodes.
	 */
	void			(*flush_btree_fn)(struct cache_set *c,
						  atomic_t *oldest);
	bool			do_reserve;	/* keep a bucket for flushes */
	/* Under lock: new roots' commits waiting, which may use that bucket. */
	unsigned int		reserve_wanted;
};

/* State of a journal bucket's discard (journal_device.discard_in_flight). */
enum {
	DISCARD_READY,		/* none issued: may start the next */
	DISCARD_IN_FLIGHT,
	DISCARD_DONE,		/* finished: discard_idx may move on */
};

/* What journal reclaim does with the next journal bucket to discard. */
enum journal_discard_step {
	JOURNAL_DISCARD_NOW,	/* no jset on disk needs it: discard */
	JOURNAL_DISCARD_WAIT,	/* the newest jset on disk still names it */
	JOURNAL_DISCARD_SKIP,	/* needed for space now: reuse undiscarded */
};

/* Per cache device: which bucket of sb.d[] holds what. */
struct journal_device {
	/* Reads at registration and jset writes, one at a time. */
	struct bio		bio;
	struct bio_vec		bv[1 << JSET_BITS];

	/*
	 * Indexes into sb.d[]: jsets go into cur_idx; last_idx is the oldest
	 * bucket replay would still need; buckets from discard_idx up to
	 * last_idx are being discarded, one at a time.
	 */
	unsigned int		cur_idx;
	unsigned int		last_idx;
	unsigned int		discard_idx;

	atomic_t		discard_in_flight;	/* DISCARD_* */
	struct bio_vec		discard_bv;
	struct bio		discard_bio;
	struct work_struct	discard_work;

	/* Highest seq written to (or found in) each journal bucket. */
	u64			seq[SB_JOURNAL_BUCKETS];
};

/* Journal reservations: room kept for the btree flush itself. */
#define BCH_JOURNAL_RESERVE	7
#define BCH_JOURNAL_RPOS	1
#define BCH_JOURNAL_BUCKETS_RESERVE	(BCH_JOURNAL_RESERVE + BCH_JOURNAL_RPOS)

/* Pin count per open jset; the ring holds this many. */
#define JOURNAL_PIN		20000

/* The journal's own workqueues, created at module load. */
int bch_journal_module_init(void);
void bch_journal_module_exit(void);

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
/* A commit point with no keys: the header (root, uuids, prios) only. */
void bch_journal_meta(struct cache_set *c, struct closure *cl);
/* The commit point of a new root, which may use the reserved bucket. */
void bch_journal_root(struct cache_set *c, struct closure *cl);
/* Open the next jset (also the first one, at registration). */
void bch_journal_next(struct journal *j);
/* From now on keep a bucket free for the btree flushes reclaim needs. */
void bch_journal_space_reserve(struct journal *j);

/*
 * Registration (recovery.c), in this order: read, complete, pin the
 * entries, next; replay then drops each entry's pin.
 */
int bch_journal_read(struct cache_set *c, struct list_head *list);
/*
 * Every jset replay needs was found (else says which are missing); with
 * @discard, as 6.12 allows, but for the oldest ones, which may be discarded.
 */
bool bch_journal_complete(struct list_head *list, bool discard);
void bch_journal_pin_entries(struct journal *j, struct list_head *list);
/* The keys of a jset read back: NULL first, NULL at the end. */
struct bkey *bch_jset_next_key(const struct jset *j, struct bkey *k);
/* Free the list bch_journal_read() built. */
void bch_journal_entries_free(struct list_head *list);

int bch_journal_alloc(struct cache_set *c);
void bch_journal_free(struct cache_set *c);

static inline u64 jset_seq(const struct jset *j)
{
	return le64_to_cpu(j->seq);
}

static inline u64 jset_last_seq(const struct jset *j)
{
	return le64_to_cpu(j->last_seq);
}

static inline struct journal_replay *replay_newest(struct list_head *list)
{
	return list_last_entry(list, struct journal_replay, list);
}

/* Bytes of a jset header followed by @u64s words of keys. */
static inline size_t jset_bytes_for(size_t u64s)
{
	return sizeof(struct jset) + u64s * sizeof(u64);
}

static inline size_t jset_bytes(const struct jset *j)
{
	return jset_bytes_for(le32_to_cpu(j->keys));
}

/* What the csum of @j must be: everything after the csum field. */
static inline u64 jset_csum(const struct jset *j)
{
	return bch_csum_range(j, jset_bkey_last(j));
}

/*
 * The search for the newest journal bucket, apart from the I/O so it can
 * be tested on its own: @read loads journal bucket @idx into the replay
 * list (> 0 if that added entries, 0 if not, < 0 on error), @newest says
 * the highest seq in the list so far. @done records the buckets read.
 */
struct journal_search {
	unsigned int	nr;
	unsigned long	*done;
	int		(*read)(struct journal_search *s, unsigned int idx);
	u64		(*newest)(struct journal_search *s);
};

#if IS_ENABLED(CONFIG_KUNIT)
int bch_jset_verify(const struct jset *j, u64 magic, size_t have,
		    size_t room, const char **why);
int bch_jset_verify_write(const struct jset *j, u64 magic, size_t room,
			  const char **why);
int bch_journal_search(struct journal_search *s);
int bch_journal_list_add(struct list_head *list, const struct jset *j);
bool bch_journal_find_gap(struct list_head *list, u64 *first, u64 *last);
enum journal_discard_step bch_journal_discard_step(u64 bucket_seq,
						   u64 last_seq_ondisk,
						   bool need_space);
void bch_journal_discard_advance(struct cache_set *c, bool stuck);
#endif

#endif /* _BCACHE_JOURNAL_H */

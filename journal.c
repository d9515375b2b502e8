// SPDX-License-Identifier: GPL-2.0
/*
 * The journal of a cache set: reading it back at registration, the pins
 * that keep a jset until the btree holds its keys, and writing it.
 *
 * Registration (recovery.c) calls, in order: bch_journal_read() to collect
 * every jset that may still hold keys the btree has not persisted,
 * bch_journal_complete() to refuse a journal with a hole before anything
 * can write, bch_journal_pin_entries() to rebuild the pin ring,
 * bch_journal_next() to open the first new jset; its replay then pushes
 * the keys back into the btree and drops each jset's pin.
 *
 * After that, every btree insert passes its keys through bch_journal()
 * first. Keys gather in the open jset until a caller needs them on disk
 * (a flush, FUA, or a metadata commit point), the delayed flush fires, or
 * the jset is full; writing it is a closure (journal.io) that chains one
 * write after the other. When the ring of journal buckets or the pin ring
 * runs out, reclaim has the btree write the nodes that pin the oldest jset
 * (journal.flush_btree_fn, which the node cache installs), so the buckets
 * behind it can be reused: this file knows pins, not nodes.
 *
 * Only what parses cleanly from disk is believed: a jset that fails
 * bch_jset_verify() ends the bucket it was in, and registration refuses a
 * journal with holes. A jset about to be written passes
 * bch_jset_verify_write() first.
 *
 * Lock order: journal.lock, then flush_write_lock; journal.lock is never
 * held across I/O or a btree flush.
 */

#define pr_fmt(fmt) "bcache: %s() " fmt, __func__

#include <linux/bitmap.h>
#include <linux/hash.h>
#include <linux/list.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <kunit/visibility.h>

#include "bcache.h"
#include "btree.h"
#include "gc.h"
#include "journal.h"
#include "set.h"
#include "util.h"

#define JSET_MAX_SECTORS	(JSET_MAX_BYTES >> SECTOR_SHIFT)

/*
 * Journal writes run on their own reclaim-safe queue, so a journal write
 * never waits behind the work it is meant to unblock; the delayed flush
 * of an open jset needs no such guarantee.
 */
static struct workqueue_struct *bch_journal_wq;
static struct workqueue_struct *bch_flush_wq;

int bch_journal_module_init(void)
{
	bch_journal_wq = alloc_workqueue("bch_journal", WQ_MEM_RECLAIM, 0);
	bch_flush_wq = alloc_workqueue("bch_flush", 0, 0);
	if (bch_journal_wq && bch_flush_wq)
		return 0;
	bch_journal_module_exit();
	return -ENOMEM;
}

void bch_journal_module_exit(void)
{
	if (bch_flush_wq)
		destroy_workqueue(bch_flush_wq);
	if (bch_journal_wq)
		destroy_workqueue(bch_journal_wq);
	bch_flush_wq = NULL;
	bch_journal_wq = NULL;
}

static inline bool journal_is_full(struct journal *j)
{
	return !j->blocks_free || bch_ring_room(&j->pin) <= 1;
}

/* ---------------------------------------------------------------------
 * Parsing jsets
 */

/* Magic and size: whether the bytes at @j can be a jset at all. */
static int jset_check_bounds(const struct jset *j, u64 magic, size_t room,
			     const char **why)
{
	size_t bytes;

	if (le64_to_cpu(j->magic) != magic) {
		*why = "bad magic";
		return -ENODATA;
	}

	bytes = jset_bytes(j);
	if (bytes > room || bytes > JSET_MAX_BYTES) {
		*why = "too big";
		return -EFBIG;
	}
	return 0;
}

/* What the header says of itself; only believed once the csum matched. */
static int jset_check_header(const struct jset *j, const char **why)
{
	if (le32_to_cpu(j->version) > BCACHE_JSET_VERSION) {
		*why = "unknown version";
		return -EPROTO;
	}
	if (jset_last_seq(j) > jset_seq(j)) {
		*why = "last_seq after seq";
		return -EUCLEAN;
	}
	return 0;
}

/**
 * bch_jset_verify - decide whether the bytes at @j are a usable jset
 * @j:		candidate, at least a sector of it readable
 * @magic:	jset magic of this cache set
 * @have:	bytes readable from @j on
 * @room:	bytes left in the journal bucket from @j on
 * @why:	set to a short reason whenever the result is not 0
 *
 * -ENODATA: not a jset (nothing was ever written here); -EFBIG: claims to
 * be larger than the bucket or any jset we write; -EAGAIN: larger than
 * @have, read more and ask again; -EBADMSG: checksum mismatch (a torn
 * write); -EPROTO: a version we do not know; -EUCLEAN: inconsistent seqs.
 */
VISIBLE_IF_KUNIT int bch_jset_verify(const struct jset *j, u64 magic,
				     size_t have, size_t room, const char **why)
{
	int ret = jset_check_bounds(j, magic, room, why);

	if (ret)
		return ret;
	if (jset_bytes(j) > have) {
		*why = "partially read";
		return -EAGAIN;
	}
	if (le64_to_cpu(j->csum) != jset_csum(j)) {
		*why = "bad csum";
		return -EBADMSG;
	}
	/* Only checked now: a torn write could show any version. */
	ret = jset_check_header(j, why);
	if (ret)
		return ret;

	*why = NULL;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(bch_jset_verify);

/**
 * bch_jset_verify_write - the structural checks of a jset about to be written
 * @j:		sealed, in the write buffer
 * @magic:	jset magic of this cache set
 * @room:	bytes left in the journal bucket
 * @why:	set to a short reason whenever the result is not 0
 *
 * What bch_jset_verify() would say of it once read back, but the checksum
 * (it was just computed), and that its keys fill it exactly: replay stops
 * at a key that overruns, so such a jset would lose the keys after it.
 */
VISIBLE_IF_KUNIT int bch_jset_verify_write(const struct jset *j, u64 magic,
					   size_t room, const char **why)
{
	const struct bkey *k, *end = jset_bkey_last(j);
	int ret = jset_check_bounds(j, magic, room, why);

	if (!ret)
		ret = jset_check_header(j, why);
	if (ret)
		return ret;

	for (k = jset_start(j); k < end; k = bkey_next(k))
		if (bkey_next(k) > end) {
			*why = "key overruns the jset";
			return -EUCLEAN;
		}

	*why = NULL;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(bch_jset_verify_write);

/* Drop the entries every jset from @j on says are no longer needed. */
static void replay_list_expire(struct list_head *list, const struct jset *j)
{
	struct journal_replay *r, *tmp;

	list_for_each_entry_safe(r, tmp, list, list) {
		if (jset_seq(&r->j) >= jset_last_seq(j))
			break;
		list_del(&r->list);
		kfree(r);
	}
}

/*
 * Where @j goes in @list, kept in increasing seq order: the entry to add it
 * after, or NULL if it is a duplicate or already expired. Jsets mostly come
 * in order, so the walk starts from the newest.
 */
static struct list_head *replay_list_slot(struct list_head *list,
					  const struct jset *j)
{
	struct journal_replay *r;
	u64 seq = jset_seq(j);

	list_for_each_entry_reverse(r, list, list) {
		if (seq == jset_seq(&r->j) || seq < jset_last_seq(&r->j))
			return NULL;
		if (seq > jset_seq(&r->j))
			return &r->list;
	}
	return list;
}

/**
 * bch_journal_list_add - keep a copy of a verified jset for replay
 * @list:	jsets collected so far, oldest first
 * @j:		the jset; bch_jset_verify() accepted it
 *
 * Returns 1 if @j was added, 0 if it adds nothing (a duplicate, or older
 * than what the newer jsets still need), -ENOMEM.
 */
VISIBLE_IF_KUNIT int bch_journal_list_add(struct list_head *list,
					  const struct jset *j)
{
	struct list_head *after;
	struct journal_replay *r;

	replay_list_expire(list, j);

	after = replay_list_slot(list, j);
	if (!after)
		return 0;

	r = kmalloc(offsetof(struct journal_replay, j) + jset_bytes(j),
		    GFP_KERNEL);
	if (!r)
		return -ENOMEM;

	r->pin = NULL;
	r->j = *j;
	memcpy(r->j.d, j->d, le32_to_cpu(j->keys) * sizeof(u64));
	list_add(&r->list, after);
	return 1;
}
EXPORT_SYMBOL_IF_KUNIT(bch_journal_list_add);

/* The first run of seqs from @want on that @list lacks, if any. */
static bool journal_find_gap_from(struct list_head *list, u64 want,
				  u64 *first, u64 *last)
{
	struct journal_replay *r;

	list_for_each_entry(r, list, list) {
		u64 seq = jset_seq(&r->j);

		if (seq > want) {
			*first = want;
			*last = seq - 1;
			return true;
		}
		want = max(want, seq + 1);
	}
	return false;
}

/**
 * bch_journal_find_gap - look for jsets missing from a replay list
 * @list:	sorted, deduplicated list from bch_journal_read()
 * @first:	set to the first missing seq
 * @last:	set to the last missing seq of that run
 *
 * Replay needs every seq from the newest jset's last_seq up to the newest.
 * Returns true (and the first hole) if one is missing.
 */
VISIBLE_IF_KUNIT bool bch_journal_find_gap(struct list_head *list,
					   u64 *first, u64 *last)
{
	if (list_empty(list))
		return false;
	return journal_find_gap_from(list,
				     jset_last_seq(&replay_newest(list)->j),
				     first, last);
}
EXPORT_SYMBOL_IF_KUNIT(bch_journal_find_gap);

void bch_journal_entries_free(struct list_head *list)
{
	struct journal_replay *r, *tmp;

	list_for_each_entry_safe(r, tmp, list, list) {
		list_del(&r->list);
		kfree(r);
	}
}

/*
 * The keys of a replayed jset, with a bound check: a key whose header
 * claims more pointers than the jset has words left ends the walk.
 */
struct bkey *bch_jset_next_key(const struct jset *j, struct bkey *k)
{
	struct bkey *end = jset_bkey_last(j);

	k = k ? bkey_next(k) : jset_start(j);
	if (k >= end || bkey_next(k) > end)
		return NULL;
	return k;
}

/* ---------------------------------------------------------------------
 * Reading the journal
 */

/*
 * The journal's bios are embedded and set up afresh by every I/O, so each
 * is ended with bio_uninit() as the bio API asks. (bio_init() with a
 * device takes a blkcg reference, CONFIG_BLK_CGROUP; 6.12's bio_endio()
 * drops it even for callers that forget, which bdev_blkcg checks.)
 */
static void journal_read_endio(struct bio *bio)
{
	bio_uninit(bio);
	closure_put(bio->bi_private);
}

/* Synchronously read @sectors at @sector of @ca into @buf. */
static int journal_read_sectors(struct cache *ca, sector_t sector,
				unsigned int sectors, void *buf)
{
	struct bio *bio = &ca->journal.bio;
	struct closure done;

	closure_init_stack(&done);

	bio_init(bio, ca->bdev, ca->journal.bv, ARRAY_SIZE(ca->journal.bv),
		 REQ_OP_READ | REQ_META);
	bio->bi_iter.bi_sector = sector;
	bio->bi_iter.bi_size = sectors << SECTOR_SHIFT;
	bio->bi_end_io = journal_read_endio;
	bio->bi_private = &done;
	bch_bio_map(bio, buf);

	closure_bio_submit(ca->set, bio, &done);
	closure_sync(&done);

	return blk_status_to_errno(bio->bi_status);
}

/* Where reading one journal bucket got to. */
struct bucket_scan {
	struct cache		*ca;
	struct list_head	*list;
	unsigned int		idx;	/* into sb.d[] */
	unsigned int		pos;	/* sectors into the bucket */
	bool			ended;
	bool			added;
};

static void bucket_scan_report(struct bucket_scan *s, int err,
			       const char *why)
{
	struct cache *ca = s->ca;

	switch (err) {
	case -ENODATA:
		/* Unwritten space: the normal end of a bucket. */
		pr_debug("%pg: journal bucket %u: %s at sector %u\n",
			 ca->bdev, s->idx, why, s->pos);
		break;
	case -EBADMSG:
		/* A torn last write; replay checks nothing is missing. */
		pr_info("%pg: journal bucket %u (bucket %llu): %s at sector %u\n",
			ca->bdev, s->idx, ca->sb.d[s->idx], why, s->pos);
		break;
	default:
		pr_err("%pg: journal bucket %u (bucket %llu): %s at sector %u\n",
		       ca->bdev, s->idx, ca->sb.d[s->idx], why, s->pos);
	}
}

/* Take in one verified jset; the bucket's newest seq follows it. */
static int bucket_scan_keep(struct bucket_scan *s, const struct jset *j)
{
	u64 *newest = &s->ca->journal.seq[s->idx];
	int ret = bch_journal_list_add(s->list, j);

	if (ret <= 0)
		return ret;

	s->added = true;
	*newest = max(*newest, jset_seq(j));
	return 0;
}

/*
 * Walk the jsets in @buf, which holds @sectors read from s->pos on. Stops
 * early, leaving s->pos at the jset, when one runs past what was read.
 */
static int bucket_scan_buffer(struct bucket_scan *s, void *buf,
			      unsigned int sectors)
{
	struct cache *ca = s->ca;
	unsigned int block = ca->sb.block_size;
	u64 magic = jset_magic(&ca->sb);
	unsigned int seen = 0;

	while (seen < sectors && !s->ended) {
		struct jset *j = buf + (seen << SECTOR_SHIFT);
		size_t room = (size_t)(ca->sb.bucket_size - s->pos) << SECTOR_SHIFT;
		unsigned int step;
		const char *why;
		int err;

		err = bch_jset_verify(j, magic,
				      (size_t)(sectors - seen) << SECTOR_SHIFT,
				      room, &why);
		if (err == -EAGAIN)
			return 0;
		if (err) {
			bucket_scan_report(s, err, why);
			s->ended = true;
			/* A jset from a newer bcache: do not guess. */
			return err == -EPROTO ? -EPROTO : 0;
		}

		err = bucket_scan_keep(s, j);
		if (err)
			return err;

		step = DIV_ROUND_UP(jset_bytes(j), block_bytes(ca)) * block;
		seen += step;
		s->pos += step;
	}
	return 0;
}

/*
 * Read every jset of journal bucket @idx into @list. Returns 1 if any was
 * added, 0 if none, or an error.
 */
static int journal_read_bucket(struct cache *ca, struct list_head *list,
			       unsigned int idx)
{
	struct bucket_scan s = { .ca = ca, .list = list, .idx = idx };
	void *buf = ca->set->journal.w[0].data;
	sector_t start = bucket_to_sector(ca->set, ca->sb.d[idx]);
	int ret;

	pr_debug("reading journal bucket %u\n", idx);

	while (!s.ended && s.pos < ca->sb.bucket_size) {
		unsigned int from = s.pos;
		unsigned int len = min_t(unsigned int,
					 ca->sb.bucket_size - s.pos,
					 JSET_MAX_SECTORS);

		ret = journal_read_sectors(ca, start + s.pos, len, buf);
		if (ret) {
			pr_err("%pg: journal bucket %u (bucket %llu): read error %i\n",
			       ca->bdev, idx, ca->sb.d[idx], ret);
			return ret;
		}

		ret = bucket_scan_buffer(&s, buf, len);
		if (ret)
			return ret;

		/* A jset that never fits what we read cannot be one of ours. */
		if (s.pos == from && !s.ended) {
			pr_err("%pg: journal bucket %u: jset at sector %u unreadable\n",
			       ca->bdev, idx, s.pos);
			s.ended = true;
		}
	}
	return s.added;
}

/* Read a bucket for the search, at most once, remembering it did. */
static int journal_search_read(struct journal_search *s, unsigned int idx)
{
	__set_bit(idx, s->done);
	return s->read(s, idx);
}

/* Phase one: probes spread over the ring, bucket 0 first, then the rest. */
static int journal_search_first_hit(struct journal_search *s,
				    unsigned int *hit)
{
	unsigned int i, idx;
	int ret;

	/*
	 * Bucket 0 must come first: if the ring wrapped, the jsets in it
	 * are newer than those in any bucket after the first hole.
	 *
	 * The step is upstream's, 2^32 / phi (GOLDEN_RATIO_32 is its
	 * negation): with the ring sizes make-bcache sets up (a power of
	 * two) it walks forwards from bucket 0, where a young journal is,
	 * so registration probes the same buckets as the kernel's bcache
	 * does. The negated step walked backwards through the empty end.
	 */
	for (i = 0; i < s->nr; i++) {
		idx = (u32)(i * (0U - GOLDEN_RATIO_32)) % s->nr;
		if (test_bit(idx, s->done))
			break;
		ret = journal_search_read(s, idx);
		if (ret) {
			*hit = idx;
			return ret;
		}
	}

	for_each_clear_bit(idx, s->done, s->nr) {
		ret = journal_search_read(s, idx);
		if (ret) {
			*hit = idx;
			return ret;
		}
	}
	return 0;
}

/*
 * Phase two: jsets get newer from @lo up to the newest bucket, then older
 * (or none). Bisect between @lo and the next bucket already read, which
 * did not hold anything newer, by whether a bucket raised the newest seq.
 */
static int journal_search_bisect(struct journal_search *s, unsigned int lo,
				 unsigned int *newest)
{
	unsigned int hi = find_next_bit(s->done, s->nr, lo + 1);

	while (hi - lo > 1) {
		unsigned int mid = lo + (hi - lo) / 2;
		u64 before = s->newest(s);
		int ret = journal_search_read(s, mid);

		if (ret < 0)
			return ret;
		if (s->newest(s) != before)
			lo = mid;
		else
			hi = mid;
	}
	*newest = lo;
	return 0;
}

/*
 * Phase three: from the newest bucket backwards, read what is still unread
 * until a bucket adds nothing; the jsets replay needs are all behind it.
 */
static int journal_search_backwards(struct journal_search *s,
				    unsigned int newest)
{
	unsigned int idx = newest;
	int ret;

	for (;;) {
		idx = idx ? idx - 1 : s->nr - 1;
		if (idx == newest)
			return 0;
		if (test_bit(idx, s->done))
			continue;
		ret = journal_search_read(s, idx);
		if (ret <= 0)
			return ret;
	}
}

/**
 * bch_journal_search - read the journal buckets replay needs
 * @s: the ring and how to read it
 *
 * Returns 0 (also for a journal with no jsets at all) or the first error
 * of @s->read.
 */
VISIBLE_IF_KUNIT int bch_journal_search(struct journal_search *s)
{
	unsigned int hit, newest;
	int ret;

	bitmap_zero(s->done, s->nr);

	ret = journal_search_first_hit(s, &hit);
	if (ret <= 0)
		return ret;

	ret = journal_search_bisect(s, hit, &newest);
	if (ret)
		return ret;

	return journal_search_backwards(s, newest);
}
EXPORT_SYMBOL_IF_KUNIT(bch_journal_search);

/* bch_journal_read()'s side of the search: real buckets, a real list. */
struct journal_read_ctx {
	struct journal_search	search;
	struct cache		*ca;
	struct list_head	*list;
};

static int journal_ctx_read(struct journal_search *s, unsigned int idx)
{
	struct journal_read_ctx *ctx =
		container_of(s, struct journal_read_ctx, search);

	return journal_read_bucket(ctx->ca, ctx->list, idx);
}

static u64 journal_ctx_newest(struct journal_search *s)
{
	struct journal_read_ctx *ctx =
		container_of(s, struct journal_read_ctx, search);

	if (list_empty(ctx->list))
		return 0;
	return jset_seq(&replay_newest(ctx->list)->j);
}

/*
 * Point the ring indexes at what was found: the newest bucket is the
 * current one, so the first new jset goes into the bucket after it.
 */
static void journal_set_ring_position(struct cache *ca)
{
	struct journal_device *ja = &ca->journal;
	unsigned int nr = ca->sb.keys, i;
	u64 best = 0;

	for (i = 0; i < nr; i++) {
		if (ja->seq[i] <= best)
			continue;
		best = ja->seq[i];
		ja->cur_idx = i;
		ja->last_idx = (i + 1) % nr;
		ja->discard_idx = ja->last_idx;
	}
}

int bch_journal_read(struct cache_set *c, struct list_head *list)
{
	struct cache *ca = c->cache;
	DECLARE_BITMAP(done, SB_JOURNAL_BUCKETS);
	struct journal_read_ctx ctx = {
		.search = {
			.nr	= ca->sb.keys,
			.done	= done,
			.read	= journal_ctx_read,
			.newest	= journal_ctx_newest,
		},
		.ca	= ca,
		.list	= list,
	};
	int ret;

	if (ca->sb.keys > SB_JOURNAL_BUCKETS) {
		pr_err("%pg: %u journal buckets, at most %u supported\n",
		       ca->bdev, ca->sb.keys, SB_JOURNAL_BUCKETS);
		return -EINVAL;
	}
	if (!ca->sb.keys)
		return 0;

	memset(ca->journal.seq, 0, sizeof(ca->journal.seq));
	pr_debug("%u journal buckets\n", ca->sb.keys);

	ret = bch_journal_search(&ctx.search);
	if (ret) {
		bch_journal_entries_free(list);
		return ret;
	}

	journal_set_ring_position(ca);
	if (!list_empty(list)) {
		c->journal.seq = jset_seq(&replay_newest(list)->j);
		atomic64_set(&c->journal.last_seq_ondisk,
			     jset_last_seq(&replay_newest(list)->j));
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Pins of the jsets read back
 */

/* A pin for the seq just before the oldest one in the ring, or NULL. */
static atomic_t *journal_pin_prepend(struct journal *j, int refs)
{
	atomic_t p = ATOMIC_INIT(0);

	/* Leave a slot for bch_journal_next(). */
	if (bch_ring_room(&j->pin) <= 1 || !bch_ring_push_front(&j->pin, p))
		return NULL;
	atomic_set(&bch_ring_front(&j->pin), refs);
	return &bch_ring_front(&j->pin);
}

/*
 * Rebuild the pin ring for the jsets read back: each replayed jset gets a
 * pin (holes an empty one, to keep the seq arithmetic), which replay drops
 * once its keys are in the btree. Newest first, so that if the ring ever
 * filled up it is the oldest entries that go without a pin.
 */
void bch_journal_pin_entries(struct journal *j, struct list_head *list)
{
	struct journal_replay *r;
	u64 next = j->seq;	/* seq whose pin goes in front next */

	list_for_each_entry_reverse(r, list, list) {
		u64 seq = jset_seq(&r->j);

		r->pin = NULL;
		if (seq > next) {
			pr_err("journal entry %llu out of order\n", seq);
			continue;
		}
		for (; next > seq; next--)
			journal_pin_prepend(j, 0);
		r->pin = journal_pin_prepend(j, 1);
		next = seq - 1;
	}
}

/*
 * Does @list hold every jset from the newest one's last_seq on? Registration
 * asks before it starts anything that could write to the journal, so a
 * journal with a hole is refused as it was found.
 *
 * With @discard (the cache's discard setting) the first jsets of the range
 * may be missing, as the kernel's driver accepts: it discards a journal
 * bucket once the last_seq in memory has passed it, and a set it stopped
 * can name older jsets than the ones it kept. What follows the missing
 * ones must be whole.
 */
bool bch_journal_complete(struct list_head *list, bool discard)
{
	u64 start, end, from, to, more, more_to;

	if (list_empty(list) || !bch_journal_find_gap(list, &from, &to))
		return true;

	start = jset_last_seq(&replay_newest(list)->j);
	end = jset_seq(&replay_newest(list)->j);
	if (discard && from == start &&
	    !journal_find_gap_from(list, to + 1, &more, &more_to)) {
		pr_info("journal entries %llu-%llu may be discarded! (replaying %llu-%llu)\n",
			from, to, start, end);
		return true;
	}

	pr_err("journal entries %llu-%llu missing! (replaying %llu-%llu)\n",
	       from, to, start, end);
	return false;
}

/* ---------------------------------------------------------------------
 * Making room: btree flushes, bucket reclaim, discards
 */

void bch_journal_space_reserve(struct journal *j)
{
	j->do_reserve = true;
}

/* Only one btree flush at a time; the others just return. */
static bool journal_flush_claim(struct journal *j)
{
	bool ours;

	if (READ_ONCE(j->btree_flushing))
		return false;

	spin_lock(&j->flush_write_lock);
	ours = !j->btree_flushing;
	j->btree_flushing = true;
	spin_unlock(&j->flush_write_lock);
	return ours;
}

static void journal_flush_release(struct journal *j)
{
	spin_lock(&j->flush_write_lock);
	j->btree_flushing = false;
	spin_unlock(&j->flush_write_lock);
}

/*
 * Write out the btree nodes that pin the oldest jset, so reclaim can drop
 * it and free the journal bucket it is in.
 */
static void btree_flush_write(struct cache_set *c)
{
	struct journal *j = &c->journal;
	atomic_t *oldest;
	int refs;

	if (!journal_flush_claim(j))
		return;

	spin_lock(&j->lock);
	oldest = &bch_ring_front(&j->pin);
	refs = atomic_read(oldest);
	spin_unlock(&j->lock);

	if (refs > 0 && j->flush_btree_fn) {
		atomic_long_inc(&c->flush_write);
		j->flush_btree_fn(c, oldest);
	}

	journal_flush_release(j);
}

static void journal_discard_endio(struct bio *bio)
{
	struct journal_device *ja =
		container_of(bio, struct journal_device, discard_bio);
	struct cache *ca = container_of(ja, struct cache, journal);
	struct cache_set *c = ca->set;

	bio_uninit(bio);
	atomic_set(&ja->discard_in_flight, DISCARD_DONE);
	closure_wake_up(&c->journal.wait);
	closure_put(&c->cl);
}

/* Discards are issued from a worker: reclaim runs under journal.lock. */
static void journal_discard_work(struct work_struct *work)
{
	struct journal_device *ja =
		container_of(work, struct journal_device, discard_work);

	submit_bio(&ja->discard_bio);
}

/**
 * bch_journal_discard_step - may a journal bucket reclaim freed be discarded?
 * @bucket_seq:		the newest seq written to the bucket
 * @last_seq_ondisk:	last_seq of the newest jset known to be on disk
 * @need_space:		the journal cannot write anything until a bucket frees
 *
 * Reclaim frees a bucket once no pin in memory holds its jsets, but the
 * newest jset on disk was sealed earlier and may still name them as
 * needed: discarding the bucket then would leave a journal that replay
 * refuses ("journal entries missing") if the set stopped or lost power
 * before the next jset landed. A clean stop hits that every time the
 * oldest jset still needed is in an older bucket than the last write. So
 * the discard waits for a jset that no longer needs the bucket. If the
 * journal is full and that jset cannot be written, the bucket is reused
 * without a discard, as on a device without discard.
 */
VISIBLE_IF_KUNIT enum journal_discard_step
bch_journal_discard_step(u64 bucket_seq, u64 last_seq_ondisk, bool need_space)
{
	if (bucket_seq < last_seq_ondisk)
		return JOURNAL_DISCARD_NOW;
	return need_space ? JOURNAL_DISCARD_SKIP : JOURNAL_DISCARD_WAIT;
}
EXPORT_SYMBOL_IF_KUNIT(bch_journal_discard_step);

static void journal_discard_issue(struct cache *ca)
{
	struct journal_device *ja = &ca->journal;
	struct bio *bio = &ja->discard_bio;

	atomic_set(&ja->discard_in_flight, DISCARD_IN_FLIGHT);
	bio_init(bio, ca->bdev, &ja->discard_bv, 1, REQ_OP_DISCARD);
	bio->bi_iter.bi_sector = bucket_to_sector(ca->set,
						  ca->sb.d[ja->discard_idx]);
	/* bi_size is 32 bits: of a bucket of 4 GiB or more, its start. */
	bio->bi_iter.bi_size = min_t(u64, bucket_bytes(ca),
				     round_down(UINT_MAX, PAGE_SIZE));
	bio->bi_end_io = journal_discard_endio;

	/* The set must outlive the discard. */
	closure_get(&ca->set->cl);
	queue_work(bch_journal_wq, &ja->discard_work);
}

static unsigned int journal_free_buckets(struct cache_set *c);

/*
 * Buckets between discard_idx and last_idx are no longer needed: discard
 * them one at a time, when the device wants discards. A bucket counts as
 * free only once its discard is done (or skipped, see above), even if
 * discards were turned off meanwhile: the journal must not write into a
 * bucket a discard may still wipe.
 */
VISIBLE_IF_KUNIT void bch_journal_discard_advance(struct cache_set *c,
						  bool stuck)
{
	struct cache *ca = c->cache;
	struct journal_device *ja = &ca->journal;
	u64 ondisk = atomic64_read(&c->journal.last_seq_ondisk);

	lockdep_assert_held(&c->journal.lock);

	if (!ca->sb.keys)
		return;

	if (atomic_read(&ja->discard_in_flight) == DISCARD_IN_FLIGHT)
		return;

	if (atomic_read(&ja->discard_in_flight) == DISCARD_DONE) {
		ja->discard_idx = (ja->discard_idx + 1) % ca->sb.keys;
		atomic_set(&ja->discard_in_flight, DISCARD_READY);
	}

	if (!ca->discard) {
		ja->discard_idx = ja->last_idx;
		return;
	}

	while (ja->discard_idx != ja->last_idx) {
		bool need_space = stuck && !c->journal.blocks_free &&
				  !journal_free_buckets(c);

		switch (bch_journal_discard_step(ja->seq[ja->discard_idx],
						 ondisk, need_space)) {
		case JOURNAL_DISCARD_NOW:
			journal_discard_issue(ca);
			return;
		case JOURNAL_DISCARD_WAIT:
			return;
		case JOURNAL_DISCARD_SKIP:
			ja->discard_idx = (ja->discard_idx + 1) % ca->sb.keys;
			break;
		}
	}
}
EXPORT_SYMBOL_IF_KUNIT(bch_journal_discard_advance);

/*
 * Buckets the journal may still move into: from the current one up to the
 * oldest not yet free, less one (and one more once the reserve for btree
 * flushes is on, unless a new root's commit is waiting for it).
 */
static unsigned int journal_free_buckets(struct cache_set *c)
{
	struct journal_device *ja = &c->cache->journal;
	unsigned int nr = c->cache->sb.keys;
	unsigned int keep = 1 + (c->journal.do_reserve &&
				 !c->journal.reserve_wanted);
	unsigned int ahead;

	if (ja->cur_idx < ja->discard_idx)
		ahead = ja->discard_idx - ja->cur_idx;
	else
		ahead = nr - (ja->cur_idx - ja->discard_idx);

	return ahead > keep ? ahead - keep : 0;
}

/* Move the journal into the next bucket of the ring. */
static void journal_open_next_bucket(struct cache_set *c)
{
	struct cache *ca = c->cache;
	struct journal_device *ja = &ca->journal;
	struct bkey *k = &c->journal.key;

	ja->cur_idx = (ja->cur_idx + 1) % ca->sb.keys;

	bkey_init(k);
	SET_KEY_PTRS(k, 1);
	k->ptr[0] = MAKE_PTR(0, bucket_to_sector(c, ca->sb.d[ja->cur_idx]),
			     ca->sb.nr_this_dev);

	c->journal.blocks_free = ca->sb.bucket_size >> c->block_bits;
	atomic_long_inc(&c->reclaimed_journal_buckets);
}

/* Under journal.lock: forget the oldest jsets nothing pins any more. */
static void journal_drop_unpinned(struct journal *j)
{
	atomic_t gone __maybe_unused;

	while (!bch_ring_empty(&j->pin) &&
	       !atomic_read(&bch_ring_front(&j->pin)))
		bch_ring_pop_front(&j->pin, gone);
}

/*
 * Under journal.lock: forget jsets nothing pins any more, free the buckets
 * that only held those, and, if the current bucket is used up, move on.
 * @stuck: the caller cannot write a jset until a bucket frees, so one may
 * not wait for its discard (bch_journal_discard_step()).
 */
static void journal_reclaim(struct cache_set *c, bool stuck)
{
	struct journal *j = &c->journal;
	struct cache *ca = c->cache;
	struct journal_device *ja = &ca->journal;
	unsigned int nr = ca->sb.keys;
	u64 oldest;

	atomic_long_inc(&c->reclaim);
	journal_drop_unpinned(j);

	if (!nr)
		goto wake;

	oldest = journal_last_seq(j);
	while (ja->last_idx != ja->cur_idx && ja->seq[ja->last_idx] < oldest)
		ja->last_idx = (ja->last_idx + 1) % nr;

	bch_journal_discard_advance(c, stuck);

	if (!j->blocks_free && journal_free_buckets(c))
		journal_open_next_bucket(c);
wake:
	if (!journal_is_full(j))
		__closure_wake_up(&j->wait);
}

void bch_journal_next(struct journal *j)
{
	atomic_t one = ATOMIC_INIT(1);

	j->cur = j->cur == &j->w[0] ? &j->w[1] : &j->w[0];

	/*
	 * The new pin and the new seq go together: journal_last_seq() is
	 * computed from both.
	 */
	if (WARN_ON_ONCE(!bch_ring_push_back(&j->pin, one)))
		return;
	atomic_set(&bch_ring_back(&j->pin), 1);
	j->seq++;

	j->cur->data->seq = cpu_to_le64(j->seq);
	j->cur->data->keys = 0;
	j->cur->dirty = false;
	j->cur->need_write = false;

	if (bch_ring_full(&j->pin))
		pr_debug("journal pin ring full (%zu)\n",
			 (size_t)bch_ring_used(&j->pin));
}

/* ---------------------------------------------------------------------
 * Writing
 */

static CLOSURE_CALLBACK(journal_write_start);

static void journal_write_endio(struct bio *bio)
{
	struct journal_write *w = bio->bi_private;

	/*
	 * The set fails, and its I/O stops even if it is stopping already
	 * (when the error report is dropped): the jsets before this one stay
	 * the newest on disk, so last_seq_ondisk must not move on and let
	 * reclaim discard buckets a replay still needs, and no later jset
	 * may land after the gap.
	 */
	if (bio->bi_status) {
		bch_cache_set_error(w->c, "journal io error");
		set_bit(CACHE_SET_IO_DISABLE, &w->c->flags);
	}
	bio_uninit(bio);
	closure_put(&w->c->journal.io);
}

/* The write of the previous jset is on disk: wake who waited for it. */
static CLOSURE_CALLBACK(journal_write_done)
{
	closure_type(j, struct journal, io);
	struct cache_set *c = container_of(j, struct cache_set, journal);
	struct journal_write *written = j->cur == &j->w[0] ? &j->w[1]
							   : &j->w[0];

	/* A failed write leaves the older jsets the newest on disk. */
	if (!test_bit(CACHE_SET_IO_DISABLE, &c->flags))
		atomic64_set(&j->last_seq_ondisk,
			     le64_to_cpu(written->data->last_seq));

	__closure_wake_up(&written->wait);
	/* The other buffer may have filled meanwhile. */
	continue_at_nobarrier(cl, journal_write_start, bch_journal_wq);
}

/*
 * Destructor of journal.io when there is nothing (left) to write. Runs
 * with journal.lock held, so io_in_flight drops under the same lock that
 * journal_try_write() tests it under.
 */
static CLOSURE_CALLBACK(journal_write_idle)
	__releases(&c->journal.lock)
{
	closure_type(c, struct cache_set, journal.io);

	lockdep_assert_held(&c->journal.lock);
	c->journal.io_in_flight = 0;
	spin_unlock(&c->journal.lock);
}

/* Fill in what the header of the jset records about the cache set. */
static void journal_seal(struct cache_set *c, struct jset *d)
{
	struct cache *ca = c->cache;

	d->btree_level = cpu_to_le16(c->root->level);
	bkey_copy(&d->btree_root, &c->root->key);
	bkey_copy(&d->uuid_bucket, &c->uuid_bucket);
	if (ca->sb.nr_this_dev < MAX_CACHES_PER_SET)
		d->prio_bucket[ca->sb.nr_this_dev] =
			cpu_to_le64(ca->prio_buckets[0]);

	d->magic = cpu_to_le64(jset_magic(&ca->sb));
	d->version = cpu_to_le32(BCACHE_JSET_VERSION);
	d->last_seq = cpu_to_le64(journal_last_seq(&c->journal));
	d->csum = cpu_to_le64(jset_csum(d));
}

/*
 * A jset that would not read back as it is meant to (a bug, not a disk
 * error) is not written: its bios fail as if the device had refused them,
 * and the set stops.
 */
static bool jset_write_refused(struct cache_set *c, const struct jset *j,
			       size_t room)
{
	const char *why;

	if (!bch_jset_verify_write(j, jset_magic(&c->cache->sb), room, &why))
		return false;
	cache_bug(c, "journal entry %llu not written: %s", jset_seq(j), why);
	return true;
}

/*
 * Under journal.lock: build the bios writing the current jset to each
 * pointer of the journal key, and advance the key past it. True if the
 * jset failed its checks: then the bios must not reach the device.
 */
static bool journal_build_bios(struct cache_set *c, struct journal_write *w,
			       struct bio_list *bios)
{
	struct bkey *k = &c->journal.key;
	struct cache *ca = c->cache;
	unsigned int blocks = DIV_ROUND_UP(jset_bytes(w->data), block_bytes(ca));
	unsigned int sectors = blocks * ca->sb.block_size;
	size_t room = (size_t)c->journal.blocks_free * block_bytes(ca);
	bool refused;
	unsigned int p;

	c->journal.blocks_free -= blocks;
	/*
	 * last_seq as of now, not as of the last reclaim: after a stop's
	 * btree flush the final jset then names only itself, and the next
	 * registration replays nothing the btree already holds.
	 */
	journal_drop_unpinned(&c->journal);
	journal_seal(c, w->data);
	refused = jset_write_refused(c, w->data, room);

	for (p = 0; p < KEY_PTRS(k); p++) {
		struct bio *bio = &ca->journal.bio;

		bio_init(bio, ca->bdev, ca->journal.bv,
			 ARRAY_SIZE(ca->journal.bv),
			 REQ_OP_WRITE | REQ_SYNC | REQ_META |
			 REQ_PREFLUSH | REQ_FUA);
		bio->bi_iter.bi_sector = PTR_OFFSET(k, p);
		bio->bi_iter.bi_size = sectors << SECTOR_SHIFT;
		bio->bi_end_io = journal_write_endio;
		bio->bi_private = w;
		bch_bio_map(bio, w->data);
		bio_list_add(bios, bio);

		SET_PTR_OFFSET(k, p, PTR_OFFSET(k, p) + sectors);
		ca->journal.seq[ca->journal.cur_idx] = jset_seq(w->data);
		atomic_long_add(sectors, &ca->meta_sectors_written);
	}
	return refused;
}

/*
 * The body of journal.io, entered with journal.lock held: write the
 * current jset if asked to, making room first if the journal is full.
 */
static CLOSURE_CALLBACK(journal_write_locked)
	__releases(&c->journal.lock)
{
	closure_type(c, struct cache_set, journal.io);
	struct journal *j = &c->journal;
	struct journal_write *w = j->cur;
	struct bio_list bios;
	struct bio *bio;
	bool refused;

	if (!w->need_write) {
		/* journal_write_idle() drops the lock. */
		__release(&c->journal.lock);
		closure_return_with_destructor(cl, journal_write_idle);
		return;
	}

	if (journal_is_full(j)) {
		journal_reclaim(c, true);
		spin_unlock(&j->lock);

		btree_flush_write(c);
		continue_at(cl, journal_write_start, bch_journal_wq);
		return;
	}

	bio_list_init(&bios);
	refused = journal_build_bios(c, w, &bios);
	WARN_ON_ONCE(bio_list_empty(&bios));

	/* The jset's own reference: it is sealed now. */
	atomic_dec(&bch_ring_back(&j->pin));
	bch_journal_next(j);
	journal_reclaim(c, false);

	spin_unlock(&j->lock);

	while ((bio = bio_list_pop(&bios))) {
		if (unlikely(refused)) {
			closure_get(cl);
			bio_io_error(bio);
		} else {
			closure_bio_submit(c, bio, cl);
		}
	}

	continue_at(cl, journal_write_done, NULL);
}

static CLOSURE_CALLBACK(journal_write_start)
{
	closure_type(c, struct cache_set, journal.io);

	spin_lock(&c->journal.lock);
	/* After a write landed: discards it made safe can start. */
	bch_journal_discard_advance(c, false);
	journal_write_locked(&cl->work);
}

/* Ask for the current jset to be written; drops journal.lock. */
static void journal_try_write(struct cache_set *c)
	__releases(&c->journal.lock)
{
	struct journal *j = &c->journal;

	j->cur->need_write = true;

	if (j->io_in_flight) {
		/* The running write loops back and sees need_write. */
		spin_unlock(&j->lock);
		return;
	}

	j->io_in_flight = 1;
	/* journal_write_locked() drops the lock. */
	__release(&c->journal.lock);
	closure_call(&j->io, journal_write_locked, NULL, &c->cl);
}

/* Would @nkeys more u64s of keys fit in @w, in this bucket and buffer? */
static bool journal_has_room(struct cache_set *c, struct journal_write *w,
			     size_t nkeys)
{
	struct cache *ca = c->cache;
	size_t bytes = jset_bytes_for(le32_to_cpu(w->data->keys) + nkeys);
	size_t sectors = DIV_ROUND_UP(bytes, block_bytes(ca)) *
			 ca->sb.block_size;

	return sectors <= min_t(size_t,
				(size_t)c->journal.blocks_free * ca->sb.block_size,
				JSET_MAX_SECTORS);
}

/* Could @nkeys u64s of keys fit in any jset at all? */
static bool journal_keys_ever_fit(struct cache_set *c, size_t nkeys)
{
	size_t bytes = jset_bytes_for(nkeys);

	return bytes <= JSET_MAX_BYTES && bytes <= bucket_bytes(c->cache);
}

/*
 * Return the open jset once @nkeys fit in it, with journal.lock held.
 * Until then: write out the open jset if it has keys, skip the tail of a
 * bucket too short for them, or, with the journal full, flush btree nodes
 * and wait for reclaim. With @reserve the bucket kept for flushes may be
 * used.
 */
static struct journal_write *journal_wait_for_room(struct cache_set *c,
						   size_t nkeys, bool reserve)
	__acquires(&c->journal.lock)
{
	struct journal *j = &c->journal;
	struct closure waiter;
	bool queued = false;

	closure_init_stack(&waiter);
	spin_lock(&j->lock);
	if (reserve)
		j->reserve_wanted++;

	for (;;) {
		struct journal_write *w = j->cur;

		if (journal_has_room(c, w, nkeys)) {
			if (reserve)
				j->reserve_wanted--;
			return w;
		}

		if (!journal_is_full(j) && !w->data->keys) {
			/* Nothing to write: only the bucket's tail is short. */
			j->blocks_free = 0;
			journal_reclaim(c, true);
			continue;
		}

		if (queued)
			closure_wait(&j->wait, &waiter);

		if (!journal_is_full(j)) {
			journal_try_write(c);
		} else {
			journal_reclaim(c, true);
			spin_unlock(&j->lock);
			btree_flush_write(c);
		}

		closure_sync(&waiter);
		spin_lock(&j->lock);
		queued = true;
	}
}

/* The journal_delay_ms flush of an open jset nobody waits on. */
static void journal_delayed_flush(struct work_struct *work)
{
	struct cache_set *c = container_of(to_delayed_work(work),
					   struct cache_set, journal.work);

	spin_lock(&c->journal.lock);
	if (c->journal.cur->dirty)
		journal_try_write(c);
	else
		spin_unlock(&c->journal.lock);
}

/*
 * Copy @u64s words of keys (none for a commit point) into the open jset.
 * Returns the pin of that jset with a reference for the caller, or NULL
 * if nothing is journaled (a set never synced, or shutting down).
 */
static __always_inline atomic_t *journal_add(struct cache_set *c,
					     const u64 *keys, size_t u64s,
					     struct closure *parent,
					     bool reserve)
{
	struct journal *j = &c->journal;
	struct journal_write *w;
	atomic_t *pin;

	if (unlikely(test_bit(CACHE_SET_IO_DISABLE, &c->flags)))
		return NULL;
	if (!CACHE_SYNC(&c->cache->sb))
		return NULL;
	if (WARN_ONCE(!journal_keys_ever_fit(c, u64s),
		      "bcache: %zu u64s of keys never fit a jset\n", u64s))
		return NULL;

	w = journal_wait_for_room(c, u64s, reserve);
	if (u64s) {
		memcpy(jset_bkey_last(w->data), keys, u64s * sizeof(u64));
		le32_add_cpu(&w->data->keys, u64s);
	}

	pin = &bch_ring_back(&j->pin);
	atomic_inc(pin);

	if (parent) {
		closure_wait(&w->wait, parent);
		journal_try_write(c);
		return pin;
	}

	if (!w->dirty) {
		w->dirty = true;
		queue_delayed_work(bch_flush_wq, &j->work,
				   msecs_to_jiffies(c->journal_delay_ms));
	}
	spin_unlock(&j->lock);
	return pin;
}

atomic_t *bch_journal(struct cache_set *c, struct keylist *keys,
		      struct closure *parent)
{
	return journal_add(c, keys->keys_p, bch_keylist_nkeys(keys), parent,
			   false);
}

/* A jset of no keys; @reserve: it may use the bucket kept for flushes. */
static void journal_commit_point(struct cache_set *c, struct closure *cl,
				 bool reserve)
{
	atomic_t *pin = journal_add(c, NULL, 0, cl, reserve);

	/* Nothing of the caller's lives in this jset: no pin to hold. */
	if (pin)
		atomic_dec(pin);
}

/* A commit point: the header alone records root, uuids and prios. */
void bch_journal_meta(struct cache_set *c, struct closure *cl)
{
	journal_commit_point(c, cl, false);
}

/*
 * The split that makes a new root holds the write lock of the tree and,
 * through its insert, a pin that may be the oldest; with the journal full
 * its commit point could wait forever for a reclaim only its end allows
 * (small journal buckets, a few jsets each, filled by flushes from other
 * writers). It may take the bucket kept for flushes.
 */
void bch_journal_root(struct cache_set *c, struct closure *cl)
{
	journal_commit_point(c, cl, true);
}

/* ---------------------------------------------------------------------
 * Setup and teardown
 */

static void journal_device_init(struct cache *ca)
{
	struct journal_device *ja = &ca->journal;

	bio_init(&ja->bio, NULL, ja->bv, ARRAY_SIZE(ja->bv), 0);
	atomic_set(&ja->discard_in_flight, DISCARD_READY);
	INIT_WORK(&ja->discard_work, journal_discard_work);
}

void bch_journal_free(struct cache_set *c)
{
	struct journal *j = &c->journal;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(j->w); i++) {
		free_pages((unsigned long)j->w[i].data, JSET_BITS);
		j->w[i].data = NULL;
	}
	bch_ring_free(&j->pin);
}

int bch_journal_alloc(struct cache_set *c)
{
	struct journal *j = &c->journal;
	unsigned int i;

	spin_lock_init(&j->lock);
	spin_lock_init(&j->flush_write_lock);
	INIT_DELAYED_WORK(&j->work, journal_delayed_flush);

	c->journal_delay_ms = 100;

	if (bch_ring_alloc(&j->pin, JOURNAL_PIN, GFP_KERNEL))
		return -ENOMEM;

	for (i = 0; i < ARRAY_SIZE(j->w); i++) {
		j->w[i].c = c;
		/* Zeroed: unused header fields go to disk as zeroes. */
		j->w[i].data = (void *)__get_free_pages(GFP_KERNEL | __GFP_COMP |
							__GFP_ZERO, JSET_BITS);
		if (!j->w[i].data)
			return -ENOMEM;
	}

	if (c->cache)
		journal_device_init(c->cache);
	return 0;
}

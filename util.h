/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by several layers that the kernel does not already
 * provide: the latency bookkeeping behind the *_time sysfs files (a
 * struct time_stats records how long an operation took and how often it
 * runs, as exponentially weighted averages), bucket rings, mapping a bio
 * onto a buffer, the background rate limiter, and upstream's format of a
 * size in sysfs. Heaps come from <linux/min_heap.h> and FIFOs from
 * <linux/kfifo.h> wherever possible; this header grows only when a helper
 * is really needed by more than one file.
 */
#ifndef _BCACHE_UTIL_H
#define _BCACHE_UTIL_H

#include <linux/types.h>
#include <linux/bug.h>
#include <linux/spinlock.h>
#include <linux/sched/clock.h>
#include <linux/atomic.h>
#include <linux/log2.h>
#include <linux/slab.h>

struct bio;

/*
 * Debug-only assertion: warns with CONFIG_BCACHE_DEBUG, compiled to
 * nothing (while still type-checking @cond) otherwise. Only for invariants
 * of our own code, never for anything read from disk.
 */
#ifdef CONFIG_BCACHE_DEBUG
#define EBUG_ON(cond)		WARN_ON(cond)
#else
#define EBUG_ON(cond)		BUILD_BUG_ON_INVALID(cond)
#endif

/*
 * Timing statistics of one kind of operation. Everything is in nanoseconds
 * of local_clock(); the two averages are kept multiplied by
 * 1 << TIME_STATS_EWMA_SHIFT so the ewma does not lose its low bits.
 */
#define TIME_STATS_EWMA_SHIFT	8
#define TIME_STATS_EWMA_WEIGHT	8

struct time_stats {
	spinlock_t	lock;		/* serialises updates of the fields */
	u64		max_duration;
	u64		average_duration;
	u64		average_frequency;
	u64		last;		/* local_clock() of the last update, 0 if none */
};

static inline void bch_time_stats_init(struct time_stats *stats)
{
	*stats = (struct time_stats) {};
	spin_lock_init(&stats->lock);
}

/* Account one operation that began at @start_time (a local_clock() value). */
void bch_time_stats_update(struct time_stats *stats, u64 start_time);

/*
 * A ring of elements of one type, used where both ends matter: the
 * allocator's free lists (push at the back, pop at the front, and push
 * back at the front when an allocation is undone) and the journal's pin
 * counts (one per open journal entry, oldest at the front, indexable by
 * sequence number). kfifo cannot pop at the back or push at the front.
 *
 * Capacity is a power of two minus nothing: @mask + 1 slots, all usable;
 * @head and @tail run freely and are masked on access.
 */
#define DEFINE_BCH_RING(name, type)					\
	struct name {							\
		size_t	head, tail, mask;				\
		type	*slot;						\
	}

/* Free lists of bucket numbers (alloc.c). */
DEFINE_BCH_RING(bch_bucket_ring, long);

/*
 * The macros below evaluate their ring argument once (into a local of a
 * name no other ring macro uses, so they nest).
 */

/* Room for at least @n elements; 0 or -ENOMEM. */
#define bch_ring_alloc(r, n, gfp)					\
({									\
	typeof(r) _ral = (r);						\
	size_t _cap = roundup_pow_of_two(max_t(size_t, (n), 2));	\
									\
	_ral->head = 0;							\
	_ral->tail = 0;							\
	_ral->mask = _cap - 1;						\
	_ral->slot = kvmalloc_array(_cap, sizeof(*_ral->slot), (gfp));	\
	_ral->slot ? 0 : -ENOMEM;					\
})

#define bch_ring_free(r)						\
({									\
	typeof(r) _rfr = (r);						\
									\
	kvfree(_rfr->slot);						\
	_rfr->slot = NULL;						\
})

#define bch_ring_used(r)	({ typeof(r) _ru = (r); _ru->tail - _ru->head; })
#define bch_ring_size(r)	((r)->mask + 1)
#define bch_ring_room(r)						\
	({ typeof(r) _rr = (r); bch_ring_size(_rr) - bch_ring_used(_rr); })
#define bch_ring_empty(r)	(!bch_ring_used(r))
#define bch_ring_full(r)	(!bch_ring_room(r))
#define bch_ring_reset(r)						\
	({ typeof(r) _rz = (r); _rz->head = 0; _rz->tail = 0; })

/* The @i-th element counting from the front (0 = oldest); an lvalue. */
#define bch_ring_at(r, i)						\
	(*({ typeof(r) _rat = (r);					\
	     &_rat->slot[(_rat->head + (i)) & _rat->mask]; }))
#define bch_ring_front(r)	bch_ring_at(r, 0)
#define bch_ring_back(r)						\
	(*({ typeof(r) _rb = (r); &_rb->slot[(_rb->tail - 1) & _rb->mask]; }))
/* Position from the front of element pointer @p. */
#define bch_ring_index(r, p)						\
	({ typeof(r) _ri = (r); (((p) - _ri->slot) - _ri->head) & _ri->mask; })

/* Each returns false (and changes nothing) if the ring is full / empty. */
#define bch_ring_push_back(r, v)					\
({									\
	typeof(r) _rpb = (r);						\
	bool _ok = !bch_ring_full(_rpb);				\
									\
	if (_ok)							\
		_rpb->slot[_rpb->tail++ & _rpb->mask] = (v);		\
	_ok;								\
})
#define bch_ring_push_front(r, v)					\
({									\
	typeof(r) _rpf = (r);						\
	bool _ok = !bch_ring_full(_rpf);				\
									\
	if (_ok)							\
		_rpf->slot[--_rpf->head & _rpf->mask] = (v);		\
	_ok;								\
})
#define bch_ring_pop_front(r, v)					\
({									\
	typeof(r) _rqf = (r);						\
	bool _ok = !bch_ring_empty(_rqf);				\
									\
	if (_ok)							\
		(v) = _rqf->slot[_rqf->head++ & _rqf->mask];		\
	_ok;								\
})
#define bch_ring_pop_back(r, v)						\
({									\
	typeof(r) _rqb = (r);						\
	bool _ok = !bch_ring_empty(_rqb);				\
									\
	if (_ok)							\
		(v) = _rqb->slot[--_rqb->tail & _rqb->mask];		\
	_ok;								\
})

/*
 * Point @bio (already sized with bi_iter.bi_size and enough bvecs) at the
 * kernel memory @base, which may be vmalloc()ed or kmalloc()ed; or, with
 * @base NULL, at the pages already in its bvecs.
 */
void bch_bio_map(struct bio *bio, void *base);
/* Give each of @bio's bi_size bytes a fresh page; 0 or -ENOMEM. */
int bch_bio_alloc_pages(struct bio *bio, gfp_t gfp);

/*
 * Rate limiting for background work (writeback, moving gc): how long the
 * caller should sleep before doing @done more units at @rate units/s.
 */
struct bch_ratelimit {
	u64		next;		/* ns of local_clock() */
	atomic_long_t	rate;		/* units per second */
};

static inline void bch_ratelimit_reset(struct bch_ratelimit *d)
{
	d->next = local_clock();
}

u64 bch_next_delay(struct bch_ratelimit *d, u64 done);

/*
 * A cheap microsecond clock (local_clock() / 1024) for the congestion
 * tracking of the request path; it wraps, so only differences count.
 */
static inline unsigned int bch_clock_us(void)
{
	return local_clock() >> 10;
}

/*
 * A size in bytes as upstream's sysfs shows it ("4.0M"): three digits at
 * most, binary units. bch_sysfs_show_human() adds the newline sysfs wants.
 */
#define BCH_HUMAN_LEN	16	/* "-999.9k" and a NUL, with room to spare */
void bch_format_human(char out[BCH_HUMAN_LEN], s64 v);
ssize_t bch_sysfs_show_human(char *buf, s64 v);

#endif /* _BCACHE_UTIL_H */

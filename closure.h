/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Closures: reference counts that know what to do when they drain.
 *
 * Nearly everything bcache does is asynchronous: a request fans out into
 * bios, a btree node write waits for its data, the journal waits for space.
 * A closure counts the things still in flight for one such operation
 * (bios, child operations, waiters) and, when the count drains to zero,
 * either resumes the operation at a continuation function (on a workqueue
 * or in the context that dropped the last reference) or finishes it: runs an
 * optional destructor and drops the reference it held on its parent closure.
 * Chains of parents therefore behave like a call stack for asynchronous code,
 * and closure_sync() lets a thread sleep on the same counts.
 *
 * The rules callers follow are those of the kernel's own closures header, which
 * this file replaces for bcache alone: whoever got a reference with
 * closure_get() drops it with closure_put(); whoever owns the running
 * closure (after closure_init(), or inside a continuation) gives its
 * reference up with continue_at(), closure_return() or
 * closure_return_with_destructor(), and returns right after.
 *
 * Every out-of-line symbol carries a bch_ prefix, so that bcache links next
 * to a kernel that also builds lib/closure.c; the familiar names are inline
 * wrappers below.
 */

#ifndef _BCACHE_CLOSURE_H
#define _BCACHE_CLOSURE_H

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/llist.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct completion;
struct dentry;
struct seq_file;

/*
 * A continuation is a plain work function, so one can be queued on a
 * workqueue as it is; CLOSURE_CALLBACK() declares one and closure_type()
 * recovers the structure the closure is embedded in.
 */
typedef void (closure_fn)(struct work_struct *ws);

#define CLOSURE_CALLBACK(name)	void name(struct work_struct *ws)

#define closure_type(name, type, member)				\
	struct closure *cl = container_of(ws, struct closure, work);	\
	typeof(type) *(name) = container_of(cl, type, member)

/* Closures parked until someone calls closure_wake_up() on the list. */
struct closure_waitlist {
	struct llist_head	list;
};

/*
 * closure->remaining holds the reference count and the state flags in one
 * word, so that dropping a reference and changing state is a single atomic
 * operation that also tells the caller whether it dropped the last one.
 *
 *   bits  0..23  references
 *   bit  24      RUNNING: the owner has not yet given up the closure with
 *                continue_at() or a return; purely a misuse check
 *   bit  26      WAITING: the closure sits on a closure_waitlist, which
 *                holds one of the references
 *   bit  28      DESTRUCTOR: on the last put, fn is a destructor to call,
 *                not a continuation to resume
 *   bits 30..31  always clear
 *
 * The odd bits 25, 27 and 29 are guards that stay clear in a healthy
 * closure: setting a flag twice carries into its guard and clearing it twice
 * borrows from it, which the put path reports.
 */
enum closure_state_bits {
	CLOSURE_REFS		= (1U << 24) - 1,
	CLOSURE_RUNNING		= 1U << 24,
	CLOSURE_WAITING		= 1U << 26,
	CLOSURE_DESTRUCTOR	= 1U << 28,
	CLOSURE_FLAGS		= CLOSURE_RUNNING | CLOSURE_WAITING |
				  CLOSURE_DESTRUCTOR,
	CLOSURE_GUARDS		= CLOSURE_FLAGS << 1,
	CLOSURE_SPARE		= 3U << 30,
};

/* The state of a closure that is owned by the code running it. */
#define CLOSURE_FRESH		(CLOSURE_RUNNING | 1)

struct closure {
	/* Queued when fn runs on wq; fn's argument is &work. */
	struct work_struct	work;
	closure_fn		*fn;
	struct workqueue_struct	*wq;
	struct closure		*parent;
	atomic_t		remaining;
	struct llist_node	wait_node;
	/* Signalled when a closure_sync() caller may return. */
	struct completion	*sync_done;

#ifdef CONFIG_BCACHE_CLOSURES_DEBUG
	unsigned int		magic;
	struct list_head	debug_node;
	unsigned long		ip;
	unsigned long		waiting_on;
#endif
};

void bch_closure_get_failed(struct closure *cl, unsigned int refs);
bool bch_closure_get_not_zero(struct closure *cl);
void bch_closure_sub_slow(struct closure *cl, unsigned int old,
			  unsigned int v, unsigned long caller);
void bch_closure_queue(struct closure *cl);
bool bch_closure_wait(struct closure_waitlist *list, struct closure *cl,
		      unsigned long ip);
void bch_closure_wake_all(struct closure_waitlist *list);
void bch_closure_sync_slow(struct closure *cl);
void bch_closure_wait_event_done(struct closure_waitlist *list,
				 struct closure *cl);
#if IS_ENABLED(CONFIG_KUNIT)
const char *bch_closure_check_sub(unsigned int old, unsigned int v);
#endif

#ifdef CONFIG_BCACHE_CLOSURES_DEBUG
#define CLOSURE_MAGIC_LIVE	0xb0c1a11eU
#define CLOSURE_MAGIC_GONE	0xb0c1de4dU
#define CLOSURE_MAGIC_ONSTACK	0xb0c15acbU

void bch_closure_debug_create(struct closure *cl);
void bch_closure_debug_destroy(struct closure *cl);
unsigned int bch_closure_debug_nr_live(void);
bool bch_closure_debug_tracked(struct closure *cl);
int bch_closure_debug_init(struct dentry *parent);
void bch_closure_debug_exit(void);
#if IS_ENABLED(CONFIG_KUNIT)
void bch_closure_debug_describe(struct seq_file *m, struct closure *cl);
#endif

static inline void closure_note_ip(struct closure *cl, unsigned long ip)
{
	cl->ip = ip;
}

static inline void closure_mark_onstack(struct closure *cl)
{
	cl->magic = CLOSURE_MAGIC_ONSTACK;
}
#else
static inline void bch_closure_debug_create(struct closure *cl) {}
static inline void bch_closure_debug_destroy(struct closure *cl) {}
static inline int bch_closure_debug_init(struct dentry *parent) { return 0; }
static inline void bch_closure_debug_exit(void) {}
static inline void closure_note_ip(struct closure *cl, unsigned long ip) {}
static inline void closure_mark_onstack(struct closure *cl) {}
#endif

/*
 * For a closure that ends without a destructor (its last continuation frees
 * it): takes it off the debug list before the memory goes away.
 */
static inline void closure_debug_destroy(struct closure *cl)
{
	bch_closure_debug_destroy(cl);
}

static inline unsigned int closure_nr_remaining(struct closure *cl)
{
	return atomic_read(&cl->remaining) & CLOSURE_REFS;
}

/*
 * A closure on the stack is only ever waited on with closure_sync(): it has
 * no parent, is never listed for debugging and needs no teardown.
 */
static inline void closure_init_stack(struct closure *cl)
{
	memset(cl, 0, sizeof(*cl));
	closure_mark_onstack(cl);
	atomic_set(&cl->remaining, CLOSURE_FRESH);
}

/* As closure_init_stack(), for a closure another CPU may see at once. */
static inline void closure_init_stack_release(struct closure *cl)
{
	memset(cl, 0, sizeof(*cl));
	closure_mark_onstack(cl);
	atomic_set_release(&cl->remaining, CLOSURE_FRESH);
}

/* Take a reference; the caller must already hold one. */
static inline void closure_get(struct closure *cl)
{
	unsigned int refs = atomic_inc_return(&cl->remaining) & CLOSURE_REFS;

	if (unlikely(refs < 2))
		bch_closure_get_failed(cl, refs);
}

/**
 * closure_init - make @cl a running closure owned by the caller
 * @cl:		closure to initialize; one reference, held by the caller
 * @parent:	closure that waits for @cl to return, or NULL; @cl holds a
 *		reference on it until then
 *
 * Always inlined: every request starts two closures, and the ip noted for
 * debugging is the caller's.
 */
static __always_inline void closure_init(struct closure *cl, struct closure *parent)
{
	cl->fn = NULL;
	cl->wq = NULL;
	cl->parent = parent;
	if (parent)
		closure_get(parent);

	atomic_set(&cl->remaining, CLOSURE_FRESH);
	bch_closure_debug_create(cl);
	closure_note_ip(cl, _THIS_IP_);
}

/* Take a reference unless the closure has already drained to zero. */
static inline bool closure_get_not_zero(struct closure *cl)
{
	return bch_closure_get_not_zero(cl);
}

/*
 * Taking @v off a state word that held @old leaves references behind and
 * sets or clears no flag twice: nothing to check further, nothing to run.
 */
static inline bool closure_sub_is_plain(unsigned int old, unsigned int v)
{
	return (old & CLOSURE_REFS) > (v & CLOSURE_REFS) &&
	       !((old - v) & (CLOSURE_GUARDS | CLOSURE_SPARE));
}

/*
 * Subtract @v from the state word: references in the low bits plus flag
 * bits, as one atomic operation (e.g. CLOSURE_WAITING + 1). Inlined, as
 * every request passes here several times and most steps are plain ones;
 * the last reference and misuse go to bch_closure_sub_slow().
 */
static __always_inline void closure_sub(struct closure *cl, unsigned int v)
{
	unsigned int old = atomic_fetch_sub_release(v, &cl->remaining);

	if (unlikely(!closure_sub_is_plain(old, v)))
		bch_closure_sub_slow(cl, old, v, _THIS_IP_);
}

static __always_inline void closure_put(struct closure *cl)
{
	closure_sub(cl, 1);
}

/* Run @cl's fn now: on its workqueue, or right here when it has none. */
static inline void closure_queue(struct closure *cl)
{
	bch_closure_queue(cl);
}

/* Always inlined, so the ip noted for debugging is the caller's. */
static __always_inline void set_closure_fn(struct closure *cl, closure_fn *fn,
					   struct workqueue_struct *wq)
{
	closure_note_ip(cl, _THIS_IP_);
	cl->fn = fn;
	cl->wq = wq;
}

/* The owner gives up its reference without the closure finishing. */
static inline void closure_set_stopped(struct closure *cl)
{
	atomic_sub(CLOSURE_RUNNING, &cl->remaining);
}

/**
 * continue_at - resume at @fn once nothing is in flight
 * @cl:	the running closure, whose reference the caller gives up
 * @fn:	continuation; runs owning one reference on @cl
 * @wq:	where @fn runs; NULL runs it in whichever context drops the last
 *	reference, possibly this one before continue_at() returns
 *
 * Call it as the last thing before returning: @cl may be running elsewhere,
 * or be gone, by the time it returns.
 */
static inline void continue_at(struct closure *cl, closure_fn *fn,
			       struct workqueue_struct *wq)
{
	set_closure_fn(cl, fn, wq);
	closure_sub(cl, CLOSURE_RUNNING + 1);
}

/*
 * Hand the caller's reference straight to @fn, whatever else is in flight:
 * a jump rather than a wait.
 */
static __always_inline void continue_at_nobarrier(struct closure *cl,
						  closure_fn *fn,
						  struct workqueue_struct *wq)
{
	set_closure_fn(cl, fn, wq);
	/* As bch_closure_queue() would, with a direct call when known. */
	if (fn && !wq)
		fn(&cl->work);
	else
		bch_closure_queue(cl);
}

/* Finish @cl once nothing is in flight, releasing its parent. */
static inline void closure_return(struct closure *cl)
{
	continue_at(cl, NULL, NULL);
}

/*
 * As closure_return(), but call @destructor first, with the reference on
 * the parent still held: it may free the memory @cl lives in.
 */
static inline void closure_return_with_destructor(struct closure *cl,
						  closure_fn *destructor)
{
	set_closure_fn(cl, destructor, NULL);
	closure_sub(cl, CLOSURE_RUNNING - CLOSURE_DESTRUCTOR + 1);
}

/* Start @fn asynchronously in a fresh closure that @parent waits for. */
static inline void closure_call(struct closure *cl, closure_fn *fn,
				struct workqueue_struct *wq,
				struct closure *parent)
{
	closure_init(cl, parent);
	continue_at_nobarrier(cl, fn, wq);
}

/**
 * closure_sync - sleep until the caller holds the only reference to @cl
 * @cl:	a running closure owned by the caller
 *
 * Everything done by whoever dropped the other references is visible once
 * this returns, and @cl is running and owned by the caller again.
 */
static inline void closure_sync(struct closure *cl)
{
	if ((atomic_read_acquire(&cl->remaining) & CLOSURE_REFS) != 1)
		bch_closure_sync_slow(cl);
}

/*
 * Park @cl on @list until closure_wake_up(@list); the list holds a
 * reference meanwhile. False if @cl already waits on some list.
 */
static __always_inline bool closure_wait(struct closure_waitlist *list,
					 struct closure *cl)
{
	return bch_closure_wait(list, cl, _THIS_IP_);
}

/* Wake every closure on @list; the caller provides the ordering. */
static inline void __closure_wake_up(struct closure_waitlist *list)
{
	bch_closure_wake_all(list);
}

/* Wake every closure on @list after what the caller wrote so far. */
static inline void closure_wake_up(struct closure_waitlist *list)
{
	/* Waiters recheck their condition; publish it before they run. */
	smp_mb();
	bch_closure_wake_all(list);
}

/*
 * Sleep until @cond holds; whoever makes it true calls closure_wake_up() on
 * @list afterwards. Each pass enrols the waiter first and tests @cond after,
 * so a wake-up between the test and the sleep is not lost: closure_wait()
 * failing means the waiter is enrolled already and may sleep.
 */
#define closure_wait_event(list, cond)					\
do {									\
	struct closure_waitlist *__list = (list);			\
	struct closure __waiter;					\
									\
	closure_init_stack(&__waiter);					\
	while (!(cond))							\
		if (!closure_wait(__list, &__waiter))			\
			closure_sync(&__waiter);			\
	bch_closure_wait_event_done(__list, &__waiter);			\
} while (0)

#endif /* _BCACHE_CLOSURE_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * The machinery behind closure.h: what happens when a closure's reference
 * count drains (resume at a continuation, or finish and release the parent),
 * wait lists, sleeping in closure_sync(), and the optional debug list that
 * shows every live closure in debugfs.
 *
 * It stands in for the kernel's closures library (CONFIG_CLOSURES), unused here;
 * everything here is named bch_closure_* so both can live in one kernel.
 * Misuse (a put too many, a flag set twice) is reported with a warning and
 * never brings the machine down: a leaked closure is a far smaller problem
 * than a crash in I/O completion.
 */

#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/sched.h>
#include <linux/sched/debug.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <kunit/visibility.h>

#include "closure.h"

static bool closure_has_refs(unsigned int state)
{
	return state & CLOSURE_REFS;
}

/* Dropping more references than are left: the closure is already gone. */
static bool closure_sub_underflows(unsigned int old, unsigned int v)
{
	return (v & CLOSURE_REFS) > (old & CLOSURE_REFS);
}

/*
 * Says what is wrong with taking @v off a state word that held @old, or
 * NULL when the step is legal. @v is references plus flag changes, so its
 * low bits are the references it drops.
 */
VISIBLE_IF_KUNIT __always_inline const char *
bch_closure_check_sub(unsigned int old, unsigned int v)
{
	unsigned int now = old - v;

	if (closure_sub_underflows(old, v))
		return "reference dropped on a closure that has none left";
	if (now & (CLOSURE_GUARDS | CLOSURE_SPARE))
		return "state flag set or cleared twice";
	if (!closure_has_refs(now) && (now & CLOSURE_RUNNING))
		return "last reference put while the owner still runs it";
	if (!closure_has_refs(now) && (now & CLOSURE_WAITING))
		return "last reference put while on a wait list";
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(bch_closure_check_sub);

/*
 * The continuation owns the closure from here on, exactly as the code that
 * called closure_init() did.
 */
static void closure_resume(struct closure *cl)
{
	atomic_set(&cl->remaining, CLOSURE_FRESH);
	bch_closure_queue(cl);
}

/*
 * Nothing refers to @cl any more: tear it down and hand back the parent,
 * whose reference the caller now has to drop. The parent is read first
 * because the destructor may free @cl.
 */
static struct closure *closure_retire(struct closure *cl)
{
	struct closure *parent = cl->parent;
	closure_fn *destructor = cl->fn;

	bch_closure_debug_destroy(cl);
	if (destructor)
		destructor(&cl->work);
	return parent;
}

/*
 * @v was just taken off @cl's state, which held @old, and the inline fast
 * path in closure.h saw more than a plain drop: check the step and act on
 * the last reference going. Finishing a closure drops a reference on its
 * parent, which may finish in turn: walk up the chain here rather than
 * recursing.
 *
 * Once the subtraction leaves references behind, @cl may already be freed
 * by whoever drops the last one, so it is not touched again.
 */
void bch_closure_sub_slow(struct closure *cl, unsigned int old,
			  unsigned int v, unsigned long caller)
{
	for (;;) {
		unsigned int now = old - v;
		const char *why = bch_closure_check_sub(old, v);

		if (unlikely(why)) {
			WARN_ONCE(1, "bcache: closure %p from %pS: %s (%#x - %#x)\n",
				  cl, (void *)caller, why, old, v);
			/* Whatever @cl was, it is not ours to finish. */
			if (closure_sub_underflows(old, v))
				return;
		}

		if (closure_has_refs(now))
			return;

		/* See every write made before the other references went. */
		smp_acquire__after_ctrl_dep();

		if (cl->fn && !(now & CLOSURE_DESTRUCTOR)) {
			closure_resume(cl);
			return;
		}

		cl = closure_retire(cl);
		if (!cl)
			return;
		v = 1;
		old = atomic_fetch_sub_release(v, &cl->remaining);
	}
}

void bch_closure_get_failed(struct closure *cl, unsigned int refs)
{
	WARN_ONCE(1, "bcache: closure %p from %pS: got with %u references, caller held none\n",
		  cl, (void *)_RET_IP_, refs);
}

bool bch_closure_get_not_zero(struct closure *cl)
{
	int state;

	for (state = atomic_read(&cl->remaining); state & CLOSURE_REFS; )
		if (atomic_try_cmpxchg_acquire(&cl->remaining, &state,
					       state + 1))
			return true;
	return false;
}

void bch_closure_queue(struct closure *cl)
{
	if (WARN_ONCE(!cl->fn, "bcache: closure %p queued with no function\n",
		      cl))
		return;

	if (!cl->wq) {
		cl->fn(&cl->work);
		return;
	}

	/*
	 * Set up afresh each time, as fn changes from step to step; the
	 * worker that ran the previous step let go of the item when it called
	 * that step's fn.
	 */
	INIT_WORK(&cl->work, cl->fn);
	WARN_ONCE(!queue_work(cl->wq, &cl->work),
		  "bcache: closure %p queued twice\n", cl);
}

/* Wait lists */

static void closure_note_waiting(struct closure *cl, unsigned long ip)
{
#ifdef CONFIG_BCACHE_CLOSURES_DEBUG
	cl->waiting_on = ip;
#endif
}

bool bch_closure_wait(struct closure_waitlist *list, struct closure *cl,
		      unsigned long ip)
{
	if (atomic_read(&cl->remaining) & CLOSURE_WAITING)
		return false;

	closure_note_waiting(cl, ip);
	/* Flag and reference first: a waker may release us at once. */
	atomic_add(CLOSURE_WAITING + 1, &cl->remaining);
	llist_add(&cl->wait_node, &list->list);
	return true;
}

/*
 * Release every closure on @list, oldest first. The list is detached in one
 * go, so closures that wait again from their continuations join a fresh list
 * rather than this walk.
 */
void bch_closure_wake_all(struct closure_waitlist *list)
{
	struct llist_node *next = llist_reverse_order(llist_del_all(&list->list));

	while (next) {
		struct closure *cl = llist_entry(next, struct closure, wait_node);

		/* Once released, cl may wait elsewhere or be freed. */
		next = next->next;
		closure_note_waiting(cl, 0);
		closure_sub(cl, CLOSURE_WAITING + 1);
	}
}

/* Sleeping */

static void closure_sync_wake(struct work_struct *ws)
{
	struct closure *cl = container_of(ws, struct closure, work);

	/* The sleeper owns cl again as soon as this completes. */
	complete(cl->sync_done);
}

/*
 * The sleeper turns its own reference into a continuation that wakes it: the
 * last put, wherever it happens, runs closure_sync_wake() and leaves the
 * closure running with one reference, which is the sleeper's once more.
 */
void __sched bch_closure_sync_slow(struct closure *cl)
{
	struct completion done;

	init_completion(&done);
	cl->sync_done = &done;
	continue_at(cl, closure_sync_wake, NULL);
	wait_for_completion(&done);
}

/*
 * Leaving closure_wait_event(): a waiter still on the list cannot take itself
 * off, so it wakes the list (the others just test their condition again) and
 * waits for its own release.
 */
void bch_closure_wait_event_done(struct closure_waitlist *list,
				 struct closure *cl)
{
	if (atomic_read(&cl->remaining) & CLOSURE_WAITING)
		closure_wake_up(list);
	closure_sync(cl);
}

#ifdef CONFIG_BCACHE_CLOSURES_DEBUG

/*
 * Every closure between closure_init() and its end, so that debugfs can show
 * what a stuck operation is waiting on. Puts run in interrupt context.
 */
static LIST_HEAD(live_closures);
static DEFINE_SPINLOCK(live_closures_lock);
static unsigned int nr_live_closures;
static struct dentry *closures_dentry;

void bch_closure_debug_create(struct closure *cl)
{
	unsigned long flags;

	if (WARN_ONCE(cl->magic == CLOSURE_MAGIC_LIVE,
		      "bcache: closure %p initialised while still live\n", cl))
		return;

	/* Only so that the listing can tell whether it is queued. */
	INIT_WORK(&cl->work, NULL);
	cl->magic = CLOSURE_MAGIC_LIVE;
	spin_lock_irqsave(&live_closures_lock, flags);
	list_add_tail(&cl->debug_node, &live_closures);
	nr_live_closures++;
	spin_unlock_irqrestore(&live_closures_lock, flags);
}

void bch_closure_debug_destroy(struct closure *cl)
{
	unsigned long flags;

	if (cl->magic == CLOSURE_MAGIC_ONSTACK)
		return;
	if (WARN_ONCE(cl->magic != CLOSURE_MAGIC_LIVE,
		      "bcache: closure %p torn down but not live (%#x)\n",
		      cl, cl->magic))
		return;

	cl->magic = CLOSURE_MAGIC_GONE;
	spin_lock_irqsave(&live_closures_lock, flags);
	list_del(&cl->debug_node);
	nr_live_closures--;
	spin_unlock_irqrestore(&live_closures_lock, flags);
}

unsigned int bch_closure_debug_nr_live(void)
{
	return READ_ONCE(nr_live_closures);
}

bool bch_closure_debug_tracked(struct closure *cl)
{
	struct closure *pos;
	bool found = false;

	spin_lock_irq(&live_closures_lock);
	list_for_each_entry(pos, &live_closures, debug_node)
		if (pos == cl) {
			found = true;
			break;
		}
	spin_unlock_irq(&live_closures_lock);
	return found;
}

/*
 * The listing walks the live list under its lock from start to stop;
 * seq_file copies to user space only after stop.
 */
static void *closures_seq_start(struct seq_file *m, loff_t *pos)
	__acquires(&live_closures_lock)
{
	spin_lock_irq(&live_closures_lock);
	return seq_list_start(&live_closures, *pos);
}

static void *closures_seq_next(struct seq_file *m, void *v, loff_t *pos)
{
	return seq_list_next(v, &live_closures, pos);
}

static void closures_seq_stop(struct seq_file *m, void *v)
	__releases(&live_closures_lock)
{
	spin_unlock_irq(&live_closures_lock);
}

/* One closure of the listing: where it was set up, what it will run next. */
VISIBLE_IF_KUNIT void bch_closure_debug_describe(struct seq_file *m,
						 struct closure *cl)
{
	unsigned int state = atomic_read(&cl->remaining);

	seq_printf(m, "%p: %pS -> %pS parent %p remaining %u flags %c%c%c%c\n",
		   cl, (void *)cl->ip, cl->fn, cl->parent, state & CLOSURE_REFS,
		   state & CLOSURE_RUNNING ? 'R' : '-',
		   state & CLOSURE_WAITING ? 'W' : '-',
		   state & CLOSURE_DESTRUCTOR ? 'D' : '-',
		   work_pending(&cl->work) ? 'Q' : '-');
	if (state & CLOSURE_WAITING)
		seq_printf(m, "    waiting since %pS\n", (void *)cl->waiting_on);
}
EXPORT_SYMBOL_IF_KUNIT(bch_closure_debug_describe);

static int closures_seq_show(struct seq_file *m, void *v)
{
	bch_closure_debug_describe(m, list_entry(v, struct closure, debug_node));
	return 0;
}

static const struct seq_operations closures_sops = {
	.start	= closures_seq_start,
	.next	= closures_seq_next,
	.stop	= closures_seq_stop,
	.show	= closures_seq_show,
};
DEFINE_SEQ_ATTRIBUTE(closures);

/*
 * A missing debugfs file only costs visibility, so failures here are not
 * passed on to module init.
 */
int bch_closure_debug_init(struct dentry *parent)
{
	closures_dentry = debugfs_create_file("closures", 0400, parent, NULL,
					      &closures_fops);
	return 0;
}

void bch_closure_debug_exit(void)
{
	debugfs_remove(closures_dentry);
	closures_dentry = NULL;
}

#endif /* CONFIG_BCACHE_CLOSURES_DEBUG */

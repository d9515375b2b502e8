// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for closures (closure.c): reference counting, parents,
 * continuations inline and on a workqueue, closure_sync() woken from other
 * contexts, wait lists, destructors, and a stress run of many closures at
 * once whose memory must all come back. The state-word rules are checked
 * directly from a table, since provoking them for real would warn.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "../../closure.h"

static struct workqueue_struct *test_wq(struct kunit *test)
{
	return test->priv;
}

static int closure_test_init(struct kunit *test)
{
	test->priv = alloc_workqueue("bcache_closure_test", WQ_UNBOUND, 0);
	return test->priv ? 0 : -ENOMEM;
}

static void closure_test_exit(struct kunit *test)
{
	if (test->priv)
		destroy_workqueue(test->priv);
}

static bool closure_is_running(struct closure *cl)
{
	return atomic_read(&cl->remaining) & CLOSURE_RUNNING;
}

#ifdef CONFIG_BCACHE_CLOSURES_DEBUG
static bool closure_listed(struct closure *cl)
{
	return bch_closure_debug_tracked(cl);
}

static unsigned int closures_listed(void)
{
	return bch_closure_debug_nr_live();
}
#else
static bool closure_listed(struct closure *cl)
{
	return false;
}

static unsigned int closures_listed(void)
{
	return 0;
}
#endif

/* Plain reference counting */

static void closure_test_get_put(struct kunit *test)
{
	struct closure *cl = kunit_kzalloc(test, sizeof(*cl), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, cl);
	closure_init(cl, NULL);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(cl), 1U);
	KUNIT_EXPECT_TRUE(test, closure_is_running(cl));
	KUNIT_EXPECT_EQ(test, closure_listed(cl),
			IS_ENABLED(CONFIG_BCACHE_CLOSURES_DEBUG));

	for (i = 0; i < 3; i++)
		closure_get(cl);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(cl), 4U);

	for (i = 0; i < 3; i++)
		closure_put(cl);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(cl), 1U);
	KUNIT_EXPECT_TRUE(test, closure_is_running(cl));

	closure_return(cl);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(cl), 0U);
	KUNIT_EXPECT_FALSE(test, closure_listed(cl));
}

static void closure_test_get_not_zero(struct kunit *test)
{
	struct closure *cl = kunit_kzalloc(test, sizeof(*cl), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, cl);
	closure_init(cl, NULL);
	KUNIT_EXPECT_TRUE(test, closure_get_not_zero(cl));
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(cl), 2U);
	closure_put(cl);

	closure_return(cl);
	KUNIT_EXPECT_FALSE(test, closure_get_not_zero(cl));
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(cl), 0U);
}

/* Which steps on the state word closure.c accepts, and which it reports */

struct sub_case {
	const char	*desc;
	unsigned int	old;
	unsigned int	v;
	bool		legal;
};

static const struct sub_case sub_cases[] = {
	{ "put one of two refs", CLOSURE_FRESH + 1, 1, true },
	{ "continue_at with the last ref", CLOSURE_FRESH,
	  CLOSURE_RUNNING + 1, true },
	{ "continue_at with refs in flight", CLOSURE_FRESH + 2,
	  CLOSURE_RUNNING + 1, true },
	{ "return with destructor", CLOSURE_FRESH,
	  CLOSURE_RUNNING - CLOSURE_DESTRUCTOR + 1, true },
	{ "wake a waiter", CLOSURE_FRESH + CLOSURE_WAITING + 1,
	  CLOSURE_WAITING + 1, true },
	{ "put on a drained closure", 0, 1, false },
	{ "put after destructor ran", CLOSURE_DESTRUCTOR, 1, false },
	{ "continue_at twice", 2, CLOSURE_RUNNING + 1, false },
	{ "destructor set twice", CLOSURE_FRESH + CLOSURE_DESTRUCTOR + 1,
	  CLOSURE_RUNNING - CLOSURE_DESTRUCTOR + 1, false },
	{ "woken while not waiting", CLOSURE_FRESH + 1,
	  CLOSURE_WAITING + 1, false },
	{ "last put while running", CLOSURE_FRESH, 1, false },
	{ "last put while waiting", CLOSURE_WAITING + 1, 1, false },
};

KUNIT_ARRAY_PARAM_DESC(sub_cases, sub_cases, desc);

static void closure_test_check_sub(struct kunit *test)
{
	const struct sub_case *c = test->param_value;
	const char *why = bch_closure_check_sub(c->old, c->v);

	if (c->legal)
		KUNIT_EXPECT_NULL(test, why);
	else
		KUNIT_EXPECT_NOT_NULL(test, why);

	/*
	 * closure_sub()'s inline fast path skips the check and the last
	 * reference: it may only take legal steps that leave references.
	 */
	KUNIT_EXPECT_EQ(test, closure_sub_is_plain(c->old, c->v),
			!why && ((c->old - c->v) & CLOSURE_REFS));
}

/* Parents */

static void closure_test_parent_refs(struct kunit *test)
{
	struct closure *cl = kunit_kcalloc(test, 3, sizeof(*cl), GFP_KERNEL);
	struct closure *parent = &cl[0];

	KUNIT_ASSERT_NOT_NULL(test, cl);
	closure_init(parent, NULL);
	closure_init(&cl[1], parent);
	closure_init(&cl[2], parent);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(parent), 3U);
	KUNIT_EXPECT_PTR_EQ(test, cl[1].parent, parent);

	closure_return(&cl[1]);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(parent), 2U);
	closure_return(&cl[2]);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(parent), 1U);
	closure_return(parent);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(parent), 0U);
}

#define NR_KIDS 16

struct family {
	struct closure		parent;
	struct closure		kids[NR_KIDS];
	atomic_t		kids_done;
	int			done_when_parent_ran;
	struct completion	finished;
};

static CLOSURE_CALLBACK(kid_run)
{
	struct closure *cl = container_of(ws, struct closure, work);
	struct family *f = container_of(cl->parent, struct family, parent);

	atomic_inc(&f->kids_done);
	closure_return(cl);
}

/* The destructor is the last touch of the closure: safe to signal here. */
static CLOSURE_CALLBACK(family_finished)
{
	closure_type(f, struct family, parent);

	complete(&f->finished);
}

static CLOSURE_CALLBACK(family_parent_resumed)
{
	closure_type(f, struct family, parent);

	f->done_when_parent_ran = atomic_read(&f->kids_done);
	closure_return_with_destructor(cl, family_finished);
}

static void closure_test_parent_waits_for_kids(struct kunit *test)
{
	struct family *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, f);
	init_completion(&f->finished);
	closure_init(&f->parent, NULL);
	for (i = 0; i < NR_KIDS; i++)
		closure_call(&f->kids[i], kid_run, test_wq(test), &f->parent);
	continue_at(&f->parent, family_parent_resumed, test_wq(test));

	wait_for_completion(&f->finished);
	KUNIT_EXPECT_EQ(test, f->done_when_parent_ran, NR_KIDS);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(&f->parent), 0U);
}

/*
 * A chain of parents finishes from the leaf up when only the leaf still has
 * its owner's reference; deep enough that recursing per level would hurt.
 */
#define CHAIN_DEPTH 2000

struct chain {
	bool		root_gone;
	struct closure	links[CHAIN_DEPTH];
};

static CLOSURE_CALLBACK(chain_root_gone)
{
	closure_type(c, struct chain, links[0]);

	c->root_gone = true;
}

static void closure_test_deep_chain(struct kunit *test)
{
	struct chain *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct closure *link;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, c);
	link = c->links;
	closure_init(&link[0], NULL);
	for (i = 1; i < CHAIN_DEPTH; i++)
		closure_init(&link[i], &link[i - 1]);

	closure_return_with_destructor(&link[0], chain_root_gone);
	for (i = 1; i < CHAIN_DEPTH - 1; i++)
		closure_return(&link[i]);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(&link[0]), 1U);
	KUNIT_EXPECT_FALSE(test, c->root_gone);

	closure_return(&link[CHAIN_DEPTH - 1]);
	for (i = 0; i < CHAIN_DEPTH; i++)
		KUNIT_EXPECT_EQ(test, closure_nr_remaining(&link[i]), 0U);
	KUNIT_EXPECT_TRUE(test, c->root_gone);
}

/* Continuations */

struct relay {
	struct closure		cl;
	struct workqueue_struct	*wq;
	struct work_struct	late_put;
	bool			late_put_done;
	int			steps[4];
	unsigned int		nr_steps;
	struct completion	finished;
};

static void relay_record(struct relay *r, int step)
{
	if (r->nr_steps < ARRAY_SIZE(r->steps))
		r->steps[r->nr_steps++] = step;
}

static void relay_late_put(struct work_struct *w)
{
	struct relay *r = container_of(w, struct relay, late_put);

	WRITE_ONCE(r->late_put_done, true);
	closure_put(&r->cl);
}

static CLOSURE_CALLBACK(relay_finished)
{
	closure_type(r, struct relay, cl);

	complete(&r->finished);
}

static CLOSURE_CALLBACK(relay_third)
{
	closure_type(r, struct relay, cl);

	relay_record(r, 3);
	closure_return_with_destructor(cl, relay_finished);
}

static CLOSURE_CALLBACK(relay_second)
{
	closure_type(r, struct relay, cl);

	/* The reference taken in relay_first must be gone by now. */
	relay_record(r, READ_ONCE(r->late_put_done) ? 2 : -2);
	continue_at(cl, relay_third, r->wq);
}

static CLOSURE_CALLBACK(relay_first)
{
	closure_type(r, struct relay, cl);

	relay_record(r, 1);
	closure_get(cl);
	queue_work(r->wq, &r->late_put);
	continue_at(cl, relay_second, r->wq);
}

static void closure_test_continue_at_order(struct kunit *test)
{
	struct relay *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	static const int expected[] = { 1, 2, 3 };

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->wq = test_wq(test);
	init_completion(&r->finished);
	INIT_WORK(&r->late_put, relay_late_put);

	closure_call(&r->cl, relay_first, r->wq, NULL);
	wait_for_completion(&r->finished);
	flush_work(&r->late_put);

	KUNIT_ASSERT_EQ(test, r->nr_steps, (unsigned int)ARRAY_SIZE(expected));
	KUNIT_EXPECT_MEMEQ(test, r->steps, expected, sizeof(expected));
}

struct inline_probe {
	struct closure		cl;
	struct task_struct	*ran_on;
	int			runs;
};

static CLOSURE_CALLBACK(inline_probe_run)
{
	closure_type(p, struct inline_probe, cl);

	p->ran_on = current;
	p->runs++;
	closure_return(cl);
}

static void closure_test_continue_at_inline(struct kunit *test)
{
	struct inline_probe *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);

	/* With nothing in flight, the continuation runs before the return. */
	closure_init(&p->cl, NULL);
	continue_at(&p->cl, inline_probe_run, NULL);
	KUNIT_EXPECT_EQ(test, p->runs, 1);
	KUNIT_EXPECT_PTR_EQ(test, p->ran_on, current);

	/* Otherwise it runs inside whichever put is the last. */
	closure_init(&p->cl, NULL);
	closure_get(&p->cl);
	continue_at(&p->cl, inline_probe_run, NULL);
	KUNIT_EXPECT_EQ(test, p->runs, 1);
	KUNIT_EXPECT_FALSE(test, closure_is_running(&p->cl));
	closure_put(&p->cl);
	KUNIT_EXPECT_EQ(test, p->runs, 2);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(&p->cl), 0U);
}

static void closure_test_continue_at_nobarrier(struct kunit *test)
{
	struct inline_probe *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	closure_init(&p->cl, NULL);
	closure_get(&p->cl);

	/* A jump: the reference in flight does not hold it back. */
	continue_at_nobarrier(&p->cl, inline_probe_run, NULL);
	KUNIT_EXPECT_EQ(test, p->runs, 1);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(&p->cl), 1U);

	closure_put(&p->cl);
	KUNIT_EXPECT_EQ(test, p->runs, 1);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(&p->cl), 0U);
}

/* closure_call() and closure_return_with_destructor() */

struct callee {
	struct closure	cl;
	bool		ran;
};

static CLOSURE_CALLBACK(callee_run)
{
	closure_type(c, struct callee, cl);

	WRITE_ONCE(c->ran, true);
	closure_return(cl);
}

static void closure_test_call(struct kunit *test)
{
	struct callee *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct closure parent;

	KUNIT_ASSERT_NOT_NULL(test, c);
	closure_init_stack(&parent);

	closure_call(&c->cl, callee_run, test_wq(test), &parent);
	closure_sync(&parent);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(c->ran));
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(&parent), 1U);
	KUNIT_EXPECT_FALSE(test, closure_listed(&c->cl));

	/* Without a workqueue the function runs before closure_call returns. */
	c->ran = false;
	closure_call(&c->cl, callee_run, NULL, &parent);
	KUNIT_EXPECT_TRUE(test, c->ran);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(&parent), 1U);
}

struct doomed {
	struct closure	cl;
	atomic_t	destructed;
	unsigned int	parent_refs_seen;
};

static CLOSURE_CALLBACK(doomed_destruct)
{
	closure_type(d, struct doomed, cl);

	atomic_inc(&d->destructed);
	d->parent_refs_seen = closure_nr_remaining(cl->parent);
}

static void closure_test_destructor_once(struct kunit *test)
{
	struct doomed *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	struct closure *parent = kunit_kzalloc(test, sizeof(*parent),
					       GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, d);
	KUNIT_ASSERT_NOT_NULL(test, parent);
	closure_init(parent, NULL);
	closure_init(&d->cl, parent);
	closure_get(&d->cl);
	closure_get(&d->cl);

	closure_return_with_destructor(&d->cl, doomed_destruct);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->destructed), 0);
	closure_put(&d->cl);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->destructed), 0);
	closure_put(&d->cl);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->destructed), 1);

	/* The destructor ran before the parent lost its reference. */
	KUNIT_EXPECT_EQ(test, d->parent_refs_seen, 2U);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(parent), 1U);
	closure_return(parent);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->destructed), 1);
}

/* closure_sync() woken from elsewhere */

struct remote_put {
	struct work_struct	work;
	struct closure		*cl;
	bool			done;
};

static void remote_put_fn(struct work_struct *w)
{
	struct remote_put *rp = container_of(w, struct remote_put, work);

	WRITE_ONCE(rp->done, true);
	closure_put(rp->cl);
}

static void closure_test_sync_nothing_pending(struct kunit *test)
{
	struct closure cl;

	closure_init_stack(&cl);
	closure_sync(&cl);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(&cl), 1U);
	KUNIT_EXPECT_TRUE(test, closure_is_running(&cl));
}

#define NR_REMOTE 4

static void closure_test_sync_from_workqueue(struct kunit *test)
{
	struct remote_put *rp = kunit_kcalloc(test, NR_REMOTE, sizeof(*rp),
					      GFP_KERNEL);
	struct closure cl;
	int round, i;

	KUNIT_ASSERT_NOT_NULL(test, rp);
	closure_init_stack(&cl);

	/* Twice, so the closure is shown to be reusable after a sync. */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < NR_REMOTE; i++) {
			rp[i].cl = &cl;
			rp[i].done = false;
			INIT_WORK(&rp[i].work, remote_put_fn);
			closure_get(&cl);
			queue_work(test_wq(test), &rp[i].work);
		}
		closure_sync(&cl);

		for (i = 0; i < NR_REMOTE; i++)
			KUNIT_EXPECT_TRUE(test, READ_ONCE(rp[i].done));
		KUNIT_EXPECT_EQ(test, closure_nr_remaining(&cl), 1U);
		KUNIT_EXPECT_TRUE(test, closure_is_running(&cl));
		for (i = 0; i < NR_REMOTE; i++)
			flush_work(&rp[i].work);
	}
}

struct thread_put {
	struct closure	*cl;
	bool		done;
};

static int thread_put_fn(void *data)
{
	struct thread_put *tp = data;

	/* Give the test thread a chance to be asleep in closure_sync(). */
	schedule_timeout_uninterruptible(1);
	WRITE_ONCE(tp->done, true);
	closure_put(tp->cl);
	return 0;
}

static void closure_test_sync_from_kthread(struct kunit *test)
{
	struct thread_put *tp = kunit_kzalloc(test, sizeof(*tp), GFP_KERNEL);
	struct task_struct *t;
	struct closure cl;

	KUNIT_ASSERT_NOT_NULL(test, tp);
	closure_init_stack(&cl);
	tp->cl = &cl;

	closure_get(&cl);
	t = kthread_run(thread_put_fn, tp, "bcache_cl_test");
	if (IS_ERR(t)) {
		closure_put(&cl);
		KUNIT_FAIL(test, "kthread_run: %ld", PTR_ERR(t));
		return;
	}

	closure_sync(&cl);
	KUNIT_EXPECT_TRUE(test, READ_ONCE(tp->done));
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(&cl), 1U);
}

/* Wait lists */

#define NR_WAITERS 5

struct waiter {
	struct closure	cl;
	int		id;
	int		*order;
	int		*nr_woken;
};

static CLOSURE_CALLBACK(waiter_woken)
{
	closure_type(w, struct waiter, cl);

	w->order[(*w->nr_woken)++] = w->id;
	closure_return(cl);
}

static void closure_test_waitlist(struct kunit *test)
{
	struct waiter *w = kunit_kcalloc(test, NR_WAITERS, sizeof(*w),
					 GFP_KERNEL);
	static const int fifo[NR_WAITERS] = { 0, 1, 2, 3, 4 };
	struct closure_waitlist list = {};
	int order[NR_WAITERS] = {};
	int nr_woken = 0;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, w);
	for (i = 0; i < NR_WAITERS; i++) {
		w[i].id = i;
		w[i].order = order;
		w[i].nr_woken = &nr_woken;
		closure_init(&w[i].cl, NULL);

		KUNIT_EXPECT_TRUE(test, closure_wait(&list, &w[i].cl));
		KUNIT_EXPECT_FALSE(test, closure_wait(&list, &w[i].cl));
		KUNIT_EXPECT_EQ(test, closure_nr_remaining(&w[i].cl), 2U);
		continue_at(&w[i].cl, waiter_woken, NULL);
	}
	KUNIT_EXPECT_EQ(test, nr_woken, 0);

	closure_wake_up(&list);
	KUNIT_EXPECT_TRUE(test, llist_empty(&list.list));
	KUNIT_ASSERT_EQ(test, nr_woken, NR_WAITERS);
	KUNIT_EXPECT_MEMEQ(test, order, fifo, sizeof(fifo));
	for (i = 0; i < NR_WAITERS; i++)
		KUNIT_EXPECT_EQ(test, closure_nr_remaining(&w[i].cl), 0U);

	/* Waking an empty list is harmless. */
	closure_wake_up(&list);
}

static void closure_test_waitlist_sync(struct kunit *test)
{
	struct closure_waitlist list = {};
	struct closure cl;

	closure_init_stack(&cl);
	KUNIT_EXPECT_TRUE(test, closure_wait(&list, &cl));
	KUNIT_EXPECT_TRUE(test, atomic_read(&cl.remaining) & CLOSURE_WAITING);
	__closure_wake_up(&list);
	KUNIT_EXPECT_FALSE(test, atomic_read(&cl.remaining) & CLOSURE_WAITING);
	closure_sync(&cl);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(&cl), 1U);

	/* Once woken it may wait again. */
	KUNIT_EXPECT_TRUE(test, closure_wait(&list, &cl));
	closure_wake_up(&list);
	closure_sync(&cl);
}

struct event_source {
	struct work_struct	work;
	struct closure_waitlist	list;
	int			stage;
};

/* Two wake-ups, so the waiter must sleep again after the first. */
static void event_source_fn(struct work_struct *w)
{
	struct event_source *e = container_of(w, struct event_source, work);

	WRITE_ONCE(e->stage, 1);
	closure_wake_up(&e->list);
	schedule_timeout_uninterruptible(1);
	WRITE_ONCE(e->stage, 2);
	closure_wake_up(&e->list);
}

static void closure_test_wait_event(struct kunit *test)
{
	struct event_source *e = kunit_kzalloc(test, sizeof(*e), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, e);
	INIT_WORK(&e->work, event_source_fn);

	/* A condition that already holds does not wait at all. */
	closure_wait_event(&e->list, READ_ONCE(e->stage) == 0);

	queue_work(test_wq(test), &e->work);
	closure_wait_event(&e->list, READ_ONCE(e->stage) == 2);
	KUNIT_EXPECT_EQ(test, READ_ONCE(e->stage), 2);

	flush_work(&e->work);
	KUNIT_EXPECT_TRUE(test, llist_empty(&e->list.list));
}

/* Debug listing */

#ifdef CONFIG_BCACHE_CLOSURES_DEBUG
static void closure_test_debug_list(struct kunit *test)
{
	struct closure *cl = kunit_kzalloc(test, sizeof(*cl), GFP_KERNEL);
	struct closure onstack;

	KUNIT_ASSERT_NOT_NULL(test, cl);
	closure_init_stack(&onstack);
	KUNIT_EXPECT_FALSE(test, closure_listed(&onstack));

	closure_init(cl, NULL);
	KUNIT_EXPECT_TRUE(test, closure_listed(cl));
	closure_return(cl);
	KUNIT_EXPECT_FALSE(test, closure_listed(cl));

	/* A closure that frees itself from a continuation unlists by hand. */
	closure_init(cl, NULL);
	closure_debug_destroy(cl);
	KUNIT_EXPECT_FALSE(test, closure_listed(cl));
}

static CLOSURE_CALLBACK(debug_shown_fn)
{
	struct closure *cl = container_of(ws, struct closure, work);

	closure_return(cl);
}

static void describe(struct closure *cl, char *buf, size_t size)
{
	struct seq_file m = { .buf = buf, .size = size };

	memset(buf, 0, size);
	bch_closure_debug_describe(&m, cl);
}

static void closure_test_debug_describe(struct kunit *test)
{
	struct closure *cl = kunit_kzalloc(test, sizeof(*cl), GFP_KERNEL);
	char *buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	struct closure_waitlist list = {};
	char want[80];

	KUNIT_ASSERT_NOT_NULL(test, cl);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	closure_init(cl, NULL);

	describe(cl, buf, PAGE_SIZE);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "remaining 1 flags R---"));
	KUNIT_EXPECT_NULL(test, strstr(buf, "waiting since"));

	closure_wait(&list, cl);
	continue_at(cl, debug_shown_fn, NULL);
	describe(cl, buf, PAGE_SIZE);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "-> debug_shown_fn"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, "remaining 1 flags -W--"));
	snprintf(want, sizeof(want), "waiting since %s+", __func__);
	KUNIT_EXPECT_NOT_NULL(test, strstr(buf, want));

	closure_wake_up(&list);
	KUNIT_EXPECT_FALSE(test, closure_listed(cl));
}
#else
static void closure_test_debug_list(struct kunit *test)
{
	kunit_skip(test, "CONFIG_BCACHE_CLOSURES_DEBUG is off");
}

static void closure_test_debug_describe(struct kunit *test)
{
	kunit_skip(test, "CONFIG_BCACHE_CLOSURES_DEBUG is off");
}
#endif

/*
 * Stress: many closures at once across a workqueue. The items come in
 * batches, each a closure of its own that parents its items and frees the
 * batch from its destructor once they have all returned: three levels of
 * parents, and few enough allocations to stay quick under KASAN.
 */

#define NR_STRESS	10000
#define STRESS_BATCH	80
#define NR_BATCHES	(NR_STRESS / STRESS_BATCH)

struct stress_run {
	struct closure		root;
	struct workqueue_struct	*wq;
	atomic_t		finished;
	atomic_t		batches_freed;
};

struct stress_item {
	struct closure		cl;
	struct work_struct	put_work;
	bool			finish_on_wq;
};

struct stress_batch {
	struct closure		cl;
	struct stress_run	*run;
	struct stress_item	items[STRESS_BATCH];
};

static struct stress_run *stress_run_of(struct closure *item)
{
	return container_of(item->parent, struct stress_batch, cl)->run;
}

static void stress_put(struct work_struct *w)
{
	struct stress_item *it = container_of(w, struct stress_item, put_work);

	/* This may free the batch, work_struct and all. */
	closure_put(&it->cl);
}

static CLOSURE_CALLBACK(stress_item_finish)
{
	struct closure *cl = container_of(ws, struct closure, work);

	atomic_inc(&stress_run_of(cl)->finished);
	closure_return(cl);
}

/*
 * Races the put from a worker against continue_at(): the finish step runs
 * in whichever context loses, or on the workqueue for some of the items.
 */
static CLOSURE_CALLBACK(stress_item_start)
{
	closure_type(it, struct stress_item, cl);
	struct workqueue_struct *wq = stress_run_of(cl)->wq;

	closure_get(cl);
	INIT_WORK(&it->put_work, stress_put);
	queue_work(wq, &it->put_work);
	continue_at(cl, stress_item_finish, it->finish_on_wq ? wq : NULL);
}

static CLOSURE_CALLBACK(stress_batch_free)
{
	closure_type(b, struct stress_batch, cl);

	atomic_inc(&b->run->batches_freed);
	kvfree(b);
}

static bool stress_batch_start(struct stress_run *run)
{
	struct stress_batch *b = kvzalloc(sizeof(*b), GFP_KERNEL);
	int i;

	if (!b)
		return false;
	b->run = run;
	closure_init(&b->cl, &run->root);
	for (i = 0; i < STRESS_BATCH; i++) {
		b->items[i].finish_on_wq = !(i % 8);
		closure_call(&b->items[i].cl, stress_item_start, NULL, &b->cl);
	}
	closure_return_with_destructor(&b->cl, stress_batch_free);
	return true;
}

static void closure_test_stress(struct kunit *test)
{
	struct stress_run *run = kunit_kzalloc(test, sizeof(*run), GFP_KERNEL);
	unsigned int listed_before = closures_listed();
	int started = 0;

	KUNIT_ASSERT_NOT_NULL(test, run);
	run->wq = test_wq(test);
	closure_init_stack(&run->root);

	while (started < NR_BATCHES && stress_batch_start(run))
		started++;
	closure_sync(&run->root);

	KUNIT_EXPECT_EQ(test, started, NR_BATCHES);
	KUNIT_EXPECT_EQ(test, atomic_read(&run->finished),
			started * STRESS_BATCH);
	KUNIT_EXPECT_EQ(test, atomic_read(&run->batches_freed), started);
	KUNIT_EXPECT_EQ(test, closure_nr_remaining(&run->root), 1U);
	KUNIT_EXPECT_EQ(test, closures_listed(), listed_before);
}

static struct kunit_case closure_test_cases[] = {
	KUNIT_CASE(closure_test_get_put),
	KUNIT_CASE(closure_test_get_not_zero),
	KUNIT_CASE_PARAM(closure_test_check_sub, sub_cases_gen_params),
	KUNIT_CASE(closure_test_parent_refs),
	KUNIT_CASE(closure_test_parent_waits_for_kids),
	KUNIT_CASE(closure_test_deep_chain),
	KUNIT_CASE(closure_test_continue_at_order),
	KUNIT_CASE(closure_test_continue_at_inline),
	KUNIT_CASE(closure_test_continue_at_nobarrier),
	KUNIT_CASE(closure_test_call),
	KUNIT_CASE(closure_test_destructor_once),
	KUNIT_CASE(closure_test_sync_nothing_pending),
	KUNIT_CASE(closure_test_sync_from_workqueue),
	KUNIT_CASE(closure_test_sync_from_kthread),
	KUNIT_CASE(closure_test_waitlist),
	KUNIT_CASE(closure_test_waitlist_sync),
	KUNIT_CASE(closure_test_wait_event),
	KUNIT_CASE(closure_test_debug_list),
	KUNIT_CASE(closure_test_debug_describe),
	{}
};

static struct kunit_suite closure_test_suite = {
	.name		= "bcache_closure",
	.init		= closure_test_init,
	.exit		= closure_test_exit,
	.test_cases	= closure_test_cases,
};

static struct kunit_case closure_stress_cases[] = {
	KUNIT_CASE_SLOW(closure_test_stress),
	{}
};

static struct kunit_suite closure_stress_suite = {
	.name		= "bcache_closure_stress",
	.init		= closure_test_init,
	.exit		= closure_test_exit,
	.test_cases	= closure_stress_cases,
};

kunit_test_suites(&closure_test_suite, &closure_stress_suite);

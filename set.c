// SPDX-License-Identifier: GPL-2.0
/*
 * Stopping a cache set, from any layer, and the driver's shared workqueue.
 *
 * An error found anywhere below registration ends here: the set stops
 * taking I/O at once (CACHE_SET_IO_DISABLE, which closure_bio_submit()
 * and the bbio paths test) and its teardown is queued. The teardown is
 * super.c's: queueing c->caching runs the continuation super.c set on it
 * when the set was created, so this file trusts only that the closure is
 * set up and that the flags word is the set's. No lock is taken; the
 * flag bits make the first caller the one that queues.
 */

#include "bcache.h"
#include "set.h"

#include <linux/workqueue.h>

struct workqueue_struct *bcache_wq;

int bch_set_module_init(void)
{
	bcache_wq = alloc_workqueue("bcache", WQ_MEM_RECLAIM, 0);
	return bcache_wq ? 0 : -ENOMEM;
}

/* Waits for every queued teardown, the last device's free included. */
void bch_set_module_exit(void)
{
	if (bcache_wq)
		destroy_workqueue(bcache_wq);
	bcache_wq = NULL;
}

/**
 * bch_cache_set_error() - shut a set down after an error
 * @c:		the set
 * @fmt:	what went wrong
 *
 * No new I/O reaches the cache device from here on; attached devices are
 * detached (or stopped, as the set's stop policy says). May be called
 * from any context.
 */
void bch_cache_set_error(struct cache_set *c, const char *fmt, ...)
{
	bool fatal = c->on_error == ON_ERROR_PANIC;
	struct va_format vaf;
	va_list args;

	/* A set on its way down has nothing more to report, unless told to die. */
	if (!fatal && test_bit(CACHE_SET_STOPPING, &c->flags))
		return;
	if (test_and_set_bit(CACHE_SET_IO_DISABLE, &c->flags))
		pr_info("CACHE_SET_IO_DISABLE already set\n");

	va_start(args, fmt);
	vaf = (struct va_format){ .fmt = fmt, .va = &args };
	pr_err("error on %pU: %pV, disabling caching\n", c->set_uuid, &vaf);
	va_end(args);

	if (fatal)
		panic("panic forced after error\n");
	bch_cache_set_unregister(c);
}

void bch_cache_set_stop(struct cache_set *c)
{
	/* The first caller queues the teardown; later ones find it going. */
	if (test_and_set_bit(CACHE_SET_STOPPING, &c->flags))
		return;
	closure_queue(&c->caching);
}

void bch_cache_set_unregister(struct cache_set *c)
{
	/* Read by the teardown's first step, which the stop queues. */
	set_bit(CACHE_SET_UNREGISTERING, &c->flags);
	bch_cache_set_stop(c);
}

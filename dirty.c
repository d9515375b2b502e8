// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-data accounting of a bcache device.
 *
 * The backing device is cut into stripes (its optimal I/O size rounded up
 * to at least 4 MiB, see bch_stripe_geometry()); each has a counter of the
 * dirty sectors the cache holds for it, and a bit that says the whole
 * stripe is dirty, which writeback uses to write full stripes first on
 * devices where partial ones are expensive (raid5/6). A 64-bit total is
 * kept beside them, so dirty_data and the rate controller read one word
 * instead of summing millions of counters.
 *
 * Counts only change through bch_dirty_add(), which the btree's extent
 * code calls as dirty keys appear, are cut or cleaned: they follow the
 * btree exactly, with no lock of their own (atomics; a full-stripe bit can
 * lag its counter for a moment, which only changes what writeback picks
 * first). The stripe size need not be a power of two: a raid5 of three
 * data disks and 64 KiB chunks has 4,032 KiB stripes, and positions are
 * divided, never masked. Offsets and counts are 64-bit: a 20 TB device
 * with 4 MiB stripes has five million of them, 2^35 sectors in all.
 *
 * Trusts: @d's stripe arrays live as long as @d (backing.c); c->devices
 * is stable while the btree is written, since attach and detach take
 * bch_register_lock and quiesce the device first.
 */
#include "bcache.h"
#include "dirty.h"

#include <linux/bitops.h>
#include <linux/math64.h>

long bch_dirty_stripe_of(const struct bcache_device *d, u64 offset)
{
	u64 stripe = div_u64(offset, d->stripe_size);

	return stripe < d->nr_stripes ? (long)stripe : -1;
}

/* Set or clear @stripe's full bit from its new count. */
static void note_stripe_fullness(struct bcache_device *d,
				 unsigned long stripe, unsigned int dirty)
{
	bool full = dirty == d->stripe_size;

	if (full != test_bit(stripe, d->full_dirty_stripes)) {
		if (full)
			set_bit(stripe, d->full_dirty_stripes);
		else
			clear_bit(stripe, d->full_dirty_stripes);
	}
}

void bch_dirty_add(struct bcache_device *d, u64 offset, s64 sectors)
{
	long stripe = bch_dirty_stripe_of(d, offset);
	u32 in_stripe;

	if (!sectors || !d->nr_stripes)
		return;
	if (stripe < 0) {
		pr_err("bcache: dirty sectors at %llu, beyond the device's %u stripes\n",
		       offset, d->nr_stripes);
		return;
	}

	div_u64_rem(offset, d->stripe_size, &in_stripe);

	/* The total gets what the stripes got: nothing past the last one. */
	while (sectors && stripe < d->nr_stripes) {
		s64 room = d->stripe_size - in_stripe;
		s64 n = min_t(s64, abs(sectors), room);
		int delta = sectors < 0 ? -(int)n : (int)n;

		note_stripe_fullness(d, stripe,
				     atomic_add_return(delta,
						       d->stripe_sectors_dirty +
						       stripe));
		atomic64_add(delta, &d->sectors_dirty);
		sectors -= delta;
		in_stripe = 0;
		stripe++;
	}
}

void bch_set_dirty_add(struct cache_set *c, unsigned int inode, u64 offset,
		       int sectors)
{
	struct bcache_device *d;

	if (inode >= c->nr_uuids)
		return;
	d = READ_ONCE(c->devices[inode]);
	if (!d)
		return;

	if (UUID_FLASH_ONLY(&c->uuids[inode]))
		atomic_long_add(sectors, &c->flash_dev_dirty_sectors);
	bch_dirty_add(d, offset, sectors);
}

void bch_dirty_reset(struct bcache_device *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_stripes; i++)
		atomic_set(d->stripe_sectors_dirty + i, 0);
	bitmap_zero(d->full_dirty_stripes, d->nr_stripes);
	atomic64_set(&d->sectors_dirty, 0);
}

bool bch_dirty_stripes_touched(struct bcache_device *d, u64 offset,
			       unsigned int sectors)
{
	long stripe = bch_dirty_stripe_of(d, offset);
	long last;

	if (stripe < 0 || !sectors)
		return false;
	last = bch_dirty_stripe_of(d, offset + sectors - 1);
	if (last < 0)
		last = d->nr_stripes - 1;

	for (; stripe <= last; stripe++)
		if (atomic_read(d->stripe_sectors_dirty + stripe))
			return true;
	return false;
}

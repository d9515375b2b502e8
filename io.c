// SPDX-License-Identifier: GPL-2.0
/*
 * I/O error accounting.
 *
 * A failed bio to a backing device is reported to whoever submitted it in
 * any case; here it is also counted against the device. Up to the error
 * limit (sysfs io_error_limit) each one is logged; the one that reaches it
 * disables I/O to the device and stops it, since a backing disk that keeps
 * failing is better taken away than retried forever. This runs in bio
 * completion context, so stopping is only requested (bcache_device_stop());
 * the teardown itself happens later on a workqueue.
 */

#include "bcache.h"

#include <linux/bio.h>

static void cached_dev_fail(struct cached_dev *dc)
{
	if (test_bit(BCACHE_DEV_CLOSING, &dc->disk.flags))
		return;

	WRITE_ONCE(dc->io_disable, true);
	/* New bios see io_disable before the device starts going away. */
	smp_mb();

	pr_err("stop %s: too many IO errors on backing device %pg\n",
	       dc->disk.disk->disk_name, dc->bdev);
	bcache_device_stop(&dc->disk);
}

/* Account the failure of @bio, a bio to @dc's backing device. */
void bch_count_backing_io_errors(struct cached_dev *dc, struct bio *bio)
{
	unsigned int errors;

	/*
	 * md fails readahead to a degraded array on purpose; that says
	 * nothing about the health of the disk.
	 */
	if (bio->bi_opf & REQ_RAHEAD) {
		pr_warn_ratelimited("%pg: Read-ahead I/O failed on backing device, ignore\n",
				    dc->bdev);
		return;
	}

	errors = atomic_inc_return(&dc->io_errors);
	if (errors < READ_ONCE(dc->error_limit))
		pr_err_ratelimited("%pg: IO error on backing device, unrecoverable\n",
				   dc->bdev);
	else
		cached_dev_fail(dc);
}

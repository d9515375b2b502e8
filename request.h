/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The I/O path of a bcacheN device. Without a cache set every bio is
 * remapped past the superblock and handed to the backing device.
 */
#ifndef _BCACHE_REQUEST_H
#define _BCACHE_REQUEST_H

#include <linux/blkdev.h>

struct cached_dev;

void bch_cached_dev_submit_bio(struct bio *bio);
int bch_cached_dev_ioctl(struct block_device *bdev, blk_mode_t mode,
			 unsigned int cmd, unsigned long arg);
int bch_cached_dev_request_init(struct cached_dev *dc);
void bch_cached_dev_request_exit(struct cached_dev *dc);

#endif /* _BCACHE_REQUEST_H */

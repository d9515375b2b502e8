/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Backing devices (backing.c): bcacheN, running it, attaching and
 * detaching, and the device object's lifetime, as registration and sysfs
 * use them.
 */
#ifndef _BCACHE_BACKING_H
#define _BCACHE_BACKING_H

#include "bcache.h"

struct registration;

/* The bcache block major and device numbers; at module load and unload. */
int bch_backing_module_init(void);
void bch_backing_module_exit(void);

/* A backing device whose superblock @r read and claimed; 0 or -errno. */
int bch_register_bdev(struct registration *r, const char **err);

int bch_cached_dev_run(struct cached_dev *dc);
void bch_cached_dev_uevent(struct cached_dev *dc);
void bch_cached_dev_release(struct kobject *kobj);
#if IS_ENABLED(CONFIG_KUNIT)
int bch_stripe_geometry(u64 sectors, unsigned int io_opt,
			unsigned int *stripe_size, unsigned int *nr_stripes);
#endif

/*
 * Attach: the caller holds dc->state_lock and not bch_register_lock; the
 * answer is -ENOENT if no set of that uuid runs. Detach: the caller holds
 * bch_register_lock; the detach itself finishes later, after writeback.
 */
int bch_cached_dev_attach(struct cached_dev *dc, const u8 *set_uuid);
int bch_cached_dev_detach(struct cached_dev *dc);
bool bch_cached_dev_error(struct cached_dev *dc);

#endif /* _BCACHE_BACKING_H */

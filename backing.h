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
 * Attach and detach: the caller holds dc->state_lock and
 * bch_register_lock (as upstream, the attach does its uuid and superblock
 * writes under it). Attach answers -ENOENT for a set of another uuid (or
 * one not running yet), so callers may offer a device to every set in
 * turn. Detach refuses a device with dirty data with -EBUSY.
 */
int bch_cached_dev_attach(struct cached_dev *dc, struct cache_set *c,
			  const u8 *set_uuid);
int bch_cached_dev_detach(struct cached_dev *dc);
bool bch_cached_dev_error(struct cached_dev *dc);

#endif /* _BCACHE_BACKING_H */

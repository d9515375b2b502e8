/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Registration and lifetime of backing devices and cache sets (super.c):
 * what sysfs and the layers below ask of it. Calls from below registration
 * go through set.h instead; see Documentation/design.rst.
 */
#ifndef _BCACHE_SUPER_H
#define _BCACHE_SUPER_H

#include "bcache.h"

extern struct mutex bch_register_lock;
extern unsigned int bch_cutoff_writeback;
extern unsigned int bch_cutoff_writeback_sync;

bool bcache_rebooting(void);

/* Backing devices (super.c) */
int bch_cached_dev_run(struct cached_dev *dc);
void bch_write_bdev_super(struct cached_dev *dc, struct closure *parent);
void bch_cached_dev_uevent(struct cached_dev *dc);
void bch_cached_dev_release(struct kobject *kobj);
#if IS_ENABLED(CONFIG_KUNIT)
int bch_stripe_geometry(u64 sectors, unsigned int io_opt,
			unsigned int *stripe_size, unsigned int *nr_stripes);
#endif

/* Cache sets (super.c) */
extern struct list_head bch_cache_sets;		/* under bch_register_lock */
void bch_write_super(struct cache_set *c);


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


/* kobject release functions of the ktypes sysfs.c defines. */
void bch_cache_set_release(struct kobject *kobj);
void bch_cache_set_internal_release(struct kobject *kobj);
void bch_cache_release(struct kobject *kobj);

#endif /* _BCACHE_SUPER_H */

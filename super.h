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

bool bcache_rebooting(void);
/* Counted so that stopping everything can wait for the last free. */
void bch_device_created(void);
void bch_device_freed(void);

/* One registration, from the path written to sysfs to a registered device. */
struct registration {
	char			*buf;		/* as written, for kfree() */
	const char		*path;		/* trimmed */
	struct file		*bdev_file;
	struct page		*sb_page;
	struct cache_sb_disk	*sb_disk;
	struct cached_dev	*dc;		/* holder of the claim: */
	struct cache		*ca;		/* one of these two */
	struct work_struct	work;
	struct cache_sb		sb;
};

/* Cache sets */
extern struct list_head bch_cache_sets;		/* under bch_register_lock */
/* Registered backing devices in no set; under bch_register_lock. */
extern struct list_head bch_uncached_devices;

/* kobject release functions of the ktypes sysfs.c defines. */
void bch_cache_set_release(struct kobject *kobj);
void bch_cache_set_internal_release(struct kobject *kobj);
void bch_cache_release(struct kobject *kobj);

#if IS_ENABLED(CONFIG_KUNIT)
/* What this driver refuses in a cache superblock sb.c accepted, or NULL. */
const char *bch_check_cache_sb(const struct cache_sb *sb);
#endif

#endif /* _BCACHE_SUPER_H */

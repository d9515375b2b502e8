/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcache's sysfs directories (sysfs.c): the kobject types of backing
 * devices, cache sets and cache devices, with their files. Registration
 * (super.c, backing.c) creates the kobjects; the release functions are
 * theirs.
 */
#ifndef _BCACHE_SYSFS_H
#define _BCACHE_SYSFS_H

#include <linux/kobject.h>

/* The kobject types of devices and sets, with their files. */
extern const struct kobj_type bch_cached_dev_ktype;
extern const struct kobj_type bch_cache_set_ktype;
extern const struct kobj_type bch_cache_set_internal_ktype;
extern const struct kobj_type bch_cache_ktype;

#endif /* _BCACHE_SYSFS_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Building blocks for bcache's sysfs directories.
 *
 * Every file is a struct bch_attr that carries its own show and store
 * functions, so a directory is a table of attributes and its sysfs_ops
 * only take the object's lock and dispatch. Files that show or set one
 * plain field of the object (a number within bounds, a flag, one choice
 * out of a list of names) need no code of their own: the generic helpers
 * below find the field through bch_attr.field, its offset from the
 * object's kobject, and read their bounds or names from the attribute.
 */
#ifndef _BCACHE_SYSFS_ATTR_H
#define _BCACHE_SYSFS_ATTR_H

#include <linux/kobject.h>
#include <linux/stddef.h>
#include <linux/types.h>

struct bch_attr {
	struct attribute	attr;
	ssize_t (*show)(struct kobject *kobj, const struct bch_attr *a,
			char *buf);
	ssize_t (*store)(struct kobject *kobj, const struct bch_attr *a,
			 const char *buf, size_t size);

	/* For the generic helpers only */
	ptrdiff_t		field;		/* from the kobject */
	unsigned int		min, max;	/* bounds a store clamps to */
	const char * const	*choices;	/* NULL-terminated */
	/* A struct time_stats field: which value, in what unit */
	unsigned int		time_stat;	/* enum bch_time_stat_value */
	u32			unit_ns;	/* nanoseconds per unit */
};

static inline const struct bch_attr *to_bch_attr(const struct attribute *attr)
{
	return container_of(attr, struct bch_attr, attr);
}

/* Offset of @member from @kobj_member in @type, for bch_attr.field. */
#define BCH_FIELD(type, kobj_member, member)				\
	((ptrdiff_t)offsetof(type, member) -				\
	 (ptrdiff_t)offsetof(type, kobj_member))

/* bch_attr_<_var>, the file @_name (several directories share names) */
#define BCH_NAMED_ATTR(_var, _name, _mode, _show, _store, ...)		\
	static struct bch_attr bch_attr_##_var = {			\
		.attr	= { .name = _name, .mode = _mode },		\
		.show	= _show,					\
		.store	= _store,					\
		__VA_ARGS__						\
	}

#define BCH_ATTR(_name, _mode, _show, _store, ...)			\
	BCH_NAMED_ATTR(_name, #_name, _mode, _show, _store, __VA_ARGS__)

/* Generic show/store functions for a field of type unsigned int or bool */
ssize_t bch_attr_show_uint(struct kobject *kobj, const struct bch_attr *a,
			   char *buf);
ssize_t bch_attr_store_uint(struct kobject *kobj, const struct bch_attr *a,
			    const char *buf, size_t size);
ssize_t bch_attr_show_bool(struct kobject *kobj, const struct bch_attr *a,
			   char *buf);
ssize_t bch_attr_store_bool(struct kobject *kobj, const struct bch_attr *a,
			    const char *buf, size_t size);
/* unsigned int index into a->choices */
ssize_t bch_attr_show_choice(struct kobject *kobj, const struct bch_attr *a,
			     char *buf);
ssize_t bch_attr_store_choice(struct kobject *kobj, const struct bch_attr *a,
			      const char *buf, size_t size);

/* "a [b] c\n": every choice, the selected one in brackets */
ssize_t bch_sysfs_show_choices(char *buf, const char * const *choices,
			       unsigned int selected);
/* A decimal number from user space, clamped to [lo, hi] as upstream does. */
int bch_sysfs_parse_clamped(const char *buf, unsigned long lo,
			    unsigned long hi, unsigned long *v);
/* Up to 16 bytes of a uuid; returns how many characters it consumed */
size_t bch_sysfs_parse_uuid(const char *buf, u8 uuid[16]);
/* "16M", "512k\n", "4096": a size with an optional binary unit */
int bch_sysfs_parse_human(const char *buf, u64 *v);

/*
 * The four files of a struct time_stats, as upstream names them
 * (<name>_average_frequency_<unit>, ..._average_duration_<unit>,
 * ..._max_duration_<unit>, ..._last_<unit>).
 */
enum bch_time_stat_value {
	BCH_TIME_AVERAGE_FREQUENCY,
	BCH_TIME_AVERAGE_DURATION,
	BCH_TIME_MAX_DURATION,
	BCH_TIME_LAST,			/* time since; -1 if never */
};

struct time_stats;
/* @which of @ts in units of @unit_ns nanoseconds, at local_clock() @now */
s64 bch_time_stat_value(const struct time_stats *ts, unsigned int which,
			u32 unit_ns, u64 now);
ssize_t bch_attr_show_time_stat(struct kobject *kobj, const struct bch_attr *a,
				char *buf);

/* A cache device's priority_stats: what it counted in its buckets. */
struct bch_prio_census {
	size_t		nbuckets;	/* of the device, all of them */
	size_t		unused;		/* no sectors used */
	size_t		clean;		/* GC_MARK_RECLAIMABLE */
	size_t		dirty;		/* GC_MARK_DIRTY */
	size_t		metadata;	/* GC_MARK_METADATA */
	unsigned int	bucket_size;	/* sectors */
};

/*
 * Formats priority_stats from @census and the priorities of the usable
 * buckets, @prios[0..n) (sorted in place).
 */
ssize_t bch_sysfs_show_priority_stats(char *buf,
				      const struct bch_prio_census *census,
				      u16 *prios, size_t n);

/* An atomic_long_t field, read-only. */
ssize_t bch_attr_show_atomic_long(struct kobject *kobj, const struct bch_attr *a,
				  char *buf);

#endif /* _BCACHE_SYSFS_ATTR_H */

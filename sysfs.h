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
#ifndef _BCACHE_SYSFS_H
#define _BCACHE_SYSFS_H

#include <linux/kobject.h>
#include <linux/stddef.h>
#include <linux/sysfs.h>
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
};

static inline const struct bch_attr *to_bch_attr(const struct attribute *attr)
{
	return container_of(attr, struct bch_attr, attr);
}

/* Offset of @member from @kobj_member in @type, for bch_attr.field. */
#define BCH_FIELD(type, kobj_member, member)				\
	((ptrdiff_t)offsetof(type, member) -				\
	 (ptrdiff_t)offsetof(type, kobj_member))

#define BCH_ATTR(_name, _mode, _show, _store, ...)			\
	static struct bch_attr bch_attr_##_name = {			\
		.attr	= { .name = #_name, .mode = _mode },		\
		.show	= _show,					\
		.store	= _store,					\
		__VA_ARGS__						\
	}

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
/* A size in bytes as "4.0M\n": three digits at most, binary units */
ssize_t bch_sysfs_show_human(char *buf, s64 v);
/* Up to 16 bytes of a uuid; returns how many characters it consumed */
size_t bch_sysfs_parse_uuid(const char *buf, u8 uuid[16]);

#endif /* _BCACHE_SYSFS_H */

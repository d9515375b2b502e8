// SPDX-License-Identifier: GPL-2.0
/*
 * The building blocks of bcache's sysfs files (sysfs_attr.h): generic
 * show and store functions for a plain field, and the parsers and
 * formats of upstream's ABI (sizes, uuids, choices, time statistics,
 * priority_stats). They know the attribute and the buffer, never a
 * device or a set, and take no lock: the directory's sysfs_ops do.
 */

#include "bcache.h"
#include "sysfs_attr.h"
#include "util.h"

#include <linux/blkdev.h>
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/sched/clock.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

static void *attr_field(struct kobject *kobj, const struct bch_attr *a)
{
	return (char *)kobj + a->field;
}

ssize_t bch_attr_show_uint(struct kobject *kobj, const struct bch_attr *a,
			   char *buf)
{
	return sysfs_emit(buf, "%u\n", *(unsigned int *)attr_field(kobj, a));
}

/* A decimal number from user space, clamped to [lo, hi] as upstream does. */
int bch_sysfs_parse_clamped(const char *buf, unsigned long lo,
			    unsigned long hi, unsigned long *v)
{
	int ret = kstrtoul(buf, 10, v);

	if (!ret)
		*v = clamp(*v, lo, hi);
	return ret;
}

ssize_t bch_attr_store_uint(struct kobject *kobj, const struct bch_attr *a,
			    const char *buf, size_t size)
{
	unsigned long v;
	int ret = bch_sysfs_parse_clamped(buf, a->min, a->max, &v);

	if (ret)
		return ret;
	*(unsigned int *)attr_field(kobj, a) = v;
	return size;
}

ssize_t bch_attr_show_bool(struct kobject *kobj, const struct bch_attr *a,
			   char *buf)
{
	return sysfs_emit(buf, "%i\n", *(bool *)attr_field(kobj, a));
}

/* Any decimal number: zero is false, everything else true. */
ssize_t bch_attr_store_bool(struct kobject *kobj, const struct bch_attr *a,
			    const char *buf, size_t size)
{
	unsigned long v;
	int ret = kstrtoul(buf, 10, &v);

	if (ret)
		return ret;
	*(bool *)attr_field(kobj, a) = v != 0;
	return size;
}

ssize_t bch_sysfs_show_choices(char *buf, const char * const *choices,
			       unsigned int selected)
{
	ssize_t len = 0;
	unsigned int i;

	for (i = 0; choices[i]; i++)
		len += sysfs_emit_at(buf, len, i == selected ? "%s[%s]" : "%s%s",
				     i ? " " : "", choices[i]);
	return len + sysfs_emit_at(buf, len, "\n");
}

ssize_t bch_attr_show_choice(struct kobject *kobj, const struct bch_attr *a,
			     char *buf)
{
	return bch_sysfs_show_choices(buf, a->choices,
				      *(unsigned int *)attr_field(kobj, a));
}

ssize_t bch_attr_store_choice(struct kobject *kobj, const struct bch_attr *a,
			      const char *buf, size_t size)
{
	int i = __sysfs_match_string(a->choices, -1, buf);

	if (i < 0)
		return i;
	*(unsigned int *)attr_field(kobj, a) = i;
	return size;
}

/*
 * As upstream reads a uuid: hex digits fill the bytes, '-' and ':' are
 * skipped, and parsing stops at any other character or after 32 digits.
 */
size_t bch_sysfs_parse_uuid(const char *buf, u8 uuid[16])
{
	size_t len = strspn(buf, "-:0123456789abcdefABCDEF");
	unsigned int digits = 0;
	size_t i;

	memset(uuid, 0, 16);
	for (i = 0; i < len && digits < 32; i++) {
		int x = hex_to_bin(buf[i]);

		if (x < 0)
			continue;
		uuid[digits / 2] |= digits % 2 ? x : x << 4;
		digits++;
	}
	return i;
}

/* "k" is 1024, "M" 1024 "k", and so on; "z" and "y" only overflow. */
static const char human_suffixes[] = "kmgtpezy";

int bch_sysfs_parse_human(const char *buf, u64 *v)
{
	char digits[24];
	size_t len = strcspn(buf, "\n");
	unsigned int shifts = 0;
	const char *unit;
	u64 n;
	int ret;

	if (buf[len] && buf[len + 1])	/* something after the newline */
		return -EINVAL;
	if (!len || len >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, buf, len);
	digits[len] = '\0';

	unit = strchr(human_suffixes, tolower(digits[len - 1]));
	if (unit) {
		shifts = unit - human_suffixes + 1;
		digits[len - 1] = '\0';
	}

	ret = kstrtoull(digits, 10, &n);
	if (ret)
		return ret;
	while (shifts--) {
		if (n > U64_MAX >> 10)
			return -EINVAL;
		n <<= 10;
	}
	*v = n;
	return 0;
}

/* Time statistics: upstream keeps the averages scaled by 2^8. */

s64 bch_time_stat_value(const struct time_stats *ts, unsigned int which,
			u32 unit_ns, u64 now)
{
	switch (which) {
	case BCH_TIME_AVERAGE_FREQUENCY:
		return div_u64(ts->average_frequency >> TIME_STATS_EWMA_SHIFT,
			       unit_ns);
	case BCH_TIME_AVERAGE_DURATION:
		return div_u64(ts->average_duration >> TIME_STATS_EWMA_SHIFT,
			       unit_ns);
	case BCH_TIME_MAX_DURATION:
		return div_u64(ts->max_duration, unit_ns);
	default:
		return ts->last ? div_s64(now - ts->last, unit_ns) : -1;
	}
}

ssize_t bch_attr_show_time_stat(struct kobject *kobj, const struct bch_attr *a,
				char *buf)
{
	struct time_stats *ts = attr_field(kobj, a);
	s64 v;

	spin_lock(&ts->lock);
	v = bch_time_stat_value(ts, a->time_stat, a->unit_ns, local_clock());
	spin_unlock(&ts->lock);
	return sysfs_emit(buf, "%lld\n", v);
}

/* priority_stats */

#define PRIO_QUANTILES	31

/* Highest priority first, so never-used buckets (prio 0) end up last. */
static int prio_higher_first(const void *l, const void *r)
{
	u16 a = *(const u16 *)l, b = *(const u16 *)r;

	cond_resched();
	return (int)b - (int)a;
}

/*
 * Only buckets holding cached data count towards the average and the
 * quantiles: those that were never used (prio 0) and btree buckets
 * (BTREE_PRIO) are cut off the ends of the sorted array first. Upstream's
 * arithmetic is kept, unsigned wrap-around and all, so the numbers agree.
 */
ssize_t bch_sysfs_show_priority_stats(char *buf,
				      const struct bch_prio_census *census,
				      u16 *prios, size_t n)
{
	size_t total = census->nbuckets ?: 1;
	size_t first = 0, i;
	u64 age_sum = 0;
	ssize_t len;

	sort(prios, n, sizeof(*prios), prio_higher_first, NULL);
	while (n && !prios[n - 1])
		n--;
	while (first < n && prios[first] == BTREE_PRIO)
		first++;
	prios += first;
	n -= first;

	for (i = 0; i < n; i++)
		age_sum += INITIAL_PRIO - prios[i];
	if (n)
		age_sum = div64_u64(age_sum, n);

	len = sysfs_emit(buf,
			 "Unused:\t\t%zu%%\nClean:\t\t%zu%%\nDirty:\t\t%zu%%\n"
			 "Metadata:\t%zu%%\nAverage:\t%llu\n"
			 "Sectors per Q:\t%zu\nQuantiles:\t[",
			 census->unused * 100 / total,
			 census->clean * 100 / total,
			 census->dirty * 100 / total,
			 census->metadata * 100 / total, age_sum,
			 n * census->bucket_size / (PRIO_QUANTILES + 1));

	for (i = 0; i < PRIO_QUANTILES; i++) {
		u16 prio = n ? prios[n * (i + 1) / (PRIO_QUANTILES + 1)] : 0;

		len += sysfs_emit_at(buf, len, i ? " %u" : "%u",
				     (u16)(INITIAL_PRIO - prio));
	}
	return len + sysfs_emit_at(buf, len, "]\n");
}

ssize_t bch_attr_show_atomic_long(struct kobject *kobj, const struct bch_attr *a,
				  char *buf)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read((atomic_long_t *)attr_field(kobj, a)));
}

// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs files of bcache devices.
 *
 * A backing device's directory is /sys/block/<backing>/bcache, also reached
 * as /sys/block/bcacheN/bcache. File names and the formats of what they
 * show and take are upstream's ABI, which scripts and bcache-tools rely
 * on. Each file is an entry of an attribute table (see sysfs.h); all of a
 * device's files run under its state_lock, and none of them while the
 * system reboots.
 *
 * Files that concern writeback already hold their values, so that settings
 * made before a cache is attached are kept, but nothing acts on them yet.
 */

#include "bcache.h"
#include "sysfs.h"

#include <linux/blkdev.h>
#include <linux/kernel.h>
#include <linux/string.h>

/* Generic helpers */

static void *attr_field(struct kobject *kobj, const struct bch_attr *a)
{
	return (char *)kobj + a->field;
}

ssize_t bch_attr_show_uint(struct kobject *kobj, const struct bch_attr *a,
			   char *buf)
{
	return sysfs_emit(buf, "%u\n", *(unsigned int *)attr_field(kobj, a));
}

/* Parses a decimal number and clamps it to the attribute's bounds. */
/* A decimal number from user space, clamped to [lo, hi] as upstream does. */
static int parse_clamped(const char *buf, unsigned long lo, unsigned long hi,
			 unsigned long *v)
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
	int ret = parse_clamped(buf, a->min, a->max, &v);

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

static const char human_units[] = "?kMGTPEZY";
#define HUMAN_LEN	16	/* "-999.9k" and a NUL, with room to spare */

/*
 * Divides by 1024 until at most three digits are left (at least once, so
 * bytes show as k), keeping one decimal of the last remainder: the format
 * of upstream's bch_hprint().
 */
static void format_human(char out[HUMAN_LEN], s64 v)
{
	u64 whole = v < 0 ? -(u64)v : (u64)v;
	unsigned int unit = 0, rem;

	for (;;) {
		rem = whole & 1023;
		whole >>= 10;
		unit++;
		if (whole < 1000)
			break;
	}

	snprintf(out, HUMAN_LEN, "%s%llu.%u%c", v < 0 ? "-" : "", whole,
		 rem * 10 / 1024, human_units[unit]);
}

ssize_t bch_sysfs_show_human(char *buf, s64 v)
{
	char h[HUMAN_LEN];

	format_human(h, v);
	return sysfs_emit(buf, "%s\n", h);
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

/* Backing devices */

static const char * const bch_cache_modes[] = {
	"writethrough", "writeback", "writearound", "none", NULL
};

static const char * const bch_reada_cache_policies[] = {
	"all", "meta-only", NULL
};

static const char * const bch_stop_on_failure_modes[] = {
	"auto", "always", NULL
};

static const char * const bdev_states[] = {
	[BDEV_STATE_NONE]	= "no cache",
	[BDEV_STATE_CLEAN]	= "clean",
	[BDEV_STATE_DIRTY]	= "dirty",
	[BDEV_STATE_STALE]	= "inconsistent",
};

static struct cached_dev *kobj_to_dc(struct kobject *kobj)
{
	return container_of(kobj, struct cached_dev, disk.kobj);
}

#define DC_FIELD(member)	.field = BCH_FIELD(struct cached_dev, disk.kobj, member)

static ssize_t show_state(struct kobject *kobj, const struct bch_attr *a,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n", bdev_states[BDEV_STATE(&kobj_to_dc(kobj)->sb)]);
}

static ssize_t show_running(struct kobject *kobj, const struct bch_attr *a,
			    char *buf)
{
	return sysfs_emit(buf, "%i\n", atomic_read(&kobj_to_dc(kobj)->running));
}

/* Writing a non-zero number brings bcacheN up without its cache. */
static ssize_t store_running(struct kobject *kobj, const struct bch_attr *a,
			     const char *buf, size_t size)
{
	unsigned long v;
	int ret = kstrtoul(buf, 10, &v);

	if (!ret && v)
		ret = bch_cached_dev_run(kobj_to_dc(kobj));
	return ret ? ret : size;
}

/* Restarts the running totals of stats_total. */
static ssize_t store_clear_stats(struct kobject *kobj, const struct bch_attr *a,
				 const char *buf, size_t size)
{
	bch_accounting_clear(&kobj_to_dc(kobj)->accounting);
	return size;
}

static ssize_t store_stop(struct kobject *kobj, const struct bch_attr *a,
			  const char *buf, size_t size)
{
	bcache_device_stop(&kobj_to_dc(kobj)->disk);
	return size;
}

static ssize_t show_label(struct kobject *kobj, const struct bch_attr *a,
			  char *buf)
{
	const u8 *label = kobj_to_dc(kobj)->sb.label;

	return sysfs_emit(buf, "%.*s\n", (int)strnlen(label, SB_LABEL_SIZE),
			  label);
}

/* Persisted in the superblock; a trailing newline is not part of it. */
static ssize_t store_label(struct kobject *kobj, const struct bch_attr *a,
			   const char *buf, size_t size)
{
	struct cached_dev *dc = kobj_to_dc(kobj);
	size_t len = size;

	if (size > SB_LABEL_SIZE)
		return -EINVAL;
	if (len && buf[len - 1] == '\n')
		len--;

	memset(dc->sb.label, 0, SB_LABEL_SIZE);
	memcpy(dc->sb.label, buf, len);
	bch_write_bdev_super(dc, NULL);

	if (atomic_read(&dc->running))
		bch_cached_dev_uevent(dc);
	return size;
}

static ssize_t show_cache_mode(struct kobject *kobj, const struct bch_attr *a,
			       char *buf)
{
	return bch_sysfs_show_choices(buf, bch_cache_modes,
				      BDEV_CACHE_MODE(&kobj_to_dc(kobj)->sb));
}

/* Persisted in the superblock. */
static ssize_t store_cache_mode(struct kobject *kobj, const struct bch_attr *a,
				const char *buf, size_t size)
{
	struct cached_dev *dc = kobj_to_dc(kobj);
	int mode = __sysfs_match_string(bch_cache_modes, -1, buf);

	if (mode < 0)
		return mode;
	if (mode != BDEV_CACHE_MODE(&dc->sb)) {
		SET_BDEV_CACHE_MODE(&dc->sb, mode);
		bch_write_bdev_super(dc, NULL);
	}
	return size;
}

/* There are no cache sets to attach to yet: a valid uuid finds none. */
static ssize_t store_attach(struct kobject *kobj, const struct bch_attr *a,
			    const char *buf, size_t size)
{
	u8 set_uuid[16];

	if (bch_sysfs_parse_uuid(buf, set_uuid) < 16)
		return -EINVAL;

	pr_err("Can't attach %.*s: cache set not found\n",
	       (int)strcspn(buf, "\n"), buf);
	return -ENOENT;
}

/* Detaching a device that is not attached does nothing, as upstream. */
static ssize_t store_detach(struct kobject *kobj, const struct bch_attr *a,
			    const char *buf, size_t size)
{
	return size;
}

static ssize_t show_backing_dev_name(struct kobject *kobj,
				     const struct bch_attr *a, char *buf)
{
	return sysfs_emit(buf, "%pg\n", kobj_to_dc(kobj)->bdev);
}

static ssize_t show_backing_dev_uuid(struct kobject *kobj,
				     const struct bch_attr *a, char *buf)
{
	return sysfs_emit(buf, "%pU\n", kobj_to_dc(kobj)->sb.uuid);
}

static ssize_t show_dirty_data(struct kobject *kobj, const struct bch_attr *a,
			       char *buf)
{
	return bch_sysfs_show_human(buf, bcache_dev_sectors_dirty(&kobj_to_dc(kobj)->disk)
				    << SECTOR_SHIFT);
}

static ssize_t show_stripe_size(struct kobject *kobj, const struct bch_attr *a,
				char *buf)
{
	return bch_sysfs_show_human(buf, (u64)kobj_to_dc(kobj)->disk.stripe_size
				    << SECTOR_SHIFT);
}

static ssize_t show_io_errors(struct kobject *kobj, const struct bch_attr *a,
			      char *buf)
{
	return sysfs_emit(buf, "%i\n", atomic_read(&kobj_to_dc(kobj)->io_errors));
}

static ssize_t show_sequential_cutoff(struct kobject *kobj,
				      const struct bch_attr *a, char *buf)
{
	return bch_sysfs_show_human(buf, kobj_to_dc(kobj)->sequential_cutoff);
}

/* The knobs of writeback, kept for when a cache is attached */

static ssize_t store_writeback_percent(struct kobject *kobj,
				       const struct bch_attr *a,
				       const char *buf, size_t size)
{
	unsigned long v;
	int ret = parse_clamped(buf, 0, bch_cutoff_writeback, &v);

	if (ret)
		return ret;
	kobj_to_dc(kobj)->wb.percent = v;
	return size;
}

/* Writeback runs only on an attached device: there is nothing to start. */
static ssize_t store_writeback_running(struct kobject *kobj,
				       const struct bch_attr *a,
				       const char *buf, size_t size)
{
	struct cached_dev *dc = kobj_to_dc(kobj);
	ssize_t ret = bch_attr_store_bool(kobj, a, buf, size);

	if (ret >= 0 && dc->writeback_running) {
		dc->writeback_running = false;
		pr_err("%s: failed to run non-existent writeback thread\n",
		       dc->disk.disk->disk_name);
	}
	return ret;
}

static u64 shown_rate(struct cached_dev *dc)
{
	return dc->writeback_running ?
		(u64)atomic_long_read(&dc->writeback_rate) << SECTOR_SHIFT : 0;
}

static ssize_t show_writeback_rate(struct kobject *kobj,
				   const struct bch_attr *a, char *buf)
{
	return bch_sysfs_show_human(buf, shown_rate(kobj_to_dc(kobj)));
}

static ssize_t store_writeback_rate(struct kobject *kobj,
				    const struct bch_attr *a,
				    const char *buf, size_t size)
{
	unsigned long v;
	int ret = parse_clamped(buf, 1, INT_MAX, &v);

	if (ret)
		return ret;
	atomic_long_set(&kobj_to_dc(kobj)->writeback_rate, v);
	return size;
}

static ssize_t show_writeback_rate_debug(struct kobject *kobj,
					 const struct bch_attr *a, char *buf)
{
	struct cached_dev *dc = kobj_to_dc(kobj);
	/* The controller terms are meaningful only while writeback runs. */
	bool wb = dc->writeback_running;
	const struct {
		const char	*name;
		s64		bytes;
		const char	*suffix;
	} rows[] = {
		{ "rate:\t\t", shown_rate(dc), "/sec" },
		{ "dirty:\t\t",
		  bcache_dev_sectors_dirty(&dc->disk) << SECTOR_SHIFT, "" },
		{ "target:\t\t", dc->writeback_rate_target << SECTOR_SHIFT, "" },
		{ "proportional:\t",
		  wb ? dc->writeback_rate_proportional << SECTOR_SHIFT : 0, "" },
		{ "integral:\t",
		  wb ? dc->writeback_rate_integral_scaled << SECTOR_SHIFT : 0, "" },
		{ "change:\t\t",
		  wb ? (s64)dc->writeback_rate_change << SECTOR_SHIFT : 0, "/sec" },
	};
	char h[HUMAN_LEN];
	ssize_t len = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		format_human(h, rows[i].bytes);
		len += sysfs_emit_at(buf, len, "%s%s%s\n", rows[i].name, h,
				     rows[i].suffix);
	}
	/* When the rate limiter lets the next write go; none runs yet. */
	return len + sysfs_emit_at(buf, len, "next io:\t%llims\n", 0LL);
}

/*
 * The fragmentation thresholds stay strictly increasing: each is clamped
 * between its neighbours (a->min is its index in wb.fp_term).
 */
static ssize_t store_fp_term(struct kobject *kobj, const struct bch_attr *a,
			     const char *buf, size_t size)
{
	unsigned int *terms = kobj_to_dc(kobj)->wb.fp_term;
	unsigned int i = a->min;
	unsigned long lo = i > FP_TERM_LOW ? terms[i - 1] + 1UL : 1;
	unsigned long hi = i < FP_TERM_HIGH ? terms[i + 1] - 1UL : UINT_MAX;
	unsigned long v;
	int ret = parse_clamped(buf, lo, hi, &v);

	if (ret)
		return ret;
	terms[i] = v;
	return size;
}

/* The table */

BCH_ATTR(attach,	0200, NULL, store_attach);
BCH_ATTR(detach,	0200, NULL, store_detach);
BCH_ATTR(stop,		0200, NULL, store_stop);
BCH_ATTR(clear_stats,	0200, NULL, store_clear_stats);
BCH_ATTR(running,	0644, show_running, store_running);
BCH_ATTR(state,		0444, show_state, NULL);
BCH_ATTR(label,		0644, show_label, store_label);
BCH_ATTR(cache_mode,	0644, show_cache_mode, store_cache_mode);
BCH_ATTR(readahead_cache_policy, 0644,
	 bch_attr_show_choice, bch_attr_store_choice,
	 DC_FIELD(cache_readahead_policy),
	 .choices = bch_reada_cache_policies);
BCH_ATTR(stop_when_cache_set_failed, 0644,
	 bch_attr_show_choice, bch_attr_store_choice,
	 DC_FIELD(stop_when_cache_set_failed),
	 .choices = bch_stop_on_failure_modes);
/* Stored as plain decimal bytes: 6.12 takes no unit suffix here. */
BCH_ATTR(sequential_cutoff, 0644, show_sequential_cutoff,
	 bch_attr_store_uint, DC_FIELD(sequential_cutoff), .max = UINT_MAX);
BCH_ATTR(backing_dev_name, 0444, show_backing_dev_name, NULL);
BCH_ATTR(backing_dev_uuid, 0444, show_backing_dev_uuid, NULL);
BCH_ATTR(dirty_data,	0444, show_dirty_data, NULL);
BCH_ATTR(stripe_size,	0444, show_stripe_size, NULL);
BCH_ATTR(partial_stripes_expensive, 0444, bch_attr_show_bool, NULL,
	 DC_FIELD(partial_stripes_expensive));

BCH_ATTR(io_errors,	0444, show_io_errors, NULL);
BCH_ATTR(io_error_limit, 0644, bch_attr_show_uint, bch_attr_store_uint,
	 DC_FIELD(error_limit), .max = INT_MAX);
BCH_ATTR(io_disable,	0644, bch_attr_show_bool, bch_attr_store_bool,
	 DC_FIELD(io_disable));

BCH_ATTR(writeback_metadata, 0644, bch_attr_show_bool, bch_attr_store_bool,
	 DC_FIELD(wb.metadata));
BCH_ATTR(writeback_running, 0644, bch_attr_show_bool,
	 store_writeback_running, DC_FIELD(writeback_running));
BCH_ATTR(writeback_consider_fragment, 0644,
	 bch_attr_show_bool, bch_attr_store_bool,
	 DC_FIELD(wb.consider_fragment));
BCH_ATTR(writeback_delay, 0644, bch_attr_show_uint, bch_attr_store_uint,
	 DC_FIELD(wb.delay), .max = UINT_MAX);
BCH_ATTR(writeback_percent, 0644, bch_attr_show_uint,
	 store_writeback_percent, DC_FIELD(wb.percent));
BCH_ATTR(writeback_rate, 0644, show_writeback_rate, store_writeback_rate);
BCH_ATTR(writeback_rate_update_seconds, 0644,
	 bch_attr_show_uint, bch_attr_store_uint,
	 DC_FIELD(wb.update_seconds),
	 .min = 1, .max = WRITEBACK_RATE_UPDATE_SECS_MAX);
BCH_ATTR(writeback_rate_i_term_inverse, 0644,
	 bch_attr_show_uint, bch_attr_store_uint,
	 DC_FIELD(wb.i_term_inverse), .min = 1, .max = UINT_MAX);
BCH_ATTR(writeback_rate_p_term_inverse, 0644,
	 bch_attr_show_uint, bch_attr_store_uint,
	 DC_FIELD(wb.p_term_inverse), .min = 1, .max = UINT_MAX);
BCH_ATTR(writeback_rate_fp_term_low, 0644, bch_attr_show_uint, store_fp_term,
	 DC_FIELD(wb.fp_term[FP_TERM_LOW]),
	 .min = FP_TERM_LOW);
BCH_ATTR(writeback_rate_fp_term_mid, 0644, bch_attr_show_uint, store_fp_term,
	 DC_FIELD(wb.fp_term[FP_TERM_MID]),
	 .min = FP_TERM_MID);
BCH_ATTR(writeback_rate_fp_term_high, 0644, bch_attr_show_uint, store_fp_term,
	 DC_FIELD(wb.fp_term[FP_TERM_HIGH]),
	 .min = FP_TERM_HIGH);
BCH_ATTR(writeback_rate_minimum, 0644, bch_attr_show_uint, bch_attr_store_uint,
	 DC_FIELD(wb.rate_minimum), .min = 1, .max = UINT_MAX);
BCH_ATTR(writeback_rate_debug, 0444, show_writeback_rate_debug, NULL);

static struct attribute *bch_cached_dev_attrs[] = {
	&bch_attr_attach.attr,
	&bch_attr_detach.attr,
	&bch_attr_stop.attr,
	&bch_attr_clear_stats.attr,
	&bch_attr_running.attr,
	&bch_attr_state.attr,
	&bch_attr_label.attr,
	&bch_attr_cache_mode.attr,
	&bch_attr_readahead_cache_policy.attr,
	&bch_attr_stop_when_cache_set_failed.attr,
	&bch_attr_sequential_cutoff.attr,
	&bch_attr_backing_dev_name.attr,
	&bch_attr_backing_dev_uuid.attr,
	&bch_attr_dirty_data.attr,
	&bch_attr_stripe_size.attr,
	&bch_attr_partial_stripes_expensive.attr,
	&bch_attr_io_errors.attr,
	&bch_attr_io_error_limit.attr,
	&bch_attr_io_disable.attr,
	&bch_attr_writeback_metadata.attr,
	&bch_attr_writeback_running.attr,
	&bch_attr_writeback_consider_fragment.attr,
	&bch_attr_writeback_delay.attr,
	&bch_attr_writeback_percent.attr,
	&bch_attr_writeback_rate.attr,
	&bch_attr_writeback_rate_update_seconds.attr,
	&bch_attr_writeback_rate_i_term_inverse.attr,
	&bch_attr_writeback_rate_p_term_inverse.attr,
	&bch_attr_writeback_rate_fp_term_low.attr,
	&bch_attr_writeback_rate_fp_term_mid.attr,
	&bch_attr_writeback_rate_fp_term_high.attr,
	&bch_attr_writeback_rate_minimum.attr,
	&bch_attr_writeback_rate_debug.attr,
	NULL
};
ATTRIBUTE_GROUPS(bch_cached_dev);

static ssize_t cached_dev_attr_show(struct kobject *kobj,
				    struct attribute *attr, char *buf)
{
	const struct bch_attr *a = to_bch_attr(attr);
	struct cached_dev *dc = kobj_to_dc(kobj);
	ssize_t ret;

	if (!a->show)
		return -EIO;

	mutex_lock(&dc->state_lock);
	ret = a->show(kobj, a, buf);
	mutex_unlock(&dc->state_lock);
	return ret;
}

static ssize_t cached_dev_attr_store(struct kobject *kobj,
				     struct attribute *attr,
				     const char *buf, size_t size)
{
	const struct bch_attr *a = to_bch_attr(attr);
	struct cached_dev *dc = kobj_to_dc(kobj);
	ssize_t ret;

	if (!a->store)
		return -EIO;
	/* No user space access while the system is rebooting. */
	if (bcache_rebooting())
		return -EBUSY;

	mutex_lock(&dc->state_lock);
	ret = a->store(kobj, a, buf, size);
	mutex_unlock(&dc->state_lock);
	return ret;
}

static const struct sysfs_ops bch_cached_dev_sysfs_ops = {
	.show	= cached_dev_attr_show,
	.store	= cached_dev_attr_store,
};

const struct kobj_type bch_cached_dev_ktype = {
	.release	= bch_cached_dev_release,
	.sysfs_ops	= &bch_cached_dev_sysfs_ops,
	.default_groups	= bch_cached_dev_groups,
};

// SPDX-License-Identifier: GPL-2.0
/*
 * Superblock codec and verifier.
 *
 * A member device's superblock is untrusted input until bch_sb_decode() has
 * accepted it: the checks run in the order the fields depend on each other
 * (offset and magic say whether this is ours at all, the checksum whether
 * the rest can be believed, the version which layout the rest has), and the
 * first failure is returned as -EINVAL with a reason in the words upstream
 * prints, so an admin's dmesg reads the same under either driver. Checks
 * upstream lacks (journal bucket count before the checksum walks the
 * bucket list, overflow of bucket_size * nbuckets, undefined policy and
 * mode values) are ours: each closes a way for a crafted superblock to
 * crash or hang the kernel.
 *
 * Encoding updates only the fields the driver changes in place (label,
 * flags, seq, journal buckets, ...) on top of the block as read, so bytes
 * this code does not know about survive a rewrite.
 */

#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/string.h>

#include "sb.h"

#define SB_PAGE_SECTORS		(PAGE_SIZE >> SECTOR_SHIFT)

const u8 bcache_magic[16] = {
	0xc6, 0x85, 0x73, 0xf6, 0x4e, 0x1a, 0x45, 0xca,
	0x82, 0x65, 0xf5, 0x7f, 0x48, 0xba, 0x6d, 0x81,
};

static bool all_zero(const u8 *p, size_t n)
{
	return !memchr_inv(p, 0, n);
}

u64 bch_sb_csum(const struct cache_sb_disk *d)
{
	unsigned int keys = min_t(unsigned int, le16_to_cpu(d->keys),
				  SB_JOURNAL_BUCKETS);

	return bch_csum_range(d, &d->d[keys]);
}

/*
 * bucket_size is 16 bits on disk. Feature bits widen it: either as a log2
 * (the current scheme) or with 16 more bits kept at the end (the obsolete
 * one). Returns 0 for a size that cannot be represented.
 */
static u32 disk_bucket_size(const struct cache_sb *sb,
			    const struct cache_sb_disk *d)
{
	u32 raw = le16_to_cpu(d->bucket_size);

	if (sb->version < BCACHE_SB_VERSION_CDEV_WITH_FEATURES)
		return raw;
	if (sb->feature_incompat & BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET_SIZE)
		return raw < 32 ? 1U << raw : 0;
	if (sb->feature_incompat & BCH_FEATURE_INCOMPAT_OBSO_LARGE_BUCKET)
		return raw | (u32)le16_to_cpu(d->obso_bucket_size_hi) << 16;
	return raw;
}

static const char *check_features(const struct cache_sb *sb)
{
	if (sb->feature_compat & ~BCH_FEATURE_COMPAT_SUPP)
		return "Unsupported compatible feature found";
	if (sb->feature_ro_compat & ~BCH_FEATURE_RO_COMPAT_SUPP)
		return "Unsupported read-only compatible feature found";
	if (sb->feature_incompat & ~BCH_FEATURE_INCOMPAT_SUPP)
		return "Unsupported incompatible feature found";
	return NULL;
}

/* The bucket geometry of a cache device, against itself and its device. */
static const char *check_cache_geometry(const struct cache_sb *sb,
					const struct bch_sb_dev_info *dev)
{
	u64 sectors_needed;
	unsigned int i;

	if (sb->nbuckets > LONG_MAX)
		return "Too many buckets";
	if (sb->nbuckets < 1 << 7)
		return "Not enough buckets";
	if (!is_power_of_2(sb->block_size))
		return "Bad block size (not power of 2)";
	if (sb->block_size > SB_PAGE_SECTORS)
		return "Bad block size (larger than page size)";
	if (!sb->bucket_size || !is_power_of_2(sb->bucket_size))
		return "Bad bucket size (not power of 2)";
	if (sb->bucket_size < SB_PAGE_SECTORS)
		return "Bad bucket size (smaller than page size)";
	if (check_mul_overflow((u64)sb->bucket_size, sb->nbuckets,
			       &sectors_needed) ||
	    dev->capacity < sectors_needed)
		return "Invalid superblock: device too small";
	if (all_zero(sb->set_uuid, sizeof(sb->set_uuid)))
		return "Bad UUID";
	if (!sb->nr_in_set || sb->nr_in_set <= sb->nr_this_dev ||
	    sb->nr_in_set > MAX_CACHES_PER_SET)
		return "Bad cache device number in set";
	for (i = 0; i < sb->keys; i++)
		if (sb->d[i] != sb->first_bucket + i)
			return "Journal buckets not sequential";
	if ((u64)sb->first_bucket + sb->keys > sb->nbuckets)
		return "Too many journal buckets";
	if ((u64)sb->first_bucket * sb->bucket_size < 16)
		return "Invalid superblock: first bucket comes before end of super";
	if (CACHE_REPLACEMENT(sb) > CACHE_REPLACEMENT_MAX)
		return "Bad cache replacement policy";
	return NULL;
}

static void decode_cache(struct cache_sb *sb, const struct cache_sb_disk *d)
{
	sb->first_bucket = le16_to_cpu(d->first_bucket);
	sb->nbuckets = le64_to_cpu(d->nbuckets);
	sb->nr_in_set = le16_to_cpu(d->nr_in_set);
	sb->nr_this_dev = le16_to_cpu(d->nr_this_dev);
	sb->bucket_size = disk_bucket_size(sb, d);
}

static const char *check_cache(const struct cache_sb *sb,
			       const struct bch_sb_dev_info *dev)
{
	const char *err;

	if (sb->version == BCACHE_SB_VERSION_CDEV_WITH_FEATURES) {
		err = check_features(sb);
		if (err)
			return err;
	}
	return check_cache_geometry(sb, dev);
}

static void decode_backing(struct cache_sb *sb, const struct cache_sb_disk *d)
{
	if (sb->version == BCACHE_SB_VERSION_BDEV)
		sb->data_offset = BDEV_DATA_START_DEFAULT;
	else
		sb->data_offset = le64_to_cpu(d->data_offset);
}

static const char *check_backing(const struct cache_sb *sb,
				 const struct bch_sb_dev_info *dev)
{
	if (sb->data_offset < BDEV_DATA_START_DEFAULT)
		return "Bad data offset";
	if (sb->data_offset > dev->capacity)
		return "Bad data offset (past the end of the device)";
	if (BDEV_CACHE_MODE(sb) > CACHE_MODE_MAX)
		return "Bad cache mode";
	return NULL;
}

/* The fields every version has, in the order upstream checks them. */
static const char *decode_common(struct cache_sb *sb,
				 const struct cache_sb_disk *d)
{
	unsigned int i;

	memset(sb, 0, sizeof(*sb));
	sb->offset = le64_to_cpu(d->offset);
	sb->version = le64_to_cpu(d->version);
	memcpy(sb->magic, d->magic, sizeof(sb->magic));
	memcpy(sb->uuid, d->uuid, sizeof(sb->uuid));
	memcpy(sb->set_uuid, d->set_uuid, sizeof(sb->set_uuid));
	memcpy(sb->label, d->label, sizeof(sb->label));
	sb->flags = le64_to_cpu(d->flags);
	sb->seq = le64_to_cpu(d->seq);
	sb->last_mount = le32_to_cpu(d->last_mount);
	sb->keys = le16_to_cpu(d->keys);
	sb->block_size = le16_to_cpu(d->block_size);

	if (sb->offset != SB_SECTOR)
		return "Not a bcache superblock (bad offset)";
	if (memcmp(sb->magic, bcache_magic, sizeof(bcache_magic)))
		return "Not a bcache superblock (bad magic)";
	/* Before the checksum: it walks this many journal bucket slots. */
	if (sb->keys > SB_JOURNAL_BUCKETS)
		return "Too many journal buckets";
	if (le64_to_cpu(d->csum) != bch_sb_csum(d))
		return "Bad checksum";

	for (i = 0; i < sb->keys; i++)
		sb->d[i] = le64_to_cpu(d->d[i]);

	/*
	 * Kept for every featured version, so that bch_sb_encode() writes
	 * back what it read; only cache devices are refused for unknown ones
	 * (upstream checks no feature of a backing device).
	 */
	if (sb->version >= BCACHE_SB_VERSION_CDEV_WITH_FEATURES) {
		sb->feature_compat = le64_to_cpu(d->feature_compat);
		sb->feature_incompat = le64_to_cpu(d->feature_incompat);
		sb->feature_ro_compat = le64_to_cpu(d->feature_ro_compat);
	}
	return NULL;
}

static bool is_backing_version(u64 version)
{
	return version == BCACHE_SB_VERSION_BDEV ||
	       version == BCACHE_SB_VERSION_BDEV_WITH_OFFSET ||
	       version == BCACHE_SB_VERSION_BDEV_WITH_FEATURES;
}

static bool is_cache_version(u64 version)
{
	return version == BCACHE_SB_VERSION_CDEV ||
	       version == BCACHE_SB_VERSION_CDEV_WITH_UUID ||
	       version == BCACHE_SB_VERSION_CDEV_WITH_FEATURES;
}

/**
 * bch_sb_verify() - check a superblock in host form against its device
 * @sb:		decoded from disk, or about to be encoded and written
 * @dev:	size and logical block size of the device it belongs to
 * @why:	set to a static string naming what is wrong, or NULL
 *
 * Everything a superblock says that does not depend on how it is laid out
 * on disk: registration refuses a device whose superblock fails, and a
 * superblock write refuses to put one on disk, so a bug in what the driver
 * changes never leaves a device that no longer registers.
 *
 * Return: 0, or -EINVAL.
 */
int bch_sb_verify(const struct cache_sb *sb, const struct bch_sb_dev_info *dev,
		  const char **why)
{
	const char *err;

	if (sb->offset != SB_SECTOR)
		err = "Not a bcache superblock (bad offset)";
	else if (memcmp(sb->magic, bcache_magic, sizeof(bcache_magic)))
		err = "Not a bcache superblock (bad magic)";
	else if (sb->keys > SB_JOURNAL_BUCKETS)
		err = "Too many journal buckets";
	else if (all_zero(sb->uuid, sizeof(sb->uuid)))
		err = "Bad UUID";
	else if (((u32)sb->block_size << SECTOR_SHIFT) < dev->logical_block_size)
		err = "Superblock block size smaller than device block size";
	else if (is_backing_version(sb->version))
		err = check_backing(sb, dev);
	else if (is_cache_version(sb->version))
		err = check_cache(sb, dev);
	else
		err = "Unsupported superblock version";

	*why = err;
	return err ? -EINVAL : 0;
}

/**
 * bch_sb_decode() - check a superblock and convert it to host form
 * @sb:		filled on success; unspecified on failure
 * @d:		the superblock as read from sector 8
 * @dev:	size and logical block size of the device it was read from
 * @reason:	on failure, set to a static string naming what is wrong
 *
 * What only the disk form has (its offset, magic, journal bucket count
 * and checksum) is checked while converting; the rest by bch_sb_verify().
 *
 * Return: 0, or -EINVAL when @d is not an acceptable superblock.
 */
int bch_sb_decode(struct cache_sb *sb, const struct cache_sb_disk *d,
		  const struct bch_sb_dev_info *dev, const char **reason)
{
	const char *err = decode_common(sb, d);

	if (err) {
		*reason = err;
		return -EINVAL;
	}
	if (is_backing_version(sb->version))
		decode_backing(sb, d);
	else if (is_cache_version(sb->version))
		decode_cache(sb, d);
	return bch_sb_verify(sb, dev, reason);
}

/**
 * bch_sb_encode() - write the driver's view of a superblock into its block
 * @d:	the block as last read or written; fields not listed stay as they are
 * @sb:	the current superblock
 *
 * Sets the checksum last, over the final contents.
 */
void bch_sb_encode(struct cache_sb_disk *d, const struct cache_sb *sb)
{
	unsigned int i, keys = min_t(unsigned int, sb->keys, SB_JOURNAL_BUCKETS);

	d->offset = cpu_to_le64(sb->offset);
	d->version = cpu_to_le64(sb->version);
	memcpy(d->uuid, sb->uuid, sizeof(d->uuid));
	memcpy(d->set_uuid, sb->set_uuid, sizeof(d->set_uuid));
	memcpy(d->label, sb->label, sizeof(d->label));
	d->flags = cpu_to_le64(sb->flags);
	d->seq = cpu_to_le64(sb->seq);
	d->last_mount = cpu_to_le32(sb->last_mount);
	d->first_bucket = cpu_to_le16(sb->first_bucket);
	d->keys = cpu_to_le16(keys);
	for (i = 0; i < keys; i++)
		d->d[i] = cpu_to_le64(sb->d[i]);

	if (sb->version >= BCACHE_SB_VERSION_CDEV_WITH_FEATURES) {
		d->feature_compat = cpu_to_le64(sb->feature_compat);
		d->feature_incompat = cpu_to_le64(sb->feature_incompat);
		d->feature_ro_compat = cpu_to_le64(sb->feature_ro_compat);
	}

	d->csum = cpu_to_le64(bch_sb_csum(d));
}

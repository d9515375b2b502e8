/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The on-disk format of bcache, shared bit for bit with the kernel's own
 * driver and with bcache-tools.
 *
 * Everything that reaches a disk is declared here and nowhere else: the
 * superblock (sector 8 of every member device), btree keys and the sorted
 * sets (bsets) that btree nodes are logs of, journal entries (jsets),
 * bucket priorities (prio_sets) and the uuid table of backing devices.
 * Fields are little endian; they are read and written only through
 * le*_to_cpu()/cpu_to_le*() or the accessors below, so sparse catches a
 * raw use. Upstream declares most of these with host-endian types; on
 * little-endian machines, the only ones it runs on in practice, the bytes
 * are the same.
 *
 * Sizes are pinned with static_assert: a change here is a format change.
 */
#ifndef _BCACHE_ONDISK_H
#define _BCACHE_ONDISK_H

#include <linux/types.h>
#include <linux/blk_types.h>
#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/crc64.h>
#include <linux/string.h>
#include <asm/byteorder.h>

/*
 * A bit field of an on-disk 64-bit word: @width bits starting at @shift.
 * All packed fields (key header, pointers, superblock flags) go through
 * these two, so each accessor below is a one-liner naming its layout.
 */
static inline u64 bch_field_get(u64 word, unsigned int shift,
				unsigned int width)
{
	return (word >> shift) & (~0ULL >> (64 - width));
}

static inline u64 bch_field_set(u64 word, unsigned int shift,
				unsigned int width, u64 v)
{
	u64 mask = (~0ULL >> (64 - width)) << shift;

	return (word & ~mask) | ((v << shift) & mask);
}

/* Btree keys: all units are 512-byte sectors. */

/*
 * A key names the END of the extent it covers: offset is one past the last
 * sector, size its length, so the extent is [offset - size, offset). After
 * the two header words come KEY_PTRS pointers into cache devices.
 */
struct bkey {
	__le64	high;
	__le64	low;
	__le64	ptr[];
};

static_assert(sizeof(struct bkey) == 16);

/* Layout of bkey.high */
#define BKEY_INODE_SHIFT	0
#define BKEY_INODE_BITS		20
#define BKEY_SIZE_SHIFT		20
#define BKEY_SIZE_BITS		16
#define BKEY_DIRTY_SHIFT	36
#define BKEY_CSUM_SHIFT		56
#define BKEY_CSUM_BITS		2
#define BKEY_PTRS_SHIFT		60
#define BKEY_PTRS_BITS		3
/* Legacy marker bit, always set on keys made by KEY(); never interpreted. */
#define BKEY_HEADER_BIT		63

/* Layout of each pointer word */
#define BPTR_GEN_SHIFT		0
#define BPTR_GEN_BITS		8
#define BPTR_OFFSET_SHIFT	8
#define BPTR_OFFSET_BITS	43
#define BPTR_DEV_SHIFT		51
#define BPTR_DEV_BITS		12

/* A pointer to this device number is a placeholder, never dereferenced. */
#define PTR_CHECK_DEV		((1U << BPTR_DEV_BITS) - 1)

#define KEY_MAX_U64S		8
/* Room for a key with six pointers: what every padded key slot holds. */
#define BKEY_PAD		8

#define MAX_KEY_INODE		((1U << BKEY_INODE_BITS) - 1)
#define MAX_KEY_OFFSET		(~0ULL >> 1)
#define MAX_KEY_SIZE		((1U << BKEY_SIZE_BITS) - 1)

static inline u64 bkey_high_field(const struct bkey *k, unsigned int shift,
				  unsigned int width)
{
	return bch_field_get(le64_to_cpu(k->high), shift, width);
}

static inline void bkey_set_high_field(struct bkey *k, unsigned int shift,
				       unsigned int width, u64 v)
{
	k->high = cpu_to_le64(bch_field_set(le64_to_cpu(k->high),
					    shift, width, v));
}

static inline unsigned int KEY_PTRS(const struct bkey *k)
{
	return bkey_high_field(k, BKEY_PTRS_SHIFT, BKEY_PTRS_BITS);
}

static inline void SET_KEY_PTRS(struct bkey *k, u64 v)
{
	bkey_set_high_field(k, BKEY_PTRS_SHIFT, BKEY_PTRS_BITS, v);
}

static inline unsigned int KEY_CSUM(const struct bkey *k)
{
	return bkey_high_field(k, BKEY_CSUM_SHIFT, BKEY_CSUM_BITS);
}

static inline void SET_KEY_CSUM(struct bkey *k, u64 v)
{
	bkey_set_high_field(k, BKEY_CSUM_SHIFT, BKEY_CSUM_BITS, v);
}

static inline bool KEY_DIRTY(const struct bkey *k)
{
	return bkey_high_field(k, BKEY_DIRTY_SHIFT, 1);
}

static inline void SET_KEY_DIRTY(struct bkey *k, u64 v)
{
	bkey_set_high_field(k, BKEY_DIRTY_SHIFT, 1, v);
}

static inline unsigned int KEY_SIZE(const struct bkey *k)
{
	return bkey_high_field(k, BKEY_SIZE_SHIFT, BKEY_SIZE_BITS);
}

static inline void SET_KEY_SIZE(struct bkey *k, u64 v)
{
	bkey_set_high_field(k, BKEY_SIZE_SHIFT, BKEY_SIZE_BITS, v);
}

static inline unsigned int KEY_INODE(const struct bkey *k)
{
	return bkey_high_field(k, BKEY_INODE_SHIFT, BKEY_INODE_BITS);
}

static inline void SET_KEY_INODE(struct bkey *k, u64 v)
{
	bkey_set_high_field(k, BKEY_INODE_SHIFT, BKEY_INODE_BITS, v);
}

/* The whole low word is the offset; the format reserves no bits of it. */
static inline u64 KEY_OFFSET(const struct bkey *k)
{
	return le64_to_cpu(k->low);
}

static inline void SET_KEY_OFFSET(struct bkey *k, u64 v)
{
	k->low = cpu_to_le64(v);
}

static inline u64 KEY_START(const struct bkey *k)
{
	return KEY_OFFSET(k) - KEY_SIZE(k);
}

static inline u64 ptr_field(const struct bkey *k, unsigned int i,
			    unsigned int shift, unsigned int width)
{
	return bch_field_get(le64_to_cpu(k->ptr[i]), shift, width);
}

static inline void set_ptr_field(struct bkey *k, unsigned int i,
				 unsigned int shift, unsigned int width, u64 v)
{
	k->ptr[i] = cpu_to_le64(bch_field_set(le64_to_cpu(k->ptr[i]),
					      shift, width, v));
}

static inline unsigned int PTR_DEV(const struct bkey *k, unsigned int i)
{
	return ptr_field(k, i, BPTR_DEV_SHIFT, BPTR_DEV_BITS);
}

static inline void SET_PTR_DEV(struct bkey *k, unsigned int i, u64 v)
{
	set_ptr_field(k, i, BPTR_DEV_SHIFT, BPTR_DEV_BITS, v);
}

static inline u64 PTR_OFFSET(const struct bkey *k, unsigned int i)
{
	return ptr_field(k, i, BPTR_OFFSET_SHIFT, BPTR_OFFSET_BITS);
}

static inline void SET_PTR_OFFSET(struct bkey *k, unsigned int i, u64 v)
{
	set_ptr_field(k, i, BPTR_OFFSET_SHIFT, BPTR_OFFSET_BITS, v);
}

static inline u8 PTR_GEN(const struct bkey *k, unsigned int i)
{
	return ptr_field(k, i, BPTR_GEN_SHIFT, BPTR_GEN_BITS);
}

static inline void SET_PTR_GEN(struct bkey *k, unsigned int i, u64 v)
{
	set_ptr_field(k, i, BPTR_GEN_SHIFT, BPTR_GEN_BITS, v);
}

static inline __le64 MAKE_PTR(u8 gen, u64 offset, unsigned int dev)
{
	u64 w = 0;

	w = bch_field_set(w, BPTR_GEN_SHIFT, BPTR_GEN_BITS, gen);
	w = bch_field_set(w, BPTR_OFFSET_SHIFT, BPTR_OFFSET_BITS, offset);
	w = bch_field_set(w, BPTR_DEV_SHIFT, BPTR_DEV_BITS, dev);
	return cpu_to_le64(w);
}

/*
 * A pointerless key as an lvalue (a compound literal), so that &ZERO_KEY and
 * &MAX_KEY can be passed to comparisons.
 */
#define KEY(inode, offset, size) ((struct bkey) {			\
	.high = cpu_to_le64(BIT_ULL(BKEY_HEADER_BIT) |			\
			    ((u64)(size) << BKEY_SIZE_SHIFT) | (u64)(inode)), \
	.low = cpu_to_le64(offset),					\
})

#define ZERO_KEY		KEY(0, 0, 0)
#define MAX_KEY			KEY(MAX_KEY_INODE, MAX_KEY_OFFSET, 0)

/* Fills @out with the position where @k's extent starts; returns @out. */
static inline struct bkey *bkey_start_pos(const struct bkey *k,
					  struct bkey *out)
{
	*out = KEY(KEY_INODE(k), KEY_START(k), 0);
	return out;
}

/* The start of @k's extent as an lvalue key, @k evaluated once. */
#define START_KEY(k)		(*bkey_start_pos((k), &(struct bkey){}))

static inline unsigned int bkey_u64s(const struct bkey *k)
{
	return sizeof(struct bkey) / sizeof(u64) + KEY_PTRS(k);
}

static inline size_t bkey_bytes(const struct bkey *k)
{
	return bkey_u64s(k) * sizeof(u64);
}

static inline struct bkey *bkey_idx(const struct bkey *k, unsigned int u64s)
{
	return (struct bkey *)((u64 *)k + u64s);
}

static inline struct bkey *bkey_next(const struct bkey *k)
{
	return bkey_idx(k, bkey_u64s(k));
}

/*
 * Copy a whole key (header and pointers) to a place that does not overlap
 * it. A destination is a BKEY_PADDED slot or a key array, both of which
 * hold any valid key; but a slot's declared type is struct bkey, whose
 * pointers are a flexible array, so FORTIFY_SOURCE (on in distribution
 * kernels) would take every key with pointers for a field-spanning write.
 * Whole words, expanded inline: this is on every insert and every key of
 * a sort.
 */
static inline void bkey_copy(struct bkey *dst, const struct bkey *src)
{
	unsafe_memcpy(dst, src, bkey_bytes(src),
		      /* a key's slot holds BKEY_PAD words */);
}

/* Copy only the position (inode, offset) of @src into @dst. */
static inline void bkey_copy_key(struct bkey *dst, const struct bkey *src)
{
	SET_KEY_INODE(dst, KEY_INODE(src));
	SET_KEY_OFFSET(dst, KEY_OFFSET(src));
}

#define BKEY_PADDED(key)					\
	union { struct bkey key; __le64 key ## _pad[BKEY_PAD]; }

/* Superblock */

/*
 * Where the superblock lives and how big its pieces are. Data on a
 * version 1 backing device starts right after it, at sector 16.
 */
enum {
	SB_SECTOR		= 8,
	SB_OFFSET		= SB_SECTOR << SECTOR_SHIFT,
	SB_SIZE			= 4096,
	SB_LABEL_SIZE		= 32,
	BDEV_DATA_START_DEFAULT	= 16,
	MAX_CACHES_PER_SET	= 8,
};

/* Must stay a multiple of BITS_PER_LONG: journal code keeps a bitmap of it. */
#define SB_JOURNAL_BUCKETS	256U

/*
 * Superblock versions. Even numbers below 5 and 5 itself are cache
 * devices, the rest backing devices; 2 was never released.
 */
enum bch_sb_version {
	BCACHE_SB_VERSION_CDEV			= 0,
	BCACHE_SB_VERSION_BDEV			= 1,	/* data at sector 16 */
	BCACHE_SB_VERSION_CDEV_WITH_UUID	= 3,	/* new uuid format */
	BCACHE_SB_VERSION_BDEV_WITH_OFFSET	= 4,	/* data_offset field */
	BCACHE_SB_VERSION_CDEV_WITH_FEATURES	= 5,	/* feature words */
	BCACHE_SB_VERSION_BDEV_WITH_FEATURES	= 6,
	BCACHE_SB_MAX_VERSION			= 6,
};

/* Bytes 24..39 of every bcache superblock; defined in sb.c. */
extern const u8 bcache_magic[16];

struct cache_sb_disk {
	__le64		csum, offset, version;	/* offset: sector of this copy */

	u8		magic[16], uuid[16];
	union {
		u8	set_uuid[16];
		__le64	set_magic;
	};
	u8		label[SB_LABEL_SIZE];

	__le64		flags, seq;
	__le64		feature_compat, feature_incompat, feature_ro_compat;
	__le64		pad[5];

	/*
	 * Cache devices describe their buckets here; backing devices only
	 * their data offset. block_size (sectors) is shared by both;
	 * bucket_size is in sectors, or its log2 with a feature bit.
	 */
	union {
		struct {
			__le64	nbuckets;
			__le16	block_size, bucket_size;
			__le16	nr_in_set, nr_this_dev;
		};
		__le64	data_offset;
	};

	__le32		last_mount;	/* seconds; wraps in 2106 */

	__le16		first_bucket;
	union {
		__le16	njournal_buckets;
		__le16	keys;
	};
	__le64		d[SB_JOURNAL_BUCKETS];	/* journal bucket numbers */
	__le16		obso_bucket_size_hi;	/* high 16 bits, obsolete */
};

static_assert(offsetof(struct cache_sb_disk, magic) == 24);
static_assert(offsetof(struct cache_sb_disk, label) == 72);
static_assert(offsetof(struct cache_sb_disk, flags) == 104);
static_assert(offsetof(struct cache_sb_disk, feature_compat) == 120);
static_assert(offsetof(struct cache_sb_disk, nbuckets) == 184);
static_assert(offsetof(struct cache_sb_disk, data_offset) == 184);
static_assert(offsetof(struct cache_sb_disk, block_size) == 192);
static_assert(offsetof(struct cache_sb_disk, bucket_size) == 194);
static_assert(offsetof(struct cache_sb_disk, last_mount) == 200);
static_assert(offsetof(struct cache_sb_disk, first_bucket) == 204);
static_assert(offsetof(struct cache_sb_disk, keys) == 206);
static_assert(offsetof(struct cache_sb_disk, d) == 208);
static_assert(offsetof(struct cache_sb_disk, obso_bucket_size_hi) == 2256);
static_assert(sizeof(struct cache_sb_disk) == 2264);
static_assert(sizeof(struct cache_sb_disk) <= SB_SIZE);

/*
 * The superblock as the driver works with it: host-endian, bucket_size
 * widened to 32 bits with the feature bits already applied. Not a disk
 * layout; bch_sb_decode()/bch_sb_encode() convert.
 */
struct cache_sb {
	u64		offset;
	u64		version;

	u8		magic[16];
	u8		uuid[16];
	union {
		u8	set_uuid[16];
		u64	set_magic;
	};
	u8		label[SB_LABEL_SIZE];

	u64		flags;
	u64		seq;

	u64		feature_compat;
	u64		feature_incompat;
	u64		feature_ro_compat;

	/* cache devices */
	u64		nbuckets;
	u16		block_size;
	u16		nr_in_set;
	u16		nr_this_dev;
	u32		bucket_size;

	/* backing devices */
	u64		data_offset;

	u32		last_mount;

	u16		first_bucket;
	u16		keys;		/* journal buckets in use */
	u64		d[SB_JOURNAL_BUCKETS];
};

static inline bool bch_sb_version_is_bdev(u64 version)
{
	return version == BCACHE_SB_VERSION_BDEV ||
	       version == BCACHE_SB_VERSION_BDEV_WITH_OFFSET ||
	       version == BCACHE_SB_VERSION_BDEV_WITH_FEATURES;
}

static inline bool SB_IS_BDEV(const struct cache_sb *sb)
{
	return bch_sb_version_is_bdev(sb->version);
}

/* Superblock flags: cache devices */
#define CACHE_SYNC_SHIFT		0
#define CACHE_DISCARD_SHIFT		1
#define CACHE_REPLACEMENT_SHIFT		2
#define CACHE_REPLACEMENT_BITS		3
#define CACHE_REPLACEMENT_LRU		0U
#define CACHE_REPLACEMENT_FIFO		1U
#define CACHE_REPLACEMENT_RANDOM	2U
#define CACHE_REPLACEMENT_MAX		CACHE_REPLACEMENT_RANDOM

/* Superblock flags: backing devices */
#define BDEV_CACHE_MODE_SHIFT		0
#define BDEV_CACHE_MODE_BITS		4
#define CACHE_MODE_WRITETHROUGH		0U
#define CACHE_MODE_WRITEBACK		1U
#define CACHE_MODE_WRITEAROUND		2U
#define CACHE_MODE_NONE			3U
#define CACHE_MODE_MAX			CACHE_MODE_NONE
#define BDEV_STATE_SHIFT		61
#define BDEV_STATE_BITS			2
#define BDEV_STATE_NONE			0U
#define BDEV_STATE_CLEAN		1U
#define BDEV_STATE_DIRTY		2U
#define BDEV_STATE_STALE		3U

static inline unsigned int sb_flag(const struct cache_sb *sb,
				   unsigned int shift, unsigned int width)
{
	return bch_field_get(sb->flags, shift, width);
}

static inline void sb_set_flag(struct cache_sb *sb, unsigned int shift,
			       unsigned int width, u64 v)
{
	sb->flags = bch_field_set(sb->flags, shift, width, v);
}

static inline unsigned int CACHE_SYNC(const struct cache_sb *sb)
{
	return sb_flag(sb, CACHE_SYNC_SHIFT, 1);
}

static inline void SET_CACHE_SYNC(struct cache_sb *sb, u64 v)
{
	sb_set_flag(sb, CACHE_SYNC_SHIFT, 1, v);
}

static inline unsigned int CACHE_DISCARD(const struct cache_sb *sb)
{
	return sb_flag(sb, CACHE_DISCARD_SHIFT, 1);
}

static inline void SET_CACHE_DISCARD(struct cache_sb *sb, u64 v)
{
	sb_set_flag(sb, CACHE_DISCARD_SHIFT, 1, v);
}

static inline unsigned int CACHE_REPLACEMENT(const struct cache_sb *sb)
{
	return sb_flag(sb, CACHE_REPLACEMENT_SHIFT, CACHE_REPLACEMENT_BITS);
}

static inline void SET_CACHE_REPLACEMENT(struct cache_sb *sb, u64 v)
{
	sb_set_flag(sb, CACHE_REPLACEMENT_SHIFT, CACHE_REPLACEMENT_BITS, v);
}

static inline unsigned int BDEV_CACHE_MODE(const struct cache_sb *sb)
{
	return sb_flag(sb, BDEV_CACHE_MODE_SHIFT, BDEV_CACHE_MODE_BITS);
}

static inline void SET_BDEV_CACHE_MODE(struct cache_sb *sb, u64 v)
{
	sb_set_flag(sb, BDEV_CACHE_MODE_SHIFT, BDEV_CACHE_MODE_BITS, v);
}

static inline unsigned int BDEV_STATE(const struct cache_sb *sb)
{
	return sb_flag(sb, BDEV_STATE_SHIFT, BDEV_STATE_BITS);
}

static inline void SET_BDEV_STATE(struct cache_sb *sb, u64 v)
{
	sb_set_flag(sb, BDEV_STATE_SHIFT, BDEV_STATE_BITS, v);
}

/*
 * Feature bits, meaningful from versions 5 (cache) and 6 (backing) on.
 * An unknown compat bit is still refused, as upstream does: none are
 * defined, so one being set means a newer format than ours.
 */
#define BCH_FEATURE_COMPAT_SUPP			0ULL
#define BCH_FEATURE_RO_COMPAT_SUPP		0ULL
/* bucket_size | obso_bucket_size_hi << 16; obsolete */
#define BCH_FEATURE_INCOMPAT_OBSO_LARGE_BUCKET		0x0001ULL
/* bucket_size holds log2 of the bucket size */
#define BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET_SIZE	0x0002ULL
#define BCH_FEATURE_INCOMPAT_SUPP	(BCH_FEATURE_INCOMPAT_OBSO_LARGE_BUCKET | \
					 BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET_SIZE)

/*
 * Checksums: crc64 (ECMA-182, big-endian form) with all-ones seed and final
 * inversion. Every checksummed structure keeps its csum in its first eight
 * bytes and covers everything after it up to the end of its key array.
 */
static inline u64 bch_crc64(const void *p, size_t len)
{
	return crc64_be(~0ULL, p, len) ^ ~0ULL;
}

static inline u64 bch_csum_range(const void *start, const void *end)
{
	return bch_crc64((const u8 *)start + sizeof(u64),
			 (const u8 *)end - ((const u8 *)start + sizeof(u64)));
}

/*
 * Magic numbers of journal, prio and btree blocks are these constants
 * xored with the first eight bytes of the cache set's uuid, so a block from
 * another set never passes for one of ours.
 */
#define JSET_MAGIC		0x245235c1a3625032ULL
#define PSET_MAGIC		0x6750e15f87337f91ULL
#define BSET_MAGIC		0x90135c78b99e07f5ULL

static inline u64 jset_magic(const struct cache_sb *sb)
{
	return sb->set_magic ^ JSET_MAGIC;
}

static inline u64 pset_magic(const struct cache_sb *sb)
{
	return sb->set_magic ^ PSET_MAGIC;
}

static inline u64 bset_magic(const struct cache_sb *sb)
{
	return sb->set_magic ^ BSET_MAGIC;
}

/* Journal */

#define BCACHE_JSET_VERSION_UUID_V1	1
#define BCACHE_JSET_VERSION_UUID	1
#define BCACHE_JSET_VERSION		1

/*
 * One journal write. seq grows by one per entry; last_seq is the oldest
 * entry whose keys may not have reached the btree yet, so replay starts
 * there. Each entry also records where the btree root, the uuid table and
 * every device's prios were at the time.
 */
struct jset {
	__le64		csum;
	__le64		magic;
	__le64		seq;
	__le32		version;
	__le32		keys;		/* u64s of keys that follow */

	__le64		last_seq;

	BKEY_PADDED(uuid_bucket);
	BKEY_PADDED(btree_root);
	__le16		btree_level;
	__le16		pad[3];

	__le64		prio_bucket[MAX_CACHES_PER_SET];

	__le64		d[];		/* keys: use bset_start() */
};

static_assert(offsetof(struct jset, last_seq) == 32);
static_assert(offsetof(struct jset, uuid_bucket) == 40);
static_assert(offsetof(struct jset, btree_root) == 104);
static_assert(offsetof(struct jset, btree_level) == 168);
static_assert(offsetof(struct jset, prio_bucket) == 176);
static_assert(sizeof(struct jset) == 240);

/* Bucket priorities and generations, a chain of these per cache device. */
struct bucket_disk {
	__le16		prio;
	u8		gen;
} __packed;

static_assert(sizeof(struct bucket_disk) == 3);

struct prio_set {
	__le64		csum;
	__le64		magic;
	__le64		seq;
	__le32		version;
	__le32		pad;

	__le64		next_bucket;

	struct bucket_disk data[];
};

static_assert(sizeof(struct prio_set) == 40);

/* The uuid table: one entry per backing device or flash volume. */
struct uuid_entry {
	union {
		struct {
			u8	uuid[16];
			u8	label[32];
			__le32	first_reg;	/* seconds; wrap in 2106 */
			__le32	last_reg;
			__le32	invalidated;
			__le32	flags;
			__le64	sectors;	/* size of a flash volume */
		};
		u8		pad[128];
	};
};

static_assert(offsetof(struct uuid_entry, first_reg) == 48);
static_assert(offsetof(struct uuid_entry, flags) == 60);
static_assert(offsetof(struct uuid_entry, sectors) == 64);
static_assert(sizeof(struct uuid_entry) == 128);

#define UUID_FLASH_ONLY_SHIFT	0

static inline bool UUID_FLASH_ONLY(const struct uuid_entry *u)
{
	return bch_field_get(le32_to_cpu(u->flags), UUID_FLASH_ONLY_SHIFT, 1);
}

static inline void SET_UUID_FLASH_ONLY(struct uuid_entry *u, u64 v)
{
	u->flags = cpu_to_le32(bch_field_set(le32_to_cpu(u->flags),
					     UUID_FLASH_ONLY_SHIFT, 1, v));
}

/* Before jset version 1 the table held these smaller entries. */
struct uuid_entry_v0 {
	u8		uuid[16];
	u8		label[32];
	__le32		first_reg;
	__le32		last_reg;
	__le32		invalidated;
	__le32		pad;
};

static_assert(sizeof(struct uuid_entry_v0) == 64);

/* Btree nodes */

#define BCACHE_BSET_CSUM	1
#define BCACHE_BSET_VERSION	1

/*
 * A btree node on disk is a log of bsets, each sorted, each starting on a
 * block boundary. The first one's csum is seeded into the node checksum
 * since version 1.
 */
struct bset {
	__le64		csum;
	__le64		magic;
	__le64		seq;
	__le32		version;
	__le32		keys;		/* u64s of keys that follow */

	__le64		d[];		/* keys: use bset_start() */
};

static_assert(sizeof(struct bset) == 32);

/*
 * The keys of a bset or jset. There is deliberately no `struct bkey start[]`
 * member: an array of structs that end in a flexible array is not valid C
 * (sparse rejects it), so the key area is declared as words and viewed as
 * keys through these.
 */
static inline struct bkey *bset_start(const struct bset *i)
{
	return (struct bkey *)i->d;
}

/* One past the last key: keys counts u64s, not keys. */
static inline struct bkey *bset_bkey_last(const struct bset *i)
{
	return bkey_idx(bset_start(i), le32_to_cpu(i->keys));
}

static inline struct bkey *jset_start(const struct jset *j)
{
	return (struct bkey *)j->d;
}

static inline struct bkey *jset_bkey_last(const struct jset *j)
{
	return bkey_idx(jset_start(j), le32_to_cpu(j->keys));
}

#endif /* _BCACHE_ONDISK_H */

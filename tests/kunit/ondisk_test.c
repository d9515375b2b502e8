// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the on-disk format (bcache_ondisk.h) and the superblock
 * codec (sb.c).
 *
 * Everything above this layer trusts two things: that a key's bits land
 * where the kernel's own driver and bcache-tools put them, and that
 * bch_sb_decode() refuses any superblock it cannot safely use. So the
 * tests pin struct layouts and key bytes against numbers worked out by hand
 * from the format, decode superblocks written by the real make-bcache
 * (tests/sb_vectors.h), and then corrupt those one field or one byte at a
 * time, expecting the reason string an admin would see in dmesg. The
 * check a superblock in memory passes before it is written (bch_sb_verify())
 * must accept what decoding accepts and name a defect as decoding would.
 */

#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../../bcache_ondisk.h"
#include "../../sb.h"
#include "sb_vectors.h"

/* Layout: sizes and offsets */

struct layout_case {
	const char *name;
	size_t got;
	size_t want;
};

#define SB_OFF(field)	offsetof(struct cache_sb_disk, field)

static const struct layout_case layout_cases[] = {
	{ "sizeof(cache_sb_disk)", sizeof(struct cache_sb_disk), 2264 },
	{ "cache_sb_disk.offset", SB_OFF(offset), 8 },
	{ "cache_sb_disk.version", SB_OFF(version), 16 },
	{ "cache_sb_disk.magic", SB_OFF(magic), 24 },
	{ "cache_sb_disk.uuid", SB_OFF(uuid), 40 },
	{ "cache_sb_disk.set_uuid", SB_OFF(set_uuid), 56 },
	{ "cache_sb_disk.set_magic", SB_OFF(set_magic), 56 },
	{ "cache_sb_disk.label", SB_OFF(label), 72 },
	{ "cache_sb_disk.flags", SB_OFF(flags), 104 },
	{ "cache_sb_disk.seq", SB_OFF(seq), 112 },
	{ "cache_sb_disk.feature_compat", SB_OFF(feature_compat), 120 },
	{ "cache_sb_disk.feature_incompat", SB_OFF(feature_incompat), 128 },
	{ "cache_sb_disk.feature_ro_compat", SB_OFF(feature_ro_compat), 136 },
	{ "cache_sb_disk.nbuckets", SB_OFF(nbuckets), 184 },
	{ "cache_sb_disk.data_offset", SB_OFF(data_offset), 184 },
	{ "cache_sb_disk.block_size", SB_OFF(block_size), 192 },
	{ "cache_sb_disk.bucket_size", SB_OFF(bucket_size), 194 },
	{ "cache_sb_disk.nr_in_set", SB_OFF(nr_in_set), 196 },
	{ "cache_sb_disk.nr_this_dev", SB_OFF(nr_this_dev), 198 },
	{ "cache_sb_disk.last_mount", SB_OFF(last_mount), 200 },
	{ "cache_sb_disk.first_bucket", SB_OFF(first_bucket), 204 },
	{ "cache_sb_disk.keys", SB_OFF(keys), 206 },
	{ "cache_sb_disk.njournal_buckets", SB_OFF(njournal_buckets), 206 },
	{ "cache_sb_disk.d", SB_OFF(d), 208 },
	{ "cache_sb_disk.obso_bucket_size_hi", SB_OFF(obso_bucket_size_hi),
	  2256 },
	{ "sizeof(jset)", sizeof(struct jset), 240 },
	{ "jset.seq", offsetof(struct jset, seq), 16 },
	{ "jset.keys", offsetof(struct jset, keys), 28 },
	{ "jset.last_seq", offsetof(struct jset, last_seq), 32 },
	{ "jset.btree_root", offsetof(struct jset, btree_root), 104 },
	{ "jset.btree_level", offsetof(struct jset, btree_level), 168 },
	{ "jset.prio_bucket", offsetof(struct jset, prio_bucket), 176 },
	{ "sizeof(prio_set)", sizeof(struct prio_set), 40 },
	{ "prio_set.next_bucket", offsetof(struct prio_set, next_bucket), 32 },
	{ "sizeof(bucket_disk)", sizeof(struct bucket_disk), 3 },
	{ "bucket_disk.gen", offsetof(struct bucket_disk, gen), 2 },
	{ "sizeof(uuid_entry)", sizeof(struct uuid_entry), 128 },
	{ "uuid_entry.label", offsetof(struct uuid_entry, label), 16 },
	{ "uuid_entry.invalidated", offsetof(struct uuid_entry, invalidated),
	  56 },
	{ "uuid_entry.sectors", offsetof(struct uuid_entry, sectors), 64 },
	{ "sizeof(uuid_entry_v0)", sizeof(struct uuid_entry_v0), 64 },
	{ "sizeof(bset)", sizeof(struct bset), 32 },
	{ "bset.keys", offsetof(struct bset, keys), 28 },
	{ "sizeof(bkey)", sizeof(struct bkey), 16 },
	{ "bkey.ptr", offsetof(struct bkey, ptr), 16 },
};

KUNIT_ARRAY_PARAM_DESC(layout, layout_cases, name);

static void ondisk_layout(struct kunit *test)
{
	const struct layout_case *c = test->param_value;

	KUNIT_EXPECT_EQ_MSG(test, c->got, c->want, "%s", c->name);
}

/* The "check" value of CRC-64/WE, which is what bch_crc64() computes. */
static void ondisk_crc64_check_value(struct kunit *test)
{
	static const char check[] = "123456789";
	static const char with_csum[] = "csumcsum123456789";

	KUNIT_EXPECT_EQ(test, bch_crc64(check, sizeof(check) - 1),
			0x62ec59e3f1a4f00aULL);
	/* bch_csum_range() skips the eight bytes where the csum lives. */
	KUNIT_EXPECT_EQ(test, bch_csum_range(with_csum,
					     with_csum + sizeof(with_csum) - 1),
			0x62ec59e3f1a4f00aULL);
}

static void ondisk_uuid_flash_only(struct kunit *test)
{
	struct uuid_entry u;

	memset(&u, 0, sizeof(u));
	u.flags = cpu_to_le32(0xf0);
	SET_UUID_FLASH_ONLY(&u, 1);
	KUNIT_EXPECT_TRUE(test, UUID_FLASH_ONLY(&u));
	KUNIT_EXPECT_EQ(test, le32_to_cpu(u.flags), 0xf1U);
	SET_UUID_FLASH_ONLY(&u, 0);
	KUNIT_EXPECT_FALSE(test, UUID_FLASH_ONLY(&u));
	KUNIT_EXPECT_EQ(test, le32_to_cpu(u.flags), 0xf0U);
}

/* Keys */

/* A key with room for pointers, as every key slot on disk has. */
struct padded_key {
	BKEY_PADDED(key);
};

enum key_field_id {
	KF_INODE,
	KF_OFFSET,
	KF_SIZE,
	KF_DIRTY,
	KF_CSUM,
	KF_PTRS,
	KF_NR,
};

/* Getters widened to one type so the fields can be walked as a table. */
static u64 get_inode(const struct bkey *k)
{
	return KEY_INODE(k);
}

static u64 get_offset(const struct bkey *k)
{
	return KEY_OFFSET(k);
}

static u64 get_size(const struct bkey *k)
{
	return KEY_SIZE(k);
}

static u64 get_dirty(const struct bkey *k)
{
	return KEY_DIRTY(k);
}

static u64 get_csum(const struct bkey *k)
{
	return KEY_CSUM(k);
}

static u64 get_ptrs(const struct bkey *k)
{
	return KEY_PTRS(k);
}

struct key_field {
	const char *name;
	u64 (*get)(const struct bkey *k);
	void (*set)(struct bkey *k, u64 v);
	u64 mask;	/* every value the field can hold */
};

static const struct key_field key_fields[KF_NR] = {
	[KF_INODE]  = { "inode", get_inode, SET_KEY_INODE, MAX_KEY_INODE },
	[KF_OFFSET] = { "offset", get_offset, SET_KEY_OFFSET, U64_MAX },
	[KF_SIZE]   = { "size", get_size, SET_KEY_SIZE, MAX_KEY_SIZE },
	[KF_DIRTY]  = { "dirty", get_dirty, SET_KEY_DIRTY, 1 },
	[KF_CSUM]   = { "csum", get_csum, SET_KEY_CSUM, 3 },
	[KF_PTRS]   = { "ptrs", get_ptrs, SET_KEY_PTRS, 7 },
};

/* Offsets are all >= size so that KEY_START() is meaningful. */
struct key_case {
	const char *name;
	u64 v[KF_NR];
};

static const struct key_case key_cases[] = {
	{ "zero", { 0 } },
	{ "small", { [KF_INODE] = 1, [KF_OFFSET] = 8, [KF_SIZE] = 8 } },
	{ "typical", { [KF_INODE] = 42, [KF_OFFSET] = 123456, [KF_SIZE] = 128,
		       [KF_DIRTY] = 1, [KF_PTRS] = 1 } },
	{ "maxima", { [KF_INODE] = MAX_KEY_INODE, [KF_OFFSET] = MAX_KEY_OFFSET,
		      [KF_SIZE] = MAX_KEY_SIZE, [KF_DIRTY] = 1, [KF_CSUM] = 3,
		      [KF_PTRS] = 7 } },
	{ "alternating", { [KF_INODE] = 0xaaaaa, [KF_OFFSET] = 0x5555555555555555,
			   [KF_SIZE] = 0x5555, [KF_CSUM] = 2, [KF_PTRS] = 5 } },
	{ "alternating2", { [KF_INODE] = 0x55555, [KF_OFFSET] = 0xaaaaaaaaaaaaaaaa,
			    [KF_SIZE] = 0xaaaa, [KF_DIRTY] = 1, [KF_CSUM] = 1,
			    [KF_PTRS] = 2 } },
	{ "offset past 2^63", { [KF_INODE] = 7, [KF_OFFSET] = U64_MAX,
				[KF_SIZE] = 1 } },
};

KUNIT_ARRAY_PARAM_DESC(key, key_cases, name);

static void expect_key_fields(struct kunit *test, const struct bkey *k,
			      const u64 *v)
{
	unsigned int f;

	for (f = 0; f < KF_NR; f++)
		KUNIT_EXPECT_EQ_MSG(test, key_fields[f].get(k), v[f], "%s",
				    key_fields[f].name);
}

static void ondisk_key_round_trip(struct kunit *test)
{
	const struct key_case *c = test->param_value;
	struct padded_key fwd, rev;
	int f;

	memset(&fwd, 0, sizeof(fwd));
	for (f = 0; f < KF_NR; f++)
		key_fields[f].set(&fwd.key, c->v[f]);
	expect_key_fields(test, &fwd.key, c->v);

	/* Unused bits left set must not leak into any field. */
	memset(&rev, 0xff, sizeof(rev));
	for (f = KF_NR - 1; f >= 0; f--)
		key_fields[f].set(&rev.key, c->v[f]);
	expect_key_fields(test, &rev.key, c->v);
}

static void ondisk_key_field_isolation(struct kunit *test)
{
	const struct key_case *c = test->param_value;
	u64 want[KF_NR];
	struct padded_key k;
	unsigned int f, g;

	memset(&k, 0, sizeof(k));
	for (f = 0; f < KF_NR; f++)
		key_fields[f].set(&k.key, c->v[f]);

	for (f = 0; f < KF_NR; f++) {
		const struct key_field *kf = &key_fields[f];

		memcpy(want, c->v, sizeof(want));

		want[f] = c->v[f] ^ kf->mask;
		kf->set(&k.key, want[f]);
		expect_key_fields(test, &k.key, want);

		/* Too wide a value is cut to the field, not spilled. */
		want[f] = kf->mask;
		kf->set(&k.key, U64_MAX);
		expect_key_fields(test, &k.key, want);

		kf->set(&k.key, c->v[f]);
		for (g = 0; g < KF_NR; g++)
			KUNIT_EXPECT_EQ(test, key_fields[g].get(&k.key), c->v[g]);
	}
}

static void ondisk_key_macro(struct kunit *test)
{
	const struct key_case *c = test->param_value;
	u64 inode = c->v[KF_INODE], offset = c->v[KF_OFFSET];
	u64 size = c->v[KF_SIZE];
	struct bkey k = KEY(inode, offset, size);
	struct bkey start;

	KUNIT_EXPECT_EQ(test, le64_to_cpu(k.high),
			BIT_ULL(63) | size << 20 | inode);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(k.low), offset);
	KUNIT_EXPECT_EQ(test, KEY_INODE(&k), inode);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&k), offset);
	KUNIT_EXPECT_EQ(test, KEY_SIZE(&k), size);
	KUNIT_EXPECT_EQ(test, KEY_PTRS(&k), 0U);
	KUNIT_EXPECT_EQ(test, KEY_CSUM(&k), 0U);
	KUNIT_EXPECT_FALSE(test, KEY_DIRTY(&k));

	KUNIT_EXPECT_EQ(test, KEY_START(&k), offset - size);
	start = START_KEY(&k);
	KUNIT_EXPECT_EQ(test, KEY_INODE(&start), inode);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&start), offset - size);
	KUNIT_EXPECT_EQ(test, KEY_SIZE(&start), 0U);
	KUNIT_EXPECT_EQ(test, KEY_START(&start), KEY_OFFSET(&start));
}

static void ondisk_key_constants(struct kunit *test)
{
	struct bkey zero = ZERO_KEY, max = MAX_KEY;

	KUNIT_EXPECT_EQ(test, le64_to_cpu(zero.high), BIT_ULL(63));
	KUNIT_EXPECT_EQ(test, le64_to_cpu(zero.low), 0ULL);
	KUNIT_EXPECT_EQ(test, KEY_INODE(&max), (1U << 20) - 1);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&max), (1ULL << 63) - 1);
	KUNIT_EXPECT_EQ(test, KEY_SIZE(&max), 0U);
	KUNIT_EXPECT_EQ(test, KEY_PTRS(&max), 0U);
	KUNIT_EXPECT_EQ(test, PTR_CHECK_DEV, 4095U);
}

/*
 * Keys with 0, 1, 2 and 3 pointers packed back to back in one bset: each
 * key must start right after the previous one's last pointer.
 */
static void ondisk_key_next(struct kunit *test)
{
	static const unsigned int starts[] = { 0, 2, 5, 9, 14 };
	struct bset *i;
	struct bkey *k;
	unsigned int n;

	i = kunit_kzalloc(test, sizeof(*i) + 16 * sizeof(u64), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, i);

	k = bset_start(i);
	for (n = 0; n < 4; n++) {
		*k = KEY(n + 1, 100 * (n + 1), 8);
		SET_KEY_PTRS(k, n);
		KUNIT_EXPECT_EQ(test, bkey_u64s(k), 2 + n);
		KUNIT_EXPECT_EQ(test, bkey_bytes(k), (2 + n) * sizeof(u64));
		k = bkey_next(k);
	}
	i->keys = cpu_to_le32(14);
	KUNIT_EXPECT_PTR_EQ(test, k, bset_bkey_last(i));

	k = bset_start(i);
	for (n = 0; n < 4; n++) {
		KUNIT_EXPECT_PTR_EQ(test, (void *)k, (void *)&i->d[starts[n]]);
		KUNIT_EXPECT_PTR_EQ(test, k, bkey_idx(bset_start(i), starts[n]));
		KUNIT_EXPECT_EQ(test, KEY_INODE(k), n + 1);
		KUNIT_EXPECT_EQ(test, KEY_PTRS(k), n);
		k = bkey_next(k);
	}
	KUNIT_EXPECT_PTR_EQ(test, (void *)k, (void *)&i->d[starts[4]]);
}

static void ondisk_key_copy(struct kunit *test)
{
	struct padded_key src, dst;
	unsigned int w;

	memset(&src, 0, sizeof(src));
	src.key = KEY(9, 4096, 64);
	SET_KEY_DIRTY(&src.key, 1);
	SET_KEY_PTRS(&src.key, 2);
	src.key.ptr[0] = MAKE_PTR(1, 1000, 0);
	src.key.ptr[1] = MAKE_PTR(2, 2000, 1);

	memset(&dst, 0xee, sizeof(dst));
	bkey_copy(&dst.key, &src.key);
	KUNIT_EXPECT_EQ(test, memcmp(&dst, &src, bkey_bytes(&src.key)), 0);
	/* Words past the key's last pointer are not written. */
	for (w = bkey_u64s(&src.key); w < BKEY_PAD; w++)
		KUNIT_EXPECT_EQ(test, le64_to_cpu(dst.key_pad[w]),
				0xeeeeeeeeeeeeeeeeULL);

	dst.key = KEY(1, 1, 1);
	SET_KEY_PTRS(&dst.key, 1);
	bkey_copy_key(&dst.key, &src.key);
	KUNIT_EXPECT_EQ(test, KEY_INODE(&dst.key), 9U);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&dst.key), 4096ULL);
	KUNIT_EXPECT_EQ(test, KEY_SIZE(&dst.key), 1U);
	KUNIT_EXPECT_EQ(test, KEY_PTRS(&dst.key), 1U);
	KUNIT_EXPECT_FALSE(test, KEY_DIRTY(&dst.key));
}

/* Pointers */

struct ptr_case {
	const char *name;
	u8 gen;
	u64 offset;
	unsigned int dev;
	u64 word;	/* dev << 51 | offset << 8 | gen, worked out by hand */
};

static const struct ptr_case ptr_cases[] = {
	{ "zero", 0, 0, 0, 0 },
	{ "ones", 1, 1, 1, 0x0008000000000101ULL },
	{ "mixed", 0x5a, 0x123456789ULL, 0x7b, 0x03d801234567895aULL },
	{ "max gen", 255, 0, 0, 0xffULL },
	{ "max offset", 0, (1ULL << 43) - 1, 0, 0x0007ffffffffff00ULL },
	{ "max dev", 0, 0, 4095, 0x7ff8000000000000ULL },
	{ "maxima", 255, (1ULL << 43) - 1, 4095, 0x7fffffffffffffffULL },
};

KUNIT_ARRAY_PARAM_DESC(ptr, ptr_cases, name);

static void ondisk_ptr_round_trip(struct kunit *test)
{
	const struct ptr_case *c = test->param_value;
	struct padded_key k;
	__le64 others = cpu_to_le64(0x0123456789abcdefULL);

	memset(&k, 0, sizeof(k));
	k.key = KEY(1, 100, 8);
	SET_KEY_PTRS(&k.key, 3);
	k.key.ptr[1] = MAKE_PTR(c->gen, c->offset, c->dev);
	KUNIT_EXPECT_EQ(test, le64_to_cpu(k.key.ptr[1]), c->word);
	KUNIT_EXPECT_EQ(test, PTR_GEN(&k.key, 1), c->gen);
	KUNIT_EXPECT_EQ(test, PTR_OFFSET(&k.key, 1), c->offset);
	KUNIT_EXPECT_EQ(test, PTR_DEV(&k.key, 1), c->dev);

	/* The setters, in either order, touch only their own pointer. */
	k.key.ptr[0] = others;
	k.key.ptr[1] = cpu_to_le64(U64_MAX);
	k.key.ptr[2] = others;
	SET_PTR_DEV(&k.key, 1, c->dev);
	SET_PTR_GEN(&k.key, 1, c->gen);
	SET_PTR_OFFSET(&k.key, 1, c->offset);
	/* Bit 63 belongs to no field and keeps what it had. */
	KUNIT_EXPECT_EQ(test, le64_to_cpu(k.key.ptr[1]), c->word | BIT_ULL(63));
	KUNIT_EXPECT_EQ(test, le64_to_cpu(k.key.ptr[0]), le64_to_cpu(others));
	KUNIT_EXPECT_EQ(test, le64_to_cpu(k.key.ptr[2]), le64_to_cpu(others));
	KUNIT_EXPECT_EQ(test, KEY_PTRS(&k.key), 3U);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(&k.key), 100ULL);
}

/* Exact bytes of a key, as the kernel's driver writes them. */

struct key_bytes_case {
	const char *name;
	u64 v[KF_NR];
	u8 gen;
	u64 ptr_offset;
	unsigned int dev;
	u8 bytes[24];	/* high, low, ptr[0]: little endian */
};

static const struct key_bytes_case key_bytes_cases[] = {
	{
		/* high = 1 << 63 | 8 << 20 | 1 = 0x8000000000800001 */
		.name = "KEY(1, 8, 8)",
		.v = { [KF_INODE] = 1, [KF_OFFSET] = 8, [KF_SIZE] = 8 },
		.bytes = {
			0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x80,
			0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
			0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		},
	}, {
		/*
		 * high = 1 << 63 | 3 << 60 | 2 << 56 | 1 << 36 |
		 *	  0xabcd << 20 | 0x12345	= 0xb200001abcd12345
		 * ptr  = 0x7b << 51 | 0x123456789 << 8 | 0x5a
		 *				= 0x03d801234567895a
		 */
		.name = "mixed",
		.v = { [KF_INODE] = 0x12345, [KF_OFFSET] = 0x0102030405060708,
		       [KF_SIZE] = 0xabcd, [KF_DIRTY] = 1, [KF_CSUM] = 2,
		       [KF_PTRS] = 3 },
		.gen = 0x5a, .ptr_offset = 0x123456789, .dev = 0x7b,
		.bytes = {
			0x45, 0x23, 0xd1, 0xbc, 0x1a, 0x00, 0x00, 0xb2,
			0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
			0x5a, 0x89, 0x67, 0x45, 0x23, 0x01, 0xd8, 0x03,
		},
	}, {
		/*
		 * high = 1 << 63 | 7 << 60 | 3 << 56 | 1 << 36 |
		 *	  0xffff << 20 | 0xfffff	= 0xf300001fffffffff
		 * ptr  = all 63 field bits set		= 0x7fffffffffffffff
		 */
		.name = "maxima",
		.v = { [KF_INODE] = MAX_KEY_INODE, [KF_OFFSET] = MAX_KEY_OFFSET,
		       [KF_SIZE] = MAX_KEY_SIZE, [KF_DIRTY] = 1, [KF_CSUM] = 3,
		       [KF_PTRS] = 7 },
		.gen = 255, .ptr_offset = (1ULL << 43) - 1, .dev = 4095,
		.bytes = {
			0xff, 0xff, 0xff, 0xff, 0x1f, 0x00, 0x00, 0xf3,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
		},
	},
};

KUNIT_ARRAY_PARAM_DESC(key_bytes, key_bytes_cases, name);

static void ondisk_key_bytes(struct kunit *test)
{
	const struct key_bytes_case *c = test->param_value;
	struct padded_key k;

	memset(&k, 0, sizeof(k));
	k.key = KEY(c->v[KF_INODE], c->v[KF_OFFSET], c->v[KF_SIZE]);
	SET_KEY_DIRTY(&k.key, c->v[KF_DIRTY]);
	SET_KEY_CSUM(&k.key, c->v[KF_CSUM]);
	SET_KEY_PTRS(&k.key, c->v[KF_PTRS]);
	if (c->v[KF_PTRS])
		k.key.ptr[0] = MAKE_PTR(c->gen, c->ptr_offset, c->dev);

	KUNIT_EXPECT_MEMEQ(test, &k, c->bytes, sizeof(c->bytes));
}

/* Superblocks */

/* What make-bcache wrote the vectors onto. */
#define VEC_CAPACITY		131072		/* 64 MiB in sectors */
#define VEC_LBS			512
#define VEC_BYTES		sizeof(sb_vec_bdev_v1)

static const char *const no_reason = "(no reason given)";

static struct cache_sb_disk *sb_load(struct kunit *test, const u8 *vec)
{
	struct cache_sb_disk *d = kunit_kzalloc(test, SB_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, d);
	memcpy(d, vec, VEC_BYTES);
	return d;
}

static struct cache_sb *sb_alloc(struct kunit *test)
{
	struct cache_sb *sb = kunit_kzalloc(test, sizeof(*sb), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, sb);
	return sb;
}

static int sb_decode_on(struct cache_sb *sb, const struct cache_sb_disk *d,
			sector_t capacity, unsigned int lbs,
			const char **reason)
{
	struct bch_sb_dev_info dev = {
		.capacity = capacity ?: VEC_CAPACITY,
		.logical_block_size = lbs ?: VEC_LBS,
	};

	*reason = no_reason;
	return bch_sb_decode(sb, d, &dev, reason);
}

/* One past the last checksummed byte. */
static size_t sb_csum_end(const struct cache_sb_disk *d)
{
	return offsetof(struct cache_sb_disk, d) +
	       le16_to_cpu(d->keys) * sizeof(d->d[0]);
}

struct sb_vector {
	const char *name;
	const u8 *bytes;
	u64 version;
	u16 first_bucket;
	/* backing devices */
	u64 data_offset;
	unsigned int cache_mode;
	/* cache devices */
	u64 nbuckets;
	u32 bucket_size;
	u16 nr_in_set;
	u16 nr_this_dev;
	unsigned int replacement;
};

static const struct sb_vector sb_vectors[] = {
	{
		.name = "bdev v1 writeback", .bytes = sb_vec_bdev_v1,
		.version = BCACHE_SB_VERSION_BDEV,
		.data_offset = 16, .cache_mode = CACHE_MODE_WRITEBACK,
	}, {
		.name = "bdev v4 offset 2048", .bytes = sb_vec_bdev_v4,
		.version = BCACHE_SB_VERSION_BDEV_WITH_OFFSET,
		.data_offset = 2048, .cache_mode = CACHE_MODE_WRITETHROUGH,
	}, {
		.name = "cdev v0 fifo", .bytes = sb_vec_cdev_v0,
		.version = BCACHE_SB_VERSION_CDEV, .first_bucket = 1,
		.nbuckets = 128, .bucket_size = 1024, .nr_in_set = 1,
		.nr_this_dev = 0, .replacement = CACHE_REPLACEMENT_FIFO,
	},
};

KUNIT_ARRAY_PARAM_DESC(sb_vector, sb_vectors, name);

static void ondisk_sb_vector_decodes(struct kunit *test)
{
	const struct sb_vector *v = test->param_value;
	struct cache_sb_disk *d = sb_load(test, v->bytes);
	struct cache_sb *sb = sb_alloc(test);
	const char *reason;

	KUNIT_ASSERT_EQ_MSG(test, sb_decode_on(sb, d, 0, 0, &reason), 0,
			    "%s", reason);
	KUNIT_EXPECT_EQ(test, sb->offset, (u64)SB_SECTOR);
	KUNIT_EXPECT_EQ(test, sb->version, v->version);
	KUNIT_EXPECT_MEMEQ(test, sb->magic, bcache_magic, sizeof(sb->magic));
	KUNIT_EXPECT_MEMEQ(test, sb->uuid, v->bytes + 40, 16);
	KUNIT_EXPECT_MEMEQ(test, sb->set_uuid, v->bytes + 56, 16);
	KUNIT_EXPECT_EQ(test, sb->block_size, 8);
	KUNIT_EXPECT_EQ(test, sb->keys, 0);
	KUNIT_EXPECT_EQ(test, sb->first_bucket, v->first_bucket);
	KUNIT_EXPECT_EQ(test, sb->seq, 0ULL);

	if (SB_IS_BDEV(sb)) {
		KUNIT_EXPECT_EQ(test, sb->data_offset, v->data_offset);
		KUNIT_EXPECT_EQ(test, BDEV_CACHE_MODE(sb), v->cache_mode);
		KUNIT_EXPECT_EQ(test, BDEV_STATE(sb), BDEV_STATE_NONE);
	} else {
		KUNIT_EXPECT_EQ(test, sb->nbuckets, v->nbuckets);
		KUNIT_EXPECT_EQ(test, sb->bucket_size, v->bucket_size);
		KUNIT_EXPECT_EQ(test, sb->nr_in_set, v->nr_in_set);
		KUNIT_EXPECT_EQ(test, sb->nr_this_dev, v->nr_this_dev);
		KUNIT_EXPECT_EQ(test, CACHE_REPLACEMENT(sb), v->replacement);
		KUNIT_EXPECT_EQ(test, CACHE_SYNC(sb), 0U);
		KUNIT_EXPECT_EQ(test, CACHE_DISCARD(sb), 0U);
	}
}

static void ondisk_sb_vector_csum(struct kunit *test)
{
	const struct sb_vector *v = test->param_value;
	struct cache_sb_disk *d = sb_load(test, v->bytes);

	KUNIT_EXPECT_EQ(test, bch_sb_csum(d), le64_to_cpu(d->csum));
}

/*
 * Flip one byte anywhere from the csum field to the end of the journal
 * bucket list. Offset and magic are checked before the checksum, and a
 * journal bucket count too large to checksum is refused before it is used.
 */
struct sb_flip_case {
	const char *name;
	const struct sb_vector *vec;
	u8 mask;
};

static const struct sb_flip_case sb_flip_cases[] = {
	{ "bdev v1 ^ 0x01", &sb_vectors[0], 0x01 },
	{ "bdev v1 ^ 0x80", &sb_vectors[0], 0x80 },
	{ "bdev v1 ^ 0xff", &sb_vectors[0], 0xff },
	{ "bdev v4 ^ 0x01", &sb_vectors[1], 0x01 },
	{ "bdev v4 ^ 0x80", &sb_vectors[1], 0x80 },
	{ "bdev v4 ^ 0xff", &sb_vectors[1], 0xff },
	{ "cdev v0 ^ 0x01", &sb_vectors[2], 0x01 },
	{ "cdev v0 ^ 0x80", &sb_vectors[2], 0x80 },
	{ "cdev v0 ^ 0xff", &sb_vectors[2], 0xff },
};

KUNIT_ARRAY_PARAM_DESC(sb_flip, sb_flip_cases, name);

static bool in_span(size_t pos, size_t start, size_t end)
{
	return pos >= start && pos < end;
}

static const char *flip_reason(const struct cache_sb_disk *flipped,
			       size_t pos)
{
	if (in_span(pos, offsetof(struct cache_sb_disk, offset),
		    offsetofend(struct cache_sb_disk, offset)))
		return "Not a bcache superblock (bad offset)";
	if (in_span(pos, offsetof(struct cache_sb_disk, magic),
		    offsetofend(struct cache_sb_disk, magic)))
		return "Not a bcache superblock (bad magic)";
	if (le16_to_cpu(flipped->keys) > SB_JOURNAL_BUCKETS)
		return "Too many journal buckets";
	return "Bad checksum";
}

static void ondisk_sb_flipped_byte(struct kunit *test)
{
	const struct sb_flip_case *c = test->param_value;
	struct cache_sb_disk *d = sb_load(test, c->vec->bytes);
	struct cache_sb *sb = sb_alloc(test);
	size_t pos, end = sb_csum_end(d);
	u8 *bytes = (u8 *)d;
	const char *reason;
	int ret;

	KUNIT_ASSERT_EQ(test, end, (size_t)208);
	for (pos = 0; pos < end; pos++) {
		bytes[pos] ^= c->mask;
		ret = sb_decode_on(sb, d, 0, 0, &reason);
		KUNIT_ASSERT_EQ_MSG(test, ret, -EINVAL, "byte %zu", pos);
		KUNIT_ASSERT_STREQ_MSG(test, reason, flip_reason(d, pos),
				       "byte %zu", pos);
		bytes[pos] ^= c->mask;
	}
	KUNIT_EXPECT_EQ(test, sb_decode_on(sb, d, 0, 0, &reason), 0);
}

/* Past the checksummed region, nothing of a v0/1/4 superblock is read. */
static void ondisk_sb_bytes_past_csum(struct kunit *test)
{
	const struct sb_vector *v = test->param_value;
	struct cache_sb_disk *d = sb_load(test, v->bytes);
	struct cache_sb *sb = sb_alloc(test);
	size_t pos;
	u8 *bytes = (u8 *)d;
	const char *reason;

	for (pos = sb_csum_end(d); pos < SB_SIZE; pos++) {
		bytes[pos] ^= 0xff;
		KUNIT_ASSERT_EQ_MSG(test, sb_decode_on(sb, d, 0, 0, &reason), 0,
				    "byte %zu: %s", pos, reason);
		bytes[pos] ^= 0xff;
	}
}

/*
 * Edited superblocks. Each case applies a few field edits to a vector,
 * re-checksums it, and names the reason it must be refused with (or NULL
 * if it must be accepted).
 */
struct sb_edit {
	size_t off;
	size_t len;	/* up to 8: little-endian val; wider: filled with val */
	u64 val;
};

/* One macro per field width, so that each names its field only once. */
#define SB_LE64(field, v)	{ SB_OFF(field), sizeof(__le64), (v) }
#define SB_LE16(field, v)	{ SB_OFF(field), sizeof(__le16), (v) }
#define SB_BYTE(field, v)	{ SB_OFF(field), 1, (v) }
#define SB_NO_UUID(field)	{ SB_OFF(field), 16, 0 }

struct sb_case {
	const char *name;
	const u8 *vec;
	struct sb_edit edits[4];
	sector_t capacity;	/* 0: the vectors' 64 MiB */
	unsigned int lbs;	/* 0: 512 bytes */
	const char *reason;	/* NULL: must be accepted */
	u32 bucket_size;	/* checked when accepted and nonzero */
};

#define PAGE_SECTORS_		(PAGE_SIZE >> SECTOR_SHIFT)
#define CDEV_V5			SB_LE64(version, BCACHE_SB_VERSION_CDEV_WITH_FEATURES)
#define LOG_BUCKETS \
	SB_LE64(feature_incompat, BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET_SIZE)
#define OBSO_BUCKETS \
	SB_LE64(feature_incompat, BCH_FEATURE_INCOMPAT_OBSO_LARGE_BUCKET)

static const char r_version[] = "Unsupported superblock version";
static const char r_uuid[] = "Bad UUID";
static const char r_journal[] = "Too many journal buckets";
static const char r_block_pow2[] = "Bad block size (not power of 2)";
static const char r_block_page[] = "Bad block size (larger than page size)";
static const char r_bucket_pow2[] = "Bad bucket size (not power of 2)";
static const char r_bucket_page[] = "Bad bucket size (smaller than page size)";
static const char r_few[] = "Not enough buckets";
static const char r_many[] = "Too many buckets";
static const char r_small[] = "Invalid superblock: device too small";
static const char r_devnum[] = "Bad cache device number in set";
static const char r_policy[] = "Bad cache replacement policy";
static const char r_seq[] = "Journal buckets not sequential";
static const char r_first[] =
	"Invalid superblock: first bucket comes before end of super";
static const char r_data_offset[] = "Bad data offset";
static const char r_past_end[] =
	"Bad data offset (past the end of the device)";
static const char r_mode[] = "Bad cache mode";
static const char r_lbs[] =
	"Superblock block size smaller than device block size";

static const struct sb_case sb_refused[] = {
	{ "offset 0", sb_vec_cdev_v0, { SB_LE64(offset, 0) },
	  .reason = "Not a bcache superblock (bad offset)" },
	{ "magic", sb_vec_bdev_v1, { SB_BYTE(magic[15], 0x80) },
	  .reason = "Not a bcache superblock (bad magic)" },
	{ "cdev version 2", sb_vec_cdev_v0, { SB_LE64(version, 2) },
	  .reason = r_version },
	{ "bdev version 7", sb_vec_bdev_v4, { SB_LE64(version, 7) },
	  .reason = r_version },
	{ "version 2^32", sb_vec_bdev_v1, { SB_LE64(version, 1ULL << 32) },
	  .reason = r_version },
	{ "bdev zero uuid", sb_vec_bdev_v1, { SB_NO_UUID(uuid) },
	  .reason = r_uuid },
	{ "cdev zero uuid", sb_vec_cdev_v0, { SB_NO_UUID(uuid) },
	  .reason = r_uuid },
	{ "keys 257", sb_vec_cdev_v0, { SB_LE16(keys, 257) },
	  .reason = r_journal },
	{ "keys 65535", sb_vec_bdev_v1, { SB_LE16(keys, 65535) },
	  .reason = r_journal },
	{ "block size 3", sb_vec_cdev_v0, { SB_LE16(block_size, 3) },
	  .reason = r_block_pow2 },
	{ "block size 2 pages", sb_vec_cdev_v0,
	  { SB_LE16(block_size, 2 * PAGE_SECTORS_) }, .reason = r_block_page },
	{ "bdev block size 0", sb_vec_bdev_v1, { SB_LE16(block_size, 0) },
	  .reason = r_lbs },
	{ "bucket size 3", sb_vec_cdev_v0, { SB_LE16(bucket_size, 3) },
	  .reason = r_bucket_pow2 },
	{ "bucket size 0", sb_vec_cdev_v0, { SB_LE16(bucket_size, 0) },
	  .reason = r_bucket_pow2 },
	{ "bucket half a page", sb_vec_cdev_v0,
	  { SB_LE16(bucket_size, PAGE_SECTORS_ / 2) }, .reason = r_bucket_page },
	{ "nbuckets 127", sb_vec_cdev_v0, { SB_LE64(nbuckets, 127) },
	  .reason = r_few },
	{ "nbuckets 129", sb_vec_cdev_v0, { SB_LE64(nbuckets, 129) },
	  .reason = r_small },
	{ "nbuckets 2^40", sb_vec_cdev_v0, { SB_LE64(nbuckets, 1ULL << 40) },
	  .reason = r_small },
	{ "nbuckets 2^63", sb_vec_cdev_v0, { SB_LE64(nbuckets, 1ULL << 63) },
	  .reason = r_many },
	/* 1024 * (2^54 + 128) wraps to exactly the device size. */
	{ "nbuckets * bucket_size wraps", sb_vec_cdev_v0,
	  { SB_LE64(nbuckets, (1ULL << 54) + 128) }, .reason = r_small },
	{ "nbuckets LONG_MAX", sb_vec_cdev_v0, { SB_LE64(nbuckets, LONG_MAX) },
	  .reason = r_small },
	{ "nr_in_set 0", sb_vec_cdev_v0, { SB_LE16(nr_in_set, 0) },
	  .reason = r_devnum },
	{ "nr_this_dev == nr_in_set", sb_vec_cdev_v0,
	  { SB_LE16(nr_this_dev, 1) }, .reason = r_devnum },
	{ "nr_this_dev 9 of 8", sb_vec_cdev_v0,
	  { SB_LE16(nr_in_set, 8), SB_LE16(nr_this_dev, 9) },
	  .reason = r_devnum },
	{ "nr_in_set 9", sb_vec_cdev_v0, { SB_LE16(nr_in_set, 9) },
	  .reason = r_devnum },
	{ "cdev zero set_uuid", sb_vec_cdev_v0, { SB_NO_UUID(set_uuid) },
	  .reason = r_uuid },
	{ "replacement 3", sb_vec_cdev_v0,
	  { SB_LE64(flags, 3 << CACHE_REPLACEMENT_SHIFT) }, .reason = r_policy },
	{ "replacement 7", sb_vec_cdev_v0,
	  { SB_LE64(flags, 7 << CACHE_REPLACEMENT_SHIFT) }, .reason = r_policy },
	{ "journal 1, 3", sb_vec_cdev_v0,
	  { SB_LE16(keys, 2), SB_LE64(d[0], 1), SB_LE64(d[1], 3) },
	  .reason = r_seq },
	{ "journal before first_bucket", sb_vec_cdev_v0,
	  { SB_LE16(keys, 1), SB_LE64(d[0], 0) }, .reason = r_seq },
	{ "journal past nbuckets", sb_vec_cdev_v0,
	  { SB_LE16(first_bucket, 127), SB_LE16(keys, 2), SB_LE64(d[0], 127),
	    SB_LE64(d[1], 128) }, .reason = r_journal },
	{ "first_bucket 0", sb_vec_cdev_v0, { SB_LE16(first_bucket, 0) },
	  .reason = r_first },
	{ "page buckets, first_bucket 1", sb_vec_cdev_v0,
	  { SB_LE16(bucket_size, 8) }, .reason = r_first },
	{ "v5 unknown incompat", sb_vec_cdev_v0,
	  { CDEV_V5, SB_LE64(feature_incompat, 1 << 2) },
	  .reason = "Unsupported incompatible feature found" },
	{ "v5 incompat bit 63", sb_vec_cdev_v0,
	  { CDEV_V5, SB_LE64(feature_incompat, BIT_ULL(63) |
			    BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET_SIZE) },
	  .reason = "Unsupported incompatible feature found" },
	{ "v5 unknown compat", sb_vec_cdev_v0,
	  { CDEV_V5, SB_LE64(feature_compat, 1) },
	  .reason = "Unsupported compatible feature found" },
	{ "v5 unknown ro_compat", sb_vec_cdev_v0,
	  { CDEV_V5, SB_LE64(feature_ro_compat, 1) },
	  .reason = "Unsupported read-only compatible feature found" },
	{ "v5 log bucket order 32", sb_vec_cdev_v0,
	  { CDEV_V5, LOG_BUCKETS, SB_LE16(bucket_size, 32) },
	  .reason = r_bucket_pow2 },
	{ "v5 log bucket order 65535", sb_vec_cdev_v0,
	  { CDEV_V5, LOG_BUCKETS, SB_LE16(bucket_size, 65535) },
	  .reason = r_bucket_pow2 },
	{ "v5 log bucket order 31", sb_vec_cdev_v0,
	  { CDEV_V5, LOG_BUCKETS, SB_LE16(bucket_size, 31) },
	  .reason = r_small },
	{ "v5 obso bucket 0x10400", sb_vec_cdev_v0,
	  { CDEV_V5, OBSO_BUCKETS, SB_LE16(obso_bucket_size_hi, 1) },
	  .reason = r_bucket_pow2 },
	/* Without v5, a feature bit changes nothing: 10 is just 10. */
	{ "v3 log bucket ignored", sb_vec_cdev_v0,
	  { SB_LE64(version, BCACHE_SB_VERSION_CDEV_WITH_UUID), LOG_BUCKETS,
	    SB_LE16(bucket_size, 10) }, .reason = r_bucket_pow2 },
	{ "bdev v4 data_offset 15", sb_vec_bdev_v4, { SB_LE64(data_offset, 15) },
	  .reason = r_data_offset },
	{ "bdev v4 data_offset 0", sb_vec_bdev_v4, { SB_LE64(data_offset, 0) },
	  .reason = r_data_offset },
	{ "bdev v6 data_offset 15", sb_vec_bdev_v4,
	  { SB_LE64(version, BCACHE_SB_VERSION_BDEV_WITH_FEATURES),
	    SB_LE64(data_offset, 15) }, .reason = r_data_offset },
	{ "bdev data_offset past end", sb_vec_bdev_v4,
	  { SB_LE64(data_offset, VEC_CAPACITY + 1) }, .reason = r_past_end },
	{ "bdev data_offset 2^64-1", sb_vec_bdev_v4,
	  { SB_LE64(data_offset, U64_MAX) }, .reason = r_past_end },
	{ "bdev v1 on 4 KiB device", sb_vec_bdev_v1, { }, .capacity = 8,
	  .reason = r_past_end },
	{ "bdev cache mode 5", sb_vec_bdev_v1, { SB_LE64(flags, 5) },
	  .reason = r_mode },
	{ "bdev cache mode 15", sb_vec_bdev_v4, { SB_LE64(flags, 15) },
	  .reason = r_mode },
	{ "bdev block 512 on 4Kn", sb_vec_bdev_v1, { SB_LE16(block_size, 1) },
	  .lbs = 4096, .reason = r_lbs },
	{ "cdev block 2 KiB on 4Kn", sb_vec_cdev_v0, { SB_LE16(block_size, 4) },
	  .lbs = 4096, .reason = r_lbs },
};

static const struct sb_case sb_accepted[] = {
	{ "bdev v1 as written", sb_vec_bdev_v1, { } },
	{ "cdev v0 as written", sb_vec_cdev_v0, { }, .bucket_size = 1024 },
	{ "cdev v3", sb_vec_cdev_v0,
	  { SB_LE64(version, BCACHE_SB_VERSION_CDEV_WITH_UUID) },
	  .bucket_size = 1024 },
	{ "cdev v5 no features", sb_vec_cdev_v0, { CDEV_V5 },
	  .bucket_size = 1024 },
	{ "v5 log bucket order 10", sb_vec_cdev_v0,
	  { CDEV_V5, LOG_BUCKETS, SB_LE16(bucket_size, 10) },
	  .bucket_size = 1024 },
	{ "v5 log bucket order 16", sb_vec_cdev_v0,
	  { CDEV_V5, LOG_BUCKETS, SB_LE16(bucket_size, 16) },
	  .capacity = 128 << 16, .bucket_size = 1 << 16 },
	{ "v5 obso bucket hi 0", sb_vec_cdev_v0, { CDEV_V5, OBSO_BUCKETS },
	  .bucket_size = 1024 },
	{ "v5 obso bucket 2^16", sb_vec_cdev_v0,
	  { CDEV_V5, OBSO_BUCKETS, SB_LE16(bucket_size, 0),
	    SB_LE16(obso_bucket_size_hi, 1) },
	  .capacity = 128 << 16, .bucket_size = 1 << 16 },
	{ "block size 1", sb_vec_cdev_v0, { SB_LE16(block_size, 1) } },
	{ "block size a page", sb_vec_cdev_v0,
	  { SB_LE16(block_size, PAGE_SECTORS_) } },
	{ "page buckets, first_bucket 2", sb_vec_cdev_v0,
	  { SB_LE16(bucket_size, 8), SB_LE16(first_bucket, 2) },
	  .bucket_size = 8 },
	{ "nbuckets fill a bigger device", sb_vec_cdev_v0,
	  { SB_LE64(nbuckets, 1000) }, .capacity = 1024000 },
	{ "device 8 of 8", sb_vec_cdev_v0,
	  { SB_LE16(nr_in_set, 8), SB_LE16(nr_this_dev, 7) } },
	{ "replacement random", sb_vec_cdev_v0,
	  { SB_LE64(flags, CACHE_REPLACEMENT_RANDOM << CACHE_REPLACEMENT_SHIFT) } },
	{ "sync and discard", sb_vec_cdev_v0, { SB_LE64(flags, 0x3) } },
	{ "journal 1, 2, 3", sb_vec_cdev_v0,
	  { SB_LE16(keys, 3), SB_LE64(d[0], 1), SB_LE64(d[1], 2),
	    SB_LE64(d[2], 3) } },
	{ "journal ends at nbuckets", sb_vec_cdev_v0,
	  { SB_LE16(first_bucket, 126), SB_LE16(keys, 2), SB_LE64(d[0], 126),
	    SB_LE64(d[1], 127) } },
	{ "bdev v4 as written", sb_vec_bdev_v4, { } },
	{ "bdev v6", sb_vec_bdev_v4,
	  { SB_LE64(version, BCACHE_SB_VERSION_BDEV_WITH_FEATURES) } },
	{ "bdev data_offset 16", sb_vec_bdev_v4, { SB_LE64(data_offset, 16) } },
	{ "bdev data_offset at end", sb_vec_bdev_v4,
	  { SB_LE64(data_offset, VEC_CAPACITY) } },
	{ "bdev cache mode none, dirty", sb_vec_bdev_v1,
	  { SB_LE64(flags, BIT_ULL(62) | CACHE_MODE_NONE) } },
	{ "bdev on 4Kn", sb_vec_bdev_v1, { }, .lbs = 4096 },
	{ "bdev with a label", sb_vec_bdev_v1,
	  { SB_BYTE(label[0], 'x'), SB_BYTE(label[31], 'y') } },
};

KUNIT_ARRAY_PARAM_DESC(sb_refused, sb_refused, name);
KUNIT_ARRAY_PARAM_DESC(sb_accepted, sb_accepted, name);

static void sb_apply_edit(struct cache_sb_disk *d, const struct sb_edit *e)
{
	u8 *p = (u8 *)d + e->off;
	size_t i;

	for (i = 0; i < e->len; i++)
		p[i] = e->len > sizeof(u64) ? e->val : e->val >> (8 * i);
}

static struct cache_sb_disk *sb_load_case(struct kunit *test,
					  const struct sb_case *c)
{
	struct cache_sb_disk *d = sb_load(test, c->vec);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c->edits) && c->edits[i].len; i++)
		sb_apply_edit(d, &c->edits[i]);
	d->csum = cpu_to_le64(bch_sb_csum(d));
	return d;
}

static void ondisk_sb_refused(struct kunit *test)
{
	const struct sb_case *c = test->param_value;
	struct cache_sb_disk *d = sb_load_case(test, c);
	struct cache_sb *sb = sb_alloc(test);
	const char *reason;

	KUNIT_EXPECT_EQ(test, sb_decode_on(sb, d, c->capacity, c->lbs, &reason),
			-EINVAL);
	KUNIT_EXPECT_STREQ(test, reason, c->reason);
}

static void ondisk_sb_accepted(struct kunit *test)
{
	const struct sb_case *c = test->param_value;
	struct cache_sb_disk *d = sb_load_case(test, c);
	struct cache_sb *sb = sb_alloc(test);
	const char *reason;

	KUNIT_ASSERT_EQ_MSG(test,
			    sb_decode_on(sb, d, c->capacity, c->lbs, &reason),
			    0, "%s", reason);
	KUNIT_EXPECT_NULL(test, reason);
	if (c->bucket_size)
		KUNIT_EXPECT_EQ(test, sb->bucket_size, c->bucket_size);
}

/*
 * The first byte where two superblock blocks differ, ignoring the bytes
 * @skip names (if any); SB_SIZE when they agree. Reporting one offset keeps
 * a failure readable where a 4 KiB hex dump would not be.
 */
static size_t sb_first_diff(const void *a, const void *b,
			    bool (*skip)(size_t pos))
{
	const u8 *x = a, *y = b;
	size_t pos;

	for (pos = 0; pos < SB_SIZE; pos++)
		if (x[pos] != y[pos] && !(skip && skip(pos)))
			break;
	return pos;
}

/* Re-encoding an accepted superblock unchanged gives back the same block. */
static void ondisk_sb_encode_identity(struct kunit *test)
{
	const struct sb_case *c = test->param_value;
	struct cache_sb_disk *d = sb_load_case(test, c);
	struct cache_sb_disk *out = sb_load_case(test, c);
	struct cache_sb *sb = sb_alloc(test);
	const char *reason;

	KUNIT_ASSERT_EQ_MSG(test,
			    sb_decode_on(sb, d, c->capacity, c->lbs, &reason),
			    0, "%s", reason);
	bch_sb_encode(out, sb);
	KUNIT_EXPECT_EQ_MSG(test, sb_first_diff(out, d, NULL), (size_t)SB_SIZE,
			    "encoding changed this byte");
}

/*
 * The bytes the round trip below changes: csum, and label, flags and seq,
 * which lie back to back.
 */
static bool sb_encoded_byte(size_t pos)
{
	return pos < offsetofend(struct cache_sb_disk, csum) ||
	       in_span(pos, offsetof(struct cache_sb_disk, label),
		       offsetofend(struct cache_sb_disk, seq));
}

static void ondisk_sb_encode_round_trip(struct kunit *test)
{
	static const u8 label[SB_LABEL_SIZE] = "0123456789abcdef0123456789abcde";
	const struct sb_vector *v = test->param_value;
	struct cache_sb_disk *orig = sb_load(test, v->bytes);
	struct cache_sb_disk *out = sb_load(test, v->bytes);
	struct cache_sb *sb = sb_alloc(test);
	struct cache_sb *again = sb_alloc(test);
	const char *reason;

	KUNIT_ASSERT_EQ(test, sb_decode_on(sb, orig, 0, 0, &reason), 0);

	memcpy(sb->label, label, sizeof(label));
	sb->seq = 0x1122334455667788ULL;
	if (SB_IS_BDEV(sb)) {
		SET_BDEV_CACHE_MODE(sb, CACHE_MODE_WRITEAROUND);
		SET_BDEV_STATE(sb, BDEV_STATE_DIRTY);
	} else {
		SET_CACHE_REPLACEMENT(sb, CACHE_REPLACEMENT_RANDOM);
		SET_CACHE_SYNC(sb, 1);
	}
	bch_sb_encode(out, sb);

	KUNIT_EXPECT_EQ(test, le64_to_cpu(out->csum), bch_sb_csum(out));
	KUNIT_ASSERT_EQ_MSG(test, sb_decode_on(again, out, 0, 0, &reason), 0,
			    "%s", reason);
	KUNIT_EXPECT_MEMEQ(test, again->label, label, sizeof(label));
	KUNIT_EXPECT_EQ(test, again->seq, 0x1122334455667788ULL);
	KUNIT_EXPECT_EQ(test, again->flags, sb->flags);
	if (SB_IS_BDEV(again)) {
		KUNIT_EXPECT_EQ(test, BDEV_CACHE_MODE(again),
				CACHE_MODE_WRITEAROUND);
		KUNIT_EXPECT_EQ(test, BDEV_STATE(again), BDEV_STATE_DIRTY);
	} else {
		KUNIT_EXPECT_EQ(test, CACHE_REPLACEMENT(again),
				CACHE_REPLACEMENT_RANDOM);
		KUNIT_EXPECT_EQ(test, CACHE_SYNC(again), 1U);
	}
	KUNIT_EXPECT_MEMEQ(test, again, sb, sizeof(*sb));

	KUNIT_EXPECT_EQ_MSG(test, sb_first_diff(out, orig, sb_encoded_byte),
			    (size_t)SB_SIZE, "a byte not encoded changed");
}

/* Journal buckets written back extend the checksum over themselves. */
static void ondisk_sb_encode_journal(struct kunit *test)
{
	struct cache_sb_disk *d = sb_load(test, sb_vec_cdev_v0);
	struct cache_sb *sb = sb_alloc(test);
	u8 *bytes = (u8 *)d;
	const char *reason;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, sb_decode_on(sb, d, 0, 0, &reason), 0);
	sb->keys = 3;
	for (i = 0; i < sb->keys; i++)
		sb->d[i] = sb->first_bucket + i;
	bch_sb_encode(d, sb);

	KUNIT_EXPECT_EQ(test, le16_to_cpu(d->keys), 3);
	KUNIT_EXPECT_EQ(test, sb_csum_end(d), (size_t)232);
	KUNIT_ASSERT_EQ(test, sb_decode_on(sb, d, 0, 0, &reason), 0);
	KUNIT_EXPECT_EQ(test, sb->keys, 3);
	KUNIT_EXPECT_EQ(test, sb->d[2], 3ULL);

	bytes[offsetof(struct cache_sb_disk, d[2])] ^= 1;
	KUNIT_EXPECT_EQ(test, sb_decode_on(sb, d, 0, 0, &reason), -EINVAL);
	KUNIT_EXPECT_STREQ(test, reason, "Bad checksum");
	bytes[offsetof(struct cache_sb_disk, d[2])] ^= 1;

	bytes[offsetof(struct cache_sb_disk, d[3])] ^= 1;
	KUNIT_EXPECT_EQ(test, sb_decode_on(sb, d, 0, 0, &reason), 0);
}

/* The host form checks */

static int sb_verify_on(const struct cache_sb *sb, sector_t capacity,
			unsigned int lbs, const char **why)
{
	struct bch_sb_dev_info dev = {
		.capacity = capacity ?: VEC_CAPACITY,
		.logical_block_size = lbs ?: VEC_LBS,
	};

	*why = no_reason;
	return bch_sb_verify(sb, &dev, why);
}

/* What decoding accepts, the check before a write accepts as it is. */
static void ondisk_sb_verify_accepted(struct kunit *test)
{
	const struct sb_case *c = test->param_value;
	struct cache_sb_disk *d = sb_load_case(test, c);
	struct cache_sb *sb = sb_alloc(test);
	const char *why;

	KUNIT_ASSERT_EQ_MSG(test, sb_decode_on(sb, d, c->capacity, c->lbs, &why),
			    0, "%s", why);
	KUNIT_EXPECT_EQ_MSG(test, sb_verify_on(sb, c->capacity, c->lbs, &why),
			    0, "%s", why);
	KUNIT_EXPECT_NULL(test, why);
}

/*
 * A defect the driver could put into a superblock in memory, and the same
 * defect written on disk: the check before a write must name it as
 * decoding would once it is read back.
 */
struct sb_host_case {
	const char *name;
	void (*mutate)(struct cache_sb *sb);
	struct sb_case disk;	/* the vector, and the defect on disk */
};

static void host_no_uuid(struct cache_sb *sb)
{
	memset(sb->uuid, 0, sizeof(sb->uuid));
}

static void host_block_512(struct cache_sb *sb)
{
	sb->block_size = 1;
}

static void host_data_offset_15(struct cache_sb *sb)
{
	sb->data_offset = 15;
}

static void host_data_offset_0(struct cache_sb *sb)
{
	sb->data_offset = 0;
}

static void host_bucket_3(struct cache_sb *sb)
{
	sb->bucket_size = 3;
}

static void host_bucket_0(struct cache_sb *sb)
{
	sb->bucket_size = 0;
}

static void host_bucket_3_pages(struct cache_sb *sb)
{
	sb->bucket_size = 3 * PAGE_SECTORS_;
}

static void host_version_99(struct cache_sb *sb)
{
	sb->version = 99;
}

static const struct sb_host_case sb_host_cases[] = {
	{ "bdev zero uuid", host_no_uuid,
	  { .vec = sb_vec_bdev_v1, .edits = { SB_NO_UUID(uuid) },
	    .reason = r_uuid } },
	{ "cdev zero uuid", host_no_uuid,
	  { .vec = sb_vec_cdev_v0, .edits = { SB_NO_UUID(uuid) },
	    .reason = r_uuid } },
	{ "bdev block 512 on 4Kn", host_block_512,
	  { .vec = sb_vec_bdev_v1, .edits = { SB_LE16(block_size, 1) },
	    .lbs = 4096, .reason = r_lbs } },
	{ "cdev block 512 on 4Kn", host_block_512,
	  { .vec = sb_vec_cdev_v0, .edits = { SB_LE16(block_size, 1) },
	    .lbs = 4096, .reason = r_lbs } },
	{ "bdev v4 data_offset 15", host_data_offset_15,
	  { .vec = sb_vec_bdev_v4, .edits = { SB_LE64(data_offset, 15) },
	    .reason = r_data_offset } },
	{ "bdev v4 data_offset 0", host_data_offset_0,
	  { .vec = sb_vec_bdev_v4, .edits = { SB_LE64(data_offset, 0) },
	    .reason = r_data_offset } },
	{ "cdev bucket size 3", host_bucket_3,
	  { .vec = sb_vec_cdev_v0, .edits = { SB_LE16(bucket_size, 3) },
	    .reason = r_bucket_pow2 } },
	{ "cdev bucket size 0", host_bucket_0,
	  { .vec = sb_vec_cdev_v0, .edits = { SB_LE16(bucket_size, 0) },
	    .reason = r_bucket_pow2 } },
	{ "cdev bucket size 3 pages", host_bucket_3_pages,
	  { .vec = sb_vec_cdev_v0,
	    .edits = { SB_LE16(bucket_size, 3 * PAGE_SECTORS_) },
	    .reason = r_bucket_pow2 } },
	{ "bdev version 99", host_version_99,
	  { .vec = sb_vec_bdev_v1, .edits = { SB_LE64(version, 99) },
	    .reason = r_version } },
	{ "cdev version 99", host_version_99,
	  { .vec = sb_vec_cdev_v0, .edits = { SB_LE64(version, 99) },
	    .reason = r_version } },
};

KUNIT_ARRAY_PARAM_DESC(sb_host, sb_host_cases, name);

static void ondisk_sb_verify_refused(struct kunit *test)
{
	const struct sb_host_case *c = test->param_value;
	const struct sb_case *disk = &c->disk;
	struct cache_sb_disk *d = sb_load(test, disk->vec);
	struct cache_sb *sb = sb_alloc(test);
	const char *why, *reason;

	KUNIT_ASSERT_EQ_MSG(test, sb_decode_on(sb, d, disk->capacity, disk->lbs,
					       &why), 0, "%s", why);
	c->mutate(sb);
	KUNIT_EXPECT_EQ(test, sb_verify_on(sb, disk->capacity, disk->lbs, &why),
			-EINVAL);
	KUNIT_ASSERT_NOT_NULL(test, why);
	KUNIT_EXPECT_STREQ(test, why, disk->reason);

	d = sb_load_case(test, disk);
	KUNIT_EXPECT_EQ(test, sb_decode_on(sb, d, disk->capacity, disk->lbs,
					   &reason), -EINVAL);
	KUNIT_ASSERT_NOT_NULL(test, reason);
	KUNIT_EXPECT_STREQ(test, reason, why);
}

static struct kunit_case ondisk_layout_cases[] = {
	KUNIT_CASE_PARAM(ondisk_layout, layout_gen_params),
	KUNIT_CASE(ondisk_crc64_check_value),
	KUNIT_CASE(ondisk_uuid_flash_only),
	{}
};

static struct kunit_case ondisk_key_cases[] = {
	KUNIT_CASE_PARAM(ondisk_key_round_trip, key_gen_params),
	KUNIT_CASE_PARAM(ondisk_key_field_isolation, key_gen_params),
	KUNIT_CASE_PARAM(ondisk_key_macro, key_gen_params),
	KUNIT_CASE(ondisk_key_constants),
	KUNIT_CASE(ondisk_key_next),
	KUNIT_CASE(ondisk_key_copy),
	KUNIT_CASE_PARAM(ondisk_ptr_round_trip, ptr_gen_params),
	KUNIT_CASE_PARAM(ondisk_key_bytes, key_bytes_gen_params),
	{}
};

static struct kunit_case ondisk_sb_cases[] = {
	KUNIT_CASE_PARAM(ondisk_sb_vector_decodes, sb_vector_gen_params),
	KUNIT_CASE_PARAM(ondisk_sb_vector_csum, sb_vector_gen_params),
	KUNIT_CASE_PARAM(ondisk_sb_flipped_byte, sb_flip_gen_params),
	KUNIT_CASE_PARAM(ondisk_sb_bytes_past_csum, sb_vector_gen_params),
	KUNIT_CASE_PARAM(ondisk_sb_refused, sb_refused_gen_params),
	KUNIT_CASE_PARAM(ondisk_sb_accepted, sb_accepted_gen_params),
	KUNIT_CASE_PARAM(ondisk_sb_encode_identity, sb_accepted_gen_params),
	KUNIT_CASE_PARAM(ondisk_sb_encode_round_trip, sb_vector_gen_params),
	KUNIT_CASE(ondisk_sb_encode_journal),
	KUNIT_CASE_PARAM(ondisk_sb_verify_accepted, sb_accepted_gen_params),
	KUNIT_CASE_PARAM(ondisk_sb_verify_refused, sb_host_gen_params),
	{}
};

static struct kunit_suite ondisk_layout_suite = {
	.name = "bcache_ondisk",
	.test_cases = ondisk_layout_cases,
};

static struct kunit_suite ondisk_key_suite = {
	.name = "bcache_ondisk_key",
	.test_cases = ondisk_key_cases,
};

static struct kunit_suite ondisk_sb_suite = {
	.name = "bcache_ondisk_sb",
	.test_cases = ondisk_sb_cases,
};

kunit_test_suites(&ondisk_layout_suite, &ondisk_key_suite, &ondisk_sb_suite);

// SPDX-License-Identifier: GPL-2.0
/*
 * sbedit: read, tweak and rewrite a bcache superblock, for the VM scenarios.
 *
 *   sbedit DEV --show
 *   sbedit DEV [--no-csum] field=value ...
 *   sbedit DEV --journal
 *   sbedit DEV --fuzz SEED
 *
 * The superblock is the 4 KiB block at byte 4096 of DEV (struct cache_sb_disk
 * in bcache_ondisk.h, all little-endian). Edits let a scenario build the
 * malformed superblocks make-bcache refuses to write (bad magic, zero uuid,
 * an unknown version, ...). After the edits the checksum is recomputed the
 * way the driver checks it -- crc64 ECMA-182 in its MSB-first form (the
 * kernel's crc64_be with init ~0 and final xor ~0) over bytes 8 up to the
 * end of d[keys] -- unless --no-csum asks to keep the stored one (or to
 * store csum=N as given), which is how a scenario gets a superblock with a
 * wrong checksum. --show prints every field as "name value", then
 * csum_computed and csum_ok (1 when the stored checksum is right).
 *
 * --journal (cache devices) walks the journal buckets listed in d[] and
 * prints where the newest valid jset lies and what it points at: the
 * btree root, the uuid bucket and the first prio bucket, as sectors of
 * the device, so that a scenario can corrupt exactly those.
 * --jset-last-seq N rewrites the newest jset's last_seq (checksum fixed).
 * --jset-add-key INODE:OFFSET:SIZE:PTRS:SECTOR:GEN[:dirty] appends an
 * extent key to the newest jset (checksum fixed), its PTRS pointers all
 * to SECTOR of device 0 with generation GEN: any key at all, so that a
 * scenario can make the journal hold one the btree must never take.
 *
 * --fuzz SEED overwrites one to three fields chosen by a seeded PRNG with
 * values biased towards the edges (0, 1, all ones, powers of two), fixes
 * the checksum and prints the edits: the same seed gives the same edits.
 * --fuzz-meta KIND SEED does the same to the metadata the newest jset
 * leads to: the jset itself (header fields or key words), the root
 * node's first set, the first prio set (header or entries) or the uuid
 * table (no checksum), each checksum made valid again as the driver
 * computes it.
 *
 * This is a test tool built static into the guest's initramfs; it knows
 * just enough of the layout to do its job and nothing of the driver.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SB_START	4096
#define SB_BYTES	4096
#define CSUM_FROM	8	/* the checksum covers everything after itself */
#define JOURNAL_AT	208	/* d[], the journal bucket list */
#define MAX_KEYS	256	/* SB_JOURNAL_BUCKETS */

/* Where each field lives: byte offset and width, or a special kind. */
enum kind { NUM, BITS, ZERO_ONLY, TEXT };

struct field {
	const char *name;
	enum kind kind;
	unsigned int off;
	unsigned int width;	/* bytes for NUM/ZERO_ONLY/TEXT */
	unsigned int shift;	/* BITS: a bit range of the u64 at off */
	unsigned int nbits;
};

static const struct field fields[] = {
	{ "csum",		NUM,	   0, 8, 0, 0 },
	{ "offset",		NUM,	   8, 8, 0, 0 },
	{ "version",		NUM,	  16, 8, 0, 0 },
	{ "magic",		ZERO_ONLY, 24, 16, 0, 0 },
	{ "uuid",		ZERO_ONLY, 40, 16, 0, 0 },
	{ "set_uuid",		ZERO_ONLY, 56, 16, 0, 0 },
	{ "label",		TEXT,	  72, 32, 0, 0 },
	{ "flags",		NUM,	 104, 8, 0, 0 },
	{ "cache_mode",		BITS,	 104, 8, 0, 4 },
	{ "replacement",	BITS,	 104, 8, 2, 3 },
	{ "seq",		NUM,	 112, 8, 0, 0 },
	{ "feature_compat",	NUM,	 120, 8, 0, 0 },
	{ "feature_incompat",	NUM,	 128, 8, 0, 0 },
	{ "feature_ro_compat",	NUM,	 136, 8, 0, 0 },
	{ "nbuckets",		NUM,	 184, 8, 0, 0 },
	{ "data_offset",	NUM,	 184, 8, 0, 0 },
	{ "block_size",		NUM,	 192, 2, 0, 0 },
	{ "bucket_size",	NUM,	 194, 2, 0, 0 },
	{ "nr_in_set",		NUM,	 196, 2, 0, 0 },
	{ "nr_this_dev",	NUM,	 198, 2, 0, 0 },
	{ "last_mount",		NUM,	 200, 4, 0, 0 },
	{ "first_bucket",	NUM,	 204, 2, 0, 0 },
	{ "keys",		NUM,	 206, 2, 0, 0 },
	{ "journal0",		NUM,	 208, 8, 0, 0 },
	{ "journal1",		NUM,	 216, 8, 0, 0 },
	{ "bucket_size_hi",	NUM,	2256, 2, 0, 0 },
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static uint64_t get_le(const unsigned char *p, unsigned int width)
{
	uint64_t v = 0;

	while (width--)
		v = (v << 8) | p[width];
	return v;
}

static void put_le(unsigned char *p, unsigned int width, uint64_t v)
{
	for (unsigned int i = 0; i < width; i++, v >>= 8)
		p[i] = v & 0xff;
}

/*
 * Bitwise crc64 ECMA-182, MSB first (the kernel's crc64_be): slow,
 * obviously right, and plenty fast for a bucket of metadata.
 */
static uint64_t crc64_msb(uint64_t crc, const unsigned char *p, size_t len)
{
	const uint64_t poly = 0x42F0E1EBA9EA3693ULL;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint64_t)p[i] << 56;
		for (int bit = 0; bit < 8; bit++)
			crc = (crc & (1ULL << 63)) ? (crc << 1) ^ poly : crc << 1;
	}
	return crc;
}

/* bcache's checksum of superblocks, jsets and prio sets. */
static uint64_t crc64_ecma_msb(const unsigned char *p, size_t len)
{
	return ~crc64_msb(~0ULL, p, len);
}

static uint64_t sb_csum(const unsigned char *sb)
{
	unsigned int keys = get_le(sb + 206, 2);

	/* A bogus key count must not walk us off the block. */
	if (keys > MAX_KEYS)
		keys = MAX_KEYS;
	return crc64_ecma_msb(sb + CSUM_FROM, JOURNAL_AT + 8 * keys - CSUM_FROM);
}

static const struct field *find_field(const char *name, size_t len)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strlen(fields[i].name) == len &&
		    !strncmp(fields[i].name, name, len))
			return &fields[i];
	return NULL;
}

static void show_hex(const char *name, const unsigned char *p, unsigned int n)
{
	printf("%s ", name);
	for (unsigned int i = 0; i < n; i++)
		printf("%02x", p[i]);
	putchar('\n');
}

static void show(const unsigned char *sb)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		uint64_t v = get_le(sb + f->off, f->width);

		switch (f->kind) {
		case NUM:
			printf("%s %" PRIu64 "\n", f->name, v);
			break;
		case BITS:
			printf("%s %" PRIu64 "\n", f->name,
			       (uint64_t)((v >> f->shift) &
					  ((1ULL << f->nbits) - 1)));
			break;
		case ZERO_ONLY:
			show_hex(f->name, sb + f->off, f->width);
			break;
		case TEXT:
			printf("%s %.*s\n", f->name, (int)f->width,
			       (const char *)sb + f->off);
			break;
		}
	}
	printf("csum_computed %" PRIu64 "\n", sb_csum(sb));
	printf("csum_ok %d\n", sb_csum(sb) == get_le(sb, 8));
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || !*s || *end ? -1 : 0;
}

/* Apply one "name=value"; returns 0 or prints why not and returns -1. */
static int apply(unsigned char *sb, const char *arg)
{
	const char *eq = strchr(arg, '=');
	const struct field *f = eq ? find_field(arg, eq - arg) : NULL;
	const char *val = eq ? eq + 1 : NULL;
	uint64_t v, word, mask;

	if (!f) {
		fprintf(stderr, "sbedit: unknown edit '%s'\n", arg);
		return -1;
	}
	switch (f->kind) {
	case TEXT:
		if (strlen(val) > f->width) {
			fprintf(stderr, "sbedit: %s too long\n", f->name);
			return -1;
		}
		memset(sb + f->off, 0, f->width);
		memcpy(sb + f->off, val, strlen(val));
		return 0;
	case ZERO_ONLY:
		if (strcmp(val, "zero")) {
			fprintf(stderr, "sbedit: %s only takes 'zero'\n", f->name);
			return -1;
		}
		memset(sb + f->off, 0, f->width);
		return 0;
	case NUM:
	case BITS:
		break;
	}
	if (parse_u64(val, &v)) {
		fprintf(stderr, "sbedit: bad number in '%s'\n", arg);
		return -1;
	}
	if (f->kind == NUM) {
		if (f->width < 8 && v >> (8 * f->width)) {
			fprintf(stderr, "sbedit: %s does not fit\n", arg);
			return -1;
		}
		put_le(sb + f->off, f->width, v);
		return 0;
	}
	mask = ((1ULL << f->nbits) - 1) << f->shift;
	if ((v << f->shift) & ~mask) {
		fprintf(stderr, "sbedit: %s does not fit\n", arg);
		return -1;
	}
	word = get_le(sb + f->off, 8);
	put_le(sb + f->off, 8, (word & ~mask) | (v << f->shift));
	return 0;
}

/* --- the journal: enough to find the newest jset and its pointers --- */

#define JSET_MAGIC	0x245235c1a3625032ULL
#define JSET_HDR	240	/* struct jset up to its keys */
#define JSET_MAX	(4096 << 3)	/* the driver's biggest jset */

/* A pointer of a bkey at p (high, low, ptr[0]...): its sector offset. */
static uint64_t key_ptr_sector(const unsigned char *key)
{
	uint64_t ptr = get_le(key + 16, 8);

	return (ptr >> 8) & ((1ULL << 43) - 1);
}

struct newest {
	uint64_t seq, sector, bytes;
	unsigned char hdr[JSET_HDR];
	unsigned int count;
};

/* Walk the jsets of one journal bucket the way the driver reads them. */
static void scan_bucket(int fd, const unsigned char *sb, uint64_t bucket,
			struct newest *best)
{
	unsigned int bucket_bytes = get_le(sb + 194, 2) * 512;
	unsigned int block_bytes = get_le(sb + 192, 2) * 512;
	uint64_t magic = get_le(sb + 56, 8) ^ JSET_MAGIC;
	unsigned char *buf = malloc(bucket_bytes);
	unsigned int at = 0;

	if (!buf || !block_bytes ||
	    pread(fd, buf, bucket_bytes, bucket * bucket_bytes) !=
	    (ssize_t)bucket_bytes)
		goto out;
	while (at + JSET_HDR <= bucket_bytes) {
		unsigned char *j = buf + at;
		uint64_t bytes = JSET_HDR + 8 * get_le(j + 28, 4);

		if (get_le(j + 8, 8) != magic || bytes > JSET_MAX ||
		    at + bytes > bucket_bytes ||
		    crc64_ecma_msb(j + 8, bytes - 8) != get_le(j, 8))
			break;
		best->count++;
		if (get_le(j + 16, 8) >= best->seq) {
			best->seq = get_le(j + 16, 8);
			best->sector = ((uint64_t)bucket * bucket_bytes + at) / 512;
			best->bytes = bytes;
			memcpy(best->hdr, j, JSET_HDR);
		}
		at += (bytes + block_bytes - 1) / block_bytes * block_bytes;
	}
out:
	free(buf);
}

/* The newest valid jset of the journal; 1 (said why) if there is none. */
static int find_newest(int fd, const unsigned char *sb, struct newest *best)
{
	unsigned int nr = get_le(sb + 206, 2), bucket_sectors = get_le(sb + 194, 2);

	if (nr > MAX_KEYS || !bucket_sectors) {
		fprintf(stderr, "sbedit: not a sane cache superblock\n");
		return 1;
	}
	for (unsigned int i = 0; i < nr; i++)
		scan_bucket(fd, sb, get_le(sb + JOURNAL_AT + 8 * i, 8), best);
	if (!best->count) {
		fprintf(stderr, "sbedit: no valid jset\n");
		return 1;
	}
	return 0;
}

/*
 * Make the newest jset name @last_seq as the oldest one replay needs, with
 * a valid checksum: with the jsets from there on gone, a journal with a
 * hole, as a discard of a bucket still needed leaves it.
 */
static int set_jset_last_seq(int fd, const unsigned char *sb, uint64_t last_seq)
{
	struct newest best = { 0 };
	unsigned char *j;
	int ret = 1;

	if (find_newest(fd, sb, &best))
		return 1;
	j = malloc(best.bytes);
	if (!j || pread(fd, j, best.bytes, best.sector * 512) != (ssize_t)best.bytes)
		goto out;
	put_le(j + 32, 8, last_seq);
	put_le(j, 8, crc64_ecma_msb(j + 8, best.bytes - 8));
	if (pwrite(fd, j, best.bytes, best.sector * 512) != (ssize_t)best.bytes ||
	    fsync(fd))
		goto out;
	printf("jset %" PRIu64 " at sector %" PRIu64 ": last_seq=%" PRIu64 "\n",
	       best.seq, best.sector, last_seq);
	ret = 0;
out:
	free(j);
	return ret;
}

/* The key of a --jset-add-key spec into @key (2 + PTRS u64s); its length. */
static int parse_key(const char *spec, unsigned char *key)
{
	uint64_t v[6] = { 0 }, high;
	unsigned int n = 0, p;
	const char *s = spec;
	char *end;

	while (n < 6) {
		v[n++] = strtoull(s, &end, 0);
		if (*end != ':')
			break;
		s = end + 1;
	}
	if (n != 6 || (*end && strcmp(end, ":dirty")) || v[3] > 7 ||
	    v[2] >= 1 << 16 || v[0] >= 1 << 20) {
		fprintf(stderr, "sbedit: bad key %s\n", spec);
		return -1;
	}
	high = v[3] << 60 | (uint64_t)!!*end << 36 | v[2] << 20 | v[0];
	put_le(key, 8, high);
	put_le(key + 8, 8, v[1]);
	for (p = 0; p < v[3]; p++)
		put_le(key + 16 + 8 * p, 8, v[4] << 8 | (v[5] & 0xff));
	return 16 + 8 * v[3];
}

static int add_jset_key(int fd, const unsigned char *sb, const char *spec)
{
	unsigned int bucket_bytes = get_le(sb + 194, 2) * 512;
	struct newest best = { 0 };
	unsigned char key[16 + 8 * 7];
	unsigned char *j;
	int len = parse_key(spec, key), ret = 1;

	if (len < 0 || find_newest(fd, sb, &best))
		return 1;
	if (best.sector * 512 % bucket_bytes + best.bytes + len > bucket_bytes) {
		fprintf(stderr, "sbedit: no room after the newest jset\n");
		return 1;
	}
	j = calloc(1, best.bytes + len);
	if (!j || pread(fd, j, best.bytes, best.sector * 512) != (ssize_t)best.bytes)
		goto out;
	memcpy(j + best.bytes, key, len);
	put_le(j + 28, 4, get_le(j + 28, 4) + len / 8);
	put_le(j, 8, crc64_ecma_msb(j + 8, best.bytes + len - 8));
	if (pwrite(fd, j, best.bytes + len, best.sector * 512) !=
	    (ssize_t)(best.bytes + len) || fsync(fd))
		goto out;
	printf("jset %" PRIu64 " at sector %" PRIu64 ": key %s added\n",
	       best.seq, best.sector, spec);
	ret = 0;
out:
	free(j);
	return ret;
}

static int show_journal(int fd, const unsigned char *sb)
{
	unsigned int nr = get_le(sb + 206, 2), bucket_sectors = get_le(sb + 194, 2);
	struct newest best = { 0 };

	if (find_newest(fd, sb, &best))
		return 1;
	printf("jsets %u\n", best.count);
	printf("jset_seq %" PRIu64 "\n", best.seq);
	printf("jset_sector %" PRIu64 "\n", best.sector);
	printf("jset_bytes %" PRIu64 "\n", best.bytes);
	printf("jset_keys %" PRIu64 "\n", get_le(best.hdr + 28, 4));
	printf("last_seq %" PRIu64 "\n", get_le(best.hdr + 32, 8));
	printf("uuid_sector %" PRIu64 "\n", key_ptr_sector(best.hdr + 40));
	printf("root_sector %" PRIu64 "\n", key_ptr_sector(best.hdr + 104));
	printf("root_level %" PRIu64 "\n", get_le(best.hdr + 168, 2));
	printf("prio_sector %" PRIu64 "\n",
	       get_le(best.hdr + 176, 8) * bucket_sectors);
	printf("bucket_sectors %u\n", bucket_sectors);
	printf("journal_buckets");
	for (unsigned int i = 0; i < nr; i++)
		printf(" %" PRIu64, get_le(sb + JOURNAL_AT + 8 * i, 8));
	putchar('\n');
	return 0;
}

/* --- fuzzing: seeded, so a failing case can be replayed --- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* splitmix64: good enough, and the same on every libc */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A value for a field of 'bits' bits, biased to where parsers break. */
static uint64_t fuzz_value(unsigned int bits, uint64_t old)
{
	uint64_t all = bits >= 64 ? ~0ULL : (1ULL << bits) - 1;

	switch (rng() % 7) {
	case 0: return 0;
	case 1: return 1;
	case 2: return all;
	case 3: return (1ULL << (rng() % bits)) & all;
	case 4: return (old + 1) & all;
	case 5: return (old - 1) & all;
	default: return rng() & all;
	}
}

/* Fields of a cache superblock worth fuzzing (not csum, magic, label). */
static const char *const fuzz_fields[] = {
	"version", "flags", "replacement", "seq", "feature_compat",
	"feature_incompat", "feature_ro_compat", "nbuckets", "block_size",
	"bucket_size", "nr_in_set", "nr_this_dev", "first_bucket", "keys",
	"journal0", "journal1", "bucket_size_hi", "offset",
};

static void fuzz(unsigned char *sb, uint64_t seed)
{
	size_t nf = sizeof(fuzz_fields) / sizeof(fuzz_fields[0]);
	unsigned int edits;

	rng_state = seed;
	edits = 1 + rng() % 3;
	while (edits--) {
		const char *name = fuzz_fields[rng() % nf];
		const struct field *f = find_field(name, strlen(name));
		unsigned int bits = f->kind == BITS ? f->nbits : 8 * f->width;
		uint64_t old = get_le(sb + f->off, f->width), v, mask;

		if (f->kind == BITS)
			old = (old >> f->shift) & ((1ULL << bits) - 1);
		v = fuzz_value(bits, old);
		printf("%s=%" PRIu64 "\n", name, v);
		if (f->kind == NUM) {
			put_le(sb + f->off, f->width, v);
			continue;
		}
		mask = ((1ULL << bits) - 1) << f->shift;
		put_le(sb + f->off, 8,
		       (get_le(sb + f->off, 8) & ~mask) | (v << f->shift));
	}
}

/* --- fuzzing the metadata the newest jset points at --- */

struct hdr_field {
	const char *name;
	unsigned int off, width;
};

/* struct jset: the header after csum and magic, and the keys at 240. */
static const struct hdr_field jset_fields[] = {
	{ "seq", 16, 8 }, { "version", 24, 4 }, { "keys", 28, 4 },
	{ "last_seq", 32, 8 }, { "uuid_bucket.high", 40, 8 },
	{ "uuid_bucket.ptr", 56, 8 }, { "btree_root.high", 104, 8 },
	{ "btree_root.low", 112, 8 }, { "btree_root.ptr", 120, 8 },
	{ "btree_level", 168, 2 }, { "prio_bucket0", 176, 8 },
};

/* struct bset, the first of the root node: keys at 32. */
static const struct hdr_field bset_fields[] = {
	{ "seq", 16, 8 }, { "version", 24, 4 }, { "keys", 28, 4 },
};

/* struct prio_set: 3-byte bucket_disk entries (prio, gen) at 40. */
static const struct hdr_field prio_fields[] = {
	{ "seq", 16, 8 }, { "version", 24, 4 }, { "next_bucket", 32, 8 },
};

/* The uuid table: entry 0 is the backing device's, entry 1 unused. */
static const struct hdr_field uuid_fields[] = {
	{ "uuid", 0, 8 }, { "first_reg", 48, 4 }, { "last_reg", 52, 4 },
	{ "invalidated", 56, 4 }, { "flags", 60, 4 }, { "sectors", 64, 8 },
	{ "uuid1", 128, 8 }, { "flags1", 188, 4 }, { "sectors1", 192, 8 },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct meta {
	const char *kind;
	const struct hdr_field *fields;
	unsigned int nfields;
	unsigned int payload;		/* where the keys or entries begin */
	unsigned int count_off;		/* u32 count of u64 keys, or 0 */
	unsigned int entry;		/* bytes of an entry without a count */
};

static const struct meta metas[] = {
	{ "jset", jset_fields, NELEM(jset_fields), JSET_HDR, 28, 0 },
	{ "node", bset_fields, NELEM(bset_fields), 32, 28, 0 },
	{ "prio", prio_fields, NELEM(prio_fields), 40, 0, 3 },
	{ "uuid", uuid_fields, NELEM(uuid_fields), 0, 0, 128 },
};

/* Bytes of @m's payload that an edit may land in, within @len. */
static size_t payload_bytes(const struct meta *m, const unsigned char *buf,
			    size_t len)
{
	size_t n;

	if (m->count_off)
		n = 8 * (size_t)get_le(buf + m->count_off, 4);
	else if (m->payload)
		n = 64 * m->entry;	/* the first 64 buckets' entries */
	else
		n = 4 * m->entry;	/* the first four uuid entries */
	return n < len - m->payload ? n : len - m->payload;
}

/* One to three edits: a header field, or a word of the payload. */
static void fuzz_meta_edits(const struct meta *m, unsigned char *buf,
			    size_t len)
{
	unsigned int edits = 1 + rng() % 3;

	while (edits--) {
		size_t room = payload_bytes(m, buf, len);
		const struct hdr_field *f = &m->fields[rng() % m->nfields];
		unsigned int off = f->off, width = f->width;
		uint64_t v;

		if (room >= 8 && rng() % 2) {
			off = m->payload + rng() % (room - 7);
			width = m->entry == 3 ? 1 + rng() % 2 : 8;
			if (m->count_off)
				off -= (off - m->payload) % 8;
			printf("%s+%u=", m->count_off ? "key" : "entry",
			       off - m->payload);
		} else {
			printf("%s=", f->name);
		}
		v = fuzz_value(8 * width, get_le(buf + off, width));
		printf("%" PRIu64 "\n", v);
		put_le(buf + off, width, v);
	}
}

/* The sector and the checksum seed of @kind's metadata, from @best. */
static uint64_t meta_sector(const struct meta *m, const struct newest *best,
			    unsigned int bucket_sectors)
{
	switch (m->kind[0]) {
	case 'j': return best->sector;
	case 'n': return key_ptr_sector(best->hdr + 104);
	case 'p': return get_le(best->hdr + 176, 8) * bucket_sectors;
	default:  return key_ptr_sector(best->hdr + 40);
	}
}

/* Seal @buf as the driver would check it (the uuid table has no csum). */
static void meta_reseal(const struct meta *m, unsigned char *buf, size_t len,
			const struct newest *best)
{
	size_t n = len;

	if (m->count_off) {
		n = m->payload + 8 * (size_t)get_le(buf + m->count_off, 4);
		if (n > len)
			n = len;
	}
	switch (m->kind[0]) {
	case 'j':
	case 'p':
		put_le(buf, 8, crc64_ecma_msb(buf + 8, n - 8));
		break;
	case 'n':
		/* seeded with the first pointer word of the node's key */
		put_le(buf, 8, ~crc64_msb(get_le(best->hdr + 120, 8),
					  buf + 8, n - 8));
		break;
	}
}

/*
 * --fuzz-meta KIND SEED: one to three seeded edits of the newest jset,
 * the root node's first set, the first prio set or the uuid table, with
 * the checksum made valid again, so that what the driver meets is
 * metadata that looks written by a driver and says something else.
 */
static int fuzz_meta(int fd, const unsigned char *sb, const char *kind,
		     uint64_t seed)
{
	unsigned int bucket_sectors = get_le(sb + 194, 2);
	size_t bucket_bytes = (size_t)bucket_sectors * 512, len;
	const struct meta *m = NULL;
	struct newest best = { 0 };
	unsigned char *buf;
	uint64_t sector;
	int ret = 1;

	for (size_t i = 0; i < NELEM(metas); i++)
		if (!strcmp(kind, metas[i].kind))
			m = &metas[i];
	if (!m) {
		fprintf(stderr, "sbedit: kind is jset, node, prio or uuid\n");
		return 2;
	}
	if (find_newest(fd, sb, &best))
		return 1;
	sector = meta_sector(m, &best, bucket_sectors);
	len = bucket_bytes - sector * 512 % bucket_bytes;
	if (m->kind[0] == 'u' && len > 4096)
		len = 4096;
	buf = malloc(len);
	if (!buf || pread(fd, buf, len, sector * 512) != (ssize_t)len)
		goto out;

	rng_state = seed;
	fuzz_meta_edits(m, buf, len);
	meta_reseal(m, buf, len, &best);
	if (pwrite(fd, buf, len, sector * 512) != (ssize_t)len || fsync(fd))
		goto out;
	ret = 0;
out:
	free(buf);
	return ret;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sbedit DEV --show\n"
		"       sbedit DEV [--no-csum] field=value ...\n"
		"       sbedit DEV --journal\n"
		"       sbedit DEV --jset-last-seq N\n"
		"       sbedit DEV --jset-add-key INODE:OFFSET:SIZE:PTRS:SECTOR:GEN[:dirty]\n"
		"       sbedit DEV --fuzz SEED\n"
		"       sbedit DEV --fuzz-meta jset|node|prio|uuid SEED\n"
		"fields:");
	for (size_t i = 0; i < NFIELDS; i++)
		fprintf(stderr, " %s", fields[i].name);
	fprintf(stderr, "\n(magic, uuid, set_uuid take only 'zero')\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned char sb[SB_BYTES];
	int fd, i, keep_csum = 0, showing = 0, journal = 0, fuzzing = 0;
	int last_seq_edit = 0;
	uint64_t seed = 0, last_seq = 0;
	const char *add_key = NULL, *meta_kind = NULL;

	if (argc < 3)
		usage();
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--show"))
			showing = 1;
		else if (!strcmp(argv[i], "--no-csum"))
			keep_csum = 1;
		else if (!strcmp(argv[i], "--journal"))
			journal = 1;
		else if (!strcmp(argv[i], "--fuzz") && i + 1 < argc &&
			 !parse_u64(argv[i + 1], &seed))
			fuzzing = 1;
		else if (!strcmp(argv[i], "--jset-last-seq") && i + 1 < argc &&
			 !parse_u64(argv[i + 1], &last_seq))
			last_seq_edit = 1;
		else if (!strcmp(argv[i], "--jset-add-key") && i + 1 < argc)
			add_key = argv[i + 1];
		else if (!strcmp(argv[i], "--fuzz-meta") && i + 2 < argc &&
			 !parse_u64(argv[i + 2], &seed))
			meta_kind = argv[i + 1];
	}

	fd = open(argv[1], showing || journal ? O_RDONLY : O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	if (pread(fd, sb, SB_BYTES, SB_START) != SB_BYTES) {
		fprintf(stderr, "sbedit: %s: short read\n", argv[1]);
		return 1;
	}
	if (showing) {
		show(sb);
		return 0;
	}
	if (journal)
		return show_journal(fd, sb);
	if (last_seq_edit)
		return set_jset_last_seq(fd, sb, last_seq);
	if (add_key)
		return add_jset_key(fd, sb, add_key);
	if (meta_kind)
		return fuzz_meta(fd, sb, meta_kind, seed);

	for (i = 2; i < argc && !fuzzing; i++) {
		if (!strcmp(argv[i], "--no-csum"))
			continue;
		if (apply(sb, argv[i]))
			return 2;
	}
	if (fuzzing)
		fuzz(sb, seed);
	if (!keep_csum)
		put_le(sb, 8, sb_csum(sb));

	if (pwrite(fd, sb, SB_BYTES, SB_START) != SB_BYTES || fsync(fd)) {
		fprintf(stderr, "sbedit: %s: write failed\n", argv[1]);
		return 1;
	}
	return close(fd) ? 1 : 0;
}

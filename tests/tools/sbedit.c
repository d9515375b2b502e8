// SPDX-License-Identifier: GPL-2.0
/*
 * sbedit: read, tweak and rewrite a bcache superblock, for the VM scenarios.
 *
 *   sbedit DEV --show
 *   sbedit DEV [--no-csum] field=value ...
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

/* Bitwise crc64 ECMA-182, MSB first: slow, obviously right, and plenty
 * fast for one superblock. */
static uint64_t crc64_ecma_msb(const unsigned char *p, size_t len)
{
	const uint64_t poly = 0x42F0E1EBA9EA3693ULL;
	uint64_t crc = ~0ULL;

	for (size_t i = 0; i < len; i++) {
		crc ^= (uint64_t)p[i] << 56;
		for (int bit = 0; bit < 8; bit++)
			crc = (crc & (1ULL << 63)) ? (crc << 1) ^ poly : crc << 1;
	}
	return ~crc;
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

static void usage(void)
{
	fprintf(stderr,
		"usage: sbedit DEV --show\n"
		"       sbedit DEV [--no-csum] field=value ...\n"
		"fields:");
	for (size_t i = 0; i < NFIELDS; i++)
		fprintf(stderr, " %s", fields[i].name);
	fprintf(stderr, "\n(magic, uuid, set_uuid take only 'zero')\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned char sb[SB_BYTES];
	int fd, i, keep_csum = 0, showing = 0;

	if (argc < 3)
		usage();
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--show"))
			showing = 1;
		else if (!strcmp(argv[i], "--no-csum"))
			keep_csum = 1;
	}

	fd = open(argv[1], showing ? O_RDONLY : O_RDWR);
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

	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--no-csum"))
			continue;
		if (apply(sb, argv[i]))
			return 2;
	}
	if (!keep_csum)
		put_le(sb, 8, sb_csum(sb));

	if (pwrite(fd, sb, SB_BYTES, SB_START) != SB_BYTES || fsync(fd)) {
		fprintf(stderr, "sbedit: %s: write failed\n", argv[1]);
		return 1;
	}
	return close(fd) ? 1 : 0;
}

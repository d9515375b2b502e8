// SPDX-License-Identifier: GPL-2.0
/*
 * The uuid table of a cache set, and its I/O. recovery.c reads it when a set
 * starts (widening entries of the format before jset version 1, and
 * rewriting such a table once buckets can be allocated), attach and
 * detach claim and retire entries and write the table back through
 * bch_uuid_write(), and sysfs writes it when a label changes.
 */

#include "bcache.h"
#include "alloc.h"
#include "btree.h"
#include "io.h"
#include "set.h"
#include "util.h"
#include "uuid.h"

#include <linux/ktime.h>
#include <linux/string.h>

/*
 * The table: one bucket holding an entry per backing device (and
 * flash volume) the set has ever cached, indexed by the inode number its
 * keys carry. An entry is never reused for another device: detaching
 * overwrites its uuid with invalid_uuid, so only never-used (all-zero)
 * entries are free, and old keys of a detached device can never be read
 * as data of a new one.
 */

static const u8 invalid_uuid[16] = {
	0xa0, 0x3e, 0xf8, 0xed, 0x3e, 0xe1, 0xb8, 0x78,
	0xc8, 0x50, 0xfc, 0x5e, 0xcb, 0x16, 0xcd, 0x99,
};

static const u8 zero_uuid[16];

/* A never-used entry, for a device new to the set; NULL if none is left. */
struct uuid_entry *bch_uuid_free_entry(struct cache_set *c)
{
	return bch_uuid_lookup(c, zero_uuid);
}

/* One synchronous transfer of the whole table, its status kept here. */
struct uuid_transfer {
	struct closure		cl;
	struct cache_set	*c;
	blk_status_t		status;
};

static void uuid_transfer_endio(struct bio *bio)
{
	struct uuid_transfer *t = container_of(bio->bi_private,
					       struct uuid_transfer, cl);

	if (bio->bi_status)
		t->status = bio->bi_status;
	bch_bbio_free(bio, t->c);
	closure_put(&t->cl);
}

/* Reads the table from @k's first pointer, or writes it to all of them. */
static int uuid_transfer(struct cache_set *c, blk_opf_t opf, struct bkey *k)
{
	struct uuid_transfer t = { .c = c };
	unsigned int ptr;

	closure_init_stack(&t.cl);

	for (ptr = 0; ptr < KEY_PTRS(k); ptr++) {
		struct bio *bio = bch_bbio_alloc(c);

		bio->bi_opf = opf | REQ_SYNC | REQ_META;
		bio->bi_iter.bi_size = KEY_SIZE(k) << SECTOR_SHIFT;
		bio->bi_end_io = uuid_transfer_endio;
		bio->bi_private = &t.cl;
		bch_bio_map(bio, c->uuids);
		bch_submit_bbio(bio, c, k, ptr);

		if (!op_is_write(opf))
			break;
	}

	closure_sync(&t.cl);
	return blk_status_to_errno(t.status);
}

struct uuid_entry *bch_uuid_lookup(struct cache_set *c, const u8 *uuid)
{
	unsigned int i;

	for (i = 0; i < c->nr_uuids; i++)
		if (!memcmp(c->uuids[i].uuid, uuid, 16))
			return c->uuids + i;
	return NULL;
}

bool bch_uuid_entry_unused(const struct uuid_entry *u)
{
	return !memcmp(u->uuid, zero_uuid, 16);
}

bool bch_uuid_entry_live(const struct uuid_entry *u)
{
	return !bch_uuid_entry_unused(u) && memcmp(u->uuid, invalid_uuid, 16);
}

__le32 bch_uuid_timestamp(void)
{
	return cpu_to_le32((u32)ktime_get_real_seconds());
}

void bch_uuid_entry_invalidate(struct uuid_entry *u)
{
	SET_UUID_FLASH_ONLY(u, 0);
	memcpy(u->uuid, invalid_uuid, 16);
	u->invalidated = bch_uuid_timestamp();
}

/*
 * Entries were 64 bytes before jset version 1. They are widened in place,
 * last first: entry i moves to bytes 128i.., where only old entries 2i and
 * 2i + 1 lay, both already moved (or beyond the table) by then.
 */
static void uuid_table_widen(struct cache_set *c)
{
	const struct uuid_entry_v0 *narrow = (const void *)c->uuids;
	int i;

	for (i = c->nr_uuids - 1; i >= 0; i--) {
		struct uuid_entry_v0 old = narrow[i];
		struct uuid_entry *u = c->uuids + i;

		memset(u, 0, sizeof(*u));
		memcpy(u->uuid, old.uuid, sizeof(u->uuid));
		memcpy(u->label, old.label, sizeof(u->label));
		u->first_reg = old.first_reg;
		u->last_reg = old.last_reg;
		u->invalidated = old.invalidated;
	}
}

/* Sectors the table takes on disk; a key saying more would overrun it. */
static unsigned int uuid_table_sectors(struct cache_set *c)
{
	return meta_bucket_pages(&c->cache->sb) * PAGE_SECTORS;
}

/*
 * Whether @k can say where the table lives: a valid pointer into a bucket,
 * the table's size at most. The table itself has no header or checksum on
 * disk; this is all there is to check, when reading and before writing.
 */
int bch_uuid_table_verify(struct cache_set *c, const struct bkey *k,
			  const char **why)
{
	*why = NULL;
	if (__bch_btree_ptr_invalid(&c->checker, k) || !KEY_SIZE(k) ||
	    KEY_SIZE(k) > uuid_table_sectors(c))
		*why = "bad uuid pointer";
	return *why ? -EINVAL : 0;
}

const char *bch_uuid_table_read(struct cache_set *c, struct jset *j)
{
	struct bkey *k = &j->uuid_bucket;
	const char *why;

	if (bch_uuid_table_verify(c, k, &why))
		return why;

	bkey_copy(&c->uuid_bucket, k);
	if (uuid_transfer(c, REQ_OP_READ, k))
		return "IO error reading uuids";

	if (le32_to_cpu(j->version) < BCACHE_JSET_VERSION_UUID_V1)
		uuid_table_widen(c);
	return NULL;
}

/*
 * Writes the table to a new bucket and makes that its home; the previous
 * home is handed back in @old. Nothing is journalled here.
 */
int bch_uuid_table_relocate(struct cache_set *c, struct bkey *old)
{
	BKEY_PADDED(key) fresh;
	struct cache *ca = c->cache;
	const char *why;
	int ret;

	if (bch_bucket_alloc_set(c, RESERVE_BTREE, &fresh.key, true))
		return -ENOSPC;

	SET_KEY_SIZE(&fresh.key, uuid_table_sectors(c));
	ret = bch_uuid_table_verify(c, &fresh.key, &why);
	if (ret)
		cache_bug(c, "uuid table not written: %s", why);
	else
		ret = uuid_transfer(c, REQ_OP_WRITE, &fresh.key);
	atomic_long_add(ca->sb.bucket_size, &ca->meta_sectors_written);

	if (!ret) {
		/* gc reads both homes under bucket_lock. */
		mutex_lock(&c->bucket_lock);
		bkey_copy(old, &c->uuid_bucket);
		bkey_copy(&c->uuid_bucket, &fresh.key);
		mutex_unlock(&c->bucket_lock);
	}
	/* On failure gc finds the bucket unreferenced and reclaims it. */
	bch_bucket_pin_put(c, &fresh.key);
	return ret;
}

/*
 * Once the journal says where the table lives now, its old bucket holds
 * nothing anybody will read again.
 */
static void uuid_bucket_release(struct cache_set *c, struct bkey *old)
{
	if (!KEY_PTRS(old) || test_bit(CACHE_SET_IO_DISABLE, &c->flags))
		return;

	mutex_lock(&c->bucket_lock);
	if (!ptr_stale(c, old, 0))
		bch_bucket_free(c, old);
	/* No longer a home gc must keep. */
	bkey_init(old);
	mutex_unlock(&c->bucket_lock);
}

/* The journal entry naming the new home is on disk: free the old one. */
static CLOSURE_CALLBACK(uuid_write_done)
{
	closure_type(c, struct cache_set, uuid_write);

	uuid_bucket_release(c, &c->uuid_old);
	up(&c->uuid_write_mutex);
	closure_return(cl);
}

/**
 * bch_uuid_write() - persist @c's uuid table
 * @c:	a running cache set
 *
 * The whole table goes to a newly allocated bucket; a journal entry
 * recording that bucket is started, and once it is on disk the old bucket
 * is freed. The caller does not wait for the journal (as upstream's
 * does not): a table whose entry misses a crash is still a table the
 * devices' superblocks agree with, only older. Freeing the old bucket
 * before the journal names its successor could hand it out while the
 * journal on disk still points there. A second call waits for the
 * first's journal entry.
 *
 * Return: 0, -ENOSPC if no bucket could be had, or -EIO (the set is then
 * being shut down as failed).
 */
int bch_uuid_write(struct cache_set *c)
{
	int ret;

	down(&c->uuid_write_mutex);
	mutex_lock(&c->bucket_lock);
	bkey_init(&c->uuid_old);
	mutex_unlock(&c->bucket_lock);
	ret = bch_uuid_table_relocate(c, &c->uuid_old);
	if (ret) {
		up(&c->uuid_write_mutex);
	} else {
		/* The set is not freed before the bucket is let go of. */
		closure_init(&c->uuid_write, &c->cl);
		bch_journal_meta(c, &c->uuid_write);
		continue_at(&c->uuid_write, uuid_write_done, system_wq);
	}

	if (ret == -EIO)
		bch_cache_set_error(c, "writing uuids");
	else if (ret)
		pr_err("cannot write the uuids of cache set %pU: %pe\n",
		       c->set_uuid, ERR_PTR(ret));
	return ret;
}

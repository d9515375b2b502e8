/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The set's uuid table (uuid.c): one entry per attached or flash-only
 * volume, written whole to a fresh bucket and recorded in each jset.
 */
#ifndef _BCACHE_UUID_H
#define _BCACHE_UUID_H

#include "bcache.h"

struct jset;
/* Rewrites the whole uuid table to a new bucket; 0 or -errno. */
int bch_uuid_write(struct cache_set *c);
/* 0 if @k can point at the table, else -EINVAL and why not. */
int bch_uuid_table_verify(struct cache_set *c, const struct bkey *k,
			  const char **why);
/* Reads the table jset @j points at; NULL or why it cannot be used. */
const char *bch_uuid_table_read(struct cache_set *c, struct jset *j);
/* Writes the table to a new bucket; @old gets the key of its last home. */
int bch_uuid_table_relocate(struct cache_set *c, struct bkey *old);
struct uuid_entry *bch_uuid_lookup(struct cache_set *c, const u8 *uuid);
struct uuid_entry *bch_uuid_free_entry(struct cache_set *c);
bool bch_uuid_entry_unused(const struct uuid_entry *u);
bool bch_uuid_entry_live(const struct uuid_entry *u);
/* Marks @u as a device that left the set: never reused. */
void bch_uuid_entry_invalidate(struct uuid_entry *u);
__le32 bch_uuid_timestamp(void);

#endif /* _BCACHE_UUID_H */

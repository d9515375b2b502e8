/* SPDX-License-Identifier: GPL-2.0 */
/*
 * debugfs files of a cache set.
 *
 * /sys/kernel/debug/bcache/bcache-<set uuid> lists every key of the set's
 * btree as text, one per line, in upstream's format, so the dump of a set
 * can be compared line for line with what the kernel's own bcache shows.
 * The bcache directory itself belongs to super.c, which passes it in.
 */
#ifndef _BCACHE_DEBUG_H
#define _BCACHE_DEBUG_H

struct cache_set;
struct dentry;

#ifdef CONFIG_DEBUG_FS
/* Creates c->debug under @dir; failing to is not an error (nothing to undo). */
void bch_debug_init_cache_set(struct cache_set *c, struct dentry *dir);
/* Removes c->debug; waits for readers still in it to leave. */
void bch_debug_exit_cache_set(struct cache_set *c);
#else
static inline void bch_debug_init_cache_set(struct cache_set *c,
					    struct dentry *dir) {}
static inline void bch_debug_exit_cache_set(struct cache_set *c) {}
#endif

#endif /* _BCACHE_DEBUG_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * The debugfs dump of a cache set's btree.
 *
 * Reading /sys/kernel/debug/bcache/bcache-<set uuid> walks the leaf keys
 * of the set in order through a keybuf (keybuf.c), which refills itself
 * from the btree a batch at a time, and renders each key with
 * bch_extent_to_text(): the same lines, in the same order, as the
 * kernel's bcache prints for the same set.
 *
 * The walk is resumable: an open file remembers the line it was in the
 * middle of and where the keybuf stands, so a reader may take the dump in
 * pieces of any size. The file is removed (and debugfs waits for readers
 * inside read()) before the set's btree goes away.
 */

#include "bcache.h"
#include "btree.h"
#include "debug.h"
#include "keybuf.h"

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>

#ifdef CONFIG_DEBUG_FS

/* bch_extent_to_text() never writes more than this, with its NUL. */
#define DUMP_KEY_TEXT	80

struct btree_dump {
	struct cache_set	*c;
	struct mutex		lock;	/* one read() at a time per open file */

	/* The current line: text[shown..len) is still to be read. */
	char			text[DUMP_KEY_TEXT + 1];
	size_t			len, shown;

	struct keybuf		keys;
};

static bool dump_every_key(struct keybuf *buf, struct bkey *k)
{
	return true;
}

/* Formats the next key into d->text; false at the end of the tree. */
static bool dump_next_line(struct btree_dump *d)
{
	struct keybuf_key *w;
	int n;

	w = bch_keybuf_next_rescan(d->c, &d->keys, &MAX_KEY, dump_every_key);
	if (!w)
		return false;

	bch_extent_to_text(d->text, DUMP_KEY_TEXT, &w->key);
	bch_keybuf_del(&d->keys, w);

	n = strlen(d->text);
	d->text[n++] = '\n';
	d->len = n;
	d->shown = 0;
	return true;
}

static ssize_t btree_dump_read(struct file *file, char __user *ubuf,
			       size_t size, loff_t *ppos)
{
	struct btree_dump *d = file->private_data;
	ssize_t copied = 0;

	/* A set still starting has no btree to walk yet. */
	if (!test_bit(CACHE_SET_RUNNING, &d->c->flags))
		return 0;

	mutex_lock(&d->lock);
	while (copied < size) {
		size_t chunk;

		if (d->shown == d->len && !dump_next_line(d))
			break;

		chunk = min(d->len - d->shown, size - copied);
		if (copy_to_user(ubuf + copied, d->text + d->shown, chunk)) {
			copied = copied ? copied : -EFAULT;
			break;
		}
		d->shown += chunk;
		copied += chunk;
	}
	mutex_unlock(&d->lock);

	if (copied > 0)
		*ppos += copied;
	return copied;
}

static int btree_dump_open(struct inode *inode, struct file *file)
{
	struct btree_dump *d = kvzalloc(sizeof(*d), GFP_KERNEL);

	if (!d)
		return -ENOMEM;

	d->c = inode->i_private;
	mutex_init(&d->lock);
	bch_keybuf_init(&d->keys);
	d->keys.last_scanned = ZERO_KEY;

	file->private_data = d;
	return 0;
}

static int btree_dump_release(struct inode *inode, struct file *file)
{
	struct btree_dump *d = file->private_data;

	mutex_destroy(&d->lock);
	kvfree(d);
	return 0;
}

static const struct file_operations btree_dump_fops = {
	.owner		= THIS_MODULE,
	.open		= btree_dump_open,
	.read		= btree_dump_read,
	.release	= btree_dump_release,
	.llseek		= noop_llseek,
};

void bch_debug_init_cache_set(struct cache_set *c, struct dentry *dir)
{
	char name[sizeof("bcache-") + UUID_STRING_LEN];
	struct dentry *file;

	c->debug = NULL;
	if (IS_ERR_OR_NULL(dir))
		return;

	snprintf(name, sizeof(name), "bcache-%pU", c->set_uuid);
	file = debugfs_create_file(name, 0400, dir, c, &btree_dump_fops);
	if (!IS_ERR(file))
		c->debug = file;
}

void bch_debug_exit_cache_set(struct cache_set *c)
{
	debugfs_remove(c->debug);
	c->debug = NULL;
}

#endif /* CONFIG_DEBUG_FS */

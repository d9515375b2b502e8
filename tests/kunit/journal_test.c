// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of journal.c's pure logic, no device needed: the checks a
 * jset read from disk must pass and those one about to be written must
 * pass, the seq arithmetic of the pin ring as
 * bch_journal_next() and reclaim move it round, the search for the newest
 * journal bucket over synthetic rings (every rotation of several layouts),
 * and the ordering and hole detection of the replay list.
 *
 * The search runs against the real replay list: each synthetic bucket
 * holds one jset, and reading a bucket hands it to bch_journal_list_add()
 * exactly as journal.c does with jsets read from disk.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/slab.h>

#include "../../bcache.h"
#include "../../journal.h"
#include "../../util.h"

#define TEST_MAGIC	0x0123456789abcdefULL
#define SEQ_BASE	100
/* Jsets keep this many seqs alive (last_seq = seq - WINDOW + 1). */
#define WINDOW		4

/* A jset of @nkeys zero-sized keys, sealed as journal.c would. */
static struct jset *make_jset(struct kunit *test, u64 seq, u64 last_seq,
			      unsigned int nkeys)
{
	struct jset *j = kunit_kzalloc(test, jset_bytes_for(nkeys * 2),
				       GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, j);
	for (i = 0; i < nkeys; i++) {
		struct bkey *k = bkey_idx(jset_start(j), i * 2);

		SET_KEY_INODE(k, 1);
		SET_KEY_OFFSET(k, 8 * (i + 1));
	}
	j->magic = cpu_to_le64(TEST_MAGIC);
	j->seq = cpu_to_le64(seq);
	j->last_seq = cpu_to_le64(last_seq);
	j->version = cpu_to_le32(BCACHE_JSET_VERSION);
	j->keys = cpu_to_le32(nkeys * 2);
	j->csum = cpu_to_le64(jset_csum(j));
	return j;
}

static void reseal(struct jset *j)
{
	j->csum = cpu_to_le64(jset_csum(j));
}

static int check(const struct jset *j, size_t have, size_t room)
{
	const char *why;
	int ret = bch_jset_verify(j, TEST_MAGIC, have, room, &why);

	/* Every refusal says why. */
	if (ret && !why)
		return -EINVAL;
	return ret;
}

/* ---- jset verification ---- */

static void jset_verify_good(struct kunit *test)
{
	struct jset *j = make_jset(test, 7, 5, 3);

	KUNIT_EXPECT_EQ(test, check(j, jset_bytes(j), 4096), 0);
}

static void jset_verify_bad_magic(struct kunit *test)
{
	struct jset *j = make_jset(test, 7, 5, 3);

	j->magic = cpu_to_le64(TEST_MAGIC ^ 1);
	reseal(j);
	KUNIT_EXPECT_EQ(test, check(j, jset_bytes(j), 4096), -ENODATA);
}

static void jset_verify_bad_csum(struct kunit *test)
{
	struct jset *j = make_jset(test, 7, 5, 3);

	/* A torn write: the last key differs from what the csum covers. */
	j->d[le32_to_cpu(j->keys) - 1] ^= cpu_to_le64(1);
	KUNIT_EXPECT_EQ(test, check(j, jset_bytes(j), 4096), -EBADMSG);
}

static void jset_verify_oversize(struct kunit *test)
{
	struct jset *j = make_jset(test, 7, 5, 3);

	/* Larger than what is left of the bucket. */
	KUNIT_EXPECT_EQ(test, check(j, jset_bytes(j), jset_bytes(j) - 1),
			-EFBIG);

	/* Larger than any jset we write, whatever the bucket. */
	j->keys = cpu_to_le32(JSET_MAX_BYTES / sizeof(u64));
	KUNIT_EXPECT_EQ(test, check(j, SIZE_MAX, SIZE_MAX), -EFBIG);
}

static void jset_verify_partial(struct kunit *test)
{
	struct jset *j = make_jset(test, 7, 5, 3);

	KUNIT_EXPECT_EQ(test, check(j, jset_bytes(j) - 8, 4096), -EAGAIN);
}

static void jset_verify_version(struct kunit *test)
{
	struct jset *j = make_jset(test, 7, 5, 3);

	j->version = cpu_to_le32(BCACHE_JSET_VERSION + 1);
	reseal(j);
	KUNIT_EXPECT_EQ(test, check(j, jset_bytes(j), 4096), -EPROTO);

	/* Unsealed, the csum is what fails first. */
	j->version = cpu_to_le32(0);
	KUNIT_EXPECT_EQ(test, check(j, jset_bytes(j), 4096), -EBADMSG);
}

static void jset_verify_seqs(struct kunit *test)
{
	struct jset *j = make_jset(test, 7, 8, 0);

	KUNIT_EXPECT_EQ(test, check(j, jset_bytes(j), 4096), -EUCLEAN);
}

/* ---- checks before a jset is written ---- */

/*
 * One defect of a sealed jset of three two-word keys (seq 7, last_seq 5),
 * what the write check says of it in a bucket with @slack bytes to spare,
 * and what the read check would say of the same bytes once on disk.
 */
struct jset_write_case {
	const char	*desc;
	void		(*damage)(struct jset *j);
	int		slack;
	int		err;
	const char	*why;
	int		read_err;
};

static void write_as_built(struct jset *j)
{
}

static void write_bad_magic(struct jset *j)
{
	j->magic = cpu_to_le64(TEST_MAGIC ^ 1);
}

static void write_huge(struct jset *j)
{
	j->keys = cpu_to_le32(JSET_MAX_BYTES / sizeof(u64));
}

static void write_new_version(struct jset *j)
{
	j->version = cpu_to_le32(BCACHE_JSET_VERSION + 1);
}

static void write_last_seq_ahead(struct jset *j)
{
	j->last_seq = cpu_to_le64(jset_seq(j) + 1);
}

/* The last key claims a pointer the jset has no word for. */
static void write_last_key_overruns(struct jset *j)
{
	SET_KEY_PTRS(bkey_idx(jset_start(j), le32_to_cpu(j->keys) - 2), 1);
}

/* The first key claims seven pointers: it alone is longer than all keys. */
static void write_first_key_overruns(struct jset *j)
{
	SET_KEY_PTRS(jset_start(j), 7);
}

/*
 * The first key a word longer than written: every key after it is read a
 * word late, and the last of them runs a word past the end.
 */
static void write_first_key_longer(struct jset *j)
{
	SET_KEY_PTRS(jset_start(j), 1);
}

static const struct jset_write_case jset_write_cases[] = {
	{ "well formed, bucket to spare", write_as_built, 64, 0, NULL, 0 },
	{ "well formed, fills the bucket", write_as_built, 0, 0, NULL, 0 },
	{ "bad magic", write_bad_magic, 64, -ENODATA, "bad magic", -ENODATA },
	{ "a byte bigger than the bucket", write_as_built, -1, -EFBIG,
	  "too big", -EFBIG },
	{ "bigger than any jset", write_huge, 0, -EFBIG, "too big", -EFBIG },
	{ "unknown version", write_new_version, 64, -EPROTO,
	  "unknown version", -EPROTO },
	{ "last_seq after seq", write_last_seq_ahead, 64, -EUCLEAN,
	  "last_seq after seq", -EUCLEAN },
	/* Reading checks no key: replay would stop at it, losing the rest. */
	{ "last key overruns", write_last_key_overruns, 64, -EUCLEAN,
	  "key overruns the jset", 0 },
	{ "first key overruns", write_first_key_overruns, 64, -EUCLEAN,
	  "key overruns the jset", 0 },
	{ "keys shifted a word", write_first_key_longer, 64, -EUCLEAN,
	  "key overruns the jset", 0 },
};

KUNIT_ARRAY_PARAM_DESC(jset_write, jset_write_cases, desc);

static void jset_verify_write_cases(struct kunit *test)
{
	const struct jset_write_case *c = test->param_value;
	struct jset *j = make_jset(test, 7, 5, 3);
	size_t built = jset_bytes(j), room;
	const char *why = "unset";

	c->damage(j);
	/* Sealed again where the csum still lies within the buffer. */
	if (jset_bytes(j) <= built)
		reseal(j);
	room = jset_bytes(j) + c->slack;

	KUNIT_EXPECT_EQ(test, bch_jset_verify_write(j, TEST_MAGIC, room, &why),
			c->err);
	if (c->why) {
		KUNIT_ASSERT_NOT_NULL(test, why);
		KUNIT_EXPECT_STREQ(test, why, c->why);
	} else {
		KUNIT_EXPECT_NULL(test, why);
	}

	KUNIT_EXPECT_EQ(test, check(j, jset_bytes(j), room), c->read_err);
}

/*
 * The write check runs on a jset whose csum was just computed: it must
 * not refuse one for its csum, which only a read can find torn.
 */
static void jset_verify_write_ignores_csum(struct kunit *test)
{
	struct jset *j = make_jset(test, 7, 5, 3);
	const char *why = "unset";

	j->csum = cpu_to_le64(~jset_csum(j));
	KUNIT_EXPECT_EQ(test, bch_jset_verify_write(j, TEST_MAGIC,
						    jset_bytes(j), &why), 0);
	KUNIT_EXPECT_NULL(test, why);
	KUNIT_EXPECT_EQ(test, bch_jset_verify(j, TEST_MAGIC, jset_bytes(j),
					      jset_bytes(j), &why), -EBADMSG);
	KUNIT_ASSERT_NOT_NULL(test, why);
	KUNIT_EXPECT_STREQ(test, why, "bad csum");
}

/* A jset of no keys (a flush with nothing journalled) may be written. */
static void jset_verify_write_empty(struct kunit *test)
{
	struct jset *j = make_jset(test, 7, 7, 0);
	const char *why = "unset";

	KUNIT_EXPECT_EQ(test, bch_jset_verify_write(j, TEST_MAGIC,
						    jset_bytes(j), &why), 0);
	KUNIT_EXPECT_NULL(test, why);
}

/* ---- pin ring seq arithmetic ---- */

struct pin_fixture {
	struct journal	j;
	struct jset	*bufs[2];
};

static void pin_fixture_init(struct kunit *test, struct pin_fixture *f,
			     unsigned int slots, u64 seq)
{
	unsigned int i;

	memset(&f->j, 0, sizeof(f->j));
	KUNIT_ASSERT_EQ(test, bch_ring_alloc(&f->j.pin, slots, GFP_KERNEL), 0);
	for (i = 0; i < 2; i++) {
		f->bufs[i] = kunit_kzalloc(test, sizeof(struct jset),
					   GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, f->bufs[i]);
		f->j.w[i].data = f->bufs[i];
	}
	f->j.seq = seq;
}

static void pin_seq_arithmetic(struct kunit *test)
{
	/* On the heap: with inline KASAN's redzones it would pass 1 KiB. */
	struct pin_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	atomic_t gone __maybe_unused;
	unsigned int step;

	KUNIT_ASSERT_NOT_NULL(test, f);
	pin_fixture_init(test, f, 8, 1000);

	/* Round the 8-slot ring many times, keeping 1 to 5 jsets open. */
	for (step = 0; step < 100; step++) {
		unsigned int open = 1 + step % 5;
		size_t i;

		bch_journal_next(&f->j);
		KUNIT_EXPECT_EQ(test, le64_to_cpu(f->j.cur->data->seq), f->j.seq);
		KUNIT_EXPECT_EQ(test, f->j.seq, 1001 + step);

		while (bch_ring_used(&f->j.pin) > open)
			KUNIT_ASSERT_TRUE(test,
					  bch_ring_pop_front(&f->j.pin, gone));

		KUNIT_EXPECT_EQ(test, journal_last_seq(&f->j),
				f->j.seq - open + 1);
		for (i = 0; i < bch_ring_used(&f->j.pin); i++)
			KUNIT_EXPECT_EQ(test,
					journal_pin_seq(&f->j,
							&bch_ring_at(&f->j.pin, i)),
					journal_last_seq(&f->j) + i);
		KUNIT_EXPECT_EQ(test,
				journal_pin_seq(&f->j, &bch_ring_back(&f->j.pin)),
				f->j.seq);
	}
	bch_ring_free(&f->j.pin);
}

static void pin_next_alternates_buffers(struct kunit *test)
{
	struct pin_fixture f;

	pin_fixture_init(test, &f, 4, 0);
	bch_journal_next(&f.j);
	KUNIT_EXPECT_PTR_EQ(test, f.j.cur, &f.j.w[0]);
	KUNIT_EXPECT_EQ(test, atomic_read(&bch_ring_back(&f.j.pin)), 1);
	f.j.cur->data->keys = cpu_to_le32(5);
	f.j.cur->dirty = true;

	bch_journal_next(&f.j);
	KUNIT_EXPECT_PTR_EQ(test, f.j.cur, &f.j.w[1]);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(f.j.cur->data->keys), 0);
	KUNIT_EXPECT_FALSE(test, f.j.cur->dirty);
	KUNIT_EXPECT_EQ(test, journal_last_seq(&f.j), 1);
	KUNIT_EXPECT_EQ(test, f.j.seq, 2);
	bch_ring_free(&f.j.pin);
}

/* ---- replay list ---- */

static void free_list_action(void *list)
{
	bch_journal_entries_free(list);
}

static struct list_head *new_list(struct kunit *test)
{
	struct list_head *list = kunit_kzalloc(test, sizeof(*list),
					       GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, list);
	INIT_LIST_HEAD(list);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, free_list_action,
							list), 0);
	return list;
}

static int add(struct kunit *test, struct list_head *list, u64 seq,
	       u64 last_seq)
{
	return bch_journal_list_add(list, make_jset(test, seq, last_seq, 1));
}

static void expect_seqs(struct kunit *test, struct list_head *list,
			const u64 *want, unsigned int n)
{
	struct journal_replay *r;
	unsigned int i = 0;

	list_for_each_entry(r, list, list) {
		KUNIT_ASSERT_LT(test, i, n);
		KUNIT_EXPECT_EQ(test, le64_to_cpu(r->j.seq), want[i]);
		i++;
	}
	KUNIT_EXPECT_EQ(test, i, n);
}

static void list_orders_and_dedups(struct kunit *test)
{
	struct list_head *list = new_list(test);
	static const u64 want[] = { 3, 4, 5, 6, 7 };
	struct journal_replay *r;

	KUNIT_EXPECT_EQ(test, add(test, list, 5, 3), 1);
	KUNIT_EXPECT_EQ(test, add(test, list, 3, 1), 1);
	KUNIT_EXPECT_EQ(test, add(test, list, 7, 3), 1);
	KUNIT_EXPECT_EQ(test, add(test, list, 4, 2), 1);
	KUNIT_EXPECT_EQ(test, add(test, list, 6, 3), 1);
	KUNIT_EXPECT_EQ(test, add(test, list, 5, 3), 0);
	expect_seqs(test, list, want, ARRAY_SIZE(want));

	/* The keys came along. */
	r = list_first_entry(list, struct journal_replay, list);
	KUNIT_EXPECT_EQ(test, le32_to_cpu(r->j.keys), 2);
	KUNIT_EXPECT_EQ(test, KEY_OFFSET(jset_start(&r->j)), 8);
	KUNIT_EXPECT_NULL(test, r->pin);
}

static void list_expires_old_entries(struct kunit *test)
{
	struct list_head *list = new_list(test);
	static const u64 want[] = { 6, 7, 9 };

	add(test, list, 4, 1);
	add(test, list, 5, 2);
	add(test, list, 6, 3);
	add(test, list, 7, 4);
	/* Seq 9 no longer needs anything before 6. */
	KUNIT_EXPECT_EQ(test, add(test, list, 9, 6), 1);
	/* And an old jset read later stays out. */
	KUNIT_EXPECT_EQ(test, add(test, list, 5, 2), 0);
	expect_seqs(test, list, want, ARRAY_SIZE(want));
}

static void gap_detection(struct kunit *test)
{
	struct list_head *list = new_list(test);
	u64 first = 0, last = 0;

	KUNIT_EXPECT_FALSE(test, bch_journal_find_gap(list, &first, &last));

	add(test, list, 4, 3);
	add(test, list, 5, 3);
	add(test, list, 6, 3);
	/* last_seq 3 of the newest, but 3 was never found. */
	KUNIT_EXPECT_TRUE(test, bch_journal_find_gap(list, &first, &last));
	KUNIT_EXPECT_EQ(test, first, 3);
	KUNIT_EXPECT_EQ(test, last, 3);

	add(test, list, 3, 2);
	KUNIT_EXPECT_FALSE(test, bch_journal_find_gap(list, &first, &last));

	add(test, list, 9, 3);
	KUNIT_EXPECT_TRUE(test, bch_journal_find_gap(list, &first, &last));
	KUNIT_EXPECT_EQ(test, first, 7);
	KUNIT_EXPECT_EQ(test, last, 8);
}

/*
 * A set the kernel's driver used with discard on may begin its replay
 * range with jsets whose bucket it discarded: accepted, as 6.12 does,
 * only then and only at the start of the range.
 */
static void complete_allows_discarded_head(struct kunit *test)
{
	struct list_head *list = new_list(test);

	add(test, list, 10, 8);
	add(test, list, 11, 8);
	add(test, list, 12, 8);
	/* 8 and 9 are missing: the head of the range. */
	KUNIT_EXPECT_FALSE(test, bch_journal_complete(list, false));
	KUNIT_EXPECT_TRUE(test, bch_journal_complete(list, true));

	/* A hole after the head is refused even with discard. */
	add(test, list, 14, 8);
	KUNIT_EXPECT_FALSE(test, bch_journal_complete(list, true));

	/* As is one in the middle of an otherwise whole range. */
	list = new_list(test);
	add(test, list, 8, 8);
	add(test, list, 10, 8);
	KUNIT_EXPECT_FALSE(test, bch_journal_complete(list, true));
}

/* ---- newest-bucket search over synthetic rings ---- */

struct search_case {
	unsigned int	nr;	/* buckets in the ring */
	unsigned int	filled;	/* holding jsets; == nr: it wrapped */
	unsigned int	rot;	/* bucket of the oldest jset */
};

static const unsigned int ring_sizes[] = { 1, 2, 5, 13, 64 };

/* Next case: every rotation of one bucket used, half used, wrapped round. */
static bool search_case_advance(struct search_case *c)
{
	unsigned int s = 0;

	if (++c->rot < c->nr)
		return true;
	c->rot = 0;

	if (c->filled == 1 && c->nr > 2) {
		c->filled = DIV_ROUND_UP(c->nr, 2);
		return true;
	}
	if (c->filled < c->nr) {
		c->filled = c->nr;
		return true;
	}

	while (ring_sizes[s] != c->nr)
		s++;
	if (s + 1 == ARRAY_SIZE(ring_sizes))
		return false;
	c->nr = ring_sizes[s + 1];
	c->filled = 1;
	return true;
}

static const void *search_case_gen(const void *prev, char *desc)
{
	static struct search_case c;

	if (!prev)
		c = (struct search_case){ .nr = ring_sizes[0], .filled = 1 };
	else if (!search_case_advance(&c))
		return NULL;

	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "nr %u filled %u rot %u",
		 c.nr, c.filled, c.rot);
	return &c;
}

struct fake_ring {
	struct journal_search	s;
	struct kunit		*test;
	struct list_head	*list;
	u64			*seq;	/* per bucket; 0: never written */
	unsigned int		*reads;
};

/* The oldest seq a jset of the model still needs. */
static u64 model_last_seq(u64 seq)
{
	return max_t(u64, SEQ_BASE, seq + 1 - WINDOW);
}

static int fake_read(struct journal_search *s, unsigned int idx)
{
	struct fake_ring *f = container_of(s, struct fake_ring, s);
	u64 seq = f->seq[idx];

	f->reads[idx]++;
	if (!seq)
		return 0;
	return bch_journal_list_add(f->list, make_jset(f->test, seq,
						       model_last_seq(seq), 0));
}

static u64 fake_newest(struct journal_search *s)
{
	struct fake_ring *f = container_of(s, struct fake_ring, s);

	if (list_empty(f->list))
		return 0;
	return le64_to_cpu(list_last_entry(f->list, struct journal_replay,
					   list)->j.seq);
}

static void search_finds_newest(struct kunit *test)
{
	const struct search_case *c = test->param_value;
	DECLARE_BITMAP(done, SB_JOURNAL_BUCKETS);
	struct fake_ring f = {
		.s = { .nr = c->nr, .done = done,
		       .read = fake_read, .newest = fake_newest },
		.test = test,
		.list = new_list(test),
	};
	u64 newest = SEQ_BASE + c->filled - 1, oldest, first = 0, last = 0;
	unsigned int k;

	f.seq = kunit_kcalloc(test, c->nr, sizeof(*f.seq), GFP_KERNEL);
	f.reads = kunit_kcalloc(test, c->nr, sizeof(*f.reads), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f.seq);
	KUNIT_ASSERT_NOT_NULL(test, f.reads);
	for (k = 0; k < c->filled; k++)
		f.seq[(c->rot + k) % c->nr] = SEQ_BASE + k;

	KUNIT_ASSERT_EQ(test, bch_journal_search(&f.s), 0);

	/* Everything from the newest jset's last_seq on, nothing missing. */
	oldest = model_last_seq(newest);
	KUNIT_ASSERT_FALSE(test, list_empty(f.list));
	KUNIT_EXPECT_EQ(test, fake_newest(&f.s), newest);
	KUNIT_EXPECT_EQ(test,
			le64_to_cpu(list_first_entry(f.list,
						     struct journal_replay,
						     list)->j.seq),
			oldest);
	KUNIT_EXPECT_FALSE(test, bch_journal_find_gap(f.list, &first, &last));

	/* No bucket read twice. */
	for (k = 0; k < c->nr; k++)
		KUNIT_EXPECT_LE(test, f.reads[k], 1);
}

/*
 * The buckets a registration reads, in order, as the kernel's bcache reads
 * them: a young journal in buckets 1 and 2 of a ring of 8 (make-bcache's
 * layout after a fill). The probes walk forwards from bucket 0, the bisect
 * finds bucket 2, and the backwards pass stops at the empty bucket 7.
 */
struct order_ring {
	struct fake_ring	f;
	unsigned int		order[8];
	unsigned int		n;
};

static int order_read(struct journal_search *s, unsigned int idx)
{
	struct order_ring *o = container_of(s, struct order_ring, f.s);

	if (o->n < ARRAY_SIZE(o->order))
		o->order[o->n] = idx;
	o->n++;
	return fake_read(s, idx);
}

static void search_reads_as_upstream(struct kunit *test)
{
	static const unsigned int want[] = { 0, 1, 4, 2, 3, 7 };
	DECLARE_BITMAP(done, SB_JOURNAL_BUCKETS);
	struct order_ring o = {
		.f = {
			.s = { .nr = 8, .done = done,
			       .read = order_read, .newest = fake_newest },
			.test = test,
			.list = new_list(test),
		},
	};
	unsigned int k;

	o.f.seq = kunit_kcalloc(test, 8, sizeof(*o.f.seq), GFP_KERNEL);
	o.f.reads = kunit_kcalloc(test, 8, sizeof(*o.f.reads), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, o.f.seq);
	KUNIT_ASSERT_NOT_NULL(test, o.f.reads);
	o.f.seq[1] = SEQ_BASE;
	o.f.seq[2] = SEQ_BASE + 1;

	KUNIT_ASSERT_EQ(test, bch_journal_search(&o.f.s), 0);
	KUNIT_EXPECT_EQ(test, fake_newest(&o.f.s), SEQ_BASE + 1);
	KUNIT_ASSERT_EQ(test, o.n, ARRAY_SIZE(want));
	for (k = 0; k < ARRAY_SIZE(want); k++)
		KUNIT_EXPECT_EQ_MSG(test, o.order[k], want[k], "read %u", k);
}

static void search_empty_ring(struct kunit *test)
{
	DECLARE_BITMAP(done, SB_JOURNAL_BUCKETS);
	struct fake_ring f = {
		.s = { .nr = 9, .done = done,
		       .read = fake_read, .newest = fake_newest },
		.test = test,
		.list = new_list(test),
	};
	unsigned int k;

	f.seq = kunit_kcalloc(test, 9, sizeof(*f.seq), GFP_KERNEL);
	f.reads = kunit_kcalloc(test, 9, sizeof(*f.reads), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f.seq);
	KUNIT_ASSERT_NOT_NULL(test, f.reads);

	KUNIT_EXPECT_EQ(test, bch_journal_search(&f.s), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(f.list));
	for (k = 0; k < 9; k++)
		KUNIT_EXPECT_EQ(test, f.reads[k], 1);
}

static int fail_read(struct journal_search *s, unsigned int idx)
{
	return idx == 0 ? 0 : -EIO;
}

static void search_passes_errors(struct kunit *test)
{
	DECLARE_BITMAP(done, SB_JOURNAL_BUCKETS);
	struct journal_search s = {
		.nr = 4, .done = done, .read = fail_read, .newest = fake_newest,
	};

	KUNIT_EXPECT_EQ(test, bch_journal_search(&s), -EIO);
}

/*
 * Discarding a journal bucket reclaim freed: only once the newest jset on
 * disk no longer names its jsets (else a clean stop right after leaves a
 * journal with a hole), unless the journal needs the bucket to write at all.
 * The rows follow one bucket whose newest jset is 905 through a stop.
 */
struct discard_case {
	const char			*desc;
	u64				bucket_seq;
	u64				last_seq_ondisk;
	bool				need_space;
	enum journal_discard_step	want;
};

static const struct discard_case discard_cases[] = {
	{ "newest jset on disk still needs 897-905", 905, 897, false,
	  JOURNAL_DISCARD_WAIT },
	{ "needs exactly the bucket's newest jset", 905, 905, false,
	  JOURNAL_DISCARD_WAIT },
	{ "the jset after it landed needing 906 on", 905, 906, false,
	  JOURNAL_DISCARD_NOW },
	{ "long since free", 12, 906, false, JOURNAL_DISCARD_NOW },
	{ "never written (seq 0), fresh set", 0, 1, false,
	  JOURNAL_DISCARD_NOW },
	{ "journal full, nothing can land first", 905, 897, true,
	  JOURNAL_DISCARD_SKIP },
	{ "journal full, but it is free on disk", 905, 906, true,
	  JOURNAL_DISCARD_NOW },
	{ "nothing on disk yet (fresh set)", 3, 0, false,
	  JOURNAL_DISCARD_WAIT },
};

KUNIT_ARRAY_PARAM_DESC(discard, discard_cases, desc);

static void discard_waits_for_disk(struct kunit *test)
{
	const struct discard_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test,
			bch_journal_discard_step(c->bucket_seq,
						 c->last_seq_ondisk,
						 c->need_space),
			c->want);
}

/*
 * Discards turned off (sysfs `discard`) while one is in flight: the bucket
 * it wipes is not free until it completes; after that the rest up to
 * last_idx is free at once.
 */
static void discard_off_waits_for_flight(struct kunit *test)
{
	struct cache_set *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	struct cache *ca = kunit_kzalloc(test, sizeof(*ca), GFP_KERNEL);
	struct journal_device *ja;

	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, ca);
	c->cache = ca;
	ca->set = c;
	ja = &ca->journal;
	spin_lock_init(&c->journal.lock);
	ca->sb.keys = 8;
	ja->cur_idx = 1;
	ja->discard_idx = 2;
	ja->last_idx = 5;
	atomic_set(&ja->discard_in_flight, DISCARD_IN_FLIGHT);
	ca->discard = 0;

	spin_lock(&c->journal.lock);
	bch_journal_discard_advance(c, true);
	KUNIT_EXPECT_EQ(test, ja->discard_idx, 2U);

	atomic_set(&ja->discard_in_flight, DISCARD_DONE);
	bch_journal_discard_advance(c, true);
	KUNIT_EXPECT_EQ(test, ja->discard_idx, 5U);
	KUNIT_EXPECT_EQ(test, atomic_read(&ja->discard_in_flight),
			DISCARD_READY);
	spin_unlock(&c->journal.lock);
}

static struct kunit_case journal_test_cases[] = {
	KUNIT_CASE(jset_verify_good),
	KUNIT_CASE(jset_verify_bad_magic),
	KUNIT_CASE(jset_verify_bad_csum),
	KUNIT_CASE(jset_verify_oversize),
	KUNIT_CASE(jset_verify_partial),
	KUNIT_CASE(jset_verify_version),
	KUNIT_CASE(jset_verify_seqs),
	KUNIT_CASE_PARAM(jset_verify_write_cases, jset_write_gen_params),
	KUNIT_CASE(jset_verify_write_ignores_csum),
	KUNIT_CASE(jset_verify_write_empty),
	KUNIT_CASE(pin_seq_arithmetic),
	KUNIT_CASE(pin_next_alternates_buffers),
	KUNIT_CASE(list_orders_and_dedups),
	KUNIT_CASE(list_expires_old_entries),
	KUNIT_CASE(gap_detection),
	KUNIT_CASE(complete_allows_discarded_head),
	KUNIT_CASE_PARAM(search_finds_newest, search_case_gen),
	KUNIT_CASE(search_reads_as_upstream),
	KUNIT_CASE(search_empty_ring),
	KUNIT_CASE(search_passes_errors),
	KUNIT_CASE_PARAM(discard_waits_for_disk, discard_gen_params),
	KUNIT_CASE(discard_off_waits_for_flight),
	{}
};

static struct kunit_suite journal_test_suite = {
	.name		= "bcache_journal",
	.test_cases	= journal_test_cases,
};

kunit_test_suites(&journal_test_suite);

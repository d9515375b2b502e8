// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin for tools/insn-profile.sh: counts the guest
 * instructions executed, per address at which a translation block starts.
 * Under TCG a block ends at every jump, so the counts of the blocks inside
 * a function add up to the instructions executed in it, exactly (not
 * sampled): the profile a driver's per-request cost needs when a sampled
 * profile is all virtio and APIC emulation.
 *
 * Whenever the file named by its "trigger" argument exists, a thread of the
 * plugin appends a "== N" header and "address instructions runs" lines of every
 * block run since the last dump to the file named by "out", zeroes those
 * counts and removes the trigger: the host script cuts the counts into the
 * guest's phases that way.
 *
 * QEMU 7.2's plugin API (version 1), declared here for the few calls used:
 * Debian packages no qemu-plugin.h.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
		void (*cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
		enum qemu_plugin_op op, void *ptr, uint64_t imm);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* Open addressing; entries never move, the inline adds point into them. */
#define SLOTS	(1u << 21)

struct block {
	uint64_t	vaddr;
	uint64_t	insns;
	uint64_t	runs;	/* at a function's entry: its calls */
};

static struct block *blocks;
static struct block overflow;		/* when the table is full */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static char *out_path, *trigger_path;
static unsigned int dumps;

static struct block *block_of(uint64_t vaddr)
{
	uint64_t h = vaddr * 0x9e3779b97f4a7c15ull;
	unsigned int i, n;

	for (n = 0, i = h >> 43; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
		if (blocks[i].vaddr == vaddr)
			return &blocks[i];
		if (!blocks[i].vaddr) {
			blocks[i].vaddr = vaddr;
			return &blocks[i];
		}
	}
	return &overflow;
}

static void tb_translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b;

	pthread_mutex_lock(&table_lock);
	b = block_of(qemu_plugin_tb_vaddr(tb));
	pthread_mutex_unlock(&table_lock);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &b->insns,
						 qemu_plugin_tb_n_insns(tb));
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &b->runs, 1);
}

static void dump(void)
{
	FILE *f = fopen(out_path, "a");
	unsigned int i;

	if (!f)
		return;
	fprintf(f, "== %u\n", dumps++);
	pthread_mutex_lock(&table_lock);
	for (i = 0; i < SLOTS; i++) {
		uint64_t n = blocks[i].insns, runs = blocks[i].runs;

		if (!n)
			continue;
		blocks[i].insns = 0;
		blocks[i].runs = 0;
		fprintf(f, "%llx %llu %llu\n",
			(unsigned long long)blocks[i].vaddr,
			(unsigned long long)n, (unsigned long long)runs);
	}
	pthread_mutex_unlock(&table_lock);
	if (overflow.insns)
		fprintf(f, "0 %llu\n", (unsigned long long)overflow.insns);
	overflow.insns = 0;
	fclose(f);
}

static void *dumper(void *arg)
{
	for (;;) {
		if (access(trigger_path, F_OK) == 0) {
			dump();
			unlink(trigger_path);
		}
		usleep(2000);
	}
	return arg;
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info,
			int argc, char **argv)
{
	pthread_t thread;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4))
			out_path = argv[i] + 4;
		else if (!strncmp(argv[i], "trigger=", 8))
			trigger_path = argv[i] + 8;
	}
	blocks = calloc(SLOTS, sizeof(*blocks));
	if (!out_path || !trigger_path || !blocks)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_translated);
	return pthread_create(&thread, NULL, dumper, NULL);
}

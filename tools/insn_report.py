#!/usr/bin/env python3
"""Guest instructions per function and phase, from tools/insncount.c.

usage: insn_report.py watch CONSOLE TRIGGER PHASES
    Follows the guest's console while the VM runs. At each "PROFILE <phase>"
    line it has the plugin dump the counts so far (creates TRIGGER, waits
    for the plugin to remove it) and appends the phase that ended to PHASES
    with the "PROFILE-TEXT <name> <address>" lines seen since.
usage: insn_report.py report COUNTS PHASES SYSTEM_MAP NAME=KO... [TOP]
    Prints per phase the instructions per function, busiest first, and
    for phases both drivers ran, where they differ. A phase X that has an
    X-short also gets X-steady, X minus X-short (see steady_phases()).
"""
import collections
import os
import sys
import time

import guestsyms


def watch(console, trigger, phases):
    pos, phase, texts = 0, 'start', []
    with open(phases, 'w') as out:
        while True:
            try:
                with open(console, 'rb') as f:
                    f.seek(pos)
                    new = f.read()
            except FileNotFoundError:
                new = b''
            # Whole lines only.
            new = new[:new.rfind(b'\n') + 1]
            pos += len(new)
            for line in new.decode(errors='replace').splitlines():
                line = line.strip()
                if line.startswith('PROFILE-TEXT '):
                    texts.append(line)
                elif line.startswith('PROFILE '):
                    open(trigger, 'w').close()
                    while os.path.exists(trigger):
                        time.sleep(0.001)
                    out.write('PHASE %s\n' % phase)
                    for t in texts:
                        out.write(t + '\n')
                    out.flush()
                    phase, texts = line.split(None, 1)[1], []
                elif line.startswith('@@END') or 'reboot: ' in line:
                    return
            time.sleep(0.002)


def report(counts, phases, sysmap, kos, top):
    kernel = guestsyms.kernel_table(sysmap)
    module = None
    labels = []
    with open(phases) as f:
        for line in f:
            word = line.split()
            if word[0] == 'PHASE':
                labels.append((' '.join(word[1:]), module))
            elif word[0] == 'PROFILE-TEXT':
                # Loaded during the phase above: for the phases after it.
                module = guestsyms.module_table(word[1], int(word[2], 16),
                                                kos[word[1]])

    def name(addr, mod):
        """The function at @addr, and whether @addr is its entry."""
        if addr < 1 << 63:
            return '(user)', False
        return guestsyms.lookup(addr, kernel, mod)

    dump = -1
    per = collections.defaultdict(collections.Counter)
    calls = collections.defaultdict(collections.Counter)
    with open(counts) as f:
        for line in f:
            if line.startswith('=='):
                dump += 1
                continue
            if dump >= len(labels):
                break
            label, mod = labels[dump]
            addr, n, runs = line.split()
            fn, entry = name(int(addr, 16), mod)
            per[label][fn] += int(n)
            if entry:
                calls[label][fn] += int(runs)
    steady_phases(per, calls)
    for label, c in per.items():
        total = sum(c.values())
        print('== %s: %d instructions' % (label, total))
        for fn, n in c.most_common(top):
            print('%12d %5.1f%% %s' % (n, 100.0 * n / total, fn))
    compare(per, calls, top)


def steady_phases(per, calls):
    """A phase X run after a shorter X-short of the same requests: X
    minus X-short is the requests alone, without the start and exit of
    the program that made them."""
    for label in list(per):
        short = label + '-short'
        if short not in per:
            continue
        steady = label + '-steady'
        for table in (per, calls):
            diff = collections.Counter(table[label])
            diff.subtract(table[short])
            table[steady] = diff


def owner(fn):
    return fn.split(':')[0] + ' module' if ':' in fn else \
        '(user)' if fn == '(user)' else 'kernel'


def compare(per, calls, top):
    """Phases run by both drivers: where their instructions differ."""
    for label in per:
        if not label.startswith('ours '):
            continue
        other = 'ref ' + label[5:]
        if other not in per:
            continue
        a, b = per[label], per[other]
        print('== %s, ours against ref: %d against %d instructions' %
              (label[5:], sum(a.values()), sum(b.values())))
        sums = collections.Counter()
        for c, who in ((a, 'ours'), (b, 'ref')):
            for fn, n in c.items():
                sums[(who, owner(fn).replace('ref module', 'module')
                      .replace('ours module', 'module'))] += n
        for part in ('(user)', 'kernel', 'module'):
            print('%12d %12d %s' % (sums[('ours', part)], sums[('ref', part)],
                                    part))
        # Functions of the rest of the kernel that differ most.
        diff = collections.Counter()
        for fn in set(a) | set(b):
            if ':' not in fn and fn != '(user)':
                diff[fn] = a[fn] - b[fn]
        print('  kernel functions differing most (ours - ref):')
        for fn, d in sorted(diff.items(), key=lambda x: -abs(x[1]))[:top // 2]:
            print('%12d %s' % (d, fn))
        for who, c in (('ours', a), ('ref', b)):
            ncalls = calls[who + ' ' + label[5:]]
            print('  %s module functions: instructions, calls' % who)
            mod = [(fn, n) for fn, n in c.items() if ':' in fn]
            for fn, n in sorted(mod, key=lambda x: -x[1])[:top // 2]:
                print('%12d %10d %s' % (n, ncalls[fn], fn))

if __name__ == '__main__':
    if sys.argv[1] == 'watch':
        watch(*sys.argv[2:5])
    else:
        args = sys.argv[2:]
        top = int(args.pop()) if args[-1].isdigit() else 40
        report(args[0], args[1], args[2],
               dict(a.split('=', 1) for a in args[3:]), top)

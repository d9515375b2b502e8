#!/usr/bin/env python3
"""Poor man's profiler for the guest: sample the vCPUs' RIP through the
QEMU monitor (HMP on a unix socket) and count samples per kernel or module
function, per phase. The guest names phases on its console with lines
"PROFILE <phase>", and the load address of a module's .text with
"PROFILE-TEXT <name> <hex address>"; NAME=KO arguments say which .ko on
the host each name is.

usage: sample.py MONITOR_SOCKET CONSOLE_FILE SYSTEM_MAP NAME=KO...
Runs until the monitor goes away, then prints the top functions per phase.
"""
import collections
import re
import socket
import sys
import time

import guestsyms

sock_path, console, sysmap = sys.argv[1:4]
kos = dict(a.split('=', 1) for a in sys.argv[4:])
top = 25


kernel = guestsyms.kernel_table(sysmap)
module = None		# only one is loaded at a time


def symbol(rip):
    return guestsyms.lookup(rip, kernel, module)[0]


for _ in range(300):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock_path)
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit('no monitor at ' + sock_path)
s.settimeout(5)

buf = b''


def command(cmd):
    global buf
    s.sendall(cmd.encode() + b'\n')
    while b'(qemu) ' not in buf:
        data = s.recv(65536)
        if not data:
            raise EOFError
        buf += data
    out, _, buf = buf.partition(b'(qemu) ')
    return out.decode(errors='replace')


command('')
counts = collections.defaultdict(collections.Counter)
phase = 'start'
pos = 0
rip_re = re.compile(r'RIP=([0-9a-f]{16})')
try:
    while True:
        with open(console, 'rb') as f:
            f.seek(pos)
            new = f.read()
            pos += len(new)
        for line in new.decode(errors='replace').splitlines():
            line = line.strip()
            if line.startswith('PROFILE-TEXT '):
                _, name, base = line.split()[:3]
                module = guestsyms.module_table(name, int(base, 16),
                                                kos[name])
            elif line.startswith('PROFILE '):
                phase = line.split(None, 1)[1]
        out = command('info registers -a')
        for rip in rip_re.findall(out):
            counts[phase][symbol(int(rip, 16))] += 1
        time.sleep(0.002)
except (EOFError, OSError, socket.timeout):
    pass

idle = {'default_idle', 'pv_native_safe_halt', 'native_safe_halt',
        'default_idle_call', 'do_idle', 'cpu_idle_poll', 'arch_cpu_idle'}
for ph, c in counts.items():
    busy = {k: v for k, v in c.items() if k not in idle}
    total = sum(busy.values())
    print('== %s: %d busy samples (%d idle)' %
          (ph, total, sum(c.values()) - total))
    for name, n in sorted(busy.items(), key=lambda x: -x[1])[:top]:
        print('%6d %5.1f%% %s' % (n, 100.0 * n / max(total, 1), name))

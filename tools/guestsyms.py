"""Function names for guest addresses, for tools/sample.py and
tools/insn_report.py: the kernel's from its System.map, a module's from
the .text symbols of its .ko and the address the guest loaded .text at
(the jobs print it as "PROFILE-TEXT <name> <address>")."""
import bisect
import subprocess


class Table:
    """Sorted function start addresses and their names."""

    def __init__(self, pairs):
        pairs.sort()
        self.addrs = [a for a, _ in pairs]
        self.names = [n for _, n in pairs]

    def find(self, addr, span=None):
        """(name, whether @addr is its entry), or None if none covers it
        (no function starts at or below @addr, or it is more than @span
        bytes past the start)."""
        i = bisect.bisect_right(self.addrs, addr) - 1
        if i < 0 or (span is not None and addr - self.addrs[i] >= span):
            return None
        return self.names[i], addr == self.addrs[i]


def kernel_table(system_map):
    pairs = []
    with open(system_map) as f:
        for line in f:
            addr, kind, name = line.split()[:3]
            if kind in 'tT':
                pairs.append((int(addr, 16), name))
    return Table(pairs)


def module_table(name, base, ko):
    """Functions of the .text section of @ko loaded at @base, as name:fn."""
    out = subprocess.run(['objdump', '-t', ko], capture_output=True,
                         text=True).stdout
    pairs = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[-3] == '.text' and 'F' in parts[1:-3]:
            pairs.append((base + int(parts[0], 16), name + ':' + parts[-1]))
    return Table(pairs)


def lookup(addr, kernel, module=None):
    """(function name, whether @addr is its entry) of a kernel address."""
    # A module's functions are small: past 16 KiB it is something else.
    hit = module.find(addr, 0x4000) if module else None
    return hit or kernel.find(addr) or (hex(addr), False)

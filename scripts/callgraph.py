#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""File-level call graph of the driver, checked against design.rst.

Reads the objects of a module build (one <name>.o per <name>.c at the top
of the repo; the KUnit objects under tests/ are left out, a test may call
anything) with nm: a symbol one object leaves undefined and another
defines is a call (or a use of its data) from the first file to the
second. Calls through function pointers do not show, which is the point:
a callback a higher file registers is how a lower file is allowed to
reach up.

Documentation/design.rst holds three blocks this script reads:
  callgraph-layers  one line a layer, highest first: "N  a.c b.c  text"
  callgraph-upward  the calls allowed to go up a layer: "``a.c`` -> ``b.c``"
  callgraph-calls   who calls whom, as this script prints it

It fails when a circle of calls spans more than MAX_CIRCLE files, a file
calls a higher layer by a path the upward block does not list, a file is
in no layer, or the calls block differs from the real graph (then
--write puts the real one in).

usage: scripts/callgraph.py OBJDIR [--write]
"""
import os
import re
import subprocess
import sys

MAX_CIRCLE = 3
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DESIGN = os.path.join(REPO, "Documentation", "design.rst")


def driver_files():
    return sorted(f[:-2] for f in os.listdir(REPO)
                  if f.endswith(".c") and os.path.isfile(os.path.join(REPO, f)))


def symbols(obj):
    """(defined globals, undefined) of one object file."""
    out = subprocess.run(["nm", obj], capture_output=True, text=True,
                         check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1].isupper() and parts[1] != "U":
            defined.add(parts[2])
    return defined, undefined


def call_graph(objdir):
    """{file: {callee file: [symbols]}} over the driver's .c files."""
    owner, needs = {}, {}
    for name in driver_files():
        obj = os.path.join(objdir, name + ".o")
        if not os.path.exists(obj):
            sys.exit(f"callgraph: {obj} missing: build the module first")
        defined, undefined = symbols(obj)
        for sym in defined:
            owner[sym] = name
        needs[name] = undefined
    graph = {}
    for name, undefined in needs.items():
        edges = graph.setdefault(name, {})
        for sym in undefined:
            callee = owner.get(sym)
            if callee and callee != name:
                edges.setdefault(callee, []).append(sym)
    return graph


def circles(graph):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def block(text, name):
    m = re.search(r"^\.\. callgraph-%s-begin\n(.*?)^\.\. callgraph-%s-end"
                  % (name, name), text, re.S | re.M)
    if not m:
        sys.exit(f"callgraph: no callgraph-{name} block in {DESIGN}")
    return m


def layers_of(text):
    """{file: layer}; a line without a number continues the one above."""
    layer, current = {}, None
    for line in block(text, "layers").group(1).splitlines():
        m = re.match(r"\s+(\d+\s+)?((?:[\w-]+\.c\s+)+)", line + " ")
        if not m or (m.group(1) is None and current is None):
            continue
        if m.group(1):
            current = int(m.group(1))
        for f in re.findall(r"([\w-]+)\.c", m.group(2)):
            layer[f] = current
    return layer


def upward_of(text):
    return set(re.findall(r"``([\w-]+)\.c``\s*->\s*``([\w-]+)\.c``",
                          block(text, "upward").group(1)))


def calls_text(graph, layer):
    """The calls block: files highest layer first, each with its callees."""
    lines = ["", "::", ""]
    width = max(len(f) for f in graph) + 3
    for f in sorted(graph, key=lambda f: (-layer.get(f, -1), f)):
        callees = sorted(graph[f], key=lambda g: (-layer.get(g, -1), g))
        words = [g + ".c" for g in callees] or ["(nothing of ours)"]
        line = "  %-*s->" % (width, f + ".c")
        for w in words:
            if len(line) + 1 + len(w) > 76:
                lines.append(line)
                line = " " * (width + 4)
            line += " " + w
        lines.append(line)
    return "\n".join(lines) + "\n\n"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__.strip().splitlines()[-1])
    graph = call_graph(args[0])
    text = open(DESIGN).read()
    layer = layers_of(text)
    upward = upward_of(text)
    problems = []

    for comp in circles(graph):
        if len(comp) > MAX_CIRCLE:
            problems.append("circle of %d files: %s" %
                            (len(comp), " ".join(c + ".c" for c in comp)))
    for f in sorted(graph):
        if f not in layer:
            problems.append(f"{f}.c is in no layer of design.rst")
            continue
        for g, syms in sorted(graph[f].items()):
            if g in layer and layer[g] > layer[f] and (f, g) not in upward:
                problems.append("%s.c (layer %d) calls up into %s.c (layer %d): %s"
                                % (f, layer[f], g, layer[g],
                                   " ".join(sorted(syms)[:6])))
    for f, g in sorted(upward):
        if g not in graph.get(f, {}):
            problems.append(f"upward path {f}.c -> {g}.c is listed but unused")

    want = calls_text(graph, layer)
    calls = block(text, "calls")
    if calls.group(1) != want:
        if "--write" in sys.argv:
            text = text[:calls.start(1)] + want + text[calls.end(1):]
            with open(DESIGN, "w") as fh:
                fh.write(text)
            print("callgraph: design.rst's calls block rewritten")
        else:
            problems.append("design.rst's calls block is not the real graph "
                            "(scripts/callgraph.py OBJDIR --write)")

    sys.stdout.write("file-level calls, highest layer first:" + want)
    for comp in circles(graph):
        print("circle: " + " ".join(c + ".c" for c in comp))
    for p in problems:
        print("callgraph: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Summarises `perf script` output (stdin) of a .NET process: samples by thread, by module, self time by frame and
inclusive time by managed frame. Frame names come from the runtime's perf map (DOTNET_PerfMapEnabled=1)."""
import collections
import re
import sys

TOP = int(sys.argv[1]) if len(sys.argv) > 1 else 40
threads, modules, self_time, inclusive = (collections.Counter() for _ in range(4))
total = 0
for block in sys.stdin.read().split("\n\n"):
    lines = [line for line in block.split("\n") if line.strip()]
    if not lines:
        continue
    total += 1
    head = re.match(r"\s*(.*?)\s+\d+\s*$", lines[0])
    threads[(head.group(1) if head else lines[0]).strip()] += 1
    frames = []
    for line in lines[1:]:
        m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
        if m:
            symbol, module = m.group(1), m.group(2)
            module = "JIT-compiled code" if module.startswith("/tmp/perf-") else module.rsplit("/", 1)[-1]
            # Drop the tier suffix so one method's tiers count together.
            frames.append((re.sub(r"\[(QuickJitted|OptimizedTier1|Optimized|InstrumentedTier\w*|PreJIT|Tier0|Tier1)\]$", "", symbol), module))
    if not frames:
        continue
    modules[frames[0][1]] += 1
    self_time[f"{frames[0][0][:150]}  ({frames[0][1]})"] += 1
    for name in {name for name, module in frames if module == "JIT-compiled code"}:
        inclusive[name[:170]] += 1


def show(title, counter, top):
    print(f"## {title}")
    for name, count in counter.most_common(top):
        print(f"{100.0 * count / total:6.2f}%  {name}")
    print()


print(f"{total} samples\n")
show("by thread", threads, 12)
show("by module (leaf frame)", modules, 12)
show("self time by frame", self_time, TOP)
show("inclusive time by JIT-compiled method", inclusive, TOP * 2)

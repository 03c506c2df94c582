#!/usr/bin/env python3
"""What an SSE run's tail is made of (bench/run-events.sh sse), as markdown lines.

  events-tail.py SAMPLES.csv          the receipts EventsLoad wrote (--samples): latency split into the create's own
                                      request (sent -> answered) and the event path after the answer (answered ->
                                      received); which creates the slowest 1 % of receipts belong to; p99 per second
  events-tail.py --counters FILE.csv  dotnet-counters' csv: mean / max / sum per counter per 1 s interval
"""
import collections
import csv
import sys


def pct(values, q):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(-(-q * len(values) // 1)) - 1))]


def counters(path):
    series = collections.defaultdict(list)
    with open(path) as f:
        for row in csv.reader(f):
            if len(row) >= 5 and row[0] != "Timestamp":
                try:
                    series[row[2]].append(float(row[4]))
                except ValueError:
                    pass
    for name in sorted(series):
        v = series[name]
        print(f"{name[:90]:<90} {sum(v) / len(v):12.3f} {max(v):12.3f} {sum(v):14.3f}")


def samples(path):
    rows = []
    with open(path) as f:
        for r in csv.DictReader(f):
            rows.append({k: float(v) for k, v in r.items()})
    if not rows:
        return
    total = [r["received_ms"] - r["sent_ms"] for r in rows]
    request = [r["responded_ms"] - r["sent_ms"] for r in rows]
    after = [r["received_ms"] - r["responded_ms"] for r in rows]
    print(f"Tail breakdown ({len(rows)} receipts; bench/events-tail.py over bench/.events-run/sse-samples.csv):")
    print()
    print("| part | p50 ms | p90 ms | p99 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, v in (("create sent -> received (the benchmark's figure)", total),
                    ("create sent -> create answered (the request, commit inside)", request),
                    ("create answered -> received (publish, stream, push, SSE write)", after)):
        print(f"| {name} | {pct(v, .5):.1f} | {pct(v, .9):.1f} | {pct(v, .99):.1f} | {max(v):.1f} |")
    print()
    p99 = pct(total, .99)
    slow = [r for r, t in zip(rows, total) if t >= p99]
    creates = collections.Counter(int(r["create"]) for r in slow)
    per_create = collections.Counter(int(r["create"]) for r in rows)
    whole = sum(1 for c in creates if creates[c] == per_create[c])
    first = min(int(r["create"]) for r in rows)
    tenants = int(max(r["tenant"] for r in rows)) + 1
    early = sum(1 for c in creates if c - first < tenants)
    same = sum(1 for r in slow if r["create_silo"] == r["stream_silo"])
    print(f"The slowest 1 % ({len(slow)} receipts, >= {p99:.1f} ms) belong to {len(creates)} creates; {whole} of those were slow "
          f"on every stream of their tenant; {early} were their tenant's first create of the run; "
          f"{same} of the receipts were on the silo that took the create.")
    slow_request = sum(1 for r in slow if r["responded_ms"] - r["sent_ms"] >= p99 / 2)
    print(f"In {slow_request} of them the create's own request took at least half of the total.")
    print()
    by_second = collections.defaultdict(list)
    for r, t in zip(rows, total):
        by_second[int(r["sent_ms"] // 1000)].append(t)
    print("p99 / max by second of the run (create sent): " + ", ".join(
        f"{s}s {pct(v, .99):.0f}/{max(v):.0f}" for s, v in sorted(by_second.items())))
    later = [t for r, t in zip(rows, total) if r["sent_ms"] >= 5000]
    print(f"Without the first 5 s: p50 {pct(later, .5):.1f} ms, p99 {pct(later, .99):.1f} ms ({len(later)} receipts).")


if __name__ == "__main__":
    if sys.argv[1] == "--counters":
        counters(sys.argv[2])
    else:
        samples(sys.argv[1])

#!/usr/bin/env python3
"""Percentiles of Prometheus histograms over a window: the bucket counts of a later /metrics scrape minus an earlier one.

Usage: histogram-delta.py BEFORE AFTER METRIC [LABEL]
Prints one line per value of LABEL (or one line): "<label value> count=N p50_ms=… p90_ms=… p99_ms=…", each
percentile interpolated linearly inside its bucket (so no finer than the instrument's bucket boundaries).
"""
import re
import sys

LINE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)')


def buckets(path, metric, label):
    series = {}
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except FileNotFoundError:
        return series
    for line in lines:
        m = LINE.match(line)
        if not m or m.group("name") != metric + "_bucket":
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group("labels")))
        key = labels.get(label, "") if label else ""
        le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
        by_le = series.setdefault(key, {})
        by_le[le] = by_le.get(le, 0) + float(m.group("value"))
    return series


def percentile(cumulative, q):
    total = cumulative[-1][1]
    target = q * total
    lower, below = 0.0, 0.0
    for le, count in cumulative:
        if count >= target:
            if le == float("inf"):
                return lower
            inside = count - below
            return lower + (le - lower) * ((target - below) / inside if inside else 1)
        lower, below = le, count
    return lower


def main():
    before_path, after_path, metric = sys.argv[1:4]
    label = sys.argv[4] if len(sys.argv) > 4 else None
    before, after = buckets(before_path, metric, label), buckets(after_path, metric, label)
    for key in sorted(after):
        delta = sorted((le, count - before.get(key, {}).get(le, 0)) for le, count in after[key].items())
        total = delta[-1][1]
        if total <= 0:
            continue
        ms = [percentile(delta, q) * 1000 for q in (0.5, 0.9, 0.99)]
        print(f"{key or metric} count={total:.0f} p50_ms={ms[0]:.1f} p90_ms={ms[1]:.1f} p99_ms={ms[2]:.1f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Count test outcomes in VSTest TRX files.

    count-trx.py FILE...              one tab-separated line per file:
                                      file, passed, failed, skipped, run_errors
    count-trx.py --failures [--max N] FILE...
                                      names (and first message line) of failed tests,
                                      at most N per file (default 40)

Outcomes are counted from the UnitTestResult elements (one per test case / theory row):
  passed:  Passed, PassedButRunAborted
  skipped: NotExecuted (xunit v3 skipped tests), Inconclusive, Pending
  failed:  everything else (Failed, Error, Timeout, Aborted, Disconnected, NotRunnable, ...)
If a file has no UnitTestResult at all, the ResultSummary/Counters attributes are used.
run_errors counts run-level problems (RunInfo entries with outcome Error, or a
ResultSummary outcome of Error/Aborted/Timeout), e.g. a test host that crashed.
A file that cannot be parsed prints "file  0  1  0  1" and a message on stderr.
"""
import sys
import xml.etree.ElementTree as ET

PASSED = {"passed", "passedbutrunaborted"}
SKIPPED = {"notexecuted", "inconclusive", "pending"}


def local(tag):
    return tag.rsplit("}", 1)[-1]


def children(elem, name):
    return [c for c in elem.iter() if local(c.tag) == name]


def count(path):
    root = ET.parse(path).getroot()
    passed = failed = skipped = 0
    results = children(root, "UnitTestResult")
    for r in results:
        outcome = (r.get("outcome") or "").lower()
        if outcome in PASSED:
            passed += 1
        elif outcome in SKIPPED:
            skipped += 1
        else:
            failed += 1
    run_errors = 0
    for summary in children(root, "ResultSummary"):
        if (summary.get("outcome") or "").lower() in {"error", "aborted", "timeout"}:
            run_errors += 1
        for info in children(summary, "RunInfo"):
            if (info.get("outcome") or "").lower() == "error":
                run_errors += 1
        if not results:
            for c in children(summary, "Counters"):
                def n(attr):
                    try:
                        return int(c.get(attr) or 0)
                    except ValueError:
                        return 0
                passed += n("passed") + n("passedButRunAborted")
                skipped += n("notExecuted") + n("inconclusive") + n("pending")
                failed += (n("failed") + n("error") + n("timeout") + n("aborted")
                           + n("disconnected") + n("notRunnable"))
    return passed, failed, skipped, run_errors


def failures(path, limit):
    root = ET.parse(path).getroot()
    shown = hidden = 0
    for r in children(root, "UnitTestResult"):
        outcome = (r.get("outcome") or "").lower()
        if outcome in PASSED or outcome in SKIPPED:
            continue
        if shown >= limit:
            hidden += 1
            continue
        msg = ""
        for m in children(r, "Message"):
            if m.text and m.text.strip():
                msg = m.text.strip().splitlines()[0]
                break
        line = f"  {r.get('outcome')}: {r.get('testName')}"
        if msg:
            line += f" -- {msg[:200]}"
        print(line)
        shown += 1
    if hidden:
        print(f"  ... and {hidden} more in {path}")


def main(argv):
    if argv and argv[0] == "--failures":
        argv = argv[1:]
        limit = 40
        if len(argv) >= 2 and argv[0] == "--max":
            limit = int(argv[1])
            argv = argv[2:]
        for path in argv:
            try:
                failures(path, limit)
            except (ET.ParseError, OSError) as e:
                print(f"  cannot read {path}: {e}")
        return 0
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    for path in argv:
        try:
            p, f, s, e = count(path)
        except (ET.ParseError, OSError) as ex:
            print(f"count-trx: cannot read {path}: {ex}", file=sys.stderr)
            p, f, s, e = 0, 1, 0, 1
        print(f"{path}\t{p}\t{f}\t{s}\t{e}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

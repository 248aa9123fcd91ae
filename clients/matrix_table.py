#!/usr/bin/env python3
"""Prints the client matrix (README "Bring your own client") from drills' `--json` reports
and `--history` files: one row per client and fault.

    python3 clients/matrix_table.py FAULT=REPORT.json:HISTORY.jsonl ...

Columns: client RTO and lost acknowledged writes (the report's), acks by the demoted primary
after the first `+switch-master` (the history's: `ok` lines whose node is the old primary,
completed after fault + Sentinel RTO), errors by kind, and how the client moved: the delay
from `+switch-master` to its first ack on the new primary, and how many failed or unknown
writes came between its last ack on the old primary and that first ack (0: it moved before
any error, as a `+switch-master` follower does).
"""

import collections
import datetime
import json
import sys


def utc_ns(s):
    """ns since the Unix epoch of an RFC 3339 UTC time with up to 9 fractional digits."""
    base, _, frac = s.rstrip("Z").partition(".")
    t = datetime.datetime.fromisoformat(base).replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 10**9 + int((frac + "000000000")[:9])


def rows(fault, report_path, history_path):
    report = json.load(open(report_path))
    trial = report["trials"][0]
    old, new = trial["old_primary"], trial["new_primary"]
    switch_ns = utc_ns(trial["fault_at"]) + int((trial["sentinel_rto_ms"] or 0) * 1e6)
    lines = collections.defaultdict(list)
    for text in open(history_path):
        line = json.loads(text)
        lines[line["client"]].append(line)
    for c in trial["clients"]:
        mine = sorted(lines[c["name"]], key=lambda l: l["complete_mono_ns"])
        demoted = sum(
            1 for l in mine
            if l["outcome"] == "ok" and l["node"] == old and utc_ns(l["complete_utc"]) > switch_ns
        )
        errors = collections.Counter(
            l.get("error") or l["outcome"] for l in mine if l["outcome"] != "ok"
        )
        first_new = next(
            (i for i, l in enumerate(mine) if l["outcome"] == "ok" and l["node"] == new), None
        )
        moved, between = "-", "-"
        if first_new is not None:
            moved_ns = utc_ns(mine[first_new]["complete_utc"]) - switch_ns
            moved = f"{moved_ns / 1e6:+.0f} ms"
            last_old = max(
                (i for i, l in enumerate(mine[:first_new]) if l["outcome"] == "ok"), default=-1
            )
            between = str(sum(1 for l in mine[last_old + 1:first_new] if l["outcome"] != "ok"))
        rto = c["client_rto_ms"]["value"]
        yield [
            c["name"], fault,
            f"{rto:.0f} ms" if rto is not None else "-",
            str(c["lost"]["value"]), str(demoted),
            ", ".join(f"{k} {n}" for k, n in errors.most_common()) or "none",
            moved, between,
        ]


def main(args):
    head = ["client", "fault", "client RTO", "lost", "demoted acks", "errors by kind",
            "first new-primary ack after +switch-master", "errors before the move"]
    table = [r for arg in args for r in rows(*[arg.split("=", 1)[0]] + arg.split("=", 1)[1].split(":"))]
    table.sort(key=lambda r: r[0])
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in table:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])

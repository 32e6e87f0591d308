#!/usr/bin/env python3
"""The retention rules of kbackup-format(5), written independently of the runner.

usage: retention_model.py RULES HISTORY SNAPSHOT

RULES: lines "NAME FORMAT SECONDS" (FORMAT "-" for the backup ID), in the
order the runner applies them (presets all hourly daily weekly monthly
yearly, then custom rules), and one line "tz ZONE".
HISTORY: lines "ID FINISHED_EPOCH", one per successful backup, in order.
SNAPSHOT: a directory holding what storage has: ids (one ID a line, the
backups with a manifest), m/ID.json (their manifests), labels.json.

Computes which backups must be left after each backup and its prune, with
their labels, and compares with the snapshot.  Exit 0 if equal, 1 and a
description of every difference otherwise.
"""
import json
import os
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def rfc3339(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_rules(path):
    rules, tz = [], "UTC"
    for line in open(path):
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "tz":
            tz = parts[1]
            continue
        rules.append((parts[0], None if parts[1] == "-" else parts[1], int(parts[2])))
    return rules, ZoneInfo(tz)


def expected(rules, tz, history):
    kept = []  # [{"id", "finished", "labels": {name: expires}}], oldest first
    for bid, fin in history:
        local = datetime.fromtimestamp(fin, tz)
        labels = {}
        for name, fmt, keep in rules:
            value = bid if fmt is None else local.strftime(fmt)
            label = "%s:%s" % (name, value)
            held = any(b["labels"].get(label, 0) > fin for b in kept)
            if not held:
                labels[label] = fin + keep
        kept.append({"id": bid, "finished": fin, "labels": labels})
        now = fin  # prune runs right after the backup
        newest = kept[-1]
        kept = [b for b in kept
                if b is newest or any(e > now for e in b["labels"].values())]
    return kept


def main():
    rules, tz = load_rules(sys.argv[1])
    history = []
    for line in open(sys.argv[2]):
        if line.strip():
            bid, fin = line.split()
            history.append((bid, int(fin)))
    snap = sys.argv[3]
    want = expected(rules, tz, history)
    errors = []

    have_ids = sorted(l.strip() for l in open(os.path.join(snap, "ids")) if l.strip())
    want_ids = sorted(b["id"] for b in want)
    if have_ids != want_ids:
        errors.append("backups left: %s\n  expected: %s\n  extra: %s\n  missing: %s" % (
            have_ids, want_ids, sorted(set(have_ids) - set(want_ids)),
            sorted(set(want_ids) - set(have_ids))))

    want_labels = {b["id"]: {n: rfc3339(e) for n, e in b["labels"].items()} for b in want}
    for bid in have_ids:
        if bid not in want_labels:
            continue
        m = json.load(open(os.path.join(snap, "m", bid + ".json")))
        got = {l["name"]: l["expires"] for l in m["labels"]}
        if got != want_labels[bid]:
            errors.append("manifest %s labels %s, expected %s" % (bid, got, want_labels[bid]))

    # labels.json caches the manifests: {"backups": [{"stamp", "manifest"}]}
    idx = json.load(open(os.path.join(snap, "labels.json")))
    got_idx = {b["manifest"]["id"]: {l["name"]: l["expires"] for l in b["manifest"]["labels"]}
               for b in idx["backups"]}
    if got_idx != want_labels:
        errors.append("labels.json %s\n  expected %s" % (got_idx, want_labels))

    for e in errors:
        print("MODEL MISMATCH: " + e)
    if not errors:
        print("model: %d backups made, %d kept: %s" % (len(history), len(want),
              " ".join(want_ids)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

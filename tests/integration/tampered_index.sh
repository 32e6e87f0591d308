#!/usr/bin/env bash
# A labels.json rewritten by someone able to write the location (each
# manifest in it re-summed, each stamp the listing's): the index only
# proposes.  With every label expired, an index that dates the older backup
# after the newer one must not make prune delete the newest good backup: its
# own manifest dates it newest, so it is kept (and said so), and the next
# prune, on the rewritten index, deletes the older one.  Nor does restore
# latest take the older one: the backup it picks must be the newest by its
# own manifest too.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

faketime_setup
sqlite_tiny
BASE=$KB_TMP/backups/test/db

backup() {
	run_runner -c "$KB_TMP/kb.conf" --once
	expect_rc 0 "backup"
	committed_id
}

# Runs the runner three years on: every label has expired.  stat() is not
# faked, so that the index's stamps still match the listing.
run_later() {
	set +e
	LD_PRELOAD="$FT_LIB" FAKETIME="+3y" NO_FAKE_STAT=1 "$RUNNER" "$@" >"$KB_TMP/out" \
		2>"$KB_TMP/log"
	rc=$?
	set -e
	cat "$KB_TMP/log" >>"$KB_TMP/all.log"
}

# Rewrites backup ID's record in labels.json by python code on m (its
# manifest), re-sums it and sets every stamp to what the listing shows.
index_edit() {	# id code
	python3 - "$BASE" "$1" "$2" <<'PY'
import hashlib, json, os, sys
base, bid, code = sys.argv[1:]
path = base + "/labels.json"
d = json.load(open(path))
for b in d["backups"]:
    m = b["manifest"]
    if m["id"] == bid:
        exec(code)
        m.pop("checksum", None)
        c = json.dumps(m, separators=(",", ":"), ensure_ascii=False).encode()
        m["checksum"] = "sha256:" + hashlib.sha256(c).hexdigest()
    s = os.stat("%s/backups/%s/manifest.json" % (base, m["id"]))
    b["stamp"] = "%d-%d.%09d-%d" % (s.st_size, s.st_mtime_ns // 10**9,
        s.st_mtime_ns % 10**9, s.st_ino)
open(path, "w").write(json.dumps(d, separators=(",", ":"), ensure_ascii=False))
PY
}

old=$(backup)
sleep 1
new=$(backup)
[ -f "$BASE/labels.json" ] || fail "no label index written"

say "an index that dates the older backup after the newer one"
index_edit "$old" 'm["finished"] = "2027-01-01T00:00:00Z"'
run_later -c "$KB_TMP/kb.conf" list
assert_contains "$KB_TMP/out" "$old 2027-01-01T00:00:00Z" "list takes the index (its stamps)"
run_later -c "$KB_TMP/kb.conf" restore latest --dry-run
expect_rc 0 "restore latest --dry-run on the tampered index"
assert_contains "$KB_TMP/out" "would restore backup $new " "restore latest takes the newest by its manifest"
run_later -c "$KB_TMP/kb.conf" prune
expect_rc 0 "prune on the tampered index"
[ -f "$BASE/backups/$new/manifest.json" ] || fail "prune deleted the newest backup"
assert_contains "$KB_TMP/log" "its manifest dates it as the newest" "prune says why it kept it"
run_later -c "$KB_TMP/kb.conf" prune
expect_rc 0 "prune on the rewritten index"
[ -f "$BASE/backups/$new/manifest.json" ] || fail "the second prune deleted the newest backup"
[ ! -e "$BASE/backups/$old" ] || fail "the second prune kept the older backup"
echo ok

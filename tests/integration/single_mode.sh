#!/usr/bin/env bash
# mode = single: no labels, no prune; each backup goes to single/ under its
# own ID, single/manifest.json is switched to it, then the previous data is
# deleted.  Two backups leave only the second's data; restore latest
# restores it; prune and list know the mode; prune sweeps data interrupted
# runs left under single/ once older than orphan_grace, never data a run is
# still writing.
. "$(dirname "$0")/../lib.sh"

command -v faketime >/dev/null || skip "faketime not installed"
export TZ=UTC
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

pg_start
pg_load_sample shop 50
write_pg_config "$KB_TMP/kb.conf" shop
sed -i "s|^workdir = .*|&\nmode = single|" "$KB_TMP/kb.conf"
S=$KB_TMP/backups/test/orders

once_at() {	# time
	set +e
	env -u PGPASSWORD faketime -f "@$1" "$RUNNER" -c "$KB_TMP/kb.conf" --once \
		>"$KB_TMP/out" 2>"$KB_TMP/log"
	rc=$?
	set -e
}

# The ID of the backup single/manifest.json names.
single_id() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$S/single/manifest.json"; }

say "first backup"
once_at "2026-03-01 00:30:00"
expect_rc 0 "first backup"
id1=$(single_id)
case $id1 in 20260301T003000Z-??????) ;; *) fail "first backup's ID: $id1" ;; esac
[ -f "$S/single/$id1/data" ] || fail "first backup's data: $(find "$S")"
grep -q "\"key\": \"test/orders/single/$id1/data\"" "$S/single/manifest.json" ||
	fail "manifest does not point at the first backup"

say "second backup, after a change"
psql_q shop "INSERT INTO customers (name) VALUES ('after the first backup')"
once_at "2026-03-02 00:30:00"
expect_rc 0 "second backup"
id2=$(single_id)
files=$(cd "$S" && find . -type f | sort | tr '\n' ' ')
assert_eq "$files" "./single/$id2/data ./single/manifest.json " "what single/ holds"
grep -q '"mode": "single"' "$S/single/manifest.json" || fail "manifest mode"
grep -q '"labels": \[\]' "$S/single/manifest.json" || fail "single mode has no labels"
[ ! -e "$S/labels.json" ] || fail "labels.json written in single mode"
[ ! -e "$S/backups" ] || fail "backups/ written in single mode"
[ -z "$(ls -A "$S/running" 2>/dev/null)" ] || fail "a job marker left: $(ls "$S/running")"

say "list, prune"
run_runner -c "$KB_TMP/kb.conf" list
expect_rc 0 "list"
assert_contains "$KB_TMP/out" "$id2" "list shows the backup"
assert_contains "$KB_TMP/out" "(single)" "list shows the mode"
run_runner -c "$KB_TMP/kb.conf" prune --dry-run
expect_rc 0 "prune --dry-run"
assert_contains "$KB_TMP/out" "nothing to prune" "prune in single mode"

say "prune sweeps what interrupted runs left under single/, not the current data"
# Old data the switch failed to remove, and an interrupted run's data, both
# written (by the store's clock, the files' mtimes) more than a day ago: both
# go.  A run still writing (a minute old) stays until it is a day old.
mkdir -p "$S/single/20260301T120000Z" "$S/single/20260302T120000Z" "$S/single/20260303T003000Z"
echo old >"$S/single/20260301T120000Z/data"
echo interrupted >"$S/single/20260302T120000Z/data"
echo writing >"$S/single/20260303T003000Z/data"
touch -d "3 days ago" "$S/single/20260301T120000Z/data"
touch -d "2 days ago" "$S/single/20260302T120000Z/data"
set +e
env -u PGPASSWORD faketime -f "@2026-03-03 00:31:00" "$RUNNER" -c "$KB_TMP/kb.conf" \
	prune --dry-run >"$KB_TMP/out" 2>"$KB_TMP/log"
rc=$?
set -e
expect_rc 0 "prune --dry-run with leftovers"
assert_contains "$KB_TMP/out" "would delete 20260301T120000Z: data without a manifest" "dry run: old data"
assert_not_contains "$KB_TMP/out" "$id2" "dry run: the current backup"
assert_not_contains "$KB_TMP/out" "20260303T003000Z" "dry run: a run still writing"
[ -f "$S/single/20260301T120000Z/data" ] || fail "--dry-run deleted something"
set +e
env -u PGPASSWORD faketime -f "@2026-03-03 18:00:00" "$RUNNER" -c "$KB_TMP/kb.conf" \
	prune >"$KB_TMP/out" 2>"$KB_TMP/log"
rc=$?
set -e
expect_rc 0 "prune with leftovers"
files=$(cd "$S" && find . -type f | sort | tr '\n' ' ')
assert_eq "$files" "./single/$id2/data ./single/20260303T003000Z/data ./single/manifest.json " "single/ after prune"
assert_contains "$KB_TMP/log" 'reason="data without a manifest (an interrupted run)"' "prune logs why"
rm -r "$S/single/20260303T003000Z"

say "restore latest"
run_runner -c "$KB_TMP/kb.conf" restore latest --database shop_copy
expect_rc 0 "restore latest"
pg_fingerprint shop >"$KB_TMP/a"
pg_fingerprint shop_copy >"$KB_TMP/b"
diff -u "$KB_TMP/a" "$KB_TMP/b" >/dev/null || fail "restored database differs"
[ "$(psql_q shop_copy "SELECT count(*) FROM customers WHERE name = 'after the first backup'")" = 1 ] ||
	fail "restore latest did not take the second backup"
echo ok

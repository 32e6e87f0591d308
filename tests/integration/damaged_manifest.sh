#!/usr/bin/env bash
# A backup whose manifest is damaged -- cut in half, emptied, one bit flipped
# -- is an alarm, not a detail: list shows it as DAMAGED (and --json says
# why), verify --all exits 1 naming it, check warns, the textfile metric
# counts it, restore latest refuses to pass over it unless --skip-damaged
# (then it restores the one before and says which it skipped), and prune
# keeps its data even with the clock 40 days ahead, until prune --damaged.
# Also a foreign manifest (another definition's) and one whose id is not its
# key's: reported, never listed or deleted.
. "$(dirname "$0")/../lib.sh"

faketime_setup

pg_start
pg_load_sample shop 100
write_pg_config "$KB_TMP/kb.conf" shop
printf '\n[metrics]\ntextfile = %s/kb.prom\n' "$KB_TMP" >>"$KB_TMP/kb.conf"
B=$KB_TMP/backups/test/orders/backups

backup() {
	run_runner -c "$KB_TMP/kb.conf" --once
	expect_rc 0 "backup"
	committed_id
}

first=$(backup)
psql_q shop "INSERT INTO customers (name) VALUES ('second')"
second=$(backup)
cp "$B/$second/manifest.json" "$KB_TMP/manifest.good"

damage() {	# kind
	case $1 in
	cut)	head -c "$(($(stat -c %s "$KB_TMP/manifest.good") / 2))" "$KB_TMP/manifest.good" \
			>"$B/$second/manifest.json" ;;
	empty)	: >"$B/$second/manifest.json" ;;
	flip)	cp "$KB_TMP/manifest.good" "$B/$second/manifest.json"
		flip_bit "$B/$second/manifest.json" 40 ;;	# in "id": a quote or digit
	esac
}

for kind in cut empty flip; do
	say "manifest $kind"
	damage "$kind"
	run_runner -c "$KB_TMP/kb.conf" list
	expect_rc 0 "$kind: list"
	grep "^$second " "$KB_TMP/out" | grep -q "DAMAGED: " || fail "$kind: list: $(cat "$KB_TMP/out")"
	assert_contains "$KB_TMP/log" "damaged backups in the location" "$kind: list logs an error"
	run_runner -c "$KB_TMP/kb.conf" list --json
	python3 - "$KB_TMP/out" "$second" <<'PY' || fail "$kind: list --json"
import json, sys
e = [x for x in json.load(open(sys.argv[1])) if x["id"] == sys.argv[2]]
assert len(e) == 1 and e[0]["state"] == "damaged" and e[0]["why"], e
PY
	run_runner -c "$KB_TMP/kb.conf" verify --all
	expect_rc 1 "$kind: verify --all"
	assert_contains "$KB_TMP/out" "$second DAMAGED" "$kind: verify --all names it"
	assert_contains "$KB_TMP/out" "$first ok" "$kind: verify --all checks the rest"
	run_runner -c "$KB_TMP/kb.conf" check
	assert_contains "$KB_TMP/out" "WARNING: backup $second is damaged" "$kind: check warns"
	run_runner -c "$KB_TMP/kb.conf" restore latest --database copy_$kind
	expect_rc 1 "$kind: restore latest"
	assert_contains "$KB_TMP/log" "backup $second is damaged" "$kind: restore latest names it"
	assert_contains "$KB_TMP/log" "--skip-damaged to take $first" "$kind: and says what to do"
	run_runner -c "$KB_TMP/kb.conf" restore latest --skip-damaged --database copy_$kind
	expect_rc 0 "$kind: restore latest --skip-damaged"
	assert_contains "$KB_TMP/log" "skipped a damaged backup" "$kind: says which it skipped"
	assert_contains "$KB_TMP/log" "id=$first" "$kind: restored the one before"
	[ "$(psql_q "copy_$kind" "SELECT count(*) FROM customers WHERE name = 'second'")" = 0 ] ||
		fail "$kind: restored the damaged one's data"
	run_runner -c "$KB_TMP/kb.conf" verify latest
	expect_rc 1 "$kind: verify latest"
	# Prune, 40 days on: the first backup's labels have expired, the damaged one stays.
	set +e
	env -u PGPASSWORD LD_PRELOAD="$FT_LIB" FAKETIME="+40d" "$RUNNER" -c "$KB_TMP/kb.conf" \
		prune >"$KB_TMP/out" 2>"$KB_TMP/log"
	rc=$?
	set -e
	expect_rc 0 "$kind: prune 40 days on"
	[ -f "$B/$second/data" ] || fail "$kind: prune deleted the damaged backup's data"
	[ -f "$B/$second/manifest.json" ] || fail "$kind: prune deleted the damaged manifest"
	assert_contains "$KB_TMP/log" "damaged backup kept" "$kind: prune says it kept it"
	cp "$KB_TMP/manifest.good" "$B/$second/manifest.json"
done

say "the metric counts damaged backups"
damage cut
third=$(backup)
grep -q '^kbackup_damaged_backups{.*} 1$' "$KB_TMP/kb.prom" || fail "metric: $(grep damaged "$KB_TMP/kb.prom")"
run_runner -c "$KB_TMP/kb.conf" restore latest --dry-run
expect_rc 0 "restore latest with a newer good backup"
assert_contains "$KB_TMP/out" "would restore backup $third" "the newer good one is latest"

say "prune --damaged deletes it on request"
run_runner -c "$KB_TMP/kb.conf" prune --damaged --dry-run
assert_contains "$KB_TMP/out" "would delete $second: damaged" "prune --damaged --dry-run"
[ -f "$B/$second/data" ] || fail "--dry-run deleted"
run_runner -c "$KB_TMP/kb.conf" prune --damaged
expect_rc 0 "prune --damaged"
[ ! -e "$B/$second" ] || fail "prune --damaged left $(ls "$B/$second")"
run_runner -c "$KB_TMP/kb.conf" verify --all
expect_rc 0 "verify --all after prune --damaged"

say "a foreign manifest and one of another ID: ignored, reported, kept"
mkdir -p "$B/20260101T000000Z-aaaaaa" "$B/20260102T000000Z-bbbbbb"
sed -e 's/"name": "orders"/"name": "users"/' "$B/$third/manifest.json" \
	>"$B/20260101T000000Z-aaaaaa/manifest.json"
manifest_resum "$B/20260101T000000Z-aaaaaa/manifest.json"	# whole: another definition's
cp "$B/$third/data" "$B/20260101T000000Z-aaaaaa/data"
cp "$B/$third/manifest.json" "$B/20260102T000000Z-bbbbbb/manifest.json"
run_runner -c "$KB_TMP/kb.conf" list
expect_rc 0 "list with foreign manifests"
assert_not_contains "$KB_TMP/out" "20260101T000000Z-aaaaaa" "a foreign manifest listed"
assert_not_contains "$KB_TMP/out" "20260102T000000Z-bbbbbb" "a mismatched manifest listed"
[ "$(grep -c "^$third " "$KB_TMP/out")" = 1 ] || fail "a backup listed twice: $(cat "$KB_TMP/out")"
assert_contains "$KB_TMP/log" "its manifest is of test/users" "the foreign one is reported"
assert_contains "$KB_TMP/log" "its manifest is of backup $third" "the mismatched one is reported"
run_runner -c "$KB_TMP/kb.conf" verify --all
expect_rc 0 "verify --all ignores foreign manifests"
assert_not_contains "$KB_TMP/out" "20260101T000000Z-aaaaaa" "a foreign manifest verified"
run_runner -c "$KB_TMP/kb.conf" prune --damaged
[ -f "$B/20260101T000000Z-aaaaaa/data" ] || fail "prune deleted a foreign backup's data"
[ -f "$B/20260102T000000Z-bbbbbb/manifest.json" ] || fail "prune deleted a mismatched manifest"
echo ok

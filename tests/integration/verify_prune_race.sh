#!/usr/bin/env bash
# verify --all on one host while another host's runner prunes the same
# location (verify takes no lock): a backup the prune deletes after verify
# listed it is reported as pruned meanwhile, not as FAILED, and verify exits
# 0; a backup whose data is damaged while its manifest stays is still FAILED.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
faketime_setup
DB=$KB_TMP/app.db
STORE=$KB_TMP/backups
# keep:2020 is held by the first backup of 2020 for ever; all:ID for an hour.
for h in a b; do
	write_engine_config "$KB_TMP/$h.conf" sqlite "$STORE" <<EOF
path = $DB
EOF
	sed -i "s|^workdir = .*|workdir = $KB_TMP/work-$h|" "$KB_TMP/$h.conf"
	printf '\n[retention]\nall = 1h\nhourly = off\ndaily = off\nweekly = off\nmonthly = off\nrule.keep = %%Y 36500d\n' \
		>>"$KB_TMP/$h.conf"
done

backup_at() {	# faketime rows-of-64KiB
	rm -f "$DB"
	sqlite3 "$DB" "CREATE TABLE t (b BLOB);
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
		INSERT INTO t SELECT randomblob(65536) FROM n"
	set +e
	env LD_PRELOAD="$FT_LIB" FAKETIME="$1" "$RUNNER" -c "$KB_TMP/a.conf" --once \
		>/dev/null 2>"$KB_TMP/log"
	rc=$?
	set -e
	expect_rc 0 "backup at $1"
	committed_id
}

# Verify reads the backups oldest first: the big first one keeps it busy
# while the prune deletes the second.
KEPT=$(backup_at "@2020-01-05 10:00:00" 2048)
GONE=$(backup_at "@2020-01-06 10:00:00" 4)
# The newest, whose own prune runs while all:GONE still holds.
backup_at "@2020-01-06 10:00:30" 4 >/dev/null
run_runner -c "$KB_TMP/b.conf" prune --dry-run
assert_contains "$KB_TMP/out" "$GONE" "the prune plans to delete the second backup"

say "verify --all while the other host's prune deletes a backup it listed"
env "$RUNNER" -c "$KB_TMP/a.conf" verify --all >"$KB_TMP/vout" 2>"$KB_TMP/vlog" &
vpid=$!
for _ in $(seq 1 200); do
	ls -l "/proc/$vpid/fd" 2>/dev/null | grep -q "backups/$KEPT/data" && break
	sleep 0.01
done
ls -l "/proc/$vpid/fd" 2>/dev/null | grep -q "backups/$KEPT/data" ||
	fail "verify was not seen reading $KEPT"
run_runner -c "$KB_TMP/b.conf" prune
expect_rc 0 "the prune"
[ ! -e "$STORE/test/db/backups/$GONE" ] || fail "the prune left $GONE"
set +e
wait "$vpid"
rc=$?
set -e
cp "$KB_TMP/vlog" "$KB_TMP/log"
expect_rc 0 "verify --all during the prune: $(cat "$KB_TMP/vout")"
assert_contains "$KB_TMP/vout" "$KEPT ok" "the first backup verified"
assert_contains "$KB_TMP/vout" "$GONE gone: pruned while it was verified" \
	"the pruned backup said so"
assert_not_contains "$KB_TMP/vout" "FAILED" "verify output"

say "a damaged part of a backup whose manifest stays: still FAILED"
data=$STORE/test/db/backups/$KEPT/data
flip_bit "$data" "$(($(stat -c %s "$data") / 2))"
run_runner -c "$KB_TMP/a.conf" verify --all
expect_rc 1 "verify --all with a damaged backup"
assert_contains "$KB_TMP/out" "$KEPT FAILED" "verify names it"
assert_not_contains "$KB_TMP/out" "pruned while" "a damaged backup that is still listed"
echo ok

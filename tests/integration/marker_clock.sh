#!/usr/bin/env bash
# Another runner's job marker dated ahead of the store's clock (the store's
# clock was set back after the job died): one within ten minutes of that
# clock still stops a backup, naming the other runner; one a year ahead is
# stale, not a job that stops every backup for a year.  The data beside it,
# without a manifest, is still not swept (its age on the store's clock is
# not known), and the marker is not listed as a running job.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

sqlite_tiny
BASE=$KB_TMP/backups/test/db
other=20261203T120000Z-abcdef
M=$BASE/running/$other.json

run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "first backup"
mkdir -p "$BASE/running" "$BASE/backups/$other"
printf '{"version": 1, "id": "%s", "runner_id": "3fa94c01b2aa", "host": "db1", "pid": 4242, "started": "2026-11-24T03:00:00Z"}\n' \
	"$other" >"$M"
echo "half a dump" >"$BASE/backups/$other/data"

say "a marker five minutes ahead of the store's clock"
touch -d '+5 minutes' "$M"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 1 "backup beside a marker five minutes ahead"
assert_contains "$KB_TMP/log" "another runner is backing up" "the other job is named"
assert_contains "$KB_TMP/log" "runner 3fa94c01b2aa on host db1" "the other runner is named"

say "a marker a year ahead of the store's clock"
touch -d '+1 year' "$M"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup beside a marker a year ahead"
run_runner -c "$KB_TMP/kb.conf" list
assert_not_contains "$KB_TMP/out" "(running: a backup in progress)" "list"
[ -f "$BASE/backups/$other/data" ] || fail "the sweep removed the data beside the marker"
echo ok

#!/usr/bin/env bash
# A runner clock outside the years 1970-9999 that IDs and manifests hold: a
# clock before 1970 starts no backup (exit 1, before any dump, nothing
# stored), and a backup at 9999-12-31 is committed with labels that expire
# at 9999-12-31T23:59:59Z at the latest -- a manifest its own reader takes
# back, not one list calls damaged.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

faketime_setup
sqlite_tiny


say "a clock before 1970"
run_at "1969-12-31 23:00:00" -c "$KB_TMP/kb.conf" --once
expect_rc 1 "backup at 1969"
assert_contains "$KB_TMP/log" "backup not started" "refused before the dump"
assert_contains "$KB_TMP/log" "outside the years 1970 to 9999" "says why"
expect_nothing_stored "$KB_TMP/backups" "backup at 1969"

say "a clock at 9999-12-31"
run_at "9999-12-31 12:00:00" -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup at 9999"
run_runner -c "$KB_TMP/kb.conf" list
expect_rc 0 "list"
grep -q "^99991231T120000Z-[0-9a-f]* 9999-12-31T12:00:00Z " "$KB_TMP/out" ||
	fail "the backup at 9999 is not listed as good: $(cat "$KB_TMP/out")"
assert_contains "$KB_TMP/out" "daily:9999-12-31 (until 9999-12-31T23:59:59Z)" "label expiry"
assert_not_contains "$KB_TMP/out" "DAMAGED" "list"
echo ok

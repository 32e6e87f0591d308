#!/usr/bin/env bash
# Failing dumps (wrong password, unknown database, server down) end with exit
# status 1, a log line that says why, and nothing in storage.
. "$(dirname "$0")/../lib.sh"

pg_start
pg_load_sample shop 10

nothing_stored() {
	local left
	left=$(find "$KB_TMP/backups" -type f 2>/dev/null || true)
	[ -z "$left" ] || fail "$1: left in storage: $left"
}

say "wrong password"
write_pg_config "$KB_TMP/kb.conf" shop
printf 'wrong-password\n' >"$KB_TMP/wrongpw"
sed -i "s|^password_file = .*|password_file = $KB_TMP/wrongpw|" "$KB_TMP/kb.conf"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 1 "wrong password"
assert_contains "$KB_TMP/log" "password authentication failed" "wrong password: why"
assert_contains "$KB_TMP/log" 'msg="backup failed"' "wrong password: failure logged"
assert_not_contains "$KB_TMP/log" "wrong-password" "the password in the log"
nothing_stored "wrong password"

say "unknown database"
write_pg_config "$KB_TMP/kb.conf" nosuchdb
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 1 "unknown database"
assert_contains "$KB_TMP/log" 'nosuchdb\" does not exist' "unknown database: why"
nothing_stored "unknown database"

say "restore with no backup at all"
run_runner -c "$KB_TMP/kb.conf" restore latest
expect_rc 1 "restore without backups"
assert_contains "$KB_TMP/log" "there is no backup yet" "restore without backups: why"

say "server down"
write_pg_config "$KB_TMP/kb.conf" shop
pg_stop
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 1 "server down"
assert_contains "$KB_TMP/log" "asking the server for its version: psql exited with status 2" \
	"server down: the first connection fails"
assert_contains "$KB_TMP/log" "Connection refused" "server down: why"
nothing_stored "server down"
run_runner -c "$KB_TMP/kb.conf" check
expect_rc 1 "check with the server down"
assert_contains "$KB_TMP/out" "database: FAILED" "check says which part failed"
[ -z "$(find "$KB_TMP/work" -name 'pgpass*')" ] || fail "PGPASSFILE left in workdir"
echo ok

#!/usr/bin/env bash
# restore --at is on the binary log's clock (the server's) when this host's
# clock is off.  On a real MariaDB with a workload: a dump taken with the
# runner's clock an hour behind the server's, another a few seconds later
# with it an hour ahead (libfaketime), then the daemon (real clock)
# archives.  A time before the first dump on the server's clock is refused
# (the dump holds rows written after it; the manifest's finished time, an
# hour earlier on the runner's clock, would have let it through with those
# rows); a time between the dumps and one after both give exactly the rows
# of that second; verify and list give the first dump's window from the
# server's clock.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"
. "$(dirname "$0")/../lib-binlog.sh"

faketime_setup

rows() { my_q -N -e "SELECT COUNT(*) FROM shop.ticks"; }

binlog_file_setup
say "two dumps while the workload writes: the runner an hour behind, then ahead"
workload_start
sleep 1.5
early=$(rows)	# 2.5 s before the dump starts: a second before its window
sleep 2.5
run_skewed -3600 -c "$conf" backup
expect_rc 0 "backup with the clock behind"
first=$(ls "$store/test/db/backups")
manifest=$store/test/db/backups/$first/manifest.json
behind=$(jq -r .finished "$manifest")
server=$(jq -r .details.binlog.server_time "$manifest")
echo "the first dump finished at $behind on the runner's clock, $server on the server's"
[ "$server" != null ] || fail "the manifest records no server_time"
sleep 1.5
between=$(rows)
sleep 1.5
run_skewed +3600 -c "$conf" backup
expect_rc 0 "backup with the clock ahead"
sleep 1.5
daemon_start
sleep 1.5
my_q -e "FLUSH BINARY LOGS"
sleep 1.5
workload_stop
binlog_mark_end

say "verify and list: the first dump's window starts on the server's clock"
run_runner -c "$conf" verify
expect_rc 0 "verify"
assert_contains "$KB_TMP/out" "any time from $server" "the window from the server's clock"
run_runner -c "$conf" list --json
expect_rc 0 "list --json"
assert_eq "$(jq -r --arg id "$first" '.[] | select(.id == $id) | .wal.recoverable_from' \
	"$KB_TMP/out")" "$server" "list --json: the first dump's window starts"

say "a time before the first dump on the server's clock: refused"
t=$(second_after_row "$early")
[[ "$t" < "$server" ]] || fail "$t is not before the dump's end $server"
run_runner -c "$conf" trigger restore --at "$t" --database shop_early
expect_rc 1 "restore --at $t, before every dump on the server's clock"
schema_absent shop_early "restore --at before every dump"

say "a time between the dumps, and one after both: exact"
restore_check "$(second_after_row "$between")" shop_between
restore_check "$(second_after_row "$(($(rows) - 5))")" shop_late
echo "ok"

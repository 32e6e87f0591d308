#!/usr/bin/env bash
# MariaDB point-in-time recovery with [mysql] binlog = archive, on a real
# MariaDB with log_bin: the daemon archives the binary log while a workload
# inserts a row every ~100 ms (each row holds NOW(6), the time its binary
# log events carry; each commit's time is logged too); a dump triggered
# meanwhile records its binary log position in the manifest; FLUSH BINARY
# LOGS and more writes; the daemon SIGKILLed and started again, then the
# server restarted under it; restore --at T into a new database (through
# the daemon, which goes on archiving): exactly the rows of second T and
# before, for a T before the kill and one after the restart (no gap, no
# event twice: the primary key would refuse a row replayed twice); restore
# --position FILE:POS: exactly the rows written before it; restore --gtid
# SET: exactly the rows up to that transaction, and the sets that name no
# point of the archive refused before anything is written; the archiving
# metrics count the reconnect.  A binary log piece with a byte changed,
# then deleted from storage: verify names it and exits 1, restore --at past
# it refuses before writing anything; a replay that fails drops the
# database the restore created; files the server purged unarchived: the
# daemon says so and goes on.  A server without
# log_bin: check says so (exit 1), a backup is refused before anything is
# stored.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"
. "$(dirname "$0")/../lib-binlog.sh"

binlog_file_setup
mport=$(free_port)
printf '\n[metrics]\nlisten = 127.0.0.1:%s\n' "$mport" >>"$conf"

say "check: the server writes a binary log"
run_runner -c "$conf" check
expect_rc 0 "check"

say "the daemon archives; a dump while the workload writes"
daemon_start
workload_start
sleep 1.5
run_runner -c "$conf" trigger backup
expect_rc 0 "triggered backup"
manifest=$(find "$store/test/db/backups" -name manifest.json | head -1)
jq -e '.details.binlog | (.file | test("^mysql-bin\\.[0-9]{6}$")) and .position > 4 and
	(.gtid | test("^[0-9]+-[0-9]+-[0-9]+$"))' "$manifest" >/dev/null ||
	fail "the manifest records no binary log position: $(jq -c .details "$manifest")"
dump_file=$(jq -r .details.binlog.file "$manifest")

say "FLUSH BINARY LOGS and more writes"
sleep 1
my_q -e "FLUSH BINARY LOGS"
sleep 1.5
before_kill=$(my_q -N -e "SELECT COUNT(*) FROM shop.ticks")

say "the daemon SIGKILLed and started again, then the server restarted"
kill -9 "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
sleep 1
daemon_start
sleep 1
mariadb_restart my
daemon_archiving 3
sleep 2
workload_stop
# A binary log position with the rows before it known, then two rows after it.
read -r pos_file pos_off _ < <(my_q -N -e "SHOW MASTER STATUS")
pos_gtid=$(my_q -N -e "SELECT @@gtid_binlog_pos")
rows_at_pos=$(my_q -N -e "SELECT COUNT(*), SUM(id), MAX(id) FROM shop.ticks")
my_q -e "INSERT INTO shop.ticks (ts) VALUES (NOW(6)); INSERT INTO shop.ticks (ts) VALUES (NOW(6))"
binlog_mark_end
echo "rows: $(my_q -N -e "SELECT COUNT(*) FROM shop.ticks"), $(wc -l <"$KB_TMP/commits") commits logged"
[ "$(pgrep -fc -- "--result-file=$KB_TMP/")" = 1 ] ||
	fail "not one mariadb-binlog: $(pgrep -fa -- "--result-file=$KB_TMP/")"

say "the archiving metrics"
curl -sf "http://127.0.0.1:$mport/metrics" >"$KB_TMP/metrics" || fail "no /metrics"
grep -E '^kbackup_binlog_last_event_timestamp_seconds\{.*\} [1-9][0-9]+$' \
	"$KB_TMP/metrics" >/dev/null || fail "no newest event time: $(grep binlog "$KB_TMP/metrics")"
grep -E '^kbackup_binlog_reconnects_total\{.*\} [1-9][0-9]*$' "$KB_TMP/metrics" >/dev/null ||
	fail "the server restart not counted: $(grep binlog "$KB_TMP/metrics")"
grep -E '^kbackup_binlog_pieces_total\{.*\} [1-9][0-9]*$' "$KB_TMP/metrics" >/dev/null ||
	fail "no pieces counted: $(grep binlog "$KB_TMP/metrics")"
grep -q '^kbackup_binlog_archive_lag_seconds{' "$KB_TMP/metrics" || fail "no archive lag"

say "verify and list: every dump's window"
run_runner -c "$conf" verify
expect_rc 0 "verify"
assert_contains "$KB_TMP/out" "binlog: backup " "the window"
assert_contains "$KB_TMP/out" "any time from" "the window"
run_runner -c "$conf" list --json
expect_rc 0 "list --json"
jq -e '.[0].wal | .restorable and (.binlog_from | startswith("mysql-bin.")) and
	(.recoverable_to | test("Z$"))' "$KB_TMP/out" >/dev/null ||
	fail "list --json gives no window: $(jq -c '.[0].wal' "$KB_TMP/out")"

say "restore --at --dry-run: the plan"
t1=$(second_after_row "$((before_kill - 5))")
run_runner -c "$conf" trigger restore --at "$t1" --database shop_t1 --dry-run
expect_rc 0 "triggered dry run"
assert_contains "$(cat "$KB_TMP/out" "$KB_TMP/log")" "then the binary logs\" from=$dump_file" \
	"the plan"

say "restore --at T before the kill, and after the server restart"
restore_check "$t1" shop_t1
last=$(my_q -N -e "SELECT COUNT(*) FROM shop.ticks")
t2=$(second_after_row "$((last - 12))")
restore_check "$t2" shop_t2
[ "$(rows_at shop "$t2" | cut -f1)" -gt "$before_kill" ] || fail "t2 is not after the kill"

say "restore --position FILE:POS: the events before it"
run_runner -c "$conf" trigger restore --position "$pos_file:$pos_off" --database shop_p
expect_rc 0 "restore --position $pos_file:$pos_off"
assert_eq "$(my_q -N -e "SELECT COUNT(*), SUM(id), MAX(id) FROM shop_p.ticks")" \
	"$rows_at_pos" "rows of shop_p at $pos_file:$pos_off"
run_runner -c "$conf" trigger restore --position "nonsense" --database shop_p
expect_rc 2 "restore --position nonsense"

say "restore --gtid SET: the transactions up to and including it"
run_runner -c "$conf" trigger restore --gtid "$pos_gtid" --database shop_g --dry-run
expect_rc 0 "restore --gtid $pos_gtid --dry-run"
assert_contains "$(cat "$KB_TMP/out" "$KB_TMP/log")" "(the end of GTID $pos_gtid)" "the plan"
schema_absent shop_g "the dry run"
run_runner -c "$conf" trigger restore --gtid "$pos_gtid" --database shop_g
expect_rc 0 "restore --gtid $pos_gtid"
assert_eq "$(my_q -N -e "SELECT COUNT(*), SUM(id), MAX(id) FROM shop_g.ticks")" \
	"$rows_at_pos" "rows of shop_g at GTID $pos_gtid"
seq=${pos_gtid##*-}
ds=${pos_gtid%-*}
# What no single point of the archive is: refused before anything is written.
gtid_refused() {	# set, rc, what the log says
	run_runner -c "$conf" trigger restore --gtid "$1" --database shop_gx
	expect_rc "$2" "restore --gtid $1"
	assert_contains "$(cat "$KB_TMP/out" "$KB_TMP/log")" "$3" "restore --gtid $1 says why"
	schema_absent shop_gx "restore --gtid $1"
}
gtid_refused "$ds-$((seq + 1000))" 1 "the archive does not reach GTID $ds-$((seq + 1000)) yet"
gtid_refused "${ds%-*}-99-$seq" 1 "GTID ${ds%-*}-99-$seq is not in the binary log"
gtid_refused "$ds-1" 1 "name an older backup"
gtid_refused "$pos_gtid,$pos_gtid" 2 "a second GTID of domain"
gtid_refused "nonsense" 2 "restore --gtid takes a MariaDB GTID position"
gtid_refused "$pos_gtid,77-1-3" 1 "the GTID position is no point of the binary log"

say "a binary log piece with a byte changed in storage"
kill "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
piece=$(find "$binlog" -type f | sort | sed -n 3p)
rel=${piece#"$store/"}
cp "$piece" "$KB_TMP/piece.orig"
flip_bit "$piece" $(($(stat -c %s "$piece") / 2))
run_runner -c "$conf" verify
expect_rc 1 "verify with a piece damaged"
assert_contains "$KB_TMP/out" "$rel" "verify names the damaged piece"
run_runner -c "$conf" restore --at "$t2" --database shop_t3
expect_rc 1 "restore --at past the damaged piece"
assert_contains "$KB_TMP/log" "refused before anything was written" "refused"
assert_contains "$KB_TMP/log" "$rel" "the refusal names the damaged piece"
schema_absent shop_t3 "restore --at past the damaged piece"
cp "$KB_TMP/piece.orig" "$piece"

say "a replay that fails after the dump: the database the restore made is dropped"
cat >"$KB_TMP/binlog-fails" <<'SH'
#!/bin/sh
mariadb-binlog "$@" && echo "SELECT 1 FROM no_such_table;"
SH
chmod +x "$KB_TMP/binlog-fails"
sed "/^binlog = archive/a binlog_command = $KB_TMP/binlog-fails" "$conf" >"$KB_TMP/kb-fails.conf"
chmod 600 "$KB_TMP/kb-fails.conf"
run_runner -c "$KB_TMP/kb-fails.conf" restore --at "$t2" --database shop_t4
expect_rc 1 "restore --at whose replay fails"
assert_contains "$KB_TMP/log" "dropped the database this restore created" "dropped"
schema_absent shop_t4 "restore --at whose replay fails"

say "a binary log piece deleted from storage"
rm "$piece"
run_runner -c "$conf" verify
expect_rc 1 "verify with a piece missing"
assert_contains "$KB_TMP/out" "${rel%-*}-" "verify names the missing piece"
run_runner -c "$conf" restore --at "$t2" --database shop_t3
expect_rc 1 "restore --at past the missing piece"
assert_contains "$KB_TMP/log" "refused before anything was written" "refused"
schema_absent shop_t3 "restore --at past the missing piece"

say "files the server purged before they were archived: a gap, archiving goes on"
my_q -e "INSERT INTO shop.ticks (ts) VALUES (NOW(6)); FLUSH BINARY LOGS;
	INSERT INTO shop.ticks (ts) VALUES (NOW(6)); FLUSH BINARY LOGS"
read -r current _ < <(my_q -N -e "SHOW MASTER STATUS")
my_q -e "PURGE BINARY LOGS TO '$current'"
daemon_start
for _ in $(seq 1 100); do
	[ -d "$binlog/$current" ] && break
	sleep 0.1
done
[ -d "$binlog/$current" ] || fail "$current not archived: $(tail -3 "$KB_TMP/daemon.log")"
assert_contains "$(cat "$KB_TMP/daemon.log")" "no longer has the binary log the archive needs" \
	"the gap logged"
kill "$DAEMON"
wait "$DAEMON" 2>/dev/null || true

say "a server without log_bin"
MY_SERVER_ARGS= mariadb_start nolog
write_engine_config "$KB_TMP/nolog.conf" mysql "$KB_TMP/nolog-store" <<EOF
socket = $MY_SOCK_nolog
user = kb
password_env = KB_TEST_MYSQL_PW
databases = mysql
binlog = archive
EOF
sed -i 's/^name = db/name = nolog/' "$KB_TMP/nolog.conf"
run_runner -c "$KB_TMP/nolog.conf" check
expect_rc 1 "check without log_bin"
assert_contains "$KB_TMP/out" "log_bin is off" "check says why"
run_runner -c "$KB_TMP/nolog.conf" backup
expect_rc 1 "backup without log_bin"
assert_contains "$KB_TMP/log" "refused before anything was written" "backup refused"
expect_nothing_stored "$KB_TMP/nolog-store" "backup without log_bin"

say "binlog = archive with a list of databases: a configuration error"
sed -i 's/^databases = mysql$/databases = mysql shop/' "$KB_TMP/nolog.conf"
run_runner -c "$KB_TMP/nolog.conf" check --offline
expect_rc 2 "binlog = archive and a list of databases"
assert_contains "$KB_TMP/log" "[mysql] binlog = archive: databases must be one database or *" \
	"the error names the key"
echo "ok"

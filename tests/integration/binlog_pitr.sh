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
# --position FILE:POS: exactly the rows written before it.  A
# binary log piece deleted from storage: verify names it and exits 1,
# restore --at past it refuses before writing anything.  A server without
# log_bin: check says so (exit 1), a backup is refused before anything is
# stored.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

command -v mariadb-binlog >/dev/null || skip "mariadb-binlog not installed"
MY_SERVER_ARGS="--log-bin=mysql-bin --server-id=1 --binlog-format=ROW" mariadb_start my
store=$KB_TMP/backups
conf=$KB_TMP/kb.conf
write_engine_config "$conf" mysql "$store" <<EOF
socket = $MY_SOCK
user = kb
password_env = KB_TEST_MYSQL_PW
databases = shop
binlog = archive
binlog_flush = 1s
EOF
export KB_TEST_MYSQL_PW=$MY_PASSWORD
binlog=$store/test/db/binlog

my_q <<'SQL'
CREATE DATABASE shop;
CREATE TABLE shop.ticks (id INT AUTO_INCREMENT PRIMARY KEY, ts DATETIME(6) NOT NULL);
SQL

say "check: the server writes a binary log"
run_runner -c "$conf" check
expect_rc 0 "check"

daemon_start() {
	local n
	n=$(grep -c 'msg="binary log archiving"' "$KB_TMP/daemon.log" 2>/dev/null || true)
	"$RUNNER" -c "$conf" run >>"$KB_TMP/daemon.log" 2>&1 &
	DAEMON=$!
	at_exit "kill $DAEMON 2>/dev/null"
	daemon_archiving "$((n + 1))"
}
daemon_archiving() {	# sessions
	for _ in $(seq 1 150); do
		[ "$(grep -c 'msg="binary log archiving"' "$KB_TMP/daemon.log")" -ge "$1" ] &&
			return 0
		sleep 0.1
	done
	fail "the daemon does not archive: $(tail -5 "$KB_TMP/daemon.log")"
}

# One row every ~100 ms until $KB_TMP/stop exists; failed inserts (the
# server restarting) are retried by the next round.
workload() {
	while [ ! -e "$KB_TMP/stop" ]; do
		if my_q -e "INSERT INTO shop.ticks (ts) VALUES (NOW(6))" 2>/dev/null; then
			date +%s.%N >>"$KB_TMP/commits"
		fi
		sleep 0.1
	done
}

# The whole second T (UTC) after row number n's second, and the rows of T and before.
second_after_row() {	# n
	my_q -N -e "SELECT DATE_FORMAT(FROM_UNIXTIME(FLOOR(UNIX_TIMESTAMP(ts)) + 1),
		'%Y-%m-%dT%H:%i:%sZ') FROM shop.ticks ORDER BY id LIMIT $(($1 - 1)), 1"
}
rows_at() {	# database T
	local t=${2%Z}
	my_q -N -e "SELECT COUNT(*), IFNULL(SUM(id), 0), IFNULL(MAX(id), 0) FROM \`$1\`.ticks
		WHERE ts < TIMESTAMP('${t/T/ }') + INTERVAL 1 SECOND"
}
restore_check() {	# T database
	local want got
	run_runner -c "$conf" trigger restore --at "$1" --database "$2"
	[ "$rc" = 0 ] || fail "restore --at $1 into $2: exit status $rc: $(cat "$KB_TMP/log")"
	want=$(rows_at shop "$1")
	got=$(my_q -N -e "SELECT COUNT(*), IFNULL(SUM(id), 0), IFNULL(MAX(id), 0)
		FROM \`$2\`.ticks")
	assert_eq "$got" "$want" "rows of $2 (count, sum, max id) at $1"
	echo "restored at $1: $got"
}

export TZ=UTC
say "the daemon archives; a dump while the workload writes"
daemon_start
workload &
WORKLOAD=$!
at_exit "touch $KB_TMP/stop; wait $WORKLOAD 2>/dev/null"
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
touch "$KB_TMP/stop"
wait "$WORKLOAD"
# A binary log position with the rows before it known, then two rows after it.
read -r pos_file pos_off _ < <(my_q -N -e "SHOW MASTER STATUS")
rows_at_pos=$(my_q -N -e "SELECT COUNT(*), SUM(id), MAX(id) FROM shop.ticks")
my_q -e "INSERT INTO shop.ticks (ts) VALUES (NOW(6)); INSERT INTO shop.ticks (ts) VALUES (NOW(6))"
sleep 2.5	# a flush after the last row
echo "rows: $(my_q -N -e "SELECT COUNT(*) FROM shop.ticks"), $(wc -l <"$KB_TMP/commits") commits logged"
[ "$(pgrep -fc -- "--result-file=$KB_TMP/")" = 1 ] ||
	fail "not one mariadb-binlog: $(pgrep -fa -- "--result-file=$KB_TMP/")"

say "verify: every dump's window"
run_runner -c "$conf" verify
expect_rc 0 "verify"
assert_contains "$KB_TMP/out" "binlog: backup " "the window"
assert_contains "$KB_TMP/out" "any time from" "the window"

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

say "a binary log piece deleted from storage"
kill "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
piece=$(find "$binlog" -type f | sort | sed -n 3p)
rm "$piece"
rel=${piece#"$store/"}
run_runner -c "$conf" verify
expect_rc 1 "verify with a piece missing"
assert_contains "$KB_TMP/out" "${rel%-*}-" "verify names the missing piece"
run_runner -c "$conf" restore --at "$t2" --database shop_t3
expect_rc 1 "restore --at past the missing piece"
assert_contains "$KB_TMP/log" "refused before anything was written" "refused"
[ "$(my_q -N -e "SELECT COUNT(*) FROM information_schema.schemata
	WHERE schema_name = 'shop_t3'")" = 0 ] || fail "restore created shop_t3"

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
echo "ok"

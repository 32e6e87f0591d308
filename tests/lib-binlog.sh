# Helpers of the MariaDB point-in-time recovery tests (binlog_pitr,
# binlog_s3), sourced after lib.sh and lib-engines.sh.
#
# binlog_server_start: a MariaDB with log_bin (ROW, gtid_strict_mode: a replay
# that logged the old GTIDs again would fail) and the table
# shop.ticks; binlog_config FILE STORE: a definition of shop with binlog =
# archive (an empty STORE: the [storage] section comes on stdin); the
# daemon, a workload of one row every ~100 ms whose rows hold NOW(6) (the
# time their binary log events carry), and the checks of a restore --at.

command -v mariadb-binlog >/dev/null || skip "mariadb-binlog not installed"
export TZ=UTC

binlog_server_start() {
	MY_SERVER_ARGS="--log-bin=mysql-bin --server-id=1 --binlog-format=ROW --gtid-strict-mode=1" \
		mariadb_start my
	export KB_TEST_MYSQL_PW=$MY_PASSWORD
	my_q <<'SQL'
CREATE DATABASE shop;
CREATE TABLE shop.ticks (id INT AUTO_INCREMENT PRIMARY KEY, ts DATETIME(6) NOT NULL);
SQL
}

# The server and a definition archiving to a directory: $store, $conf, and
# $binlog where the pieces are.
binlog_file_setup() {
	binlog_server_start
	store=$KB_TMP/backups
	conf=$KB_TMP/kb.conf
	binlog_config "$conf" "$store" </dev/null
	binlog=$store/test/db/binlog
}

binlog_config() {	# file storage-dir
	local mysql
	mysql="socket = $MY_SOCK
user = kb
password_env = KB_TEST_MYSQL_PW
databases = shop
binlog = archive
binlog_flush = 1s"
	if [ -n "$2" ]; then
		write_engine_config "$1" mysql "$2" <<<"$mysql"
		return
	fi
	write_engine_config "$1" mysql "$KB_TMP/unused" <<<"$mysql"
	sed -i '/^\[storage\]$/,$d' "$1"
	cat >>"$1"
}

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

# One row every ~100 ms until workload_stop, each commit's time logged;
# failed inserts (the server restarting) are retried by the next round.
workload() {
	while [ ! -e "$KB_TMP/stop" ]; do
		if my_q -e "INSERT INTO shop.ticks (ts) VALUES (NOW(6))" 2>/dev/null; then
			date +%s.%N >>"$KB_TMP/commits"
		fi
		sleep 0.1
	done
}
workload_start() {
	rm -f "$KB_TMP/stop"
	workload &
	WORKLOAD=$!
	at_exit "touch $KB_TMP/stop; wait $WORKLOAD 2>/dev/null"
}
workload_stop() {
	touch "$KB_TMP/stop"
	wait "$WORKLOAD"
}

# An event two seconds after the last row, then a flush: the window (which
# ends the second before the newest archived event) reaches past every row.
binlog_mark_end() {
	sleep 2.2
	my_q -e "CREATE TABLE IF NOT EXISTS shop.marks (i INT); INSERT INTO shop.marks VALUES (1)"
	sleep 1.5
}

# The whole second T (UTC) after row number n's second.
schema_absent() {	# database what
	[ "$(my_q -N -e "SELECT COUNT(*) FROM information_schema.schemata
		WHERE schema_name = '$1'")" = 0 ] || fail "$2 created $1"
}

second_after_row() {	# n
	my_q -N -e "SELECT DATE_FORMAT(FROM_UNIXTIME(FLOOR(UNIX_TIMESTAMP(ts)) + 1),
		'%Y-%m-%dT%H:%i:%sZ') FROM shop.ticks ORDER BY id LIMIT $(($1 - 1)), 1"
}
# Count, sum and max of the ids of the rows of second T and before.
rows_at() {	# database T
	local t=${2%Z}
	my_q -N -e "SELECT COUNT(*), IFNULL(SUM(id), 0), IFNULL(MAX(id), 0) FROM \`$1\`.ticks
		WHERE ts < TIMESTAMP('${t/T/ }') + INTERVAL 1 SECOND"
}
# verify shows a window; then restore --at t, the second after the row n
# rows before the last (the command itself): exactly the rows up to it.
verify_then_restore() {	# rows-back database
	run_runner -c "$conf" verify
	expect_rc 0 "verify"
	assert_contains "$KB_TMP/out" "any time from" "the window"
	t=$(second_after_row "$(($(my_q -N -e "SELECT COUNT(*) FROM shop.ticks") - $1))")
	restore_check "$t" "$2" direct
}
# restore --at T --database DB (through the daemon, or the command itself
# with "direct"): exactly the rows of second T and before.
restore_check() {	# T database [direct]
	local got
	if [ "${3:-}" = direct ]; then
		run_runner -c "$conf" restore --at "$1" --database "$2"
	else
		run_runner -c "$conf" trigger restore --at "$1" --database "$2"
	fi
	[ "$rc" = 0 ] || fail "restore --at $1 into $2: exit status $rc: $(cat "$KB_TMP/out" "$KB_TMP/log")
$(grep -v 'level=debug' "$KB_TMP/daemon.log" 2>/dev/null | tail -12)"
	got=$(my_q -N -e "SELECT COUNT(*), IFNULL(SUM(id), 0), IFNULL(MAX(id), 0)
		FROM \`$2\`.ticks")
	assert_eq "$got" "$(rows_at shop "$1")" "rows of $2 (count, sum, max id) at $1"
	echo "restored at $1: $got"
}

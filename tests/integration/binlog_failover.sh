#!/usr/bin/env bash
# The binary log archive follows one server's log, and says so when the
# server it reaches does not continue that log, instead of mixing two logs
# under the same file names.  On real MariaDB servers: an archive of server
# 1; the definition then pointed at another server that is no replica of it
# (server id 2, its own transactions: more of them, then fewer than the
# archive holds); server 1 after RESET MASTER (its log starts
# again at mysql-bin.000001); server 1 with a new file of the archive's
# newest name, shorter and then longer than the archive's piece but other
# bytes.  check says whether the server is the archive's writer.  Each time
# the daemon stores nothing, logs which check failed, and
# tries again, and verify still passes on what the archive holds.  (That a
# server restarted with its log as archived is resumed: binlog_pitr; that a
# promoted replica is followed: binlog_promote.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"
. "$(dirname "$0")/../lib-binlog.sh"

binlog_file_setup
sock1=$MY_SOCK

pieces() { (cd "$binlog" && find . -type f | sort | xargs sha256sum); }

# The daemon started on conf: the archiving stops with reason $1, twice
# (it tries again), and nothing is stored.
refused() {	# reason
	local before n
	before=$(pieces)
	n=$(grep -c 'binary log archiving stopped, trying again' "$KB_TMP/daemon.log" || true)
	"$RUNNER" -c "$conf" run >>"$KB_TMP/daemon.log" 2>&1 &
	DAEMON=$!
	at_exit "kill $DAEMON 2>/dev/null"
	for _ in $(seq 1 100); do
		[ "$(grep -c 'binary log archiving stopped, trying again' "$KB_TMP/daemon.log")" \
			-ge $((n + 2)) ] && break
		sleep 0.1
	done
	kill "$DAEMON"
	wait "$DAEMON" 2>/dev/null || true
	[ "$(grep -c 'binary log archiving stopped, trying again' "$KB_TMP/daemon.log")" \
		-ge $((n + 2)) ] || fail "archiving did not stop twice: $(tail -5 "$KB_TMP/daemon.log")"
	grep 'binary log archiving stopped' "$KB_TMP/daemon.log" | tail -1 | grep -qF -- "$1" ||
		fail "not the reason '$1': $(grep 'archiving stopped' "$KB_TMP/daemon.log" | tail -1)"
	assert_eq "$(pieces)" "$before" "the archive after: $1"
	run_runner -c "$conf" verify
	expect_rc 0 "verify after: $1"
}

say "server 1 archived, ending inside its current file"
run_runner -c "$conf" backup
expect_rc 0 "backup"
daemon_start
my_q -e "INSERT INTO shop.ticks (ts) VALUES (NOW(6)); FLUSH BINARY LOGS;
	INSERT INTO shop.ticks (ts) VALUES (NOW(6)); FLUSH BINARY LOGS;
	INSERT INTO shop.ticks (ts) VALUES (NOW(6))"
sleep 2.5
kill "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
read -r current _ < <(my_q -N -e "SHOW MASTER STATUS")
[ -d "$binlog/$current" ] || fail "$current not archived"
ls "$binlog/$current" | grep -qv '\.last$' || fail "the archive does not end inside $current"

run_runner -c "$conf" check
expect_rc 0 "check on server 1"
assert_contains "$KB_TMP/out" "binary log archive: ok, ends in $current, written by this server" \
	"check"

say "a failover to a server that is no replica of server 1"
MY_SERVER_ARGS="--log-bin=mysql-bin --server-id=2 --binlog-format=ROW --gtid-strict-mode=1" \
	mariadb_start two
# More transactions than server 1 has: only its files show that it is another log.
MY_SOCK=$MY_SOCK_two my_q -e "CREATE DATABASE shop; CREATE TABLE shop.t (i INT);
	INSERT INTO shop.t VALUES (1); FLUSH BINARY LOGS; INSERT INTO shop.t VALUES (2);
	FLUSH BINARY LOGS; INSERT INTO shop.t VALUES (3); FLUSH BINARY LOGS"
for i in $(seq 1 20); do MY_SOCK=$MY_SOCK_two my_q -e "INSERT INTO shop.t VALUES ($i)"; done
sed -i "s|^socket = .*|socket = $MY_SOCK_two|" "$conf"
run_runner -c "$conf" check
expect_rc 0 "check on server 2 (its files are read by the archiving)"
assert_contains "$KB_TMP/out" "the archiving goes on from it (a failover)" "check says what it saw"
refused "of server id 2 does not continue the archive"
refused "where the archive has 0-1-"
[ ! -e "$binlog/2/link" ] || fail "a link to server 2 was stored"

say "a failover to a server that lacks archived transactions"
MY_SOCK=$MY_SOCK_two my_q -e "RESET MASTER; INSERT INTO shop.t VALUES (0)"
run_runner -c "$conf" check
expect_rc 1 "check on server 2, behind the archive"
assert_contains "$KB_TMP/out" "binary log archive: FAILED the server (server id 2) cannot continue the archive of server id 1: the server's binary log ends at 0-2-1, the archive has 0-1-" "check says so"
assert_contains "$KB_TMP/out" "it lacks archived transactions" "check says why"
refused "it lacks archived transactions"
[ ! -e "$binlog/2/link" ] || fail "a link to server 2 was stored"

say "server 1 again, after RESET MASTER"
sed -i "s|^socket = .*|socket = $sock1|" "$conf"
my_q -e "RESET MASTER"
refused "the server's oldest binary log is mysql-bin.000001, not after"

say "server 1 with a new $current, shorter than the archive's, then longer"
while read -r now _ < <(my_q -N -e "SHOW MASTER STATUS") && [ "$now" != "$current" ]; do
	my_q -e "FLUSH BINARY LOGS"
done
my_q -e "PURGE BINARY LOGS TO '$current'"
refused "$current on the server is not the file the archive holds: it has"
my_q -e "CREATE TABLE shop.pad (b LONGTEXT); INSERT INTO shop.pad VALUES (REPEAT('x', 300000))"
refused "$current on the server is not the file the archive holds: its bytes"
echo "ok"

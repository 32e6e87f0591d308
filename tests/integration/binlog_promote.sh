#!/usr/bin/env bash
# A failover under the binary log archive, on real MariaDB servers: server 1
# is the primary, server 2 its replica (GTIDs, log_slave_updates, its own
# mysql-bin.* files, whose names are server 1's again).  The definition
# reaches "the primary" through a socket link, as clients reach a Service or
# a virtual IP.  A dump of server 1 and archiving while a workload writes;
# the archiver killed, so that server 1 commits more than the archive holds;
# server 1 stopped, server 2 promoted, the link moved.  The daemon goes on
# from server 2 by GTID (a new history): restore --at a second that only
# server 2's log holds for the archive (written on server 1 while the
# archiver was down), one after the failover from server 1's dump, one from
# a dump of server 2, and --gtid of a server 2 transaction: exactly the rows
# of that point each time.  verify and list show the histories and the
# windows; prune, once server 1's dump is no longer kept, deletes server 1's
# log and keeps what server 2's dump needs.  (A server that does not
# continue the archive is refused: binlog_failover.)  PROMOTE_STORE=rgw
# (binlog_promote_rgw) stores on a real S3 server, Ceph RGW, encrypted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"
. "$(dirname "$0")/../lib-binlog.sh"

if [ "${PROMOTE_STORE:-file}" = rgw ]; then
	[ "${KBACKUP_S3_RGW:-1}" != 0 ] || skip "KBACKUP_S3_RGW=0"
	. "$KB_TOP/tests/s3/rgw.sh"
	rgw_have || skip "Ceph RGW not installed"
	rgw_start "$KB_TMP/rgw" >/dev/null || fail "Ceph RGW did not start"
	at_exit "rgw_stop"
	printf '%s' "$S3_SECRET_KEY" >"$KB_TMP/s3secret"
	openssl rand -hex 32 >"$KB_TMP/enckey"
	chmod 600 "$KB_TMP/s3secret" "$KB_TMP/enckey"
	export S3_SECRET_FILE=$KB_TMP/s3secret
	binlog_server_start
	conf=$KB_TMP/kb.conf
	s3_storage_section <<<"encryption_key_format = raw
encryption_key_file = $KB_TMP/enckey" | binlog_config "$conf" ""
	# The archive's keys after BASE/binlog/, one a line.
	keys() {
		s3_curl "$S3_ENDPOINT/$S3_BUCKET?list-type=2&prefix=kb%2Ftest%2Fdb%2Fbinlog%2F" |
			grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g; s|^kb/test/db/binlog/||'
	}
else
	binlog_file_setup
	keys() { [ ! -d "$binlog" ] || (cd "$binlog" && find . -type f | sed 's|^\./||'); }
fi
# The IDs of the backups, oldest first.
backups() {
	run_runner -c "$conf" list >/dev/null
	grep -o '[0-9]\{8\}T[0-9]\{6\}Z-[0-9a-f]\{6\}' "$KB_TMP/out" | sort -u
}
# Every dump but the newest expires at once: a dump of server 2 prunes server 1's.
printf '\n[retention]\nall = 1s\nhourly = off\ndaily = off\nweekly = off\nmonthly = off\n' >>"$conf"
ln -s "$MY_SOCK" "$KB_TMP/primary.sock"
sed -i "s|^socket = .*|socket = $KB_TMP/primary.sock|" "$conf"

say "server 2 replicates server 1"
MY_SERVER_ARGS="--log-bin=mysql-bin --server-id=2 --binlog-format=ROW --gtid-strict-mode=1
	--log-slave-updates" mariadb_start two
# Its own users come from server 1's log; its log starts empty.
MY_SOCK=$MY_SOCK_two my_q -e "SET sql_log_bin = 0; DROP USER 'kb'@'127.0.0.1', 'kb'@'localhost';
	SET sql_log_bin = 1; RESET MASTER;
	CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = $MY_PORT, MASTER_USER = 'kb',
		MASTER_PASSWORD = '$MY_PASSWORD', MASTER_USE_GTID = slave_pos;
	START SLAVE"
caught_up() {
	local pos
	pos=$(my_q -N -e "SELECT @@gtid_binlog_pos")
	[ "$(MY_SOCK=$MY_SOCK_two my_q -N -e "SELECT MASTER_GTID_WAIT('$pos', 30)")" = 0 ] ||
		fail "server 2 did not catch up with $pos: $(MY_SOCK=$MY_SOCK_two my_q -e 'SHOW SLAVE STATUS\G' | grep -i error)"
}
rows() { my_q -N -e "SELECT COUNT(*) FROM shop.ticks"; }

say "a dump of server 1, archived while the workload writes"
workload_start
sleep 1
run_runner -c "$conf" backup
expect_rc 0 "backup of server 1"
id_1=$(backups)
daemon_start
sleep 2
my_q -e "FLUSH BINARY LOGS"
sleep 2.5
kill -9 "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
n_archived=$(rows)
sleep 2	# committed on server 1 and replicated, not archived
workload_stop
n_failover=$(rows)
caught_up
[ "$n_failover" -gt $((n_archived + 5)) ] || fail "too few rows after the archiver: $n_archived, $n_failover"

say "the failover: server 1 stopped, server 2 promoted"
kill "$(cat "$KB_TMP/my/mysqld.pid")"
while [ -e "$KB_TMP/my/mysqld.pid" ] && kill -0 "$(cat "$KB_TMP/my/mysqld.pid")" 2>/dev/null; do
	sleep 0.1
done
MY_SOCK=$MY_SOCK_two
my_q -e "STOP SLAVE; RESET SLAVE ALL"
ln -sfn "$MY_SOCK_two" "$KB_TMP/primary.sock"
run_runner -c "$conf" check
expect_rc 0 "check on server 2"
assert_contains "$KB_TMP/out" "server id 2) has its transactions up to GTID 0-1-" "check"
assert_contains "$KB_TMP/out" "the archiving goes on from it (a failover)" "check"

say "the daemon goes on from server 2"
daemon_start
for _ in $(seq 1 100); do keys | grep -qx 2/link && break; sleep 0.1; done
keys | grep -qx 2/link || fail "no link of history 2: $(grep -v level=debug "$KB_TMP/daemon.log" | tail -5)"
assert_contains "$KB_TMP/daemon.log" "goes on from another server (a failover)" "the daemon's log"
# Killed as it enters the new history (the link stored, its pieces maybe not
# yet): the next daemon goes on in that history.
kill -9 "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
daemon_start
my_q -e "INSERT INTO shop.ticks (ts) VALUES (NOW(6)), (NOW(6)), (NOW(6))"
gtid=$(my_q -N -e "SELECT @@gtid_binlog_pos")
read -r pos_file pos_off _ < <(my_q -N -e "SHOW MASTER STATUS")
n_gtid=$(rows)
case $gtid in 0-2-*) ;; *) fail "server 2 writes GTID $gtid" ;; esac
workload_start
sleep 2
my_q -e "FLUSH BINARY LOGS"
sleep 1.5
workload_stop
binlog_mark_end
kill "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
n_stop=$(rows)
echo "rows: $n_archived archived from server 1, $n_failover at the failover, $n_gtid at $gtid, $n_stop"

say "verify and list show both histories"
run_runner -c "$conf" verify
expect_rc 0 "verify"
assert_contains "$KB_TMP/out" "binlog: history 2: server id 2 from mysql-bin." "verify names history 2"
assert_contains "$KB_TMP/out" "binlog: backup $id_1 (from mysql-bin.000001:" "verify: server 1's dump"
assert_contains "$KB_TMP/out" "any time from" "verify: its window"
keys | grep -q '^2/mysql-bin\.' || fail "nothing of server 2's log under history 2"
if [ "${PROMOTE_STORE:-file}" = rgw ]; then
	s3_curl "$S3_ENDPOINT/$S3_BUCKET/kb/test/db/binlog/2/link" >"$KB_TMP/link"
	[ -s "$KB_TMP/link" ] && ! grep -qa 'mysql-bin' "$KB_TMP/link" ||
		fail "the link on RGW is missing or in plain text"
fi
run_runner -c "$conf" list --json
expect_rc 0 "list --json"
grep -q '"recoverable_to"' "$KB_TMP/out" || fail "list --json: no window: $(cat "$KB_TMP/out")"

say "restore --at and --gtid from server 1's dump across the failover"
t_lag=$(second_after_row $(((n_archived + n_failover) / 2)))
t_after=$(second_after_row $((n_stop - 2)))
run_runner -c "$conf" restore --at "$t_lag" --dry-run
expect_rc 0 "restore --dry-run"
assert_contains "$KB_TMP/out" "then server id 2's log (a failover):" "the plan"
restore_check "$t_lag" r_lag direct
restore_check "$t_after" r_after direct
run_runner -c "$conf" restore "$id_1" --gtid "$gtid" --database r_gtid
expect_rc 0 "restore --gtid $gtid"
assert_eq "$(my_q -N -e "SELECT COUNT(*) FROM r_gtid.ticks")" "$n_gtid" "rows at GTID $gtid"
# A file name both servers wrote is the newer history's.
run_runner -c "$conf" restore "$id_1" --position "$pos_file:$pos_off" --database r_pos
expect_rc 0 "restore --position $pos_file:$pos_off (server 2's)"
assert_eq "$(my_q -N -e "SELECT COUNT(*) FROM r_pos.ticks")" "$n_gtid" "rows at $pos_file:$pos_off"
first=$(keys | sed -n 's|^2/\([^/]*\)/0\{20\}-.*|\1|p' | sort | head -1)
run_runner -c "$conf" restore "$id_1" --position "$first:200" --database r_before
expect_rc 1 "restore --position before where server 2's log continues the archive"
assert_contains "$KB_TMP/log" "is before where server id 2's log continues the archive" "the refusal"
schema_absent r_before "a refused restore --position"

if [ "${PROMOTE_STORE:-file}" = file ]; then
	say "history 2's link deleted: a gap that names it, and no file of history 2 is taken for server 1's"
	mv "$binlog/2/link" "$KB_TMP/link.saved"
	run_runner -c "$conf" verify
	expect_rc 1 "verify without the link"
	assert_contains "$KB_TMP/out" "ends at a gap: test/db/binlog/2/link is missing" "verify names it"
	run_runner -c "$conf" restore --at "$t_after" --database r_gap
	expect_rc 1 "restore --at past the missing link"
	assert_contains "$KB_TMP/log" "test/db/binlog/2/link is missing from the archive" "the refusal"
	schema_absent r_gap "a refused restore --at"
	say "history 2's link damaged: verify and restore say which object"
	cp "$KB_TMP/link.saved" "$binlog/2/link"
	flip_bit "$binlog/2/link" 200
	run_runner -c "$conf" verify
	expect_rc 1 "verify with a damaged link"
	assert_contains "$KB_TMP/out" "binary log archive: FAILED" "verify"
	assert_contains "$KB_TMP/out" "test/db/binlog/2/link" "verify names the link"
	run_runner -c "$conf" restore --at "$t_after" --database r_gap
	expect_rc 1 "restore --at with a damaged link"
	schema_absent r_gap "a refused restore --at"
	mv "$KB_TMP/link.saved" "$binlog/2/link"
fi

say "a dump of server 2; prune then deletes server 1's dump and log"
daemon_start
workload_start
sleep 1.5
run_runner -c "$conf" trigger backup
expect_rc 0 "backup of server 2 (through the daemon)"
sleep 2
workload_stop
binlog_mark_end
kill "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
n_all=$(rows)
[ "$(backups | wc -l)" = 1 ] || fail "not one dump left: $(backups)"
! keys | grep -q '^mysql-bin\.' || fail "server 1's log is still there: $(keys)"
keys | grep -qx 2/link || fail "history 2's link was pruned"
run_runner -c "$conf" verify
expect_rc 0 "verify after prune"
[ "$(grep -c 'binlog: backup .*any time from' "$KB_TMP/out")" = 1 ] ||
	fail "verify after prune: $(cat "$KB_TMP/out")"
restore_check "$(second_after_row $((n_all - 1)))" r_last direct
echo "ok"

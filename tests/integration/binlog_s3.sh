#!/usr/bin/env bash
# MariaDB point-in-time recovery through S3 (s3rver behind the proxy that
# checks every signature) with encryption: the daemon archives the binary
# log while a workload inserts a row every ~100 ms, a dump triggered
# meanwhile, FLUSH BINARY LOGS and more writes; every stored object is
# encrypted; restore --at T into a new database: exactly the rows of second
# T and before.  A wrong key: verify fails, restore --at refuses before
# writing anything.  Neither the S3 secret nor the key is in any log.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"
. "$(dirname "$0")/../lib-binlog.sh"

command -v node >/dev/null || skip "node not installed"
. "$KB_TOP/tests/s3/harness.sh"
s3_start "$KB_TMP/s3" >/dev/null || fail "s3 harness did not start"
at_exit "s3_stop"

printf '%s' "$S3_SECRET_KEY" >"$KB_TMP/s3secret"
openssl rand -hex 32 >"$KB_TMP/enckey"
openssl rand -hex 32 >"$KB_TMP/wrongkey"
chmod 600 "$KB_TMP/s3secret" "$KB_TMP/enckey" "$KB_TMP/wrongkey"
export S3_SECRET_FILE=$KB_TMP/s3secret S3_PREFIX=pitr
s3_section() {	# key-file
	s3_storage_section <<<"encryption_key_format = raw
encryption_key_file = $1"
}

binlog_server_start
conf=$KB_TMP/kb.conf
s3_section "$KB_TMP/enckey" | binlog_config "$conf" ""
s3_section "$KB_TMP/wrongkey" | binlog_config "$KB_TMP/wrong.conf" ""

say "archiving to S3 while the workload writes; a dump"
daemon_start
workload_start
sleep 1.5
run_runner -c "$conf" trigger backup
expect_rc 0 "triggered backup to S3"
sleep 1
my_q -e "FLUSH BINARY LOGS"
sleep 2
workload_stop
binlog_mark_end
kill "$DAEMON"
wait "$DAEMON" 2>/dev/null || true

say "every stored object is encrypted"
run_runner -c "$conf" list --json
expect_rc 0 "list --json"
assert_contains "$KB_TMP/out" '"cipher": "aes-256-gcm"' "the dump is encrypted"
s3_curl "$S3_ENDPOINT/$S3_BUCKET?list-type=2&prefix=pitr%2Ftest%2Fdb%2Fbinlog%2F" >"$KB_TMP/keys.xml"
n=0
for key in $(grep -o '<Key>[^<]*</Key>' "$KB_TMP/keys.xml" | sed 's/<[^>]*>//g'); do
	s3_curl "$S3_ENDPOINT/$S3_BUCKET/$key" >"$KB_TMP/piece"
	! grep -qa 'shop' "$KB_TMP/piece" || fail "$key holds plain text"
	n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "only $n binary log pieces in S3: $(cat "$KB_TMP/keys.xml")"
echo "$n pieces, none in plain text"

say "verify, then restore --at a second between two commits, from S3"
verify_then_restore 12 shop_at

say "a wrong key: verify fails, restore --at refuses, nothing is written"
run_runner -c "$KB_TMP/wrong.conf" verify
expect_rc 1 "verify with a wrong key"
run_runner -c "$KB_TMP/wrong.conf" restore --at "$t" --database shop_wrong
expect_rc 1 "restore with a wrong key"
[ "$(my_q -N -e "SELECT COUNT(*) FROM information_schema.schemata
	WHERE schema_name = 'shop_wrong'")" = 0 ] || fail "a refused restore created shop_wrong"
assert_not_contains "$KB_TMP/all.log" "$S3_SECRET_KEY" "S3 secret in the log"
assert_not_contains "$(cat "$KB_TMP/daemon.log")" "$S3_SECRET_KEY" "S3 secret in the daemon's log"
assert_not_contains "$KB_TMP/all.log" "$(cat "$KB_TMP/enckey")" "the key in the log"
assert_not_contains "$(cat "$KB_TMP/daemon.log")" "$MY_PASSWORD" "the password in the daemon's log"
echo "ok"

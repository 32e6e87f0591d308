#!/usr/bin/env bash
# Point-in-time recovery through S3 (s3rver behind the proxy that checks
# every signature) with encryption: wal-push as archive_command, a physical
# base backup while a workload commits a row every ~100 ms, more WAL,
# restore --at T into a new data directory: exactly the rows committed by
# T.  Then a wrong key: verify fails, restore refuses before writing
# anything, wal-get refuses (exit 126) and writes nothing.
. "$(dirname "$0")/../lib.sh"
. "$KB_TOP/tests/lib-pitr.sh"

command -v node >/dev/null || skip "node not installed"
. "$KB_TOP/tests/s3/harness.sh"
s3_start "$KB_TMP/s3" >/dev/null || fail "s3 harness did not start"
at_exit "s3_stop"

conf=$KB_TMP/kb.conf
printf '%s' "$S3_SECRET_KEY" >"$KB_TMP/s3secret"
openssl rand -hex 32 >"$KB_TMP/enckey"
chmod 600 "$KB_TMP/s3secret" "$KB_TMP/enckey"
pitr_own "$KB_TMP/s3secret" "$KB_TMP/enckey"
s3_section() {	# key-file
	S3_PREFIX=pitr S3_SECRET_FILE=$KB_TMP/s3secret s3_storage_section <<EOF2
encryption_key_format = raw
encryption_key_file = $1
EOF2
}

pitr_pg_conf "$PITR_RUNNER -c $conf wal-push %p"
pg_start
write_pitr_config "$conf" ""
s3_section "$KB_TMP/enckey" >>"$conf"
pitr_table

say "a base backup to S3 while the workload commits"
pitr_workload_start 1 60
sleep 1
run_pitr -c "$conf" --once
expect_rc 0 "physical backup to S3"
pitr_workload_wait
last=$(pitr_switch_and_wait)
run_pitr -c "$conf" list --json
expect_rc 0 "list --json"
assert_contains "$KB_TMP/out" '"cipher": "aes-256-gcm"' "the base backup is encrypted"
assert_contains "$KB_TMP/out" '"recoverable_to"' "list --json gives the window"
run_pitr -c "$conf" verify
expect_rc 0 "verify"

say "restore --at a second between two commits, from S3"
t=$(pitr_pick_time 25)
[ -n "$t" ] || fail "no time to restore to"
pitr_restore_check "$conf" "$t" "$KB_TMP/restored"
assert_not_contains "$KB_TMP/all.log" "$S3_SECRET_KEY" "S3 secret in the log"
assert_not_contains "$KB_TMP/all.log" "$(cat "$KB_TMP/enckey")" "the key in the log"

say "a wrong key: verify fails, restore and wal-get refuse, nothing is written"
openssl rand -hex 32 >"$KB_TMP/wrongkey"
chmod 600 "$KB_TMP/wrongkey"
pitr_own "$KB_TMP/wrongkey"
write_pitr_config "$KB_TMP/wrong.conf" ""
s3_section "$KB_TMP/wrongkey" >>"$KB_TMP/wrong.conf"
run_pitr -c "$KB_TMP/wrong.conf" verify
expect_rc 1 "verify with a wrong key"
assert_contains "$KB_TMP/out" "failed authentication" "wrong key named"
pitr_restore_refused "$KB_TMP/wrong.conf" "$KB_TMP/wrong-dir" "nothing was written" \
	"restore with a wrong key" --at "$t"
mkdir -p "$KB_TMP/wg" && pitr_own "$KB_TMP/wg"
cd "$KB_TMP/wg"
run_pitr -c "$KB_TMP/wrong.conf" wal-get "$last" "$KB_TMP/wg/RECOVERYXLOG"
expect_rc 126 "wal-get with a wrong key"
assert_contains "$KB_TMP/log" "failed authentication" "wal-get names the cause"
[ -z "$(ls "$KB_TMP/wg")" ] || fail "wal-get left files: $(ls "$KB_TMP/wg")"
run_pitr -c "$conf" wal-get "$last" "$KB_TMP/wg/RECOVERYXLOG"
expect_rc 0 "wal-get with the right key"
echo "ok"

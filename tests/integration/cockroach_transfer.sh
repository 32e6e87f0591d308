#!/usr/bin/env bash
# CockroachDB's BACKUP/RESTORE through the runner's /transfer endpoint, with
# tests/engines/cockroach standing in for CockroachDB (it cannot be installed
# here): the SQL sent, the files PUT by BACKUP come back byte for byte to
# RESTORE (Range GETs), HEAD and DELETE work, the token is refused after the
# job, the password is in no argv, no environment and no log (cockroach sql
# gets it from a password file in memory), a wrong password commits nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

command -v curl >/dev/null || skip "curl not installed"
export PATH="$KB_TOP/tests/engines:$PATH"
export FAKE_CR_DIR=$KB_TMP/fake
CR_PASSWORD="cr-${RANDOM}${RANDOM}-not-in-argv:@/%"
# The fake reads it from PGPASSFILE, and fails when it is in argv or the environment.
export FAKE_CR_PASSWORD=$CR_PASSWORD
export KB_TEST_CR_PW=$CR_PASSWORD
PORT=$(free_port)

write_engine_config "$KB_TMP/kb.conf" cockroach <<EOF
host = 127.0.0.1
user = root
password_env = KB_TEST_CR_PW
database = bank
listen = 127.0.0.1:$PORT
advertise_url = http://127.0.0.1:$PORT
EOF

say "check"
run_runner -c "$KB_TMP/kb.conf" check
expect_rc 0 "check"

say "backup: BACKUP INTO the runner, files packed into one archive"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup"
assert_contains "$KB_TMP/log" 'msg="backup committed"' "backup log"
grep -q "^BACKUP DATABASE \"bank\" INTO 'http://127.0.0.1:$PORT/transfer/[0-9a-f]\{32\}/' AS OF SYSTEM TIME '-10s';$" \
	"$FAKE_CR_DIR/sql" || fail "BACKUP statement: $(cat "$FAKE_CR_DIR/sql")"
token=$(sed -n 's|.*/transfer/\([0-9a-f]*\)/.*|\1|p' "$FAKE_CR_DIR/sql" | head -n 1)
assert_workdir_clean "$KB_TMP/work" "workdir"

say "the token is refused after the job"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/transfer/$token/LATEST" || true)
case "$code" in 200|201|204|206) fail "token still served after the job ($code)" ;; esac

say "unpack: the archive holds what BACKUP sent"
run_runner -c "$KB_TMP/kb.conf" unpack latest -o "$KB_TMP/backup.tar"
expect_rc 0 "unpack"
mkdir -p "$KB_TMP/untar"
tar -xf "$KB_TMP/backup.tar" -C "$KB_TMP/untar"
diff -r "$FAKE_CR_DIR/sent" "$KB_TMP/untar" >"$KB_TMP/diff" || fail "archive differs: $(cat "$KB_TMP/diff")"
[ ! -e "$KB_TMP/untar/progress/BACKUP-CHECKPOINT-tmp" ] || fail "deleted file archived"

say "restore into another name: RESTORE FROM LATEST, files served back"
run_runner -c "$KB_TMP/kb.conf" restore latest --database bank_copy
expect_rc 0 "restore"
tail -n 1 "$FAKE_CR_DIR/sql" | grep -q "^RESTORE DATABASE \"bank\" FROM LATEST IN 'http://127.0.0.1:$PORT/transfer/[0-9a-f]\{32\}/' WITH new_db_name = 'bank_copy';$" ||
	fail "RESTORE statement: $(tail -n 1 "$FAKE_CR_DIR/sql")"
token2=$(tail -n 1 "$FAKE_CR_DIR/sql" | sed -n 's|.*/transfer/\([0-9a-f]*\)/.*|\1|p')
[ "$token2" != "$token" ] || fail "the restore reused the backup's token"
for f in data/1.sst data/2.sst BACKUP_MANIFEST LATEST; do
	cmp "$FAKE_CR_DIR/sent/$f" "$FAKE_CR_DIR/got/$f" || fail "$f differs after the round trip"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/transfer/$token2/LATEST" || true)
case "$code" in 200|206) fail "restore token still served ($code)" ;; esac
assert_workdir_clean "$KB_TMP/work" "workdir after restore"

say "the password: in no argv, no log"
assert_not_contains "$FAKE_CR_DIR/argv" "$CR_PASSWORD" "password in cockroach's argv"
assert_not_contains "$FAKE_CR_DIR/argv" "$token" "token in cockroach's argv"
assert_not_contains "$KB_TMP/all.log" "$CR_PASSWORD" "password in the log"
assert_not_contains "$KB_TMP/all.log" "$token" "token in the log"

say "a wrong password fails, nothing committed"
write_engine_config "$KB_TMP/bad.conf" cockroach "$KB_TMP/bad-backups" <<EOF
host = 127.0.0.1
password_env = KB_TEST_BAD_PW
database = bank
listen = 127.0.0.1:$PORT
advertise_url = http://127.0.0.1:$PORT
EOF
export KB_TEST_BAD_PW="wrong-${RANDOM}-secret"
unset KB_TEST_CR_PW	# not this config's: the runner would pass it on like any variable
run_runner -c "$KB_TMP/bad.conf" --once
expect_rc 1 "backup with a wrong password"
assert_contains "$KB_TMP/log" "password authentication failed" "failure message"
assert_contains "$KB_TMP/log" "backup failed" "failure message"
assert_not_contains "$KB_TMP/log" "$KB_TEST_BAD_PW" "password in the log"
expect_nothing_stored "$KB_TMP/bad-backups" "failed dump"
assert_workdir_clean "$KB_TMP/work" "workdir after failure"
echo ok

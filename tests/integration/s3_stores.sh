#!/usr/bin/env bash
# S3 stores as a new user meets them, without the tests' own proxy:
#   plain s3rver (its own S3RVER key, no ListMultipartUploads): check,
#   --once, prune and list exit 0; the missing call costs one warning per
#   run, which says to set a lifecycle rule, and is never retried;
#   an endpoint that accepts connections and never answers: SIGINT ends
#   list, check, prune, verify and --once at once (exit 1, "cancelled"),
#   where each used to wait out its timeouts and retries;
#   and check --offline exits 2 on a bad value of every S3 key, naming it.
. "$(dirname "$0")/../lib.sh"

command -v node >/dev/null || skip "node not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
[ -x "$RUNNER" ] || skip "$RUNNER not built"
. "$KB_TOP/tests/s3/harness.sh"

DB=$KB_TMP/app.db
sqlite3 "$DB" "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'x');"
conf() {	# file [storage keys on stdin]
	s3_sqlite_config "$DB" db >"$1"
	chmod 600 "$1"
}

say "check --offline: a bad value of any S3 key exits 2, naming the key"
while read -r key value; do
	S3_ENDPOINT=http://127.0.0.1:9 S3_REGION=us-east-1 S3_BUCKET=b3b S3_ACCESS_KEY=AK \
	    S3_SECRET_KEY=SK conf "$KB_TMP/bad.conf" <<<"$key = $value"
	run_runner -c "$KB_TMP/bad.conf" check --offline
	expect_rc 2 "check --offline with $key = $value"
	assert_contains "$KB_TMP/log" "[storage] $key:" "the key named"
done <<'EOF'
endpoint https://s3.example.com/a/path
region eu central
bucket a/b
path_style maybe
tls_verify 2
credentials kerberos
role_arn role/kbackup
role_session_name a b
role_session_duration 13h
sts_endpoint sts.amazonaws.com
part_size 4MiB
part_size 6GiB
parts_in_flight 0
max_tries 101
object_lock on
storage_class glacier ir
sse aes256
sse_kms_key_id alias/backups
checksum md5
EOF

say "an endpoint that never answers: SIGINT ends each command at once"
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
conns = []
while True:
	c, _ = s.accept()
	conns.append(c)
' >"$KB_TMP/listener.port" &
listener=$!
at_exit "kill $listener"
for _ in $(seq 1 50); do [ -s "$KB_TMP/listener.port" ] && break; sleep 0.1; done
(
	export S3_ENDPOINT=http://127.0.0.1:$(cat "$KB_TMP/listener.port") S3_REGION=us-east-1
	export S3_BUCKET=b3b S3_ACCESS_KEY=AK S3_SECRET_KEY=SK
	conf "$KB_TMP/hang.conf" <<<"max_tries = 10"
)
for cmd in list check prune verify --once; do
	set +e
	"$RUNNER" -c "$KB_TMP/hang.conf" $cmd >"$KB_TMP/out" 2>"$KB_TMP/log" &
	pid=$!
	sleep 0.5
	wait_catches_sigint "$pid"
	kill -0 "$pid" 2>/dev/null || fail "$cmd ended before the signal: $(cat "$KB_TMP/log")"
	start=$(date +%s%N)
	kill -INT "$pid"
	# Waits up to 10 s: a command that ignored the signal would wait out 10
	# tries of 60 s each.
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		fail "$cmd still running 10 s after SIGINT"
	fi
	wait "$pid"
	rc=$?
	set -e
	echo "$cmd: exit $rc $((($(date +%s%N) - start) / 1000000)) ms after SIGINT"
	expect_rc 1 "$cmd cancelled"
	grep -q cancelled "$KB_TMP/log" "$KB_TMP/out" || fail "$cmd: no 'cancelled' in: $(cat "$KB_TMP/log")"
done

say "plain s3rver, no proxy"
s3_start "$KB_TMP/s3" >/dev/null || fail "s3 harness did not start"
at_exit "s3_stop"
(
	export S3_ENDPOINT=$S3_UPSTREAM S3_ACCESS_KEY=S3RVER S3_SECRET_KEY=S3RVER
	conf "$KB_TMP/plain.conf" </dev/null
)
run_runner -c "$KB_TMP/plain.conf" check
expect_rc 0 "check"
assert_contains "$KB_TMP/out" "ListMultipartUploads not implemented (set a lifecycle rule" \
	"check names the missing call"
for cmd in --once prune list; do
	run_runner -c "$KB_TMP/plain.conf" $cmd
	expect_rc 0 "$cmd on plain s3rver"
	n=$(grep -c 'level=warn' "$KB_TMP/log" || true)
	if [ "$cmd" = list ]; then
		assert_eq "$n" 0 "warnings from list"
	else
		assert_eq "$n" 1 "warnings from $cmd"
		assert_contains "$KB_TMP/log" "set a lifecycle rule that aborts incomplete multipart" \
			"the warning's advice"
	fi
	assert_not_contains "$KB_TMP/log" "retrying" "a retried request"
done
run_runner -c "$KB_TMP/plain.conf" list
assert_eq "$(grep -c '^20' "$KB_TMP/out")" 1 "backups listed"
s3_stop
echo ok

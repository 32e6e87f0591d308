#!/usr/bin/env bash
# A state directory copied to a second host (a cloned machine): both runners
# have one runner id.  Neither takes the other's running backup for a killed
# job of its own: the second is refused naming the other host and saying the
# state directory was copied, the first commits, and both backups verify.  A
# job of this host killed under the same runner id is still removed at once.
# The second host is a UTS namespace with another host name (unshare -u).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
unshare -u true 2>/dev/null || skip "unshare -u not permitted"
DB=$KB_TMP/big.db
sqlite3 "$DB" "CREATE TABLE b (x BLOB);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1024)
	INSERT INTO b SELECT randomblob(65536) FROM n"
for h in a c; do
	write_engine_config "$KB_TMP/$h.conf" sqlite "$KB_TMP/store" <<EOF
path = $DB
EOF
	sed -i "s|^workdir = .*|workdir = $KB_TMP/work-$h|" "$KB_TMP/$h.conf"
done
MARKERS=$KB_TMP/store/test/db/running

run_runner -c "$KB_TMP/a.conf" --once
expect_rc 0 "the first backup"
cp -a "$KB_TMP/work-a" "$KB_TMP/work-c"
id=$(cat "$KB_TMP/work-a/test.db/runner-id")

wait_marker() {
	for _ in $(seq 1 500); do
		ls "$MARKERS" 2>/dev/null | grep -q '\.json$' && return 0
		sleep 0.01
	done
	fail "no job marker appeared"
}

say "a backup on the cloned host while this host's backup runs"
unshare -u sh -c 'hostname kb-clone && exec "$@"' sh env "$RUNNER" -c "$KB_TMP/c.conf" --once \
	>/dev/null 2>"$KB_TMP/c.log" &
cpid=$!
wait_marker
run_runner -c "$KB_TMP/a.conf" --once
expect_rc 1 "a backup while the clone's runs"
assert_contains "$KB_TMP/log" "runner $id on host kb-clone" "the refusal names the other host"
assert_contains "$KB_TMP/log" "its state directory was copied" "and says why the ids are equal"
set +e
wait "$cpid"
rc=$?
set -e
cp "$KB_TMP/c.log" "$KB_TMP/log"
expect_rc 0 "the clone's backup"
run_runner -c "$KB_TMP/a.conf" list --json
[ "$(grep -c '"state": "ok"' "$KB_TMP/out")" = 2 ] || fail "two backups: $(grep '"id"' "$KB_TMP/out")"
run_runner -c "$KB_TMP/a.conf" verify --all
expect_rc 0 "verify --all"

say "a job of this host killed: the next run removes what it left at once"
"$RUNNER" -c "$KB_TMP/a.conf" --once >/dev/null 2>&1 &
apid=$!
wait_marker
kill -9 "$apid"
wait "$apid" 2>/dev/null || true
run_runner -c "$KB_TMP/a.conf" --once
expect_rc 0 "a backup after the killed one"
assert_contains "$KB_TMP/log" "a killed job of this runner" "the killed job's leftovers removed"
assert_not_contains "$KB_TMP/log" "state directory was copied" "this host's own job"
echo ok

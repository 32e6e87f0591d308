#!/usr/bin/env bash
# Definitions whose names once collided -- namespace a, name b-c and
# namespace a-b, name c -- in one workdir: each has its own lock, so a daemon
# of one does not stop a --once of the other; two daemons run side by side,
# and trigger reaches the daemon of its own definition, never the other's.
# A lock held while its file still names a killed runner: the message names
# the holder.
. "$(dirname "$0")/../lib.sh"
. "$KB_TOP/tests/lib-engines.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
for d in one two; do
	sqlite3 "$KB_TMP/$d.db" "CREATE TABLE t (v text); INSERT INTO t VALUES ('$d')"
done
write_engine_config "$KB_TMP/one.conf" sqlite <<EOF
path = $KB_TMP/one.db
EOF
write_engine_config "$KB_TMP/two.conf" sqlite <<EOF
path = $KB_TMP/two.db
EOF
sed -i 's/^name = db/name = b-c/; s/^namespace = test/namespace = a\nschedule = @daily/' \
	"$KB_TMP/one.conf"
sed -i 's/^name = db/name = c/; s/^namespace = test/namespace = a-b\nschedule = @daily/' \
	"$KB_TMP/two.conf"

start_daemon() {	# conf log
	: >"$2"
	env "$RUNNER" -c "$1" run >/dev/null 2>"$2" &
	DPID=$!
	at_exit "kill -9 $DPID"
	for _ in $(seq 1 50); do
		grep -q 'msg="daemon started"' "$2" && return 0
		kill -0 $DPID 2>/dev/null || fail "daemon of $1 exited: $(tail -3 "$2")"
		sleep 0.1
	done
	fail "daemon of $1 did not start: $(tail -3 "$2")"
}

say "a daemon of a/b-c holds its lock; a --once of a-b/c runs"
start_daemon "$KB_TMP/one.conf" "$KB_TMP/one.log"
D1=$DPID
run_runner -c "$KB_TMP/two.conf" --once
expect_rc 0 "--once of a-b/c next to the daemon of a/b-c"
run_runner -c "$KB_TMP/one.conf" --once
expect_rc 1 "--once of a/b-c while its daemon runs"
assert_contains "$KB_TMP/log" "another kbackup-runner for a/b-c is running (pid $D1" "lock message"
[ -e "$KB_TMP/work/a.b-c/lock" ] && [ -e "$KB_TMP/work/a-b.c/lock" ] ||
	fail "state directories: $(ls "$KB_TMP/work")"

say "two daemons in one workdir; trigger reaches its own"
start_daemon "$KB_TMP/two.conf" "$KB_TMP/two.log"
D2=$DPID
run_runner -c "$KB_TMP/one.conf" trigger backup
expect_rc 0 "trigger backup of a/b-c"
assert_contains "$KB_TMP/one.log" 'msg="backup committed"' "the daemon of a/b-c backed up"
assert_not_contains "$KB_TMP/two.log" 'msg="backup started"' "the daemon of a-b/c did nothing"
run_runner -c "$KB_TMP/two.conf" trigger backup
expect_rc 0 "trigger backup of a-b/c"
assert_contains "$KB_TMP/two.log" 'msg="backup committed"' "the daemon of a-b/c backed up"
run_runner -c "$KB_TMP/one.conf" list
[ "$(grep -c '^20' "$KB_TMP/out")" = 1 ] || fail "a/b-c has one backup: $(cat "$KB_TMP/out")"
run_runner -c "$KB_TMP/two.conf" list
[ "$(grep -c '^20' "$KB_TMP/out")" = 2 ] || fail "a-b/c has two backups: $(cat "$KB_TMP/out")"
run_runner -c "$KB_TMP/one.conf" trigger status
expect_rc 0 "trigger status"
assert_contains "$KB_TMP/out" "idle" "status"

say "a daemon of another definition behind the socket refuses"
kill -TERM "$D1" 2>/dev/null || true
wait "$D1" 2>/dev/null || true
ln -sf "$KB_TMP/work/a-b.c/control.sock" "$KB_TMP/work/a.b-c/control.sock"
n=$(grep -c 'msg="backup started"' "$KB_TMP/two.log")
run_runner -c "$KB_TMP/one.conf" trigger backup
expect_rc 2 "trigger through another definition's socket"
assert_contains "$KB_TMP/out" "this daemon serves a-b/c, not a/b-c" "the refusal names both"
[ "$(grep -c 'msg="backup started"' "$KB_TMP/two.log")" = "$n" ] || fail "the other daemon ran a backup"
kill -TERM "$D2"
wait "$D2" 2>/dev/null || true

# A runner writes its pid into the lock file just after it takes the lock:
# until then the file names the last holder, perhaps one killed long ago.
say "the lock's holder is named by the kernel, not by what the file still says"
kill -TERM "$D1" 2>/dev/null || true
wait "$D1" 2>/dev/null || true
printf '999999\n' >"$KB_TMP/work/a.b-c/lock"
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)' "$KB_TMP/work/a.b-c/lock" >"$KB_TMP/holder.out" &
holder=$!
at_exit "kill $holder"
wait_for_text "$KB_TMP/holder.out" locked 100 0.05
run_runner -c "$KB_TMP/one.conf" --once
expect_rc 1 "--once while another process holds the lock"
assert_contains "$KB_TMP/log" "another kbackup-runner for a/b-c is running (pid $holder," \
	"the holder's pid"
kill "$holder"
echo ok

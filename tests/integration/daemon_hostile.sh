#!/usr/bin/env bash
# The daemon from outside, as a hostile client would try it: trigger status
# while SIGHUPs reload the config (the status is read from the control
# socket's thread while the reload swaps the runner); SIGTERM during a backup
# whose dump tool left a child of its own holding its pipes.
. "$(dirname "$0")/../lib.sh"
. "$KB_TOP/tests/lib-engines.sh"

command -v python3 >/dev/null || skip "python3 not installed"
sqlite_tiny
sed -i 's/^engine = sqlite/engine = sqlite\nschedule = @daily/' "$KB_TMP/kb.conf"
printf '\n[metrics]\nlisten = 127.0.0.1:%s\n' "$(free_port)" >>"$KB_TMP/kb.conf"
SOCK=$KB_TMP/work/test.db/control.sock

daemon_up() {	# the daemon, its metrics port in $PORT
	local try
	for try in 1 2 3 4 5; do	# free_port races with other tests: pick again if taken
		: >"$KB_TMP/daemon.log"
		"$RUNNER" -c "$KB_TMP/kb.conf" run >"$KB_TMP/daemon.out" 2>"$KB_TMP/daemon.log" &
		DPID=$!
		at_exit "kill -9 $DPID"
		for _ in $(seq 1 80); do
			PORT=$(sed -n 's/.*msg="daemon started".* metrics_port=\([0-9]*\).*/\1/p' \
				"$KB_TMP/daemon.log")
			[ -n "$PORT" ] && [ -S "$SOCK" ] && return 0
			kill -0 $DPID 2>/dev/null || break
			sleep 0.1
		done
		grep -q "address in use" "$KB_TMP/daemon.log" ||
			fail "daemon did not start: $(tail -5 "$KB_TMP/daemon.log")"
		sed -i "s/^listen = .*/listen = 127.0.0.1:$(free_port)/" "$KB_TMP/kb.conf"
	done
	fail "no free port for the daemon"
}
daemon_alive() {	# what
	kill -0 $DPID 2>/dev/null || fail "$1: the daemon died: $(tail -20 "$KB_TMP/daemon.log")"
}
daemon_down() {
	kill -TERM $DPID
	set +e; wait $DPID; drc=$?; set -e
	[ "$drc" = 0 ] || fail "daemon exit status $drc: $(tail -20 "$KB_TMP/daemon.log")"
}

daemon_up

say "trigger status while SIGHUPs reload the config"
cp "$KB_TMP/kb.conf" "$KB_TMP/kb.daily"
sed 's/^schedule = @daily/schedule = @every 1h/' "$KB_TMP/kb.conf" >"$KB_TMP/kb.hourly"
python3 - "$SOCK" >"$KB_TMP/status.out" <<'EOF' &
import socket, sys, time
end = time.time() + 6
n = bad = 0
while time.time() < end:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(b"test/db status\n")
    d = b""
    while True:
        x = s.recv(4096)
        if not x:
            break
        d += x
    s.close()
    n += 1
    if not (b"\nschedule: @daily (UTC)\n" in d or b"\nschedule: @every 1h (UTC)\n" in d) \
            or not d.endswith(b"exit 0\n"):
        bad += 1
        sys.stderr.write("bad status: %r\n" % d)
print(n, bad)
EOF
HPID=$!
for i in $(seq 1 100); do
	if [ $((i % 2)) = 0 ]; then cp "$KB_TMP/kb.daily" "$KB_TMP/kb.conf"
	else cp "$KB_TMP/kb.hourly" "$KB_TMP/kb.conf"; fi
	kill -HUP $DPID 2>/dev/null || break
	sleep 0.05
done
set +e; wait $HPID; hrc=$?; set -e
daemon_alive "status during reloads"
[ "$hrc" = 0 ] || fail "status client: $(cat "$KB_TMP/status.out")"
read -r n bad <"$KB_TMP/status.out"
[ "$n" -gt 10 ] || fail "only $n status answers"
assert_eq "$bad" 0 "status answers that were not whole"
[ "$(grep -c 'msg="configuration reloaded"' "$KB_TMP/daemon.log")" -gt 10 ] ||
	fail "few reloads: $(tail -5 "$KB_TMP/daemon.log")"

daemon_down

say "SIGTERM during a backup whose tool's child holds its pipes"
cat >"$KB_TMP/hang" <<EOF
#!/bin/bash
case "\$*" in *-version*) echo "3.40.1"; exit 0 ;; esac
sleep 600 &
echo \$! >"$KB_TMP/grandchild"
wait
EOF
chmod 755 "$KB_TMP/hang"
cp "$KB_TMP/kb.daily" "$KB_TMP/kb.conf"
sed -i "s|^path = $DB\$|path = $DB\nsqlite3 = $KB_TMP/hang|" "$KB_TMP/kb.conf"
daemon_up
"$RUNNER" -c "$KB_TMP/kb.conf" trigger backup >"$KB_TMP/trigger.out" 2>&1 &
TPID=$!
for _ in $(seq 1 100); do [ -s "$KB_TMP/grandchild" ] && break; sleep 0.05; done
[ -s "$KB_TMP/grandchild" ] || fail "the tool never started: $(tail -5 "$KB_TMP/daemon.log")"
at_exit "kill -9 $(cat "$KB_TMP/grandchild")"
kill -TERM $DPID
for _ in $(seq 1 60); do kill -0 $DPID 2>/dev/null || break; sleep 0.05; done
! kill -0 $DPID 2>/dev/null || fail "the daemon still runs 3 s after SIGTERM: $(tail -5 "$KB_TMP/daemon.log")"
set +e; wait $DPID; drc=$?; wait $TPID; set -e
assert_eq "$drc" 0 "daemon exit status after SIGTERM"
assert_contains "$KB_TMP/daemon.log" "cancelled" "the job says it was cancelled"
gc=$(cat "$KB_TMP/grandchild")
for _ in $(seq 1 40); do	# gone, or a zombie left to whoever reaps orphans here
	ps -o stat= -p "$gc" | grep -qv '^Z' || break
	sleep 0.05
done
! ps -o stat= -p "$gc" | grep -qv '^Z' || fail "the tool's child outlived the stop"
expect_nothing_stored "$KB_TMP/backups" "a cancelled backup"

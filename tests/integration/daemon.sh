#!/usr/bin/env bash
# kbackup-runner run: a schedule firing every 3 s makes backups; /metrics has
# every series with sane values and passes promtool; SIGHUP rereads the
# config (a bad one is kept out); trigger backup streams the job's log and
# exits 0; a second trigger while one runs is refused; trigger status; the
# schedule command.
. "$(dirname "$0")/../lib.sh"

command -v curl >/dev/null || skip "curl not installed"
pg_start
pg_load_sample shop 2000
write_pg_config "$KB_TMP/kb.conf" shop
sed -i 's/^engine = postgres/engine = postgres\nschedule = @every 3s/' "$KB_TMP/kb.conf"
printf '\n[metrics]\nlisten = 127.0.0.1:%s\n' "$(free_port)" >>"$KB_TMP/kb.conf"
BACKUPS=$KB_TMP/backups/test/orders/backups

say "schedule prints the next runs"
run_runner -c "$KB_TMP/kb.conf" schedule --count 3
expect_rc 0 "schedule"
[ "$(grep -c 'Z$' "$KB_TMP/out")" = 3 ] || fail "schedule: $(cat "$KB_TMP/out")"
assert_contains "$KB_TMP/out" "OnUnitActiveSec=3s" "schedule: @every has no OnCalendar"

say "trigger without a daemon"
run_runner -c "$KB_TMP/kb.conf" trigger status
expect_rc 1 "trigger without daemon"
assert_contains "$KB_TMP/log" "no daemon listening" "trigger without daemon"

say "the daemon makes backups on its schedule"
for try in 1 2 3 4 5; do	# free_port races with other tests: pick again if taken
	# the background job opens its redirections after the fork: create the
	# log here so the loop below never reads a file that is not there yet
	: >"$KB_TMP/daemon.log"
	env -u PGPASSWORD "$RUNNER" -c "$KB_TMP/kb.conf" run >"$KB_TMP/daemon.out" 2>"$KB_TMP/daemon.log" &
	DPID=$!
	at_exit "kill -9 $DPID"
	PORT=
	for _ in $(seq 1 40); do
		PORT=$(sed -n 's/.*msg="daemon started".* metrics_port=\([0-9]*\).*/\1/p' "$KB_TMP/daemon.log")
		[ -n "$PORT" ] && break
		kill -0 $DPID 2>/dev/null || break
		sleep 0.25
	done
	[ -z "$PORT" ] || break
	grep -q "address in use" "$KB_TMP/daemon.log" || fail "daemon did not start: $(tail -5 "$KB_TMP/daemon.log")"
	sed -i "s/^listen = .*/listen = 127.0.0.1:$(free_port)/" "$KB_TMP/kb.conf"
done
[ -n "$PORT" ] || fail "no metrics port in the log"
for _ in $(seq 1 60); do
	n=$(ls "$BACKUPS"/*/manifest.json 2>/dev/null | wc -l || true)
	[ "$n" -ge 2 ] && break
	kill -0 $DPID 2>/dev/null || fail "daemon died: $(tail -5 "$KB_TMP/daemon.log")"
	sleep 0.5
done
[ "$n" -ge 2 ] || fail "fewer than 2 backups after 30 s: $(tail -5 "$KB_TMP/daemon.log")"
sleep 1	# metrics are updated after the job's log line

say "/metrics and /healthz"
curl -fsS "http://127.0.0.1:$PORT/metrics" >"$KB_TMP/metrics" || fail "GET /metrics"
promtool check metrics <"$KB_TMP/metrics" || fail "promtool check metrics: $(cat "$KB_TMP/metrics")"
now=$(date +%s)
val() {	# metric-with-labels-prefix
	awk -v m="$1" 'index($0, m) == 1 { print $NF; exit }' "$KB_TMP/metrics"
}
near_now() {	# name value
	awk -v v="$2" -v n="$now" 'BEGIN { exit !(v > n - 120 && v < n + 120) }' ||
		fail "$1 = $2 is not near now ($now)"
}
for m in kbackup_last_success_timestamp_seconds 'kbackup_last_run_success{' \
	'kbackup_last_run_duration_seconds{' 'kbackup_last_backup_bytes{' \
	kbackup_stored_backups kbackup_next_run_timestamp_seconds \
	kbackup_schedule_interval_seconds kbackup_runner_start_timestamp_seconds; do
	[ -n "$(val "$m")" ] || fail "metric $m missing: $(cat "$KB_TMP/metrics")"
done
near_now last_success "$(val kbackup_last_success_timestamp_seconds)"
near_now next_run "$(val kbackup_next_run_timestamp_seconds)"
near_now start "$(val kbackup_runner_start_timestamp_seconds)"
assert_eq "$(val 'kbackup_schedule_interval_seconds')" 3 "schedule interval"
assert_eq "$(grep 'kbackup_last_run_success{' "$KB_TMP/metrics" | grep 'job="backup"' | awk '{print $NF}')" 1 "last run success"
raw=$(grep 'kbackup_last_backup_bytes{' "$KB_TMP/metrics" | grep 'kind="raw"' | awk '{print $NF}')
stored=$(grep 'kbackup_last_backup_bytes{' "$KB_TMP/metrics" | grep 'kind="stored"' | awk '{print $NF}')
awk -v r="$raw" -v s="$stored" 'BEGIN { exit !(r > 0 && s > 0) }' || fail "bytes raw=$raw stored=$stored"
awk -v n="$(val kbackup_stored_backups)" 'BEGIN { exit !(n >= 2) }' || fail "stored_backups"
assert_contains "$(curl -sS "http://127.0.0.1:$PORT/healthz")" "ok" "healthz"

say "SIGHUP with a broken config keeps the old one"
cp "$KB_TMP/kb.conf" "$KB_TMP/kb.conf.good"
sed -i 's/^schedule = .*/schedule = 61 * * * */' "$KB_TMP/kb.conf"
kill -HUP $DPID
wait_for_text "$KB_TMP/daemon.log" "configuration not reloaded" 20 0.25
assert_contains "$KB_TMP/daemon.log" "configuration not reloaded" "bad reload"
kill -0 $DPID || fail "daemon died on a bad reload"

say "SIGHUP: a slow hook and a daily schedule"
cp "$KB_TMP/kb.conf.good" "$KB_TMP/kb.conf"
sed -i 's/^schedule = .*/schedule = @daily/' "$KB_TMP/kb.conf"
printf '\n[hooks]\nbefore = /bin/sleep 3\n' >>"$KB_TMP/kb.conf"
kill -HUP $DPID
wait_for_text "$KB_TMP/daemon.log" "configuration reloaded" 40 0.25
assert_contains "$KB_TMP/daemon.log" "configuration reloaded" "reload"
for _ in $(seq 1 40); do	# a scheduled backup may still be running
	"$RUNNER" -c "$KB_TMP/kb.conf" trigger status 2>/dev/null | grep -q '^idle' && break
	sleep 0.25
done

say "trigger backup streams the job's log; a second trigger is refused"
before=$(ls "$BACKUPS" | wc -l)
env -u PGPASSWORD "$RUNNER" -c "$KB_TMP/kb.conf" trigger backup >"$KB_TMP/t1.out" 2>"$KB_TMP/t1.err" &
T1=$!
sleep 1
run_runner -c "$KB_TMP/kb.conf" trigger backup
expect_rc 1 "second trigger"
assert_contains "$KB_TMP/out" "busy: backup " "second trigger names the running job"
run_runner -c "$KB_TMP/kb.conf" trigger status
expect_rc 0 "status while running"
assert_contains "$KB_TMP/out" "running: backup " "status while running"
wait $T1 || fail "trigger backup: exit status $?: $(cat "$KB_TMP/t1.out" "$KB_TMP/t1.err")"
assert_contains "$KB_TMP/t1.out" 'msg="backup started"' "trigger streams the log"
assert_contains "$KB_TMP/t1.out" 'msg="backup committed"' "trigger streams the log"
[ "$(ls "$BACKUPS" | wc -l)" -gt "$before" ] || fail "no new backup after trigger"

say "trigger status"
run_runner -c "$KB_TMP/kb.conf" trigger status
expect_rc 0 "status"
assert_contains "$KB_TMP/out" "idle" "status idle"
assert_contains "$KB_TMP/out" "schedule: @daily" "status shows the reloaded schedule"
assert_contains "$KB_TMP/out" "last job: backup succeeded" "status last job"

say "trigger restore --database"
run_runner -c "$KB_TMP/kb.conf" trigger restore latest --database shop_copy
expect_rc 0 "trigger restore"
assert_contains "$KB_TMP/out" 'msg="restore finished"' "restore log streamed"
[ "$(psql_q shop_copy 'SELECT count(*) FROM orders')" = 4000 ] || fail "restored rows"
run_runner -c "$KB_TMP/kb.conf" trigger restore --frobnicate
expect_rc 2 "bad restore request"

say "SIGTERM stops the idle daemon"
kill -TERM $DPID
for _ in $(seq 1 40); do kill -0 $DPID 2>/dev/null || break; sleep 0.25; done
! kill -0 $DPID 2>/dev/null || fail "daemon still running after SIGTERM"
set +e; wait $DPID; drc=$?; set -e
assert_eq "$drc" 0 "daemon exit status"
[ ! -e "$KB_TMP/work/test.orders/control.sock" ] || fail "control socket left"
assert_not_contains "$KB_TMP/daemon.log" "$PG_PASSWORD" "password in the log"
echo "ok"

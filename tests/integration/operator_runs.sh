#!/usr/bin/env bash
# BackupRun and BackupRestore end to end: kbackup-operator against the
# Kubernetes API stand-in (tests/operator/apiserver.js: no kube-apiserver can
# be installed here), a real kbackup-runner started by this test on the
# config the operator rendered into the runner's Secret (only workdir and
# listen changed, for 127.0.0.1, and a 2 s before-hook so that jobs last long
# enough to be caught running), a real PostgreSQL, file storage.
#   - the control API: 401 without or with a wrong token, /metrics as before,
#     the token in no log, no metric, no argv
#   - a BackupRun makes exactly one backup, which `list` shows; Succeeded with its ID
#   - a BackupRun while a backup runs waits (Pending, Busy), then runs: never two
#     jobs at once
#   - the operator killed while a run is Running, and killed after the runner took
#     a run but before its status was written (writes refused by the stand-in):
#     the next operator finishes each, no backup made twice
#   - a BackupRestore brings back a dropped table; one into another database at a
#     time; one over the definition's own database without intoSourceDatabase fails
#     before the runner is asked
#   - after the runner's scheduled runs the definition's status shows the last
#     successful backup, the number kept and the next run; the runner's jobs
#     outlive its restart
# The stand-in has no StatefulSet controller: the test plays its part by
# setting the runner StatefulSet's status.replicas when it starts the runner.
. "$(dirname "$0")/../lib.sh"

. "$KB_TOP/tests/operator/standin.sh"
[ -d "$KB_TOP/tests/operator/node_modules/ajv" ] ||
	(cd "$KB_TOP/tests/operator" && npm ci --no-audit --no-fund --loglevel=error) >/dev/null 2>&1 ||
	skip "npm ci failed (the stand-in checks custom resources with ajv)"

pg_start
psql_q postgres "CREATE DATABASE shop"
psql -X -q -v ON_ERROR_STOP=1 -d shop <<'SQL'
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2));
INSERT INTO items SELECT i, 'item ' || i, i * 1.5 FROM generate_series(1, 500) i;
CREATE TABLE notes (id serial PRIMARY KEY, body text);
INSERT INTO notes (body) SELECT repeat('n', i) FROM generate_series(1, 50) i;
SQL
before=$(pg_fingerprint shop)

standin_start
DEF=/apis/kbackup.io/v1alpha1/namespaces/shop/backupdefinitions/orders
RUNS=/apis/kbackup.io/v1alpha1/namespaces/shop/backupruns
RESTORES=/apis/kbackup.io/v1alpha1/namespaces/shop/backuprestores
STS=/apis/apps/v1/namespaces/kbackup/statefulsets/runner-shop-orders
SECRET=/api/v1/namespaces/kbackup/secrets/runner-shop-orders
mkdir -p "$KB_TMP/store"
cat >"$KB_TMP/fixtures.json" <<EOF
[{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "orders-db", "namespace": "shop"},
  "stringData": {"password": "$PG_PASSWORD"}},
 {"apiVersion": "kbackup.io/v1alpha1", "kind": "BackupStorageLocation",
  "metadata": {"name": "local", "namespace": "kbackup"}, "spec": {"type": "file", "path": "$KB_TMP/store"}},
 {"apiVersion": "kbackup.io/v1alpha1", "kind": "BackupDefinition", "metadata": {"name": "orders", "namespace": "shop"},
  "spec": {"engine": "postgres", "settings": {"host": "127.0.0.1", "port": $PGPORT, "user": "postgres", "database": "shop"},
   "passwordSecretRef": {"name": "orders-db", "key": "password"}, "storageLocation": "local", "schedule": "0 3 * * *"}}]
EOF
k create "$KB_TMP/fixtures.json" || fail "create fixtures"
"$OP" --server "$SRV" --namespace kbackup --once >>"$KB_TMP/op.log" 2>&1 || fail "first pass: $(tail -5 "$KB_TMP/op.log")"

# The runner, on the rendered config.
RUNNER_PID=
start_runner() {
	local try conf=$KB_TMP/runner.conf
	for try in 1 2 3 4 5; do
		PORT=$(free_port)
		k get "$SECRET" 'Buffer.from(o.data["kbackup.conf"], "base64").toString()' |
			sed -e "s|^workdir = .*|workdir = $KB_TMP/work|" -e "s|^listen = .*|listen = 127.0.0.1:$PORT|" >"$conf"
		chmod 600 "$conf"
		printf '\n[hooks]\nbefore = /bin/sleep 2\n' >>"$conf"
		: >"$KB_TMP/runner.log"
		env -u PGPASSWORD "$RUNNER" -c "$conf" run 2>>"$KB_TMP/runner.log" &
		RUNNER_PID=$!
		at_exit "kill -9 $RUNNER_PID"
		for _ in $(seq 40); do
			grep -q 'msg="daemon started"' "$KB_TMP/runner.log" && break
			kill -0 $RUNNER_PID 2>/dev/null || break
			sleep 0.25
		done
		cat "$KB_TMP/runner.log" >>"$KB_TMP/runner-all.log"
		grep -q 'msg="daemon started"' "$KB_TMP/runner.log" && break
		grep -q "address in use" "$KB_TMP/runner.log" || fail "runner did not start: $(tail -5 "$KB_TMP/runner.log")"
	done
	k edit "$STS" 'o.status = {replicas: 1, readyReplicas: 1}'
	API=http://127.0.0.1:$PORT/api/v1
}
stop_runner() {
	kill -TERM "$RUNNER_PID"
	wait "$RUNNER_PID" 2>/dev/null || true
	cat "$KB_TMP/runner.log" >>"$KB_TMP/runner-all.log"
}
start_runner
TOKEN=$(sed -n 's/^api_token = //p' "$KB_TMP/runner.conf")
[ ${#TOKEN} = 64 ] || fail "no API token of 64 hex digits in the rendered config"

say "the control API: 401 without the right token; /metrics as before"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
assert_eq "$(code "$API/status")" 401 "no token"
assert_eq "$(code -H "Authorization: Bearer ${TOKEN%?}x" "$API/status")" 401 "wrong token"
assert_eq "$(code -H "Authorization: Bearer $TOKEN" "$API/status")" 200 "the token"
assert_eq "$(code -X POST -d '{}' "$API/backups")" 401 "POST without a token"
curl -fsS "http://127.0.0.1:$PORT/metrics" >"$KB_TMP/metrics" || fail "GET /metrics"
grep -q '^kbackup_runner_start_timestamp_seconds{' "$KB_TMP/metrics" || fail "/metrics: $(head -5 "$KB_TMP/metrics")"
api() { curl -fsS -H "Authorization: Bearer $TOKEN" "$API/$1"; }
backups() { "$RUNNER" -c "$KB_TMP/runner.conf" list --json 2>/dev/null | node -e \
	'const a = JSON.parse(require("fs").readFileSync(0)); console.log(a.map((m) => m.id).join(" "))'; }
nbackups() { local b; b=$(backups); set -- $b; echo $#; }

OPPID=
start_operator() {
	"$OP" --server "$SRV" --namespace kbackup --resync 3s --poll-interval 1s --backoff 20 \
		--runner-address "shop/orders=127.0.0.1:$PORT" >>"$KB_TMP/op.log" 2>&1 &
	OPPID=$!
	at_exit "kill -9 $OPPID"
}
start_operator
phase() { k get "$1" 'o.status && o.status.phase || "none"'; }
wait_phase() {	# path phase
	k wait "$1" 'o.status && o.status.phase || "none"' "$2" 60 >"$KB_TMP/wait" ||
		fail "$1: phase $(cat "$KB_TMP/wait"), not $2: $(k get "$1" o.status); $(tail -5 "$KB_TMP/op.log")"
}
run() {	# name
	echo "{\"apiVersion\": \"kbackup.io/v1alpha1\", \"kind\": \"BackupRun\",
		\"metadata\": {\"name\": \"$1\", \"namespace\": \"shop\"}, \"spec\": {\"definition\": \"orders\"}}" | k create -
}
started_for() {	# uid: jobs the runner started for that request
	grep -c "msg=\"control API: job started\".*request_id=$1" "$KB_TMP/runner.log" || true
}

say "a BackupRun makes exactly one backup"
run run-1
wait_phase "$RUNS/run-1" Succeeded
id1=$(k get "$RUNS/run-1" o.status.backupId)
assert_eq "$(backups)" "$id1" "list after run-1"
[ "$(k get "$RUNS/run-1" 'o.status.storedBytes > 0 && o.status.rawBytes > 0')" = true ] || fail "sizes: $(k get "$RUNS/run-1" o.status)"
assert_eq "$(k get "$RUNS/run-1" 'o.status.conditions[0].type + " " + o.status.conditions[0].status')" "Succeeded True" "condition"
for _ in $(seq 50); do	# posted after the status is written
	k events shop run-1 | grep -q "^Normal Succeeded backup $id1" && break
	sleep 0.1
done
k events shop run-1 | grep -q "^Normal Succeeded backup $id1" || fail "events: $(k events shop run-1)"
sleep 2	# a few polls more: nothing happens to a final run
assert_eq "$(started_for "$(k get "$RUNS/run-1" o.metadata.uid)")" 1 "jobs for run-1"
assert_eq "$(nbackups)" 1 "backups after run-1"

say "a BackupRun while a backup runs waits, never runs alongside"
env -u PGPASSWORD "$RUNNER" -c "$KB_TMP/runner.conf" trigger backup >"$KB_TMP/trigger.out" 2>&1 &
TRIG=$!
for _ in $(seq 40); do
	api status | grep -q '"running":{' && break
	sleep 0.1
done
run run-busy
k wait "$RUNS/run-busy" 'o.status && o.status.conditions && o.status.conditions[0].reason' Busy 30 >/dev/null ||
	fail "run-busy did not wait: $(k get "$RUNS/run-busy" o.status)"
echo "ok: $(k get "$RUNS/run-busy" 'o.status.phase + ": " + o.status.conditions[0].message')"
wait "$TRIG" || fail "trigger backup: $(cat "$KB_TMP/trigger.out")"
wait_phase "$RUNS/run-busy" Succeeded
jobs=$(cat "$KB_TMP"/work/shop.orders/api-jobs.json)
node -e '
	const jobs = JSON.parse(process.argv[1]).jobs.map((x) => x.job).filter((j) => j.kind === "backup");
	jobs.sort((a, b) => a.startTime.localeCompare(b.startTime));
	for (let i = 1; i < jobs.length; i++)
		if (jobs[i].startTime < jobs[i - 1].completionTime) {
			console.error("jobs overlap: " + JSON.stringify(jobs[i - 1]) + " " + JSON.stringify(jobs[i]));
			process.exit(1);
		}' "$jobs" || fail "two jobs at once"
assert_eq "$(nbackups)" 3 "backups after the trigger and run-busy"

say "the operator killed while a run is Running: the next one finishes it"
run run-3
wait_phase "$RUNS/run-3" Running
kill -9 "$OPPID"; wait "$OPPID" 2>/dev/null || true
uid3=$(k get "$RUNS/run-3" o.metadata.uid)
for _ in $(seq 100); do api status | grep -q '"running":null' && break; sleep 0.1; done
start_operator
wait_phase "$RUNS/run-3" Succeeded
assert_eq "$(started_for "$uid3")" 1 "jobs for run-3"
assert_eq "$(nbackups)" 4 "backups after run-3"

say "the operator killed after the runner took a run, before its status was written"
k test fail "count=100000&status=500&method=PUT&path=/backupruns/run-4/status"
run run-4
uid4=$(k get "$RUNS/run-4" o.metadata.uid)
for _ in $(seq 100); do [ "$(started_for "$uid4")" = 1 ] && break; sleep 0.1; done
assert_eq "$(started_for "$uid4")" 1 "the runner took run-4"
sleep 1	# the operator asks again at its next poll: the same job
kill -9 "$OPPID"; wait "$OPPID" 2>/dev/null || true
assert_eq "$(phase "$RUNS/run-4")" none "run-4's status (its writes were refused)"
k test fail clear=1
start_operator
wait_phase "$RUNS/run-4" Succeeded
assert_eq "$(started_for "$uid4")" 1 "jobs for run-4"
grep "control API: job started.*request_id=$uid4" "$KB_TMP/runner.log" |
	grep -q "job=$(k get "$RUNS/run-4" o.status.jobId) " || fail "run-4's job is not the one started"
assert_eq "$(nbackups)" 5 "backups after run-4"

say "BackupRestore: a dropped table comes back"
newest=$(backups); newest=${newest##* }
psql_q shop "DROP TABLE items"
echo '{"apiVersion": "kbackup.io/v1alpha1", "kind": "BackupRestore", "metadata": {"name": "undo-drop", "namespace": "shop"},
	"spec": {"definition": "orders", "backup": "latest", "intoSourceDatabase": true}}' | k create -
wait_phase "$RESTORES/undo-drop" Succeeded
assert_eq "$(k get "$RESTORES/undo-drop" o.status.backupId)" "$newest" "restored backup"
assert_eq "$(pg_fingerprint shop)" "$before" "the database after the restore"
echo "ok: $(psql_q shop 'SELECT count(*) FROM items') items back"

say "BackupRestore: into another database, the newest before a time; over the own one needs the flag"
echo "{\"apiVersion\": \"kbackup.io/v1alpha1\", \"kind\": \"BackupRestore\", \"metadata\": {\"name\": \"copy\", \"namespace\": \"shop\"},
	\"spec\": {\"definition\": \"orders\", \"at\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"database\": \"shop_copy\"}}" | k create -
echo '{"apiVersion": "kbackup.io/v1alpha1", "kind": "BackupRestore", "metadata": {"name": "over-own", "namespace": "shop"},
	"spec": {"definition": "orders", "database": "shop"}}' | k create -
wait_phase "$RESTORES/over-own" Failed
assert_eq "$(k get "$RESTORES/over-own" 'o.status.conditions[0].reason')" InvalidSpec "over-own's reason"
assert_contains "$(k get "$RESTORES/over-own" o.status.error)" "intoSourceDatabase" "over-own's message"
wait_phase "$RESTORES/copy" Succeeded
assert_eq "$(pg_fingerprint shop_copy)" "$before" "shop_copy"
assert_eq "$(grep -c 'msg="restore started"' "$KB_TMP/runner.log")" 2 "restores the runner ran"

say "the definition's status after scheduled runs; the runner's jobs outlive its restart"
job1=$(k get "$RUNS/run-1" o.status.jobId)
k edit "$DEF" 'o.spec.schedule = "@every 2s"'
k wait "$SECRET" '/schedule = @every 2s/.test(Buffer.from(o.data["kbackup.conf"], "base64").toString())' true 30 >/dev/null ||
	fail "the runner's config was not updated"
stop_runner
kill -9 "$OPPID"; wait "$OPPID" 2>/dev/null || true
start_runner
api "jobs/$job1" | grep -q '"state":"succeeded"' || fail "run-1's job forgotten by the restarted runner"
start_operator
api_ids=" $(for r in run-1 run-busy run-3 run-4; do k get "$RUNS/$r" o.status.backupId; done | tr '\n' ' ')"
for _ in $(seq 100); do
	last=$(k get "$DEF" 'o.status.lastSuccessfulBackup ? o.status.lastSuccessfulBackup.id : "none"')
	case "$api_ids" in *" $last "*) ;; *) [ "$last" != none ] && [ "$last" != "$newest" ] && break ;; esac
	sleep 0.3
done
stop_runner
status=$(k get "$DEF" o.status)
echo "ok: status: $status"
all=" $(backups) "
case "$all" in *" $last "*) ;; *) fail "lastSuccessfulBackup $last is not stored: $all" ;; esac
case "$api_ids $newest " in *" $last "*) fail "lastSuccessfulBackup $last is not a scheduled backup" ;; esac
node -e '
	const s = JSON.parse(process.argv[1]), n = Number(process.argv[2]);
	const ok = s.lastBackup && s.lastBackup.result === "Succeeded" && /^\d{8}T\d{6}Z(-[0-9a-f]{6})?$/.test(s.lastBackup.id) &&
		s.lastSuccessfulBackup.size > 0 && /Z$/.test(s.lastSuccessfulBackup.time) &&
		s.backupsKept >= 6 && s.backupsKept <= n && /^\d{4}-\d\d-\d\dT/.test(s.nextBackup);
	process.exit(ok ? 0 : 1);' "$status" "$(nbackups)" || fail "definition status: $status"

say "the token in no log, no metric, no command line"
for f in "$KB_TMP/runner-all.log" "$KB_TMP/op.log" "$KB_TMP/apiserver.log" "$KB_TMP/metrics"; do
	assert_not_contains "$f" "$TOKEN" "token in $f"
done
start_runner
curl -fsS "http://127.0.0.1:$PORT/metrics" | grep -qF "$TOKEN" && fail "token in /metrics"
tr '\0' ' ' </proc/$RUNNER_PID/cmdline | grep -qF "$TOKEN" && fail "token in the runner's argv"
tr '\0' ' ' </proc/$OPPID/cmdline | grep -qF "$TOKEN" && fail "token in the operator's argv"
stop_runner
kill -TERM "$OPPID"; wait "$OPPID" || fail "operator exit status $? on SIGTERM"
! grep -l 'ERROR: AddressSanitizer\|runtime error:' "$KB_TMP"/*.log || fail "sanitizer reports"
echo "ok: $(nbackups) backups in all"

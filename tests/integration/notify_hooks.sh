#!/usr/bin/env bash
# Around a job: [hooks] in order with their KBACKUP_* variables, [notify]
# webhook and pings posted to a test receiver (failure with its reason, and
# success with on = always), and the [metrics] textfile of --once, which
# promtool accepts.
. "$(dirname "$0")/../lib.sh"

pg_start
pg_load_sample shop 200
python3 "$KB_TOP/tests/webhook_receiver.py" "$KB_TMP/requests" "$KB_TMP/hookport" &
at_exit "kill $!"
for _ in $(seq 1 40); do [ -s "$KB_TMP/hookport" ] && break; sleep 0.1; done
HPORT=$(cat "$KB_TMP/hookport")

cat >"$KB_TMP/hook" <<'EOS'
#!/bin/sh
echo "$KBACKUP_HOOK job=$KBACKUP_JOB name=$KBACKUP_NAME ns=$KBACKUP_NAMESPACE engine=$KBACKUP_ENGINE result=$KBACKUP_RESULT id=$KBACKUP_BACKUP_ID raw=$KBACKUP_RAW_BYTES error=$KBACKUP_ERROR" >>"$1"
EOS
chmod +x "$KB_TMP/hook"

config() {	# database on
	write_pg_config "$KB_TMP/kb.conf" "$1"
	cat >>"$KB_TMP/kb.conf" <<EOF2

[notify]
webhook = http://127.0.0.1:$HPORT/hook/secret-token
on = $2
ping_start = http://127.0.0.1:$HPORT/ping/start
ping_success = http://127.0.0.1:$HPORT/ping/success
ping_failure = http://127.0.0.1:$HPORT/ping/failure

[hooks]
before = $KB_TMP/hook $KB_TMP/hooks.log
after = $KB_TMP/hook $KB_TMP/hooks.log
on_failure = $KB_TMP/hook $KB_TMP/hooks.log

[metrics]
textfile = $KB_TMP/prom/kbackup.prom
EOF2
	mkdir -p "$KB_TMP/prom"
}

say "a failing backup: hooks before, after, on_failure; webhook with the reason"
config no_such_db failure
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 1 "failing backup"
assert_eq "$(cut -d' ' -f1 "$KB_TMP/hooks.log" | tr '\n' ' ')" "before after on_failure " "hook order"
assert_contains "$KB_TMP/hooks.log" "before job=backup name=orders ns=test engine=postgres result= " "before's variables"
grep '^after' "$KB_TMP/hooks.log" | grep -q "result=failure" || fail "after's result: $(cat "$KB_TMP/hooks.log")"
grep '^on_failure' "$KB_TMP/hooks.log" | grep -q 'result=failure id=2.*error=the dump failed: pg_dump exited' ||
	fail "on_failure's variables: $(cat "$KB_TMP/hooks.log")"
python3 - "$KB_TMP/requests" <<'EOP' || fail "webhook: $(cat "$KB_TMP/requests")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
paths = [r["path"] for r in reqs]
assert paths == ["/ping/start", "/hook/secret-token", "/ping/failure"], paths
hook = json.loads(reqs[1]["body"])
assert hook["result"] == "failure", hook
assert hook["job"] == "backup" and hook["name"] == "orders", hook
assert "pg_dump exited with status 1" in hook["error"], hook
assert "no_such_db" in reqs[2]["body"], reqs[2]
EOP
assert_not_contains "$KB_TMP/log" "secret-token" "webhook URL in the log"
promtool check metrics <"$KB_TMP/prom/kbackup.prom" || fail "promtool: textfile after failure"
assert_contains "$KB_TMP/prom/kbackup.prom" 'kbackup_last_run_success{name="orders",namespace="test",engine="postgres",job="backup"} 0' "textfile after failure"

say "a successful backup with on = always"
rm -f "$KB_TMP/hooks.log" "$KB_TMP/requests"
config shop always
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup"
assert_eq "$(cut -d' ' -f1 "$KB_TMP/hooks.log" | tr '\n' ' ')" "before after " "hook order on success"
grep '^after' "$KB_TMP/hooks.log" | grep -q "result=success id=2" || fail "after: $(cat "$KB_TMP/hooks.log")"
python3 - "$KB_TMP/requests" <<'EOP' || fail "webhook: $(cat "$KB_TMP/requests")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
paths = [r["path"] for r in reqs]
assert paths == ["/ping/start", "/hook/secret-token", "/ping/success"], paths
hook = json.loads(reqs[1]["body"])
assert hook["result"] == "success" and hook["raw_bytes"] > 0, hook
EOP

say "--once writes a textfile promtool accepts"
promtool check metrics <"$KB_TMP/prom/kbackup.prom" || fail "promtool: $(cat "$KB_TMP/prom/kbackup.prom")"
assert_contains "$KB_TMP/prom/kbackup.prom" 'kbackup_last_run_success{name="orders",namespace="test",engine="postgres",job="backup"} 1' "textfile"
assert_contains "$KB_TMP/prom/kbackup.prom" 'kbackup_stored_backups{name="orders",namespace="test",engine="postgres"} 1' "textfile stored backups"
[ -z "$(ls -A "$KB_TMP/prom" | grep -v '^kbackup.prom$' || true)" ] || fail "temp files left in the textfile directory"

say "a failing before hook: the job does not run, after does not, on_failure does"
rm -f "$KB_TMP/hooks.log"
sed -i "s|^before = .*|before = /bin/false|" "$KB_TMP/kb.conf"
n0=$(ls "$KB_TMP/backups/test/orders/backups" | wc -l)
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 1 "before fails"
assert_eq "$(cut -d' ' -f1 "$KB_TMP/hooks.log" | tr '\n' ' ')" "on_failure " "hooks after a failed before"
assert_eq "$(ls "$KB_TMP/backups/test/orders/backups" | wc -l)" "$n0" "no backup when before fails"
echo ok

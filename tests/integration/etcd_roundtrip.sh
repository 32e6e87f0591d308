#!/usr/bin/env bash
# etcd (auth enabled) → kbackup-runner --once → a directory → restore into a
# new data directory → a second etcd started on it: every key and value
# equal.  The password is in no etcdctl argv and no log; a wrong password
# fails with nothing committed; an existing data directory is refused.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

command -v etcdctl >/dev/null || skip "etcdctl not installed"
export ETCDCTL_API=3
etcd_start e1
EP=$ETCD_EP_e1
ETCD_PASSWORD="et-${RANDOM}${RANDOM}-not-in-argv"
et() { ETCDCTL_USER=root ETCDCTL_PASSWORD=$ETCD_PASSWORD etcdctl --endpoints="$1" "${@:2}"; }

et "$EP" put /config/greeting 'hello ü€ "quoted"' >/dev/null
et "$EP" put /config/multi "$(printf 'line1\nline2')" >/dev/null
# Many keys before auth is on (each authenticated request costs a bcrypt).
for i in $(seq 1 300); do etcdctl --endpoints="$EP" put "/registry/item/$i" "value-$i" >/dev/null; done
printf '%s\n' "$ETCD_PASSWORD" | etcdctl --endpoints="$EP" user add root --interactive=false >/dev/null
etcdctl --endpoints="$EP" user grant-role root root >/dev/null
etcdctl --endpoints="$EP" auth enable >/dev/null
et "$EP" put /deleted soon >/dev/null
et "$EP" del /deleted >/dev/null
lease=$(et "$EP" lease grant 3600 | awk '{print $2}')
et "$EP" put /leased yes --lease="$lease" >/dev/null

fingerprint() { et "$1" get "" --prefix -w json | python3 -c '
import json, sys, base64
d = json.load(sys.stdin)
for kv in d.get("kvs", []):
    print(base64.b64decode(kv["key"]).decode(), base64.b64decode(kv.get("value", "")).hex())'; }

write_engine_config "$KB_TMP/kb.conf" etcd <<EOF
endpoints = $EP
user = root
password_env = KB_TEST_ETCD_PW
restore_data_dir = $KB_TMP/restored
EOF
export KB_TEST_ETCD_PW=$ETCD_PASSWORD

check_and_backup_watched "$KB_TMP/kb.conf" etcdctl "snapshot save" "$ETCD_PASSWORD"

say "restore into a new data directory; a second etcd serves it"
run_runner -c "$KB_TMP/kb.conf" restore latest
expect_rc 0 "restore"
[ -d "$KB_TMP/restored/member" ] || fail "no member directory restored"
assert_workdir_clean "$KB_TMP/work" "workdir after restore"
etcd_start e2 "$KB_TMP/restored"
fingerprint "$EP" >"$KB_TMP/a"
fingerprint "$ETCD_EP_e2" >"$KB_TMP/b"
[ "$(wc -l <"$KB_TMP/a")" -ge 303 ] || fail "fingerprint too small: $(wc -l <"$KB_TMP/a")"
diff -u "$KB_TMP/a" "$KB_TMP/b" >"$KB_TMP/diff" || fail "restored keys differ: $(head "$KB_TMP/diff")"

say "an existing data directory is refused"
run_runner -c "$KB_TMP/kb.conf" restore latest
expect_rc 1 "restore onto an existing directory"
assert_contains "$KB_TMP/log" "needs a new data directory" "message"

wrong_password_fails etcd <<EOF
endpoints = $EP
user = root
password_env = KB_TEST_BAD_PW
EOF
echo ok

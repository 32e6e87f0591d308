#!/usr/bin/env bash
# Two kbackup-operator replicas with --leader-elect against the Kubernetes API
# stand-in (tests/operator/apiserver.js, whose Leases have the real API's
# semantics: resourceVersion, 409 on a stale update, validated fields):
#   - one holds the Lease and reconciles; the other waits and writes nothing,
#     for several lease durations (writes counted per User-Agent, which names
#     the replica)
#   - the holder killed (SIGKILL: no release): the other takes over once the
#     lease has not been renewed for its duration, and reconciles
#   - the holder stopped (SIGTERM): it releases the Lease, a new replica takes
#     it at its first try
. "$(dirname "$0")/../lib.sh"

. "$KB_TOP/tests/operator/standin.sh"

standin_start
LEASE=/apis/coordination.k8s.io/v1/namespaces/kbackup/leases/kbackup-operator
DEF=/apis/kbackup.io/v1alpha1/namespaces/shop/backupdefinitions/orders
STS=/apis/apps/v1/namespaces/kbackup/statefulsets/runner-shop-orders
DURATION=3	# seconds

cat >"$KB_TMP/fixtures.json" <<'EOF'
[{"apiVersion": "kbackup.io/v1alpha1", "kind": "BackupStorageLocation",
  "metadata": {"name": "local", "namespace": "kbackup"}, "spec": {"type": "file", "path": "/var/backups"}},
 {"apiVersion": "kbackup.io/v1alpha1", "kind": "BackupDefinition", "metadata": {"name": "orders", "namespace": "shop"},
  "spec": {"engine": "redis", "settings": {"host": "redis", "port": 6379}, "storageLocation": "local",
   "schedule": "@daily"}}]
EOF
k create "$KB_TMP/fixtures.json" || fail "create fixtures"

declare -A PIDS
start_op() {	# name
	POD_NAME=$1 "$OP" --server "$SRV" --namespace kbackup --leader-elect --lease-duration ${DURATION}s \
		--resync 2s --backoff 20 >>"$KB_TMP/$1.log" 2>&1 &
	PIDS[$1]=$!
	at_exit "kill -9 $!"
}
holder() { k get "$LEASE" 'o.spec.holderIdentity || "nobody"'; }
writers() { k writers; }

say "two replicas: one leads, the other waits and writes nothing"
start_op op-a
start_op op-b
k wait "$LEASE" 'String(/^op-[ab]_[0-9a-f]{8}$/.test(o.spec.holderIdentity))' true 30 >/dev/null || fail "no holder: $(k get "$LEASE")"
k wait "$STS" o.metadata.name runner-shop-orders 30 >/dev/null || fail "not reconciled"
k test reset
first=$(holder)
leader=${first%%_*}
follower=op-a; [ "$leader" = op-a ] && follower=op-b
sleep $((3 * DURATION))
assert_eq "$(holder)" "$first" "holder after $((3 * DURATION)) s"
k edit "$DEF" 'o.spec.schedule = "@hourly"'
k wait "$DEF" o.status.observedGeneration 2 30 >/dev/null || fail "the leader did not reconcile the change"
w=$(writers)
node -e '
	const w = JSON.parse(process.argv[1]), leader = process.argv[2];
	const bad = Object.keys(w).filter((ua) => !ua.includes("(" + leader + ")"));
	if (bad.length || !Object.keys(w).length) { console.error("writes: " + process.argv[1]); process.exit(1); }' "$w" "$first" ||
	fail "writes by others than the holder $first: $w"
grep -q 'msg="waiting for the lease"' "$KB_TMP/$follower.log" || fail "$follower: $(tail -3 "$KB_TMP/$follower.log")"
echo "ok: $first leads; writes since: $w"

say "a stale update of the Lease is refused (409)"
stale=$(k get "$LEASE" 'JSON.stringify(Object.assign(o, {metadata: Object.assign(o.metadata, {resourceVersion: "1"}), spec: Object.assign(o.spec, {holderIdentity: "intruder"})}))')
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' --data-binary "$stale" "$SRV$LEASE")
assert_eq "$code" 409 "stale Lease update"
assert_eq "$(holder)" "$first" "holder after the stale update"
# The leader renews meanwhile: a 409 (the conflict is found before validation,
# as in the API server's registry) means read it again.
for _ in 1 2 3 4 5; do
	bad=$(k get "$LEASE" 'JSON.stringify(Object.assign(o, {spec: Object.assign(o.spec, {renewTime: "yesterday"})}))')
	code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' --data-binary "$bad" "$SRV$LEASE")
	[ "$code" = 409 ] || break
done
assert_eq "$code" 422 "a Lease with a bad renewTime"

say "the holder killed: the other takes over within the lease duration"
transitions=$(k get "$LEASE" 'String(o.spec.leaseTransitions)')
renewed=$(k get "$LEASE" o.spec.renewTime)
kill -9 "${PIDS[$leader]}"
t0=$(date +%s%N)
wait "${PIDS[$leader]}" 2>/dev/null || true
k wait "$LEASE" "String(o.spec.holderIdentity.startsWith('$follower' + '_'))" true $((4 * DURATION + 10)) >/dev/null ||
	fail "no handover: $(k get "$LEASE")"
t1=$(date +%s%N)
second=$(holder)
assert_eq "$(k get "$LEASE" 'String(o.spec.leaseTransitions)')" $((transitions + 1)) "leaseTransitions"
gap=$(k get "$LEASE" "String((Date.parse(o.spec.acquireTime) - Date.parse('$renewed')) / 1000)")
echo "ok: $second took over $(( (t1 - t0) / 1000000 )) ms after the kill, ${gap} s after the last renewal (lease ${DURATION} s)"
node -e 'process.exit(Number(process.argv[1]) >= Number(process.argv[2]) ? 0 : 1)' "$gap" "$DURATION" ||
	fail "taken over ${gap} s after the last renewal, before the lease ran out"
k test reset
k edit "$DEF" 'o.spec.schedule = "@weekly"'
k wait "$DEF" o.status.observedGeneration 3 30 >/dev/null || fail "the new leader did not reconcile"
w=$(writers)
node -e '
	const w = JSON.parse(process.argv[1]);
	process.exit(Object.keys(w).every((ua) => ua.includes("(" + process.argv[2] + ")")) ? 0 : 1)' "$w" "$second" ||
	fail "writes by others than $second: $w"

say "the holder stopped: the Lease is released, a new replica takes it at once"
kill -TERM "${PIDS[$follower]}"
wait "${PIDS[$follower]}" || fail "exit status $? on SIGTERM"
assert_eq "$(holder)" nobody "holder after SIGTERM"
grep -q 'msg="lease released"' "$KB_TMP/$follower.log" || fail "no release logged"
start_op op-c
k wait "$LEASE" "String((o.spec.holderIdentity || '').startsWith('op-c_'))" true $((DURATION + 10)) >/dev/null ||
	fail "op-c did not take the released lease: $(k get "$LEASE")"
echo "ok: $(holder) holds the released lease"
kill -TERM "${PIDS[op-c]}"
wait "${PIDS[op-c]}" || fail "op-c exit status $?"
! grep -l 'ERROR: AddressSanitizer\|runtime error:' "$KB_TMP"/*.log || fail "sanitizer reports"
for f in "$KB_TMP"/op-*.log; do
	grep -q 'level=error' "$f" && ! grep -q 'lost the lease' "$f" && fail "errors in $f: $(grep level=error "$f" | head -3)"
done
exit 0

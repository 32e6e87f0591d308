#!/usr/bin/env bash
# kbackup-operator against a Kubernetes API stand-in (tests/operator/apiserver.js):
# no kube-apiserver can be installed here.  Scenarios: create → three objects;
# a changed Secret rolls the pod template; delete → objects gone (finalizer);
# injected 500s retried with backoff; a long name shortened validly; orphans
# swept; 1,000 definitions, then a second pass with no write at all; watch
# mode with a 410 Gone; status reasons; a name taken by an object the operator
# does not own; Events (Normal on create/update, Warning on each new problem,
# none on a pass that changes nothing, one for a failure retried many times);
# the runners' API tokens.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
op=${KBACKUP_OPERATOR:-$top/bin/kbackup-operator}
[ -x "$op" ] || { echo "skip: $op not built (make operator)"; exit 77; }
command -v node >/dev/null || { echo "skip: node not installed"; exit 77; }
command -v curl >/dev/null || { echo "skip: curl not installed"; exit 77; }

tmp=$(mktemp -d /tmp/kbackup-op.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; [ -f "$tmp/op.log" ] && tail -n 20 "$tmp/op.log"; exit 1; }
ok() { echo "ok: $*"; }

node "$top/tests/operator/apiserver.js" "$tmp/port" & pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "stand-in did not start"
srv=http://127.0.0.1:$(cat "$tmp/port")
k() { node "$top/tests/operator/kctl.js" "$srv" "$@"; }
once() { "$op" --server "$srv" --namespace kbackup --once --backoff 20 "$@" >>"$tmp/op.log" 2>&1; }

OPS=/apis/kbackup.io/v1alpha1/namespaces
SECRETS=/api/v1/namespaces/kbackup/secrets
STS=/apis/apps/v1/namespaces/kbackup/statefulsets
SVC=/api/v1/namespaces/kbackup/services

cat >"$tmp/base.json" <<'EOF'
[
 {"apiVersion":"v1","kind":"Secret","metadata":{"name":"s3-credentials","namespace":"kbackup"},
  "data":{"access-key":"QUtJQUVYQU1QTEU=","secret-key":"c2VjcmV0LXMz"}},
 {"apiVersion":"kbackup.io/v1alpha1","kind":"BackupStorageLocation","metadata":{"name":"s3-main","namespace":"kbackup"},
  "spec":{"type":"s3","endpoint":"https://s3.example","region":"eu-1","bucket":"backups","prefix":"p",
   "accessKeySecretRef":{"name":"s3-credentials","key":"access-key"},
   "secretKeySecretRef":{"name":"s3-credentials","key":"secret-key"}}},
 {"apiVersion":"v1","kind":"Secret","metadata":{"name":"db-password","namespace":"shop"},
  "data":{"password":"b2xkLXBhc3N3b3Jk"}},
 {"apiVersion":"kbackup.io/v1alpha1","kind":"BackupDefinition","metadata":{"name":"orders","namespace":"shop"},
  "spec":{"engine":"postgres","settings":{"host":"db","port":5432,"user":"backup","database":"orders"},
   "passwordSecretRef":{"name":"db-password","key":"password"},"storageLocation":"s3-main","schedule":"0 3 * * *",
   "podAffinity":{"matchLabels":{"app":"orders-db"}}}}
]
EOF
k create "$tmp/base.json" || fail "create fixtures"

# 1. A definition → Secret, StatefulSet, Service; finalizer; status Ready.
once || fail "first pass"
for p in "$SECRETS" "$STS" "$SVC"; do
	[ "$(k get "$p/runner-shop-orders" o.metadata.name)" = runner-shop-orders ] || fail "missing $p/runner-shop-orders"
done
[ "$(k get "$OPS/shop/backupdefinitions/orders" 'o.metadata.finalizers.join()')" = kbackup.io/cleanup ] || fail "no finalizer"
[ "$(k get "$OPS/shop/backupdefinitions/orders" 'o.status.conditions[0].reason')" = Reconciled ] || fail "status not Reconciled"
[ "$(k get "$OPS/shop/backupdefinitions/orders" 'o.status.observedGeneration')" = 1 ] || fail "observedGeneration"
conf=$(k get "$SECRETS/runner-shop-orders" 'Buffer.from(o.data["kbackup.conf"],"base64").toString()')
grep -q '^password = old-password$' <<<"$conf" || fail "config lacks the password"
grep -q '^secret_key = secret-s3$' <<<"$conf" || fail "config lacks the S3 secret key"
ok "create: three objects, finalizer, status"

ev=$(k events shop orders)
[ "$ev" = "Normal Created Created Secret, StatefulSet, Service runner-shop-orders in namespace kbackup" ] ||
	fail "events after create: $ev"
uid=$(k get "$OPS/shop/backupdefinitions/orders" o.metadata.uid)
got=$(k get /api/v1/namespaces/shop/events 'const e = o.items[0], i = e.involvedObject;
	[i.apiVersion, i.kind, i.namespace, i.name, i.uid, i.resourceVersion > 0, e.source.component,
	 e.reportingComponent, e.reportingInstance !== "", e.count, e.firstTimestamp === e.lastTimestamp].join(" ")')
[ "$got" = "kbackup.io/v1alpha1 BackupDefinition shop orders $uid true kbackup-operator kbackup-operator true 1 true" ] ||
	fail "event fields: $got"
ok "create: one Normal Created event"

# 2. Nothing changed: a second pass writes nothing.
k test reset
once || fail "second pass"
[ "$(k writes)" = 0 ] || fail "second pass wrote: $(k counts)"
[ "$(k events shop orders | wc -l)" = 1 ] || fail "second pass posted events: $(k events shop orders)"
ok "second pass: $(k counts), no write, no event"

# 3. A changed referenced Secret → new config hash, new pod template.
h1=$(k get "$STS/runner-shop-orders" 'o.spec.template.metadata.annotations["kbackup.io/config-hash"]')
k edit /api/v1/namespaces/shop/secrets/db-password 'o.data.password = Buffer.from("new-password").toString("base64")'
once || fail "pass after secret change"
h2=$(k get "$STS/runner-shop-orders" 'o.spec.template.metadata.annotations["kbackup.io/config-hash"]')
[ -n "$h1" ] && [ "$h1" != "$h2" ] || fail "config hash did not change ($h1 / $h2)"
k get "$SECRETS/runner-shop-orders" 'Buffer.from(o.data["kbackup.conf"],"base64").toString()' |
	grep -q '^password = new-password$' || fail "Secret not updated"
[ "$(k get "$OPS/shop/backupdefinitions/orders" o.status.configHash)" = "$h2" ] || fail "status configHash"
[ "$(k events shop orders | tail -n 1)" = "Normal Updated Updated Secret, StatefulSet runner-shop-orders in namespace kbackup" ] ||
	fail "no Updated event: $(k events shop orders)"
ok "secret change: config hash $h1 → $h2, Updated event"

# 3a. The runners' control API token: in the config, the same at every pass; a new
# key (its Secret deleted) gives the runner a new one; the key is never swept.
tok() { k get "$SECRETS/runner-shop-orders" \
	'(Buffer.from(o.data["kbackup.conf"],"base64").toString().match(/^api_token = ([0-9a-f]{64})$/m) || [])[1]'; }
t1=$(tok)
[ ${#t1} = 64 ] || fail "no api_token in the config"
[ "$(k get "$SECRETS/kbackup-operator-api-key" o.metadata.name)" = kbackup-operator-api-key ] || fail "no key Secret"
[ "$(k delete "$SECRETS/kbackup-operator-api-key")" = 200 ] || fail "delete the key"
once || fail "pass after the key went"
t2=$(tok)
[ ${#t2} = 64 ] && [ "$t2" != "$t1" ] || fail "token after a new key: $t2"
once || fail "pass with the new key"
[ "$(tok)" = "$t2" ] || fail "token changed without a new key"
ok "api token: stable, new with a new key"

# 3b. 409: a stale update is refused; the operator reads again and retries.
stale=$(k get "$STS/runner-shop-orders" 'JSON.stringify(Object.assign(o, {metadata: Object.assign(o.metadata, {resourceVersion: "1"})}))')
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
	--data-binary "$stale" "$srv$STS/runner-shop-orders")
[ "$code" = 409 ] || fail "stale update answered $code, not 409"
k edit /api/v1/namespaces/shop/secrets/db-password 'o.data.password = Buffer.from("after-conflict").toString("base64")'
k test fail "count=2&status=409&method=PUT"
once || fail "pass with conflicts"
k get "$SECRETS/runner-shop-orders" 'Buffer.from(o.data["kbackup.conf"],"base64").toString()' |
	grep -q '^password = after-conflict$' || fail "not updated after 409s"
ok "409 on a stale update; conflicts re-read and retried"

# 4. API errors: injected 500s are retried with backoff.
k edit /api/v1/namespaces/shop/secrets/db-password 'o.data.password = Buffer.from("third").toString("base64")'
k test reset
k test fail "count=4&status=500"
once --log-level debug || fail "pass with injected 500s failed"
grep -q 'msg=retrying' "$tmp/op.log" || fail "no retry logged"
k get "$SECRETS/runner-shop-orders" 'Buffer.from(o.data["kbackup.conf"],"base64").toString()' |
	grep -q '^password = third$' || fail "not reconciled after the 500s"
k test fail "count=1000&status=503"
once --retries 2 && fail "a pass against a failing server succeeded"
k test fail clear=1
ok "500s retried with backoff; persistent failure → exit 1"

# 5. Status reasons.
cat >"$tmp/bad.json" <<'EOF'
[
 {"apiVersion":"kbackup.io/v1alpha1","kind":"BackupDefinition","metadata":{"name":"badcron","namespace":"shop"},
  "spec":{"engine":"postgres","storageLocation":"s3-main","schedule":"every day"}},
 {"apiVersion":"kbackup.io/v1alpha1","kind":"BackupDefinition","metadata":{"name":"nolocation","namespace":"shop"},
  "spec":{"engine":"redis","storageLocation":"nowhere","schedule":"@daily"}},
 {"apiVersion":"kbackup.io/v1alpha1","kind":"BackupDefinition","metadata":{"name":"nosecret","namespace":"shop"},
  "spec":{"engine":"mysql","storageLocation":"s3-main","schedule":"@daily","passwordSecretRef":{"name":"absent","key":"k"}}}
]
EOF
# (a real API server refuses badcron with this CRD: as if an older one had let it in)
k test schemas check=0
k create "$tmp/bad.json" || fail "create bad definitions"
k test schemas check=1
once || fail "pass with invalid definitions"
[ "$(k get "$OPS/shop/backupdefinitions/badcron" 'o.status.conditions[0].reason')" = InvalidSchedule ] || fail InvalidSchedule
[ "$(k get "$OPS/shop/backupdefinitions/nolocation" 'o.status.conditions[0].reason')" = LocationNotFound ] || fail LocationNotFound
[ "$(k get "$OPS/shop/backupdefinitions/nosecret" 'o.status.conditions[0].reason')" = SecretNotFound ] || fail SecretNotFound
[ "$(k get "$OPS/shop/backupdefinitions/nosecret" 'o.status.conditions[0].status')" = False ] || fail "Ready should be False"
[ "$(k events shop nosecret)" = "Warning SecretNotFound Secret shop/absent: no key k, or no such Secret the operator may read" ] ||
	fail "SecretNotFound event: $(k events shop nosecret)"
k events shop badcron | grep -q '^Warning InvalidSchedule ' || fail "InvalidSchedule event: $(k events shop badcron)"
k events shop nolocation | grep -q '^Warning LocationNotFound .*nowhere not found$' ||
	fail "LocationNotFound event: $(k events shop nolocation)"
k test reset
once || fail "second pass with invalid definitions"
[ "$(k writes)" = 0 ] || fail "second pass over invalid definitions wrote: $(k counts)"
[ "$(k events shop nosecret | wc -l)" = 1 ] || fail "warning repeated: $(k events shop nosecret)"
for n in badcron nolocation nosecret; do k delete "$OPS/shop/backupdefinitions/$n" >/dev/null; done
once || fail "pass after deleting invalid definitions"
[ "$(k count backupdefinitions)" = 1 ] || fail "invalid definitions not released"
ok "status reasons InvalidSchedule, LocationNotFound, SecretNotFound; one Warning each"

# 5b. A runner name taken by an object the operator does not own: not
# overwritten, not deleted; NameConflict in the status and an Event.
echo '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"runner-shop-taken","namespace":"kbackup"},
 "data":{"mine":"eWVz"}}' | k create - || fail "create the taken Secret"
sed -e 's/"orders"/"taken"/' "$tmp/base.json" |
	node -e 'const a=JSON.parse(require("fs").readFileSync(0));console.log(JSON.stringify([a[3]]))' | k create -
once || fail "pass with a name conflict"
[ "$(k get "$OPS/shop/backupdefinitions/taken" 'o.status.conditions[0].reason')" = NameConflict ] || fail NameConflict
[ "$(k events shop taken)" = "Warning NameConflict Secret runner-shop-taken already exists and is not managed by kbackup-operator" ] ||
	fail "NameConflict event: $(k events shop taken)"
[ "$(k get "$SECRETS/runner-shop-taken" 'Object.keys(o.data).join()')" = mine ] || fail "taken Secret overwritten"
[ "$(k get "$STS/runner-shop-taken" o.metadata.name)" = NOTFOUND ] || fail "StatefulSet made despite the conflict"
k delete "$OPS/shop/backupdefinitions/taken" >/dev/null
once || fail "pass after deleting the conflicting definition"
[ "$(k get "$SECRETS/runner-shop-taken" 'Object.keys(o.data).join()')" = mine ] || fail "taken Secret deleted"
[ "$(k get "$OPS/shop/backupdefinitions/taken" o.metadata.name)" = NOTFOUND ] || fail "definition not released"
k delete "$SECRETS/runner-shop-taken" >/dev/null
ok "name conflict: left alone, NameConflict status and event"

# 6. A name too long: valid, stable, shortened names.
ns=n$(printf 'a%.0s' $(seq 62))
nm=d$(printf 'b%.0s' $(seq 62))
sed -e "s/\"orders\"/\"$nm\"/" -e "s/\"shop\"/\"$ns\"/g" "$tmp/base.json" |
	node -e 'const a=JSON.parse(require("fs").readFileSync(0));console.log(JSON.stringify(a.slice(2)))' >"$tmp/long.json"
k create "$tmp/long.json" || fail "create long definition"
once || fail "pass with a long name"
long=$(k get "$OPS/$ns/backupdefinitions/$nm" o.status.runner)
[ ${#long} -le 52 ] || fail "name $long longer than 52"
[[ $long =~ ^[a-z]([-a-z0-9]*[a-z0-9])?$ ]] || fail "name $long not DNS-1035"
for p in "$SECRETS" "$STS" "$SVC"; do
	[ "$(k get "$p/$long" o.metadata.name)" = "$long" ] || fail "missing $p/$long"
done
[ "$(k get "$STS/$long" 'o.metadata.labels["kbackup.io/definition-name"].length <= 63')" = true ] || fail "label value too long"
ok "long name → $long"

# 7. Delete: deletionTimestamp while the finalizer holds, then objects and definition gone.
[ "$(k delete "$OPS/$ns/backupdefinitions/$nm")" = 202 ] || fail "delete with finalizer should be 202"
[ "$(k get "$OPS/$ns/backupdefinitions/$nm" 'o.metadata.deletionTimestamp ? "set" : "unset"')" = set ] || fail "no deletionTimestamp"
once || fail "pass after delete"
for p in "$SECRETS" "$STS" "$SVC"; do
	[ "$(k get "$p/$long" o.metadata.name)" = NOTFOUND ] || fail "$p/$long still there"
done
[ "$(k get "$OPS/$ns/backupdefinitions/$nm" o.metadata.name)" = NOTFOUND ] || fail "definition still there"
ok "delete: objects and definition gone"

# 8. Sweep: a labelled object whose definition is gone.
cat >"$tmp/orphan.json" <<'EOF'
{"apiVersion":"v1","kind":"Secret","metadata":{"name":"runner-gone-away","namespace":"kbackup",
 "labels":{"app.kubernetes.io/managed-by":"kbackup-operator"}},"data":{}}
EOF
k create "$tmp/orphan.json"
once || fail "sweep pass"
[ "$(k get "$SECRETS/runner-gone-away" o.metadata.name)" = NOTFOUND ] || fail "orphan not swept"
[ "$(k get "$SECRETS/s3-credentials" o.metadata.name)" = s3-credentials ] || fail "unlabelled Secret swept"
ok "sweep"

# 9. 1,000 definitions; then a pass with no write at all.
k bulk 1000 many || fail "bulk create"
k edit /api/v1/namespaces/shop/secrets/db-password 'o.metadata.namespace="shop"' 2>/dev/null
sed -e 's/"shop"/"many"/g' "$tmp/base.json" |
	node -e 'const a=JSON.parse(require("fs").readFileSync(0));console.log(JSON.stringify([a[2]]))' | k create -
once || fail "1000-definition pass"
[ "$(k count statefulsets)" = 1001 ] || fail "expected 1001 StatefulSets, got $(k count statefulsets)"
k test reset
once || fail "second 1000-definition pass"
[ "$(k writes)" = 0 ] || fail "second pass over 1000 definitions wrote (events included): $(k counts)"
[ "$(k events many def-999)" = "Normal Created Created Secret, StatefulSet, Service runner-many-def-999 in namespace kbackup" ] ||
	fail "def-999 events: $(k events many def-999)"
ok "1000 definitions; second pass: $(k counts), no write, no event"

# 10. Watch mode: events, 410 Gone → list again, delete, SIGTERM.
k bulk-delete 1000 many
once || fail "cleanup pass"
[ "$(k count statefulsets)" = 1 ] || fail "bulk cleanup left $(k count statefulsets)"
"$op" --server "$srv" --namespace kbackup --resync 1h --backoff 20 >>"$tmp/op.log" 2>&1 & oppid=$!; pids+=($oppid)
wait_for() {	# path expected-expression-value
	local i
	for i in $(seq 150); do [ "$(k get "$1" "$2")" = "$3" ] && return 0; sleep 0.2; done
	return 1
}
sed -e 's/"orders"/"watched"/' "$tmp/base.json" |
	node -e 'const a=JSON.parse(require("fs").readFileSync(0));console.log(JSON.stringify([a[3]]))' | k create -
wait_for "$STS/runner-shop-watched" o.metadata.name runner-shop-watched || fail "watch: not created"
k edit "$OPS/shop/backupdefinitions/watched" 'o.spec.schedule = "@hourly"'
wait_for "$OPS/shop/backupdefinitions/watched" o.status.observedGeneration 2 || fail "watch: spec change not seen"
k get "$SECRETS/runner-shop-watched" 'Buffer.from(o.data["kbackup.conf"],"base64").toString()' |
	grep -q '^schedule = @hourly$' || fail "watch: config not updated"
k edit "$OPS/kbackup/backupstoragelocations/s3-main" 'o.spec.bucket = "other-bucket"'
wait_for "$SECRETS/runner-shop-watched" \
	'/bucket = other-bucket/.test(Buffer.from(o.data["kbackup.conf"],"base64").toString())' true ||
	fail "watch: location change not seen"
# A failure retried with backoff (1 s, 2 s, ...): one Warning, not one per retry.
k test fail "count=100000&status=500&method=PUT&path=/statefulsets/runner-shop-watched"
k edit "$OPS/shop/backupdefinitions/watched" 'o.spec.schedule = "@weekly"'
failures() { grep -c 'reconcile failed.*watched' "$tmp/op.log"; }
for _ in $(seq 150); do [ "$(failures)" -ge 3 ] && break; sleep 0.2; done
[ "$(failures)" -ge 3 ] || fail "watch: failure not retried"
[ "$(k events shop watched | grep -c '^Warning ReconcileFailed PUT .*statefulsets/runner-shop-watched: 500')" = 1 ] ||
	fail "watch: ReconcileFailed events: $(k events shop watched)"
k test fail clear=1
wait_for "$OPS/shop/backupdefinitions/watched" o.status.observedGeneration 3 ||
	fail "watch: not reconciled after the failures"
ok "watch: a failure retried $(failures) times, one ReconcileFailed event"
k test compact
k test close-watches
sed -e 's/"orders"/"after410"/' "$tmp/base.json" |
	node -e 'const a=JSON.parse(require("fs").readFileSync(0));console.log(JSON.stringify([a[3]]))' | k create -
wait_for "$STS/runner-shop-after410" o.metadata.name runner-shop-after410 || fail "watch: not created after 410"
grep -q 'watch expired' "$tmp/op.log" || fail "410 not seen"
k delete "$OPS/shop/backupdefinitions/watched" >/dev/null
wait_for "$STS/runner-shop-watched" o.metadata.name NOTFOUND || fail "watch: not deleted"
wait_for "$OPS/shop/backupdefinitions/watched" o.metadata.name NOTFOUND || fail "watch: finalizer not removed"
kill -TERM $oppid
wait $oppid || fail "operator exit status $? on SIGTERM"
ok "watch mode: create, 410 → relist, delete, SIGTERM"
exit 0

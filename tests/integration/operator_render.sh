#!/usr/bin/env bash
# `kbackup-operator render`: golden files for the samples (YAML and JSON
# output, YAML and JSON/List input), failures named, and every rendered
# object — and every manifest in k8s/ — validated against the Kubernetes API
# schemas (npm kubernetes-models) and our CRDs' schemas (tests/operator/validate.js).
# KBACKUP_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
op=${KBACKUP_OPERATOR:-$top/bin/kbackup-operator}
[ -x "$op" ] || { echo "skip: $op not built (make operator)"; exit 77; }
golden=$top/tests/operator/golden
tmp=$(mktemp -d /tmp/kbackup-render.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

samples=()
for s in "$top"/k8s/samples/*.yaml; do samples+=(-f "$s"); done
list=(-f "$top/tests/operator/input-list.json" --namespace backups
	--image-pull-secrets regcred,other --image-tag 1.2.3 --api-key-file "$top/tests/operator/api-key")

check() {	# golden-name args...
	local g=$1; shift
	"$op" render "$@" >"$tmp/$g" 2>"$tmp/$g.err" || fail "$g: $(cat "$tmp/$g.err")"
	if [ "${KBACKUP_UPDATE_GOLDEN:-0}" = 1 ]; then
		mkdir -p "$golden"
		cp "$tmp/$g" "$golden/$g"
		echo "updated $g"
	else
		diff -u "$golden/$g" "$tmp/$g" || fail "$g differs from the golden file"
		echo "ok: $g"
	fi
}
check samples.yaml "${samples[@]}"
check samples.json "${samples[@]}" -o json
check list.yaml "${list[@]}"
check list.json "${list[@]}" -o json

# Pod settings: the location's ServiceAccount (and only then its token), the
# definition's resources, nodeSelector, tolerations, priority class, labels and
# annotations; the control API's token only with the operator's key.
command -v node >/dev/null && node -e '
	const fs = require("fs"), dir = process.argv[1];
	const items = (f) => JSON.parse(fs.readFileSync(dir + "/" + f)).items;
	const conf = (s) => Buffer.from(s.data["kbackup.conf"], "base64").toString();
	const fail = (m) => { console.error("FAIL: " + m); process.exit(1); };
	for (const o of items("samples.json")) {
		if (o.kind === "Secret" && /api_token/.test(conf(o))) fail("a token without a key");
		if (o.kind === "Service" && o.spec.publishNotReadyAddresses !== true) fail("Service not published while unready");
		if (o.kind !== "StatefulSet") continue;
		const p = o.spec.template.spec;
		if (p.serviceAccountName !== "kbackup-runner" || p.automountServiceAccountToken !== true)
			fail(o.metadata.name + ": the location names a ServiceAccount: " + JSON.stringify(p));
	}
	const pg = items("samples.json").find((o) => o.kind === "StatefulSet" && o.metadata.name === "runner-shop-orders");
	const t = pg.spec.template, c = t.spec.containers[0];
	if (c.resources.requests.memory !== "256Mi" || c.resources.limits.memory !== "1Gi" || c.resources.limits.cpu !== undefined ||
	    t.spec.nodeSelector["node-role.example.com/backup"] !== "true" || t.spec.tolerations[0].value !== "backup" ||
	    t.spec.priorityClassName !== "backup-low" || t.metadata.labels.team !== "shop" ||
	    t.metadata.annotations["sidecar.istio.io/inject"] !== "false" || !t.metadata.annotations["kbackup.io/config-hash"])
		fail("pod settings of runner-shop-orders: " + JSON.stringify(t));
	for (const o of items("list.json")) {
		if (o.kind === "Secret" && !/^api_token = [0-9a-f]{64}$/m.test(conf(o))) fail(o.metadata.name + ": no token");
		if (o.kind === "StatefulSet" && (o.spec.template.spec.serviceAccountName !== undefined ||
		    o.spec.template.spec.automountServiceAccountToken !== false))
			fail(o.metadata.name + ": a ServiceAccount token without a ServiceAccount");
		if (o.kind === "StatefulSet" && o.spec.template.spec.containers[0].resources.limits.memory !== "512Mi")
			fail(o.metadata.name + ": not the default resources");
	}' "$tmp" && echo "ok: pod settings, tokens"

# The same objects from one concatenated stream on stdin.
cat "$top"/k8s/samples/*.yaml | "$op" render -f - >"$tmp/stdin.yaml" || fail "render from stdin"
cmp -s "$tmp/stdin.yaml" "$tmp/samples.yaml" || fail "stdin and files render differently"
echo "ok: stdin"

# Failures: named, exit 1, nothing on stdout.
expect_fail() {	# reason args... (stdin: an extra document)
	local reason=$1; shift
	if "$op" render "$@" >"$tmp/out" 2>"$tmp/err"; then fail "render should fail with $reason"; fi
	grep -q "$reason" "$tmp/err" || fail "expected $reason, got: $(cat "$tmp/err")"
	[ ! -s "$tmp/out" ] || fail "output despite $reason"
	echo "ok: $(cat "$tmp/err")"
}
loc=$top/k8s/samples/00-storage-location.yaml
expect_fail LocationNotFound -f "$top/k8s/samples/postgres.yaml" </dev/null
printf '%s\n' 'apiVersion: kbackup.io/v1alpha1' 'kind: BackupDefinition' \
	'metadata: {name: x, namespace: shop}' \
	'spec: {engine: redis, storageLocation: s3-main, schedule: "@daily", passwordSecretRef: {name: nope, key: k}}' \
	>"$tmp/nosecret.yaml"
expect_fail SecretNotFound -f "$loc" -f "$tmp/nosecret.yaml"
echo '{"apiVersion": "kbackup.io/v1alpha1", "kind": "BackupDefinition", "metadata": {"name": "x"},
 "spec": {"engine": "redis", "storageLocation": "s3-main", "schedule": "61 * * *"}}' >"$tmp/cron.json"
expect_fail InvalidSchedule -f "$loc" -f "$tmp/cron.json"
echo '{"apiVersion": "kbackup.io/v1alpha1", "kind": "BackupDefinition", "metadata": {"name": "x"},
 "spec": {"engine": "oracle", "storageLocation": "s3-main", "schedule": "@daily"}}' >"$tmp/engine.json"
expect_fail InvalidSpec -f "$loc" -f "$tmp/engine.json"
echo '[{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "q", "namespace": "kbackup"},
  "stringData": {"k": "both '"'"' and \""}},
 {"apiVersion": "kbackup.io/v1alpha1", "kind": "BackupStorageLocation", "metadata": {"name": "l"},
  "spec": {"type": "s3", "bucket": "bb", "accessKeySecretRef": {"name": "q", "key": "k"}}},
 {"apiVersion": "kbackup.io/v1alpha1", "kind": "BackupDefinition", "metadata": {"name": "x"},
  "spec": {"engine": "redis", "storageLocation": "l", "schedule": "@daily"}}]' >"$tmp/quotes.json"
# a JSON array is YAML too, but not a List: put it in one
echo "{\"kind\": \"List\", \"apiVersion\": \"v1\", \"items\": $(cat "$tmp/quotes.json")}" >"$tmp/quotes-list.json"
expect_fail InvalidSpec -f "$tmp/quotes-list.json"
# The runner's own checks on what is rendered (where this build has the engine
# and the backend): a key the runner would refuse.
printf '%s\n' '---' 'apiVersion: kbackup.io/v1alpha1' 'kind: BackupStorageLocation' \
	'metadata: {name: local}' 'spec: {type: file, path: /var/backups/kbackup}' '---' \
	'apiVersion: kbackup.io/v1alpha1' 'kind: BackupDefinition' 'metadata: {name: pg, namespace: db}' \
	'spec: {engine: postgres, settings: {host: db, port: 5432}, storageLocation: local, schedule: "@daily"}' \
	>"$tmp/runner-check.yaml"
expect_fail 'InvalidSpec: kbackup.conf: \[postgres\] database' -f "$tmp/runner-check.yaml"
# MariaDB point-in-time recovery (k8s/samples/mariadb-pitr.yaml): the runner's
# own refusals of its [mysql] binlog keys, before any pod exists.
bad_binlog() {	# expected sed-expression
	sed "$2" "$top/k8s/samples/mariadb-pitr.yaml" |
		cat "$top/k8s/samples/00-storage-location.yaml" - >"$tmp/bad-binlog.yaml"
	expect_fail "$1" -f "$tmp/bad-binlog.yaml"
}
bad_binlog "InvalidSpec: kbackup.conf: \\[mysql\\] binlog: 'sometimes' is not one of off|archive" \
	's/binlog: archive/binlog: sometimes/'
bad_binlog "InvalidSpec: kbackup.conf: \\[mysql\\] binlog_flush: '0s' is not a duration" \
	's/binlog_flush: 30s/binlog_flush: 0s/'
bad_binlog 'InvalidSpec: kbackup.conf: \[mysql\] binlog = archive: databases must be one database or \*' \
	's/databases: orders/databases: orders other/'
# Pod settings the operator refuses: its own labels, a bad toleration or quantity.
bad_runner() {	# expected runner-yaml
	sed "s|schedule: \"@daily\"}|schedule: \"@daily\", runner: $2}|" "$tmp/runner-check.yaml" >"$tmp/bad-runner.yaml"
	expect_fail "$1" -f "$tmp/bad-runner.yaml"
}
bad_runner 'spec.runner.labels.app.kubernetes.io/name: the operator sets app.kubernetes.io/' \
	'{labels: {app.kubernetes.io/name: mine}}'
bad_runner 'spec.runner.tolerations\[0\]: operator Exists takes no value' \
	'{tolerations: [{key: a, operator: Exists, value: b}]}'
bad_runner 'spec.runner.resources.limits.memory: expected a quantity' '{resources: {limits: {memory: lots}}}'
bad_runner 'spec.runner.serviceAccountName: unknown setting' '{serviceAccountName: kbackup-operator}'
sed -i 's/port: 5432}/port: 5432, database: app}/' "$tmp/runner-check.yaml"
"$op" render -f "$tmp/runner-check.yaml" -o json >"$tmp/runner-check.json" || fail "valid file-location render"
grep -q '"image": "kbackup/runner-postgres:' "$tmp/runner-check.json" || fail "image not from the postgres engine"
echo "ok: runner checks"
"$op" render -f /nonexistent >/dev/null 2>&1; [ $? = 2 ] || fail "a missing file should exit 2"
printf 'a: [\n' >"$tmp/broken.yaml"
"$op" render -f "$tmp/broken.yaml" >/dev/null 2>"$tmp/err"; [ $? = 2 ] || fail "broken YAML should exit 2"
grep -q "line" "$tmp/err" || fail "YAML error without a line: $(cat "$tmp/err")"
echo "ok: $(cat "$tmp/err")"

# Schema validation.
command -v node >/dev/null || { echo "skip: node not installed (golden checks passed)"; exit 77; }
if [ ! -d "$top/tests/operator/node_modules/kubernetes-models" ]; then
	(cd "$top/tests/operator" && npm ci --no-audit --no-fund --loglevel=error) ||
		{ echo "skip: npm ci failed (golden checks passed)"; exit 77; }
fi
node "$top/tests/operator/validate.js" "$golden"/*.json "$tmp/runner-check.json" "$top"/k8s/samples/*.yaml \
	"$top"/k8s/crds/*.yaml "$top"/k8s/operator/*.yaml || fail "schema validation"
exit 0

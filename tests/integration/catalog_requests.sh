#!/usr/bin/env bash
# How many storage requests a job makes with 1,000 backups on S3 (s3rver
# behind the checking proxy, which logs every request): restore ID reads its
# manifest and no listing or index; restore latest the index and one
# manifest; a --once (backup, prune, metrics) reads each manifest at most
# once -- none at all when the index holds them.  The 999 extra backups are
# copies of a real one, put straight into s3rver.  The figures are printed
# for docs/BENCHMARKS.md.
. "$(dirname "$0")/../lib.sh"

[ -f "$KB_TOP/tests/s3/harness.sh" ] || skip "no S3 harness"
command -v node >/dev/null || skip "node not installed"
command -v aws >/dev/null || skip "aws CLI not installed"
N=${KB_REQUESTS_BACKUPS:-1000}

s3_setup

pg_start
pg_load_sample shop 50
write_pg_config "$KB_TMP/kb.conf" shop
sed -i '/^\[storage\]/,$d' "$KB_TMP/kb.conf"
S3_PREFIX=req s3_storage_section </dev/null >>"$KB_TMP/kb.conf"
cat >>"$KB_TMP/kb.conf" <<EOF

[retention]
all = 3650d
hourly = off
daily = off
weekly = off
monthly = off
EOF

say "one real backup, copied into $((N - 1)) more"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "first backup"
# s3rver itself (no proxy: quicker for 2,000 objects) takes its own default key.
upstream() { AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER aws --endpoint-url "$S3_UPSTREAM" "$@"; }
upstream s3 sync --quiet "s3://$S3_BUCKET/req/" "$KB_TMP/tpl/" || fail "fetching the first backup"
python3 - "$KB_TMP/tpl" "$KB_TMP/gen" "$N" <<'PY'
import glob, hashlib, json, os, shutil, sys, time
from collections import OrderedDict
tpl, gen, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
mpath = glob.glob(os.path.join(tpl, "test/orders/backups/*/manifest.json"))[0]
m = json.load(open(mpath), object_pairs_hook=OrderedDict)
data = os.path.join(os.path.dirname(mpath), "data")
t0 = int(time.time()) - 2 * n * 3600
for i in range(1, n):
    t = t0 + i * 3600
    bid = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))
    if m["format"] > 1:
        bid += "-%06x" % i
    d = os.path.join(gen, "test/orders/backups", bid)
    os.makedirs(d)
    shutil.copy(data, os.path.join(d, "data"))
    m["id"] = bid
    if m["format"] > 1:
        m["parts"][0]["key"] = "test/orders/backups/%s/data" % bid
    else:				# kbackup 0.1, for the figures of before
        m["data"] = "test/orders/backups/%s/data" % bid
    m["started"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    m["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t + 1))
    m["labels"] = [OrderedDict([("name", "all:" + bid), ("expires", "2099-01-01T00:00:00Z")])]
    if "checksum" in m:			# as kbackup-format(5) says a writer makes it
        del m["checksum"]
        c = json.dumps(m, separators=(",", ":"), ensure_ascii=False).encode()
        m["checksum"] = "sha256:" + hashlib.sha256(c).hexdigest()
    json.dump(m, open(os.path.join(d, "manifest.json"), "w"), indent=2)
PY
upstream s3 sync --quiet "$KB_TMP/gen/" "s3://$S3_BUCKET/req/" || fail "putting the copies"
some_id=$(ls "$KB_TMP/gen/test/orders/backups" | sed -n "$((N / 2))p")

# counts WHAT args...: runs the runner and prints its requests by kind.
counts() {
	local what=$1
	shift
	curl -s -X POST "$S3_ENDPOINT/__proxy/reset" >/dev/null
	run_runner "$@"
	expect_rc 0 "$what"
	curl -s "$S3_ENDPOINT/__proxy/stats" >"$KB_TMP/stats.json"
	python3 - "$KB_TMP/stats.json" "$what" <<'PY' | tee -a "$KB_TMP/figures"
import collections, json, sys
log = json.load(open(sys.argv[1]))["log"]
k = collections.Counter()
per = collections.Counter()
for line in log:
    method, url = line.split(" ", 1)
    path = url.split("?")[0]
    if method == "GET" and "list-type=2" in url:
        k["LIST"] += 1
    elif method == "GET" and path.endswith("/manifest.json"):
        k["GET manifest"] += 1
        per[path] += 1
    elif method == "GET" and path.endswith("/labels.json"):
        k["GET index"] += 1
    else:
        k[method + " other"] += 1
print("%-28s %s  (the most reads of one manifest: %d)" % (sys.argv[2] + ":",
      ", ".join("%s %d" % kv for kv in sorted(k.items())), max(per.values() or [0])))
json.dump({"kinds": k, "max_per_manifest": max(per.values() or [0])},
          open(sys.argv[1] + ".k", "w"))
PY
}
if [ -n "${KB_REQUESTS_ONLY_FIGURES:-}" ]; then
	expect_rc() { :; }
	fail() { echo "(would fail: $*)"; }
fi
kind() {	# kind: its count in the last counts
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["kinds"].get(sys.argv[2], 0) if sys.argv[2] != "max" else d["max_per_manifest"])' \
		"$KB_TMP/stats.json.k" "$1"
}

say "requests with $N backups"
counts "list (index missing)" -c "$KB_TMP/kb.conf" list
[ "$(kind 'GET manifest')" -ge $((N - 1)) ] || fail "list without an index read $(kind 'GET manifest') manifests"
# list only reads (read-only credentials do): a prune writes the index.
counts "prune (index stale)" -c "$KB_TMP/kb.conf" prune
[ "$(kind max)" -le 1 ] || fail "prune read one manifest $(kind max) times"
counts "list (index written)" -c "$KB_TMP/kb.conf" list
[ "$(kind 'GET manifest')" = 0 ] || fail "list read $(kind 'GET manifest') manifests with the index"
[ "$(grep -c "^$some_id " "$KB_TMP/out")" = 1 ] || fail "list shows $some_id not once"

counts "restore ID" -c "$KB_TMP/kb.conf" restore "$some_id" --dry-run
[ "$(kind 'GET manifest')" = 1 ] || fail "restore ID read $(kind 'GET manifest') manifests"
[ "$(kind LIST)" = 0 ] || fail "restore ID listed the bucket"
[ "$(kind 'GET index')" = 0 ] || fail "restore ID read the index"
assert_contains "$KB_TMP/out" "would restore backup $some_id" "restore ID"

counts "unpack ID" -c "$KB_TMP/kb.conf" unpack "$some_id" -o "$KB_TMP/dump"
[ "$(kind 'GET manifest')" = 1 ] || fail "unpack ID read $(kind 'GET manifest') manifests"
[ "$(kind LIST)" = 0 ] || fail "unpack ID listed the bucket"

counts "restore latest" -c "$KB_TMP/kb.conf" restore latest --dry-run
[ "$(kind 'GET manifest')" -le 2 ] || fail "restore latest read $(kind 'GET manifest') manifests"
[ "$(kind 'GET index')" = 1 ] || fail "restore latest read the index $(kind 'GET index') times"

counts "--once (backup, prune)" -c "$KB_TMP/kb.conf" --once
[ "$(kind max)" -le 1 ] || fail "--once read one manifest $(kind max) times"
[ "$(kind 'GET manifest')" -le 2 ] || fail "--once read $(kind 'GET manifest') manifests"
[ "$(kind 'GET index')" = 1 ] || fail "--once read the index $(kind 'GET index') times"

cat "$KB_TMP/figures"
echo ok

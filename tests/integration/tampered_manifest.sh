#!/usr/bin/env bash
# A manifest rewritten (and re-summed) by someone able to write the location,
# with a part name that holds a newline and a line of its own: the backup is
# damaged, and list, verify --all and check each give it one line, the name's
# control characters shown as \xNN, so that nothing can pass for another
# backup's line.  (Part names are the server's database names: "any
# characters", kbackup-format(5).)
# mode = single: the previous manifest, rewritten to list single/manifest.json
# as a part of its own, does not make the next backup delete the manifest it
# has just written; only keys under the previous backup's single/ID/ go.
# A manifest that misstates its data's size (the hash still right): verify
# fails, it does not print the manifest's claims as checked.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

sqlite_tiny
B=$KB_TMP/backups/test/db/backups

run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup"
id=$(ls "$B")
fake=20991231T000000Z-ffffff
python3 - "$B/$id/manifest.json" "$fake" <<'PY'
import json, sys
path, fake = sys.argv[1:]
m = json.load(open(path))
m["parts"][0]["name"] = "data\n%s ok (1 B, 1 frames)" % fake
m["parts"][0]["key"] = "elsewhere/data"
json.dump(m, open(path, "w"), indent=2)
PY
manifest_resum "$B/$id/manifest.json"

run_runner -c "$KB_TMP/kb.conf" list
expect_rc 0 "list"
assert_contains "$KB_TMP/out" 'DAMAGED: part data\x0a20991231T000000Z-ffffff ok (1 B, 1 frames) lies outside' "list names the part"
! grep -q "^$fake" "$KB_TMP/out" || fail "list printed a line for the part name: $(cat "$KB_TMP/out")"
run_runner -c "$KB_TMP/kb.conf" verify --all
expect_rc 1 "verify --all"
assert_contains "$KB_TMP/out" "$id DAMAGED part data\\x0a" "verify --all names it"
! grep -q "^$fake" "$KB_TMP/out" || fail "verify printed a line for the part name: $(cat "$KB_TMP/out")"
run_runner -c "$KB_TMP/kb.conf" check
! grep -q "^$fake" "$KB_TMP/out" || fail "check printed a line for the part name: $(cat "$KB_TMP/out")"

say "a re-summed manifest whose size of the data is not the data's"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "second backup"
second=$(committed_id)
python3 - "$B/$second/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["parts"][0]["raw_bytes"] += 1000
m["raw_bytes"] += 1000
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
manifest_resum "$B/$second/manifest.json"
run_runner -c "$KB_TMP/kb.conf" verify "$second"
expect_rc 1 "verify of a manifest that misstates the size"
assert_contains "$KB_TMP/out" "$second FAILED its manifest says" "verify names the claim"

say "mode = single: a previous manifest that lists single/manifest.json"
sed "s|^namespace = test|&\nmode = single|" "$KB_TMP/kb.conf" >"$KB_TMP/single.conf"
chmod 600 "$KB_TMP/single.conf"
S=$KB_TMP/backups/test/db/single
run_runner -c "$KB_TMP/single.conf" --once
expect_rc 0 "first single backup"
first=$(committed_id)
python3 - "$S/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
p = dict(m["parts"][0], name="extra", key="test/db/single/manifest.json")
m["parts"].append(p)
json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
manifest_resum "$S/manifest.json"
run_runner -c "$KB_TMP/single.conf" --once
expect_rc 0 "second single backup"
second=$(committed_id)
assert_contains "$KB_TMP/log" "previous single backup not removed: its key is outside" "says so"
[ -f "$S/manifest.json" ] || fail "the second backup deleted its own manifest"
[ ! -e "$S/$first" ] || fail "the previous backup's own data was kept"
run_runner -c "$KB_TMP/single.conf" list
grep -q "^$second .*(single)" "$KB_TMP/out" || fail "single list: $(cat "$KB_TMP/out")"
run_runner -c "$KB_TMP/single.conf" restore latest --database "$KB_TMP/data/copy.db"
expect_rc 0 "restore the second single backup"
echo ok

#!/usr/bin/env bash
# compression = zstd:auto: a backup whose zstd level follows the dump's
# speed restores to the database it was taken of, as any other; the manifest
# records the levels used (zstd:auto:MIN-MAX, within 1-6) and the log the
# input each compressed; verify and unpack read it as any other backup.
. "$(dirname "$0")/../lib.sh"

pg_start
pg_load_sample shop 30000
write_pg_config "$KB_TMP/kb.conf" shop
sed -i 's/^engine = postgres/engine = postgres\ncompression = zstd:auto/' "$KB_TMP/kb.conf"

say "backup with zstd:auto"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup"
assert_contains "$KB_TMP/log" 'msg="zstd:auto: the levels used, and the input each compressed"' \
	"the log says the levels"
m=$(ls "$KB_TMP"/backups/test/orders/backups/*/manifest.json)
c=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["compression"])' "$m")
[[ "$c" =~ ^zstd:auto:[1-6]-[1-6]$ ]] || fail "manifest compression: '$c'"

say "verify, list, restore into a new database"
run_runner -c "$KB_TMP/kb.conf" verify latest
expect_rc 0 "verify"
run_runner -c "$KB_TMP/kb.conf" list --json
expect_rc 0 "list --json"
assert_contains "$KB_TMP/out" "zstd:auto:" "list --json shows the levels"
run_runner -c "$KB_TMP/kb.conf" restore latest --database shop_copy
expect_rc 0 "restore"
pg_fingerprint shop >"$KB_TMP/a"
pg_fingerprint shop_copy >"$KB_TMP/b"
diff -u "$KB_TMP/a" "$KB_TMP/b" >"$KB_TMP/diff" ||
	fail "restored database differs: $(head -20 "$KB_TMP/diff")"
echo ok

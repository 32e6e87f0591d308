#!/usr/bin/env bash
# Client-side encryption through PostgreSQL and the file backend: round trips
# with a passphrase and with a raw key (compared with pg_fingerprint), the
# stored object holds no plain table contents, key rotation (old backups
# restore under encryption_key_old, new ones use the new key), the downgrade
# refusal (an unencrypted backup where keys are configured), a manifest whose
# cipher does not match its data, and no key anywhere in storage or logs.
. "$(dirname "$0")/../lib.sh"

MARK="kbmark-zebra-$RANDOM-plaintext"
PASS_A="passphrase-A-$RANDOM$RANDOM-secret"
PASS_B="passphrase-B-$RANDOM$RANDOM-secret"
RAW_KEY=$(openssl rand -hex 32)

pg_start
pg_load_sample shop 1500
psql_q shop "CREATE TABLE marks (t text); INSERT INTO marks SELECT '$MARK' || i FROM generate_series(1, 50) i"
pg_fingerprint shop >"$KB_TMP/fp.shop"

# conf FILE STORAGE-DIR [extra [storage] lines...]
conf() {
	local file=$1 dir=$2
	shift 2
	write_pg_config "$file" shop "$dir"
	sed -i 's/^engine = postgres$/engine = postgres\ncompression = none/' "$file"
	local l
	for l in "$@"; do echo "$l" >>"$file"; done
}
data_of() { echo "$1/test/orders/backups/$2/data"; }
manifest_of() { echo "$1/test/orders/backups/$2/manifest.json"; }
latest_id() { ls "$1/test/orders/backups" | sort | tail -n 1; }
restore_compare() {	# conf what
	psql_q postgres "DROP DATABASE IF EXISTS shop_copy" 2>/dev/null
	run_runner -c "$1" restore latest --database shop_copy
	expect_rc 0 "$2: restore"
	pg_fingerprint shop_copy >"$KB_TMP/fp.copy"
	diff -u "$KB_TMP/fp.shop" "$KB_TMP/fp.copy" >"$KB_TMP/diff" ||
		fail "$2: restored database differs: $(head -20 "$KB_TMP/diff")"
}
no_secret_anywhere() {	# secret what
	! grep -raqF -- "$1" "$KB_TMP/st-pass" "$KB_TMP/st-raw" "$KB_TMP/st-plain" ||
		fail "$2: key found in storage"
	assert_not_contains "$KB_TMP/all.log" "$1" "$2: key in the logs"
	! grep -qF -- "$1" "$KB_TMP"/st-*/test/orders/backups/*/manifest.json ||
		fail "$2: key in a manifest"
}

say "plain backup first: the marker is visible in an unencrypted object (so the grep means something)"
conf "$KB_TMP/plain.conf" "$KB_TMP/st-plain"
run_runner -c "$KB_TMP/plain.conf" --once
expect_rc 0 "plain backup"
plain_id=$(latest_id "$KB_TMP/st-plain")
grep -aqF "$MARK" "$(data_of "$KB_TMP/st-plain" "$plain_id")" || fail "marker not found in a plain backup"

say "passphrase: round trip, no plaintext stored"
printf '%s\n' "$PASS_A" >"$KB_TMP/key-a"
chmod 600 "$KB_TMP/key-a"
conf "$KB_TMP/pass.conf" "$KB_TMP/st-pass" "encryption_key_file = $KB_TMP/key-a"
run_runner -c "$KB_TMP/pass.conf" --once
expect_rc 0 "encrypted backup"
id_a=$(latest_id "$KB_TMP/st-pass")
! grep -aqF "$MARK" "$(data_of "$KB_TMP/st-pass" "$id_a")" || fail "plain table contents in the encrypted object"
! grep -aqF "name 1 " "$(data_of "$KB_TMP/st-pass" "$id_a")" || fail "plain customer names in the encrypted object"
m=$(manifest_of "$KB_TMP/st-pass" "$id_a")
python3 - "$m" <<'PY' || fail "manifest encryption fields"
import json, sys
e = json.load(open(sys.argv[1]))["parts"][0]["encryption"]
assert e["cipher"] == "aes-256-gcm", e
assert e["kdf"] == "scrypt", e
assert len(e["salt"]) == 64, e
PY
restore_compare "$KB_TMP/pass.conf" "passphrase"
run_runner -c "$KB_TMP/pass.conf" verify latest
expect_rc 0 "verify encrypted"
assert_contains "$KB_TMP/out" "$id_a ok" "verify output"
run_runner -c "$KB_TMP/pass.conf" unpack latest -o "$KB_TMP/dump.pgc"
expect_rc 0 "unpack encrypted"
pg_restore -l "$KB_TMP/dump.pgc" | grep -q "TABLE DATA public marks" || fail "unpacked dump"

say "raw key: round trip, no plaintext stored, salt recorded"
printf '%s\n' "$RAW_KEY" >"$KB_TMP/key-raw"
chmod 600 "$KB_TMP/key-raw"
conf "$KB_TMP/raw.conf" "$KB_TMP/st-raw" "encryption_key_file = $KB_TMP/key-raw" \
	"encryption_key_format = raw"
run_runner -c "$KB_TMP/raw.conf" --once
expect_rc 0 "raw-key backup"
id_raw=$(latest_id "$KB_TMP/st-raw")
! grep -aqF "$MARK" "$(data_of "$KB_TMP/st-raw" "$id_raw")" || fail "plain contents with a raw key"
python3 - "$(manifest_of "$KB_TMP/st-raw" "$id_raw")" <<'PY' || fail "raw manifest"
import json, sys
e = json.load(open(sys.argv[1]))["parts"][0]["encryption"]
assert e["cipher"] == "aes-256-gcm" and e["kdf"] == "raw" and len(e["salt"]) == 64, e
PY
restore_compare "$KB_TMP/raw.conf" "raw key"

say "a passphrase config cannot read a raw-key backup, nor the reverse"
conf "$KB_TMP/mix.conf" "$KB_TMP/st-raw" "encryption_key_file = $KB_TMP/key-a"
run_runner -c "$KB_TMP/mix.conf" verify latest
expect_rc 1 "raw backup with a passphrase"
assert_contains "$KB_TMP/out" "is encrypted with a raw key but none is configured" "kind mismatch"

say "rotation: key A moves to encryption_key_old, key B becomes current"
sleep 1	# backup IDs are per second
printf '%s\n' "$PASS_B" >"$KB_TMP/key-b"
chmod 600 "$KB_TMP/key-b"
conf "$KB_TMP/rot.conf" "$KB_TMP/st-pass" "encryption_key_file = $KB_TMP/key-b" \
	"encryption_key_old_file = $KB_TMP/key-a"
run_runner -c "$KB_TMP/rot.conf" restore "$id_a" --database shop_rot
expect_rc 0 "old backup under the rotated config"
pg_fingerprint shop_rot >"$KB_TMP/fp.rot"
diff -q "$KB_TMP/fp.shop" "$KB_TMP/fp.rot" >/dev/null || fail "old backup restored under rotation differs"
run_runner -c "$KB_TMP/rot.conf" --once
expect_rc 0 "backup under key B"
id_b=$(latest_id "$KB_TMP/st-pass")
[ "$id_b" != "$id_a" ] || fail "no new backup"
salt_a=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["parts"][0]["encryption"]["salt"])' "$(manifest_of "$KB_TMP/st-pass" "$id_a")")
salt_b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["parts"][0]["encryption"]["salt"])' "$(manifest_of "$KB_TMP/st-pass" "$id_b")")
[ "$salt_a" != "$salt_b" ] || fail "the new backup reuses the old salt"
restore_compare "$KB_TMP/rot.conf" "new backup under key B"
run_runner -c "$KB_TMP/rot.conf" verify --all
expect_rc 0 "verify --all across the rotation"
# Key A alone cannot read the new backup: it really is under key B.
run_runner -c "$KB_TMP/pass.conf" verify "$id_b"
expect_rc 1 "new backup under the old key"
assert_contains "$KB_TMP/out" "backup $id_b failed authentication at frame 0: it is corrupt or the key is wrong" "new backup under key A"
# Key B alone cannot read the old one.
conf "$KB_TMP/bonly.conf" "$KB_TMP/st-pass" "encryption_key_file = $KB_TMP/key-b"
run_runner -c "$KB_TMP/bonly.conf" verify "$id_a"
expect_rc 1 "old backup without the old key"
assert_contains "$KB_TMP/out" "backup $id_a failed authentication at frame 0" "old backup under key B only"
# A named old key (encryption_key_old.NAME) works too.
conf "$KB_TMP/named.conf" "$KB_TMP/st-pass" "encryption_key_file = $KB_TMP/key-b" \
	"encryption_key_old.spring_file = $KB_TMP/key-a"
run_runner -c "$KB_TMP/named.conf" verify --all
expect_rc 0 "verify --all with a named old key"

say "downgrade: an unencrypted backup put where keys are configured is refused"
sleep 1
mkdir -p "$KB_TMP/st-pass/test/orders/backups/$plain_id"
cp "$(data_of "$KB_TMP/st-plain" "$plain_id")" "$(manifest_of "$KB_TMP/st-plain" "$plain_id")" \
	"$KB_TMP/st-pass/test/orders/backups/$plain_id/"
psql_q shop "CREATE TABLE canary (x int); INSERT INTO canary VALUES (42)"
pg_fingerprint shop >"$KB_TMP/fp.before"
msg="backup $plain_id is not encrypted, but this location has encryption keys: refusing it (it may have been replaced); restore it with a config without encryption_key if it is genuinely an old unencrypted backup"
run_runner -c "$KB_TMP/pass.conf" restore "$plain_id"
expect_rc 1 "restore of a plain backup with keys"
assert_contains "$KB_TMP/log" "$msg" "downgrade refusal (restore)"
pg_fingerprint shop >"$KB_TMP/fp.after"
diff -q "$KB_TMP/fp.before" "$KB_TMP/fp.after" >/dev/null || fail "database changed by a refused restore"
run_runner -c "$KB_TMP/pass.conf" unpack "$plain_id" -o "$KB_TMP/plain.out"
expect_rc 1 "unpack of a plain backup with keys"
assert_contains "$KB_TMP/log" "$msg" "downgrade refusal (unpack)"
[ ! -e "$KB_TMP/plain.out" ] || fail "unpack left an output file"
run_runner -c "$KB_TMP/pass.conf" verify "$plain_id"
expect_rc 1 "verify of a plain backup with keys"
assert_contains "$KB_TMP/out" "$msg" "downgrade refusal (verify)"
run_runner -c "$KB_TMP/plain.conf" verify "$plain_id"
expect_rc 0 "the same backup without keys"
rm -rf "${KB_TMP:?}/st-pass/test/orders/backups/$plain_id"
psql_q shop "DROP TABLE canary"

say "a manifest whose cipher is not its data's is refused"
cp "$(manifest_of "$KB_TMP/st-plain" "$plain_id")" "$KB_TMP/manifest.bak"
python3 - "$(manifest_of "$KB_TMP/st-plain" "$plain_id")" <<'PY'
import json, sys
p = sys.argv[1]
m = json.load(open(p))
m["parts"][0]["encryption"] = {"cipher": "aes-256-gcm", "kdf": "scrypt",
    "scrypt_n": 32768, "scrypt_r": 8, "scrypt_p": 1, "salt": "00" * 32}
json.dump(m, open(p, "w"), indent=2)
PY
manifest_resum "$(manifest_of "$KB_TMP/st-plain" "$plain_id")"
run_runner -c "$KB_TMP/plain.conf" verify "$plain_id"
expect_rc 1 "cipher mismatch"
assert_contains "$KB_TMP/out" "backup $plain_id: its data is encrypted with none but its manifest says aes-256-gcm" "cipher mismatch message"
cp "$KB_TMP/manifest.bak" "$(manifest_of "$KB_TMP/st-plain" "$plain_id")"

say "no key, passphrase or raw key in storage, manifests or logs"
no_secret_anywhere "$PASS_A" "passphrase A"
no_secret_anywhere "$PASS_B" "passphrase B"
no_secret_anywhere "$RAW_KEY" "raw key (hex)"
no_secret_anywhere "$(echo "$RAW_KEY" | tr a-f A-F)" "raw key (upper hex)"
python3 - "$RAW_KEY" "$KB_TMP"/st-raw <<'PY' || fail "raw key bytes in storage"
import os, sys
key = bytes.fromhex(sys.argv[1])
for root, _, files in os.walk(sys.argv[2]):
    for f in files:
        assert key not in open(os.path.join(root, f), "rb").read(), f
PY
echo ok

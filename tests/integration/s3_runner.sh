#!/usr/bin/env bash
# PostgreSQL -> kbackup-runner --once -> S3 -> restore, on two real servers:
# s3rver behind the SigV4-checking proxy, and a throwaway Ceph RGW (started
# once, tests/s3/rgw.sh).  On each: check, backup, list, restore (schema
# and rows equal), prune and verify, path style unencrypted and
# virtual-hosted style encrypted (no plain row in the stored object; a wrong
# passphrase fails verify), a wrong secret failing the job with the store's
# code, and the secret key in no log.  On s3rver the AWS CLI sees the backup
# and downloads data whose SHA-256 is the manifest's.  Then a 1 GiB database
# of incompressible rows with the default part settings: peak RSS (VmHWM)
# stays within 64 MiB, and verify reads the whole object back.
# KBACKUP_S3_BIG=0 leaves out the 1 GiB part, KBACKUP_S3_RGW=0 Ceph RGW;
# KBACKUP_S3_BIG_GIB (default 1) sets the big database's size.
. "$(dirname "$0")/../lib.sh"

command -v node >/dev/null || skip "node not installed"
command -v aws >/dev/null || skip "aws CLI not installed"
[ -x "$RUNNER" ] || skip "$RUNNER not built"
. "$KB_TOP/tests/s3/rgw.sh"

pg_start
pg_load_sample shop 2000
pg_fingerprint shop >"$KB_TMP/a"

# A runner config backing up database $2 to the S3 server of S3_ENDPOINT; more
# [storage] keys on stdin.
write_s3_config() {	# file database name
	write_pg_config "$1" "$2"
	sed -i "/^\[storage\]/,\$d; s/^name = orders/name = $3/" "$1"
	S3_PREFIX="kb run/pré" s3_storage_section >>"$1"
}

# The cases, on the server of S3_ENDPOINT (named $1, "s3rver" or "rgw").
roundtrip() {	# server
	local server=$1 n=0
	printf '%s' "$S3_SECRET_KEY" >"$KB_TMP/s3secret"
	chmod 600 "$KB_TMP/s3secret"
	export S3_SECRET_FILE=$KB_TMP/s3secret

	say "$server: check, backup, list, restore (path style)"
	write_s3_config "$KB_TMP/kb.conf" shop orders </dev/null
	run_runner -c "$KB_TMP/kb.conf" check
	expect_rc 0 "check"
	run_runner -c "$KB_TMP/kb.conf" --once
	expect_rc 0 "backup"
	assert_contains "$KB_TMP/log" 'msg="backup committed"' "backup log"
	run_runner -c "$KB_TMP/kb.conf" list
	expect_rc 0 "list"
	run_runner -c "$KB_TMP/kb.conf" restore latest --database "shop_$server"
	expect_rc 0 "restore"
	pg_fingerprint "shop_$server" >"$KB_TMP/b"
	diff -u "$KB_TMP/a" "$KB_TMP/b" >"$KB_TMP/diff" ||
		fail "restored database differs: $(head -20 "$KB_TMP/diff")"

	say "$server: a second backup, prune and verify"
	run_runner -c "$KB_TMP/kb.conf" --once
	expect_rc 0 "second backup"
	run_runner -c "$KB_TMP/kb.conf" prune
	expect_rc 0 "prune"
	run_runner -c "$KB_TMP/kb.conf" verify --all
	expect_rc 0 "verify --all"
	n=$(grep -c ' ok' "$KB_TMP/out" || true)
	[ "$n" -ge 1 ] || fail "verify --all: $(cat "$KB_TMP/out")"

	say "$server: wrong secret: the job fails, naming the store's refusal"
	printf 'wrong-secret' >"$KB_TMP/s3secret"
	run_runner -c "$KB_TMP/kb.conf" --once
	expect_rc 1 "backup with a wrong secret"
	if [ "$server" = rgw ]; then
		assert_contains "$KB_TMP/log" "AccessDenied (HTTP 403" "wrong secret message"
	else
		assert_contains "$KB_TMP/log" "SignatureDoesNotMatch" "wrong secret message"
	fi
	printf '%s' "$S3_SECRET_KEY" >"$KB_TMP/s3secret"

	say "$server: encrypted round trip, virtual-hosted style"
	S3_ENDPOINT=$S3_VHOST_ENDPOINT write_s3_config "$KB_TMP/enc.conf" shop enc <<-EOF
	encryption_key_file = $KB_TMP/enckey
	EOF
	sed -i 's/^path_style = true/path_style = false/' "$KB_TMP/enc.conf"
	sed -i 's/^engine = postgres/engine = postgres\ncompression = none/' "$KB_TMP/enc.conf"
	printf 'correct horse battery staple s3\n' >"$KB_TMP/enckey"
	run_runner -c "$KB_TMP/enc.conf" --once
	expect_rc 0 "encrypted backup"
	get_object "enc" data >"$KB_TMP/edata"
	[ -s "$KB_TMP/edata" ] || fail "no encrypted data object"
	# compression = none: plain table contents would show; encrypted, they must not.
	! grep -aq "c1999@example.com" "$KB_TMP/edata" || fail "plain data in the encrypted object"
	assert_contains "$(get_object enc manifest.json)" '"cipher": "aes-256-gcm"' \
		"manifest records the cipher"
	run_runner -c "$KB_TMP/enc.conf" restore latest --database "shop_enc_$server"
	expect_rc 0 "encrypted restore"
	pg_fingerprint "shop_enc_$server" >"$KB_TMP/e"
	diff -u "$KB_TMP/a" "$KB_TMP/e" >/dev/null || fail "encrypted restore differs"
	printf 'the wrong passphrase\n' >"$KB_TMP/enckey"
	run_runner -c "$KB_TMP/enc.conf" verify
	expect_rc 1 "verify with the wrong key"
	assert_contains "$KB_TMP/out" \
		"failed authentication at frame 0: it is corrupt or the key is wrong" "wrong key message"
	assert_not_contains "$KB_TMP/all.log" "$S3_SECRET_KEY" "S3 secret in the log"
	assert_not_contains "$KB_TMP/all.log" "correct horse battery" "passphrase in the log"
}

# The latest backup's object NAME of definition $1, through the store's API.
get_object() {	# definition name
	local key
	key=$(s3_curl "$S3_ENDPOINT/$S3_BUCKET?list-type=2&prefix=kb%20run%2Fpr%C3%A9%2Ftest%2F$1%2F" |
		grep -o "<Key>[^<]*/$2</Key>" | sed 's/<[^>]*>//g' | sort | tail -n 1)
	[ -n "$key" ] || return 0
	s3_curl "$S3_ENDPOINT/$S3_BUCKET/$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$key")"
}

s3_start "$KB_TMP/s3" >/dev/null || fail "s3 harness did not start"
at_exit "s3_stop"
roundtrip s3rver

say "s3rver: the AWS CLI downloads the data; its SHA-256 is the manifest's"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_DEFAULT_REGION=$S3_REGION AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
aws --endpoint-url "$S3_ENDPOINT" s3 ls --recursive "s3://$S3_BUCKET/kb run/" >"$KB_TMP/ls" ||
	fail "aws ls"
key=$(sed -n 's/.* \(kb run\/pré\/test\/orders\/backups\/[0-9TZa-f-]*\/data\)$/\1/p' "$KB_TMP/ls" | tail -n 1)
[ -n "$key" ] || fail "data not in the bucket: $(cat "$KB_TMP/ls")"
aws --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors "s3://$S3_BUCKET/$key" "$KB_TMP/data" ||
	fail "aws cp of $key"
aws --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors \
	"s3://$S3_BUCKET/${key%/data}/manifest.json" "$KB_TMP/manifest.json" || fail "aws cp manifest"
want=$(sed -n 's/.*"sha256": "\([0-9a-f]*\)".*/\1/p' "$KB_TMP/manifest.json")
got=$(sha256sum "$KB_TMP/data" | cut -d' ' -f1)
assert_eq "$got" "$want" "SHA-256 of the data the AWS CLI downloaded"

big() {
	local gib=${KBACKUP_S3_BIG_GIB:-1} rss_kib limit_kib=$((64 * 1024)) size start
	say "$gib GiB database of incompressible rows, default part settings: peak RSS"
	psql_q postgres "CREATE DATABASE big"
	psql -X -q -v ON_ERROR_STOP=1 -d big <<-SQL
	CREATE EXTENSION pgcrypto;
	CREATE TABLE big (id int, b bytea);
	ALTER TABLE big ALTER b SET STORAGE EXTERNAL;
	INSERT INTO big SELECT i, (SELECT string_agg(gen_random_bytes(1024), ''::bytea)
		FROM generate_series(1, 1024 + 0 * i)) FROM generate_series(1, 1024 * $gib) AS i;
	SQL
	write_s3_config "$KB_TMP/big.conf" big big </dev/null
	start=$SECONDS
	set +e
	/usr/bin/time -f '%M' -o "$KB_TMP/rss" env -u PGPASSWORD "$RUNNER" -c "$KB_TMP/big.conf" \
		--once >"$KB_TMP/out" 2>"$KB_TMP/log"
	rc=$?
	set -e
	echo "$gib GiB backup took $((SECONDS - start)) s"
	expect_rc 0 "$gib GiB backup"
	# The runner logs its own VmHWM from /proc/self/status when it commits.
	rss_kib=$(sed -n 's/.*msg="backup committed".* peak_rss_kib=\([0-9]*\).*/\1/p' "$KB_TMP/log")
	[ -n "$rss_kib" ] || fail "no peak_rss_kib in the log: $(tail -3 "$KB_TMP/log")"
	echo "GNU time's max RSS: $(tail -n 1 "$KB_TMP/rss") KiB"
	echo "peak RSS: $((rss_kib / 1024)) MiB (limit $((limit_kib / 1024)) MiB)"
	# AddressSanitizer's shadow memory and quarantine make RSS meaningless there.
	if [ "${SANITIZE:-}" = 1 ]; then
		echo "SANITIZE=1: peak RSS not checked"
	else
		[ "$rss_kib" -le "$limit_kib" ] || fail "peak RSS $rss_kib KiB over $limit_kib KiB"
	fi
	size=$(aws --endpoint-url "$S3_ENDPOINT" s3 ls --recursive "s3://$S3_BUCKET/kb run/pré/test/big/" |
		awk '/\/data$/ { print $3 }')
	echo "stored: $size bytes"
	[ "${size:-0}" -gt $((gib * 1024 * 1024 * 1024)) ] || fail "stored object too small: $size"
	run_runner -c "$KB_TMP/big.conf" verify
	expect_rc 0 "verify of the $gib GiB backup"
}
[ "${KBACKUP_S3_BIG:-1}" = 0 ] || big
s3_stop

if [ "${KBACKUP_S3_RGW:-1}" != 0 ] && rgw_have; then
	rgw_start "$KB_TMP/rgw" >/dev/null || fail "Ceph RGW did not start"
	at_exit "rgw_stop"
	roundtrip rgw
else
	say "Ceph RGW left out (KBACKUP_S3_RGW=0, or not installed)"
fi
echo ok

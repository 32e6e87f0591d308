#!/usr/bin/env bash
# PostgreSQL -> kbackup-runner --once -> S3 (s3rver behind the SigV4-checking
# proxy) -> restore: schema and rows equal; the AWS CLI sees the backup; the
# secret key is in no log.  Then a 1 GiB database: the runner's peak RSS stays
# bounded by the part buffers (part_size x (parts_in_flight + 1)) plus a
# fixed amount, and verify reads the whole object back.
# KBACKUP_S3_BIG=0 leaves out the 1 GiB part; KBACKUP_S3_BIG_PART (MiB, default 8)
# and KBACKUP_S3_BIG_INFLIGHT (default 4) set its part_size and parts_in_flight.
. "$(dirname "$0")/../lib.sh"

command -v node >/dev/null || skip "node not installed"
command -v aws >/dev/null || skip "aws CLI not installed"
[ -x "$RUNNER" ] || skip "$RUNNER not built"
. "$KB_TOP/tests/s3/harness.sh"
s3_start "$KB_TMP/s3" >/dev/null || fail "s3 harness did not start"
at_exit "s3_stop"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_DEFAULT_REGION=$S3_REGION AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
printf '%s' "$S3_SECRET_KEY" >"$KB_TMP/s3secret"
chmod 600 "$KB_TMP/s3secret"

pg_start
pg_load_sample shop 2000

write_s3_config() {	# file database part_size [parts_in_flight]
	write_pg_config "$1" "$2"
	# replace the file storage by S3
	sed -i '/^\[storage\]/,$d' "$1"
	cat >>"$1" <<EOF2
[storage]
type = s3
endpoint = $S3_ENDPOINT
region = $S3_REGION
bucket = $S3_BUCKET
prefix = kb run/pré
path_style = true
access_key = $S3_ACCESS_KEY
secret_key_file = $KB_TMP/s3secret
part_size = $3
parts_in_flight = ${4:-4}
EOF2
}

write_s3_config "$KB_TMP/kb.conf" shop 5MiB

say "check"
run_runner -c "$KB_TMP/kb.conf" check
expect_rc 0 "check"

say "backup to S3"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup"
assert_contains "$KB_TMP/log" 'msg="backup committed"' "backup log"
aws --endpoint-url "$S3_ENDPOINT" s3 ls --recursive "s3://$S3_BUCKET/kb run/" >"$KB_TMP/ls" ||
	fail "aws ls"
cat "$KB_TMP/ls"
grep -q "kb run/pré/test/orders/backups/[0-9TZa-f-]*/data$" "$KB_TMP/ls" || fail "data not in the bucket"
grep -q "kb run/pré/test/orders/backups/[0-9TZa-f-]*/manifest.json$" "$KB_TMP/ls" ||
	fail "manifest not in the bucket"

say "the AWS CLI downloads the data; its SHA-256 is the manifest's"
key=$(sed -n 's/.* \(kb run\/pré\/test\/orders\/backups\/[0-9TZa-f-]*\/data\)$/\1/p' "$KB_TMP/ls" | head -n 1)
aws --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors "s3://$S3_BUCKET/$key" "$KB_TMP/data" ||
	fail "aws cp of $key"
aws --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors \
	"s3://$S3_BUCKET/${key%/data}/manifest.json" "$KB_TMP/manifest.json" || fail "aws cp manifest"
want=$(sed -n 's/.*"sha256": "\([0-9a-f]*\)".*/\1/p' "$KB_TMP/manifest.json")
got=$(sha256sum "$KB_TMP/data" | cut -d' ' -f1)
assert_eq "$got" "$want" "SHA-256 of the data the AWS CLI downloaded"

say "list and restore from S3"
run_runner -c "$KB_TMP/kb.conf" list
expect_rc 0 "list"
run_runner -c "$KB_TMP/kb.conf" restore latest --database shop_copy
expect_rc 0 "restore"
pg_fingerprint shop >"$KB_TMP/a"
pg_fingerprint shop_copy >"$KB_TMP/b"
diff -u "$KB_TMP/a" "$KB_TMP/b" >"$KB_TMP/diff" || fail "restored database differs: $(head -20 "$KB_TMP/diff")"
assert_not_contains "$KB_TMP/all.log" "$S3_SECRET_KEY" "S3 secret in the log"

say "wrong secret: the job fails, naming SignatureDoesNotMatch"
printf 'wrong-secret' >"$KB_TMP/s3secret"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 1 "backup with a wrong secret"
assert_contains "$KB_TMP/log" "SignatureDoesNotMatch" "wrong secret message"
printf '%s' "$S3_SECRET_KEY" >"$KB_TMP/s3secret"

say "encrypted round trip through S3"
write_s3_config "$KB_TMP/enc.conf" shop 5MiB
sed -i 's/^name = orders/name = enc/; s/^compression = .*//' "$KB_TMP/enc.conf"
sed -i 's/^engine = postgres/engine = postgres\ncompression = none/' "$KB_TMP/enc.conf"
printf 'correct horse battery staple s3\n' >"$KB_TMP/enckey"
echo "encryption_key_file = $KB_TMP/enckey" >>"$KB_TMP/enc.conf"
run_runner -c "$KB_TMP/enc.conf" --once
expect_rc 0 "encrypted backup to S3"
ekey=$(aws --endpoint-url "$S3_ENDPOINT" s3 ls --recursive "s3://$S3_BUCKET/kb run/pré/test/enc/" |
	sed -n 's/.* \(kb run\/.*\/data\)$/\1/p' | head -n 1)
aws --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors "s3://$S3_BUCKET/$ekey" "$KB_TMP/edata" ||
	fail "aws cp of the encrypted data"
# compression = none: plain table contents would show; encrypted, they must not.
! grep -aq "c1999@example.com" "$KB_TMP/edata" || fail "plain data in the encrypted object"
assert_contains "$(aws --endpoint-url "$S3_ENDPOINT" s3 cp "s3://$S3_BUCKET/${ekey%/data}/manifest.json" -)" \
	'"cipher": "aes-256-gcm"' "manifest records the cipher"
run_runner -c "$KB_TMP/enc.conf" restore latest --database shop_enc
expect_rc 0 "encrypted restore from S3"
pg_fingerprint shop_enc >"$KB_TMP/e"
diff -u "$KB_TMP/a" "$KB_TMP/e" >/dev/null || fail "encrypted S3 restore differs"
assert_not_contains "$KB_TMP/all.log" "correct horse battery" "passphrase in the log"
printf 'the wrong passphrase\n' >"$KB_TMP/enckey"
run_runner -c "$KB_TMP/enc.conf" verify
expect_rc 1 "verify with the wrong key"
assert_contains "$KB_TMP/out" "failed authentication at frame 0: it is corrupt or the key is wrong" \
	"wrong key message"

[ "${KBACKUP_S3_BIG:-1}" = 0 ] && { echo ok; exit 0; }

say "1 GiB database: peak RSS of the runner"
psql_q postgres "CREATE DATABASE big"
psql -X -q -v ON_ERROR_STOP=1 -d big <<'SQL'
CREATE EXTENSION pgcrypto;
CREATE TABLE big (id int, b bytea);
ALTER TABLE big ALTER b SET STORAGE EXTERNAL;
INSERT INTO big SELECT i, (SELECT string_agg(gen_random_bytes(1024), ''::bytea)
	FROM generate_series(1, 1024 + 0 * i)) FROM generate_series(1, 1024) AS i;
SQL
big_part=${KBACKUP_S3_BIG_PART:-8}	# MiB
big_inflight=${KBACKUP_S3_BIG_INFLIGHT:-4}
write_s3_config "$KB_TMP/big.conf" big "${big_part}MiB" "$big_inflight"
sed -i 's/^name = orders/name = big/' "$KB_TMP/big.conf"
set +e
start=$SECONDS
/usr/bin/time -f '%M' -o "$KB_TMP/rss" env -u PGPASSWORD "$RUNNER" -c "$KB_TMP/big.conf" \
	--once >"$KB_TMP/out" 2>"$KB_TMP/log"
rc=$?
set -e
echo "1 GiB backup took $((SECONDS - start)) s"
expect_rc 0 "1 GiB backup"
# The runner logs its own VmHWM from /proc/self/status when it commits.
rss_kib=$(sed -n 's/.*msg="backup committed".* peak_rss_kib=\([0-9]*\).*/\1/p' "$KB_TMP/log")
[ -n "$rss_kib" ] || fail "no peak_rss_kib in the log: $(tail -3 "$KB_TMP/log")"
echo "GNU time's max RSS: $(tail -n 1 "$KB_TMP/rss") KiB"
# The bound of the S3 issue: part_size x (parts_in_flight + 2) + 16 MiB.
limit_kib=$(((big_part * (big_inflight + 2) + 16) * 1024))
echo "peak RSS: $((rss_kib / 1024)) MiB (limit $((limit_kib / 1024)) MiB)"
# AddressSanitizer's shadow memory and quarantine make RSS meaningless there.
if [ "${SANITIZE:-}" = 1 ]; then
	echo "SANITIZE=1: peak RSS not checked"
else
	[ "$rss_kib" -lt "$limit_kib" ] || fail "peak RSS $rss_kib KiB over $limit_kib KiB"
fi
size=$(aws --endpoint-url "$S3_ENDPOINT" s3 ls --recursive "s3://$S3_BUCKET/kb run/pré/test/big/" |
	awk '/\/data$/ { print $3 }')
echo "stored: $size bytes"
[ "${size:-0}" -gt $((1024 * 1024 * 1024)) ] || fail "stored object too small: $size"
run_runner -c "$KB_TMP/big.conf" verify
expect_rc 0 "verify of the 1 GiB backup"
echo ok

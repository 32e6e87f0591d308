#!/usr/bin/env bash
# S3 Object Lock with the runner, on a Ceph RGW bucket created with Object
# Lock: check says whether the bucket has it (and fails when object_lock is
# set on one that has not); a backup's data and manifest are retained until
# its labels' expiry; a direct DeleteObject of a version before the date is
# refused; prune meets a retention extended past the labels, reports the
# backup as still retained and exits 0, and extends the lock of the newest
# backup it keeps past its labels; once the date has passed, prune deletes
# the old one, every version.  A backup with object_lock to a bucket without
# it fails.  Retention is short (seconds) and RGW's clock is the real one,
# so the test waits for the dates rather than moving a clock.  The storage
# side (retention headers, refused deletes, the probe) is in test_s3_backend.
. "$(dirname "$0")/../lib.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
[ -x "$RUNNER" ] || skip "$RUNNER not built"
rgw_for_test

DB=$KB_TMP/app.db
sqlite3 "$DB" "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'x');"
conf() {	# file bucket
	{
		S3_BUCKET=$2 s3_sqlite_config "$DB" db <<<"object_lock = governance"
		printf '\n[retention]\nall = 6s\nhourly = off\ndaily = off\nweekly = off\n'
		printf 'monthly = off\nyearly = off\n'
	} >"$1"
	chmod 600 "$1"
}
conf "$KB_TMP/kb.conf" "$S3_LOCK_BUCKET"
conf "$KB_TMP/nolock.conf" "$S3_BUCKET"

say "check: the bucket's Object Lock"
run_runner -c "$KB_TMP/kb.conf" check
expect_rc 0 "check on the lock-enabled bucket"
assert_contains "$KB_TMP/out" "object lock enabled" "check line"
run_runner -c "$KB_TMP/nolock.conf" check
expect_rc 1 "check with object_lock on a bucket without it"
assert_contains "$KB_TMP/out" "has no Object Lock enabled" "check failure"

say "a backup, retained until its labels' expiry: data and manifest"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup"
listing() {	# the keys of the backups' objects
	s3_curl "$S3_ENDPOINT/$S3_LOCK_BUCKET?list-type=2&prefix=kb%2Ftest%2Fdb%2Fbackups%2F" |
		grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'
}
retained_until() {	# key: its x-amz-object-lock-retain-until-date, as seconds
	s3_curl -I "$S3_ENDPOINT/$S3_LOCK_BUCKET/$1" >"$KB_TMP/head"
	local d
	d=$(sed -n 's/^x-amz-object-lock-retain-until-date: *\([^\r]*\).*/\1/Ip' "$KB_TMP/head")
	[ -n "$d" ] || { echo 0; return; }
	date -u -d "$d" +%s
}
keys=$(listing)
data=$(grep '/data$' <<<"$keys")
manifest=$(grep '/manifest.json$' <<<"$keys")
[ -n "$data" ] && [ -n "$manifest" ] || fail "no data or manifest: $keys"
first=${data%/data}
expires=$(date -u -d "$(sed -n 's/.*"expires": *"\([^"]*\)".*/\1/p' \
	<(s3_curl "$S3_ENDPOINT/$S3_LOCK_BUCKET/$manifest" | tr ',' '\n') | sort | tail -1)" +%s)
assert_eq "$(retained_until "$data")" "$expires" "the data's retain-until date is the labels' expiry"
assert_eq "$(retained_until "$manifest")" "$expires" "the manifest's too"
s3_curl -I "$S3_ENDPOINT/$S3_LOCK_BUCKET/$data" >"$KB_TMP/head"
version=$(sed -n 's/^x-amz-version-id: *\([^\r]*\).*/\1/Ip' "$KB_TMP/head")

say "a direct DeleteObject of the version is refused before the date"
code=$(s3_curl -o "$KB_TMP/del" -w '%{http_code}' -X DELETE \
	"$S3_ENDPOINT/$S3_LOCK_BUCKET/$data?versionId=$version")
assert_eq "$code" 403 "DeleteObject of a retained version"

say "retention extended past the labels: prune keeps the backup, exits 0"
later=$(date -u -d '+16 seconds' +%Y-%m-%dT%H:%M:%SZ)
body="<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>$later</RetainUntilDate></Retention>"
for k in $keys; do
	code=$(s3_curl_put "$body" "$S3_ENDPOINT/$S3_LOCK_BUCKET/$k?retention=" \
		-o "$KB_TMP/ret" -w '%{http_code}')
	assert_eq "$code" 200 "PutObjectRetention of $k"
done
sleep 1
run_runner -c "$KB_TMP/kb.conf" --once	# the newest from now on: the first one may go
expect_rc 0 "second backup"
second=$(listing | grep '/data$' | grep -v "^$first/")
[ -n "$second" ] || fail "no second backup"
second_until=$(retained_until "$second")
sleep 7	# the labels (all = 6s) expire; the lock lasts
run_runner -c "$KB_TMP/kb.conf" prune
expect_rc 0 "prune of a locked backup"
assert_contains "$KB_TMP/log" "still retained by Object Lock" "prune says why it kept the backup"
assert_contains "$KB_TMP/log" "locked_until=$later" "and until when"
run_runner -c "$KB_TMP/kb.conf" list
assert_eq "$(grep -c '^20' "$KB_TMP/out")" 2 "both backups still listed"
[ "$(retained_until "$second")" -gt "$second_until" ] ||
	fail "the newest backup, kept past its labels, did not have its lock extended"

say "after the date: prune deletes it, every version; the newest stays"
while [ "$(date -u +%s)" -le "$(date -u -d "$later" +%s)" ]; do sleep 1; done
sleep 1
run_runner -c "$KB_TMP/kb.conf" prune
expect_rc 0 "prune after the date"
s3_curl "$S3_ENDPOINT/$S3_LOCK_BUCKET?versions=&prefix=${first//\//%2F}%2F" >"$KB_TMP/versions"
! grep -q '<Key>' "$KB_TMP/versions" || fail "versions left: $(cat "$KB_TMP/versions")"
run_runner -c "$KB_TMP/kb.conf" list
assert_eq "$(grep -c '^20' "$KB_TMP/out")" 1 "the newest backup is listed"

say "a bucket's default retention locks what kbackup deletes at once: hidden, not a failure"
body='<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>'
body+='<DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule>'
body+='</ObjectLockConfiguration>'
code=$(s3_curl_put "$body" "$S3_ENDPOINT/$S3_LOCK_BUCKET?object-lock=" -o "$KB_TMP/olc" \
	-w '%{http_code}')
assert_eq "$code" 200 "PutObjectLockConfiguration: $(cat "$KB_TMP/olc")"
sed '/^object_lock/d; s/^prefix = kb$/prefix = kbdefault/' "$KB_TMP/kb.conf" >"$KB_TMP/default.conf"
run_runner -c "$KB_TMP/default.conf" check	# its probe object, .kbackup-check
expect_rc 0 "check on a bucket with a default retention"
run_runner -c "$KB_TMP/default.conf" --once
expect_rc 0 "backup on a bucket with a default retention"
assert_contains "$KB_TMP/log" "left behind a delete marker" "the marker's locked version said"
run_runner -c "$KB_TMP/default.conf" --once	# the first one's marker is not a running job
expect_rc 0 "a second backup at once"
s3_curl "$S3_ENDPOINT/$S3_LOCK_BUCKET?list-type=2&prefix=kbdefault%2Ftest%2Fdb%2Frunning%2F" \
	>"$KB_TMP/running"
! grep -q '<Key>' "$KB_TMP/running" || fail "job markers left: $(cat "$KB_TMP/running")"

say "object_lock on a bucket without Object Lock: the backup fails, naming it"
run_runner -c "$KB_TMP/nolock.conf" --once
expect_rc 1 "backup to a bucket without Object Lock"
assert_contains "$KB_TMP/log" "ock" "the error names the lock"
echo ok

#!/usr/bin/env bash
# The S3 backend against two real servers: s3rver behind the checking proxy
# (tests/s3/), then a throwaway Ceph RGW (tests/s3/rgw.sh) with the proxy in
# front in passthrough mode for its faults.  On each it runs test_s3_backend
# (multipart, single PUT, odd names, 1005 objects, abort, sweep, wrong
# secret, missing bucket, server down, faults and resumed downloads, a lost
# answer to CompleteMultipartUpload, creates that never replace, damaged
# parts, cancels; on RGW also virtual-hosted style, Object Lock and versions
# on a lock-enabled bucket).  On s3rver it checks the proxy itself with the
# AWS CLI and curl, and that the AWS CLI reads what kbackup wrote; on RGW,
# with curl, that no version of a removed key is left.
# KBACKUP_S3_RGW=0 leaves RGW out.
set -u
top=${KBACKUP_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
unit=${KBACKUP_UNIT_DIR:-$top/build/tests}/test_s3_backend
command -v node >/dev/null || { echo "skip: node not installed"; exit 77; }
command -v aws >/dev/null || { echo "skip: aws CLI not installed"; exit 77; }
[ -x "$unit" ] || { echo "skip: $unit not built (make units)"; exit 77; }

. "$top/tests/s3/harness.sh"
work=$(mktemp -d /tmp/kbackup-s3.XXXXXX)
trap 's3_stop; [ -n "${RGW_DIR:-}" ] && rgw_stop; rm -rf "$work"' EXIT
s3_start "$work" || exit 1

fail() { echo "FAIL: $*"; echo "--- proxy log"; tail -n 20 "$work/proxy.log"; exit 1; }
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_DEFAULT_REGION=$S3_REGION AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
awss3() { aws --endpoint-url "$S3_ENDPOINT" "$@"; }

# The proxy: a good signature passes, a bad secret or none gets 403.
echo hello >"$work/hello"
awss3 s3 cp --only-show-errors "$work/hello" "s3://$S3_BUCKET/probe/hello" || fail "aws cp through proxy"
out=$(AWS_SECRET_ACCESS_KEY=wrong aws --endpoint-url "$S3_ENDPOINT" s3 ls "s3://$S3_BUCKET/" 2>&1) &&
    fail "bad secret accepted"
grep -q SignatureDoesNotMatch <<<"$out" || fail "bad secret: $out"
code=$(curl -s -o "$work/anon" -w '%{http_code}' "$S3_ENDPOINT/$S3_BUCKET/probe/hello")
[ "$code" = 403 ] && grep -q AccessDenied "$work/anon" || fail "unsigned request: $code"
empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
code=$(curl -s -o "$work/get" -w '%{http_code}' --aws-sigv4 "aws:amz:$S3_REGION:s3" \
    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: $empty" \
    "$S3_ENDPOINT/$S3_BUCKET/probe/hello")
[ "$code" = 200 ] && cmp -s "$work/get" "$work/hello" || fail "curl --aws-sigv4 GET: $code"
# A body that does not match its declared hash is refused and not stored.
code=$(curl -s -o "$work/put" -w '%{http_code}' --aws-sigv4 "aws:amz:$S3_REGION:s3" \
    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: $empty" \
    -T "$work/hello" "$S3_ENDPOINT/$S3_BUCKET/probe/tampered")
[ "$code" = 400 ] && grep -q XAmzContentSHA256Mismatch "$work/put" || fail "hash mismatch: $code"
awss3 s3 ls "s3://$S3_BUCKET/probe/tampered" >/dev/null 2>&1 && fail "refused body was stored"

# A stale multipart upload for the sweep.
awss3 s3api create-multipart-upload --bucket "$S3_BUCKET" --key stale/obj >/dev/null ||
    fail "create-multipart-upload"
n=$(awss3 s3api list-multipart-uploads --bucket "$S3_BUCKET" --prefix stale/ \
    --query 'length(Uploads)' --output text)
[ "$n" = 1 ] || fail "stale upload not listed ($n)"

S3_TEST_COPY=$work/copy S3_TEST_STALE=stale/ S3_TEST_FAULTS=1 "$unit" || fail "test_s3_backend"

n=$(awss3 s3api list-multipart-uploads --bucket "$S3_BUCKET" --prefix stale/ \
    --query 'length(Uploads || `[]`)' --output text)
[ "$n" = 0 ] || fail "stale upload not swept ($n left)"

# What kbackup wrote, as the AWS CLI sees it.
awss3 s3 ls --recursive "s3://$S3_BUCKET/kb-test/keep/" >"$work/ls" || fail "aws ls"
cat "$work/ls"
grep -q 'kb-test/keep/ns/name/backups/20261124T030000Z/data$' "$work/ls" || fail "data not listed"
grep -q 'kb-test/keep/ns/name/small$' "$work/ls" || fail "small not listed"
awss3 s3 cp --only-show-errors "s3://$S3_BUCKET/kb-test/keep/ns/name/backups/20261124T030000Z/data" \
    "$work/down" || fail "aws cp down"
cmp "$work/down" "$work/copy" || fail "downloaded bytes differ"
awss3 s3 ls --recursive "s3://$S3_BUCKET/kb test/" | grep -q 'pr' || fail "odd prefix not listed"
awss3 s3 ls --recursive "s3://$S3_BUCKET/kb-test/abort/" | grep -q . && fail "aborted upload left an object"
curl -s "$S3_ENDPOINT/__proxy/stats"; echo
s3_stop

[ "${KBACKUP_S3_RGW:-1}" != 0 ] || { echo "s3_backend: ok (RGW left out)"; exit 0; }
. "$top/tests/s3/rgw.sh"
if ! rgw_have; then
	echo "s3_backend: ok (Ceph RGW not installed: scripts/install-deps)"
	exit 0
fi
rgw_start "$work/rgw" || fail "Ceph RGW did not start"
s3_passthrough "$work/rgwproxy" "$S3_ENDPOINT" || fail "proxy in front of RGW"
s3_curl -X POST "$RGW_ENDPOINT/$S3_BUCKET/stale/obj?uploads=" | grep -q '<UploadId>' ||
    fail "CreateMultipartUpload on RGW"
S3_TEST_SERVER=rgw S3_TEST_STALE=stale/ S3_TEST_FAULTS=1 S3_LOCK_BUCKET=$S3_LOCK_BUCKET "$unit" ||
    fail "test_s3_backend on Ceph RGW"
s3_curl "$RGW_ENDPOINT/$S3_BUCKET?prefix=stale%2F&uploads=" >"$work/uploads"
grep -q '<ListMultipartUploadsResult' "$work/uploads" && ! grep -q '<Upload>' "$work/uploads" ||
    fail "stale upload not swept on RGW: $(cat "$work/uploads")"
# Nothing at all is left of what was removed from the versioned bucket.
S3_ENDPOINT=$RGW_ENDPOINT s3_curl "$RGW_ENDPOINT/$S3_LOCK_BUCKET?prefix=kb-test%2F&versions=" \
    >"$work/versions" || fail "ListObjectVersions"
grep -q '<ListVersionsResult' "$work/versions" || fail "ListObjectVersions: $(cat "$work/versions")"
! grep -q '<Key>' "$work/versions" || fail "versions left: $(cat "$work/versions")"
curl -s "$S3_ENDPOINT/__proxy/stats"; echo
echo "s3_backend: ok"

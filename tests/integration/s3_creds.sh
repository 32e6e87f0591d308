#!/usr/bin/env bash
# Keyless S3 credentials end to end.  The AWS endpoints cannot run here, so
# tests/s3/idp.js stands in for STS AssumeRoleWithWebIdentity, the EKS Pod
# Identity / ECS container endpoint and IMDSv2, following the AWS documents;
# s3rver behind proxy.js accepts what it issues until it expires.  Ceph RGW's
# own STS is the real thing: it checks the JWTs idp.js signs against the
# issuer's keys, and ends its sessions itself.
#   test_s3_creds: each source, a multipart upload outliving its first
#     credentials, a revoked session, the auto chain, and the failures;
#   the runner: --once, list and restore of a SQLite database with
#     credentials = web-identity, pod-identity and imds; a missing token file
#     and a refused role (at the stand-in and at RGW) exit 1 naming the
#     cause; no secret or token in the logs or the runner's argv.
# KBACKUP_S3_RGW=0 leaves RGW out.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"	# watch_cmdlines

command -v node >/dev/null || skip "node not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
[ -x "$RUNNER" ] || skip "$RUNNER not built"
unit=${KBACKUP_UNIT_DIR:-$KB_TOP/build/tests}/test_s3_creds
[ -x "$unit" ] || skip "$unit not built (make units)"
. "$KB_TOP/tests/s3/rgw.sh"

s3_start "$KB_TMP/s3" >/dev/null || fail "s3 harness did not start"
at_exit "s3_stop"

say "idp.js: STS, container credentials and IMDSv2 stand-ins"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$KB_TMP/idp.key" -out "$KB_TMP/idp.crt" \
	-subj /CN=kbackup-test-idp -days 2 >/dev/null 2>&1 || fail "openssl req"
node "$KB_TOP/tests/s3/idp.js" --port-file "$KB_TMP/idp.port" --key "$KB_TMP/idp.key" \
	--cert "$KB_TMP/idp.crt" --sessions "$S3_SESSIONS" --lifetime 4 \
	>"$KB_TMP/idp.log" 2>&1 &
idp_pid=$!
at_exit "kill $idp_pid"
for _ in $(seq 1 100); do [ -s "$KB_TMP/idp.port" ] && break; sleep 0.1; done
[ -s "$KB_TMP/idp.port" ] || fail "idp.js did not start: $(cat "$KB_TMP/idp.log")"
export S3_IDP=http://127.0.0.1:$(cat "$KB_TMP/idp.port")
issuer=$S3_IDP/realms/kb

if [ "${KBACKUP_S3_RGW:-1}" != 0 ] && rgw_have; then
	say "Ceph RGW with its STS trusting idp.js"
	saved=$(declare -p S3_ENDPOINT S3_VHOST_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_BUCKET)
	rgw_start "$KB_TMP/rgw" >/dev/null || fail "Ceph RGW did not start"
	at_exit "rgw_stop"
	rgw_sts_setup "$issuer" "$KB_TMP/idp.crt" || fail "RGW STS setup"
	export S3_RGW_ENDPOINT=$RGW_ENDPOINT S3_RGW_BUCKET=$S3_BUCKET S3_RGW_ROLE=$RGW_ROLE_ARN
	export S3_RGW_OTHER_ROLE=$RGW_OTHER_ROLE_ARN
	eval "${saved//declare -x/export}"
else
	say "Ceph RGW left out (KBACKUP_S3_RGW=0, or not installed)"
fi

say "test_s3_creds"
"$unit" || fail "test_s3_creds"

say "the runner with keyless credentials"
DB=$KB_TMP/app.db
sqlite3 "$DB" "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
	INSERT INTO t SELECT i, 'row ' || i FROM n;"
curl -s -X POST "$S3_IDP/__idp/mint?ttl=3600" >"$KB_TMP/token"
printf 'pod-identity-token' >"$KB_TMP/pod-token"
conf() {	# file name [storage keys on stdin]
	s3_sqlite_config "$DB" "$2" >"$1"
	chmod 600 "$1"
}
conf "$KB_TMP/web.conf" web <<EOF
credentials = web-identity
role_arn = arn:aws:iam::123456789012:role/kbackup
web_identity_token_file = $KB_TMP/token
sts_endpoint = $S3_IDP
EOF
conf "$KB_TMP/pod.conf" pod <<<"credentials = pod-identity"
conf "$KB_TMP/imds.conf" imds <<<"credentials = imds"
export AWS_CONTAINER_CREDENTIALS_FULL_URI=$S3_IDP/v1/credentials
export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$KB_TMP/pod-token
export AWS_EC2_METADATA_SERVICE_ENDPOINT=$S3_IDP
for c in web pod imds; do
	run_runner -c "$KB_TMP/$c.conf" check
	expect_rc 0 "check with $c credentials"
	assert_contains "$KB_TMP/out" "credentials" "check names the credentials"
	run_runner -c "$KB_TMP/$c.conf" --once
	expect_rc 0 "backup with $c credentials"
	run_runner -c "$KB_TMP/$c.conf" list
	expect_rc 0 "list with $c credentials"
	rm -f "$KB_TMP/copy.db"
	run_runner -c "$KB_TMP/$c.conf" restore latest --database "$KB_TMP/copy.db"
	expect_rc 0 "restore with $c credentials"
	assert_eq "$(sqlite3 "$KB_TMP/copy.db" 'SELECT count(*) FROM t')" 2000 "rows restored ($c)"
done

say "failures: exit 1, naming the cause"
sed 's|^web_identity_token_file = .*|web_identity_token_file = /nonexistent/token|' \
	"$KB_TMP/web.conf" >"$KB_TMP/notoken.conf"
run_runner -c "$KB_TMP/notoken.conf" --once
expect_rc 1 "backup without the token file"
assert_contains "$KB_TMP/log" "web identity token file: /nonexistent/token: No such file or directory" \
	"missing token file"
sed 's|:role/kbackup|:role/not-allowed|' "$KB_TMP/web.conf" >"$KB_TMP/refused.conf"
run_runner -c "$KB_TMP/refused.conf" list
expect_rc 1 "list with a refused role"
assert_contains "$KB_TMP/log" "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity" \
	"refused role"
if [ -n "${S3_RGW_ENDPOINT:-}" ]; then
	say "web identity at Ceph RGW's STS"
	(
		export S3_ENDPOINT=$S3_RGW_ENDPOINT S3_BUCKET=$S3_RGW_BUCKET
		conf "$KB_TMP/rgw.conf" rgw <<-EOF
		credentials = web-identity
		role_arn = $S3_RGW_ROLE
		web_identity_token_file = $KB_TMP/token
		sts_endpoint = $S3_RGW_ENDPOINT
		EOF
	)
	run_runner -c "$KB_TMP/rgw.conf" --once
	expect_rc 0 "backup to RGW with web identity"
	rm -f "$KB_TMP/copy.db"
	run_runner -c "$KB_TMP/rgw.conf" restore latest --database "$KB_TMP/copy.db"
	expect_rc 0 "restore from RGW with web identity"
	assert_eq "$(sqlite3 "$KB_TMP/copy.db" 'SELECT count(*) FROM t')" 2000 "rows restored (RGW)"
	sed "s|^role_arn = .*|role_arn = $S3_RGW_OTHER_ROLE|" "$KB_TMP/rgw.conf" >"$KB_TMP/rgwno.conf"
	run_runner -c "$KB_TMP/rgwno.conf" --once
	expect_rc 1 "backup to RGW with a refused role"
	assert_contains "$KB_TMP/log" "AssumeRoleWithWebIdentity of $S3_RGW_OTHER_ROLE" "RGW refusal"
fi

say "no secret or token in the logs, nor in the runner's command line"
for f in "$S3_SESSIONS"/*.json; do
	for field in secret token; do
		v=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$f" "$field")
		assert_not_contains "$KB_TMP/all.log" "$v" "a $field in the logs"
	done
done
assert_not_contains "$KB_TMP/all.log" "$(cat "$KB_TMP/token")" "the web identity token in the logs"
assert_not_contains "$KB_TMP/all.log" "pod-identity-token" "the container token in the logs"
watch_cmdlines kbackup-runner
run_runner -c "$KB_TMP/web.conf" --once
stop_watch
expect_rc 0 "backup watched"
assert_not_contains "$KB_TMP/cmdlines" "$(cat "$KB_TMP/token")" "the token in argv"
echo ok

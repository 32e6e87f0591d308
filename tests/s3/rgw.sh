# Ceph RADOS Gateway test harness: a throwaway single-node Ceph cluster (one
# ceph-mon, one memstore ceph-osd, one radosgw with the beast frontend),
# everything under one directory and on 127.0.0.1, no systemd, no ceph-mgr.
# Source this file, then:
#   rgw_start DIR  starts it and exports, like tests/s3/harness.sh,
#                  S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_BUCKET S3_REGION
#                  S3_VHOST_ENDPOINT (http://localhost:PORT; BUCKET.localhost is
#                  virtual-hosted style, "rgw dns name = localhost") and
#                  S3_LOCK_BUCKET, a bucket created with Object Lock enabled
#                  (hence versioned); RGW_ENDPOINT is S3_ENDPOINT, kept when
#                  s3_passthrough puts the proxy in front.  rgw_admin runs
#                  radosgw-admin on it.
#                  The OSD keeps everything in memory, RGW_MEMSTORE_BYTES
#                  of it (default 1 GiB, Ceph's own; a full OSD makes every
#                  write wait).
#   rgw_stop       stops it (radosgw TERM, the memstore OSD KILL: on TERM it
#                  writes its whole store to disk; the mon TERM)
# The settings are those ../shared/TEST-NOTES.md found necessary (msgr2 on
# loopback only, crc mode with auth none, fast paxos, a one-OSD pool layout).
# rgw_sts_setup ISSUER CERT (below) makes RGW's STS (AssumeRoleWithWebIdentity,
# on the same endpoint) trust a JWT issuer: an OIDC provider and two roles,
# RGW_ROLE_ARN (trusts the issuer, may do anything in S3) and
# RGW_OTHER_ROLE_ARN (trusts another issuer: refused).

RGW_HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$RGW_HARNESS_DIR/harness.sh"

rgw_have() {
	local c
	for c in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
		command -v "$c" >/dev/null || return 1
	done
}

# ceph CLI on this cluster, with a timeout so that a dead mon fails fast.
rgw_ceph() { ceph -c "$RGW_DIR/ceph.conf" --connect-timeout 10 "$@"; }
rgw_admin() { radosgw-admin -c "$RGW_DIR/ceph.conf" "$@"; }

rgw_write_conf() {	# dir monport rgwport
	cat >"$1/ceph.conf" <<EOF
[global]
fsid = $RGW_FSID
mon host = [v2:127.0.0.1:$2]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms mon client mode = crc
auth cluster required = none
auth service required = none
auth client required = none
client mount timeout = 30
run dir = $1/run
admin socket = $1/run/\$name.asok
log file = $1/log/\$name.log
crash dir = $1/crash
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd pool default pg autoscale mode = off
mon warn on pool no redundancy = false
paxos propose interval = 0.05
paxos min wait = 0.01
[mon.a]
mon data = $1/mon
[osd.0]
osd data = $1/osd
osd objectstore = memstore
memstore device bytes = ${RGW_MEMSTORE_BYTES:-1073741824}
osd journal size = 0
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$3
rgw dns name = localhost
rgw data = $1/rgw
rgw enable usage log = false
rgw s3 auth use sts = true
rgw sts key = kbackuptestsky16
rgw sts min session duration = 3
EOF
}

rgw_wait() {	# seconds command...: until the command succeeds
	local n=$(($1 * 10)) i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

rgw_osd_up() { rgw_ceph osd dump 2>/dev/null | grep -q '^osd.0 up *in'; }
rgw_http_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/")" = 200 ]; }

rgw_fail() {
	echo "rgw_start: $1 (logs in $RGW_DIR/log)" >&2
	tail -n 5 "$RGW_DIR"/log/*.log >&2 2>/dev/null
	rgw_stop
	return 1
}

rgw_start() {
	local dir=$1 monport rgwport uuid
	rgw_have || { echo "rgw_start: ceph-mon, ceph-osd, radosgw or ceph-common missing" >&2; return 1; }
	RGW_DIR=$dir
	mkdir -p "$dir"/{run,log,crash,mon,osd,rgw}
	RGW_FSID=$(cat /proc/sys/kernel/random/uuid)
	monport=$(s3_free_port)
	rgwport=$(s3_free_port)
	rgw_write_conf "$dir" "$monport" "$rgwport"
	monmaptool --create --fsid "$RGW_FSID" --addv a "[v2:127.0.0.1:$monport]" \
	    "$dir/monmap" >/dev/null || { rgw_fail "monmaptool failed"; return 1; }
	ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. \
	    --cap mon 'allow *' >/dev/null || { rgw_fail "ceph-authtool failed"; return 1; }
	ceph-mon -c "$dir/ceph.conf" -i a --mkfs --monmap "$dir/monmap" \
	    --keyring "$dir/mon.keyring" >/dev/null 2>&1 || { rgw_fail "ceph-mon --mkfs failed"; return 1; }
	ceph-mon -c "$dir/ceph.conf" -i a --pid-file "$dir/run/mon.pid" ||
	    { rgw_fail "ceph-mon did not start"; return 1; }
	uuid=$(cat /proc/sys/kernel/random/uuid)
	rgw_ceph osd new "$uuid" >/dev/null || { rgw_fail "ceph osd new failed"; return 1; }
	ceph-osd -c "$dir/ceph.conf" -i 0 --mkfs --osd-uuid "$uuid" >/dev/null 2>&1 ||
	    { rgw_fail "ceph-osd --mkfs failed"; return 1; }
	ceph-osd -c "$dir/ceph.conf" -i 0 --pid-file "$dir/run/osd.pid" >/dev/null 2>&1 ||
	    { rgw_fail "ceph-osd did not start"; return 1; }
	rgw_wait 60 rgw_osd_up || { rgw_fail "osd.0 not up"; return 1; }
	radosgw -c "$dir/ceph.conf" -n client.rgw --pid-file "$dir/run/rgw.pid" ||
	    { rgw_fail "radosgw did not start"; return 1; }
	export S3_ENDPOINT=http://127.0.0.1:$rgwport
	export S3_VHOST_ENDPOINT=http://localhost:$rgwport
	export RGW_ENDPOINT=$S3_ENDPOINT
	rgw_wait 60 rgw_http_ok || { rgw_fail "radosgw does not answer on $S3_ENDPOINT"; return 1; }
	export S3_ACCESS_KEY=AKIARGWKBACKUPTEST01
	export S3_SECRET_KEY=rgw-test-secret/0123456789abcdefABCDEF
	export S3_REGION=us-east-1
	export S3_BUCKET=kbackup-test
	export S3_LOCK_BUCKET=kbackup-lock
	rgw_admin user create --uid kbackup --display-name kbackup \
	    --access-key "$S3_ACCESS_KEY" --secret-key "$S3_SECRET_KEY" \
	    --caps 'oidc-provider=*;roles=*' >/dev/null || { rgw_fail "user create failed"; return 1; }
	rgw_bucket "$S3_BUCKET" || { rgw_fail "bucket $S3_BUCKET not created"; return 1; }
	rgw_bucket "$S3_LOCK_BUCKET" lock || { rgw_fail "bucket $S3_LOCK_BUCKET not created"; return 1; }
	unset S3_UPSTREAM
	echo "S3_ENDPOINT=$S3_ENDPOINT S3_BUCKET=$S3_BUCKET (Ceph RGW $(radosgw --version | awk '{ print $3 }'))"
}

# Creates a bucket with a signed request (curl: the AWS CLIs crash on RGW's
# empty error messages); "lock" creates it with Object Lock enabled.
rgw_bucket() {	# name [lock]
	local code hdr=()
	[ "${2:-}" = lock ] && hdr=(-H "x-amz-bucket-object-lock-enabled: true")
	code=$(s3_curl -o "$RGW_DIR/bucket.out" -w '%{http_code}' -X PUT "${hdr[@]}" \
	    "$S3_ENDPOINT/$1")
	[ "$code" = 200 ]
}

# An IAM call to RGW (signed for service iam, a form in the body).
rgw_iam() {	# form
	curl -s -o "$RGW_DIR/iam.out" -w '%{http_code}' --aws-sigv4 "aws:amz:$S3_REGION:iam" \
	    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
	    -H "x-amz-content-sha256: $(printf '%s' "$1" | sha256sum | cut -d' ' -f1)" \
	    -H "Content-Type: application/x-www-form-urlencoded" -d "$1" "$RGW_ENDPOINT/"
}

rgw_trust() {	# issuer-without-scheme
	printf '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":["arn:aws:iam:::oidc-provider/%s"]},"Action":["sts:AssumeRoleWithWebIdentity"]}]}' "$1"
}

rgw_sts_setup() {	# issuer cert
	local iss=${1#http://} tp url code
	tp=$(openssl x509 -in "$2" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
	url=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1")
	code=$(rgw_iam "Action=CreateOpenIDConnectProvider&Url=$url&ClientIDList.member.1=sts.amazonaws.com&ThumbprintList.member.1=$tp")
	[ "$code" = 200 ] || { echo "rgw_sts_setup: CreateOpenIDConnectProvider: $code $(cat "$RGW_DIR/iam.out")" >&2; return 1; }
	rgw_admin role create --role-name=kbackup --path=/ \
	    --assume-role-policy-doc="$(rgw_trust "$iss")" >/dev/null || return 1
	rgw_admin role-policy put --role-name=kbackup --policy-name=s3 \
	    --policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}' \
	    >/dev/null || return 1
	rgw_admin role create --role-name=other --path=/ \
	    --assume-role-policy-doc="$(rgw_trust 127.0.0.1:1/realms/other)" >/dev/null || return 1
	export RGW_ROLE_ARN=arn:aws:iam:::role/kbackup RGW_OTHER_ROLE_ARN=arn:aws:iam:::role/other
}

rgw_stop() {
	local f p
	for f in rgw osd mon; do
		[ -n "${RGW_DIR:-}" ] && [ -s "$RGW_DIR/run/$f.pid" ] || continue
		p=$(cat "$RGW_DIR/run/$f.pid")
		if [ "$f" = osd ]; then kill -KILL "$p" 2>/dev/null; else kill -TERM "$p" 2>/dev/null; fi
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		rm -f "$RGW_DIR/run/$f.pid"
	done
	return 0
}

# S3 test harness: s3rver behind proxy.js (Signature V4 and body checks).
# Source this file, then:
#   s3_start DIR   starts both on 127.0.0.1 (state and logs in DIR) and exports
#                  S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_BUCKET S3_REGION
#                  (and S3_UPSTREAM, s3rver's own unchecked endpoint, and
#                  S3_VHOST_ENDPOINT=http://s3.localhost:PORT for virtual-host
#                  style: BUCKET.s3.localhost, which curl resolves to loopback)
#                  S3_SESSIONS, where tests/s3/idp.js puts the temporary
#                  credentials it issues for the proxy to accept
#   s3_passthrough DIR URL
#                  starts the proxy alone in front of URL (a server that checks
#                  signatures itself: Ceph RGW), for its faults, and points
#                  S3_ENDPOINT and S3_VHOST_ENDPOINT (http://localhost:PORT) at it
#   s3_stop        stops them
#   s3_curl ARGS   curl signed with S3_ACCESS_KEY (x-amz-content-sha256 of an
#                  empty body; pass -H to replace it for a body)
#   s3_storage_section [KEY = VALUE lines on stdin]
#                  prints a runner config's [storage] of type s3 for the
#                  server of S3_ENDPOINT (path style, S3_PREFIX or "kb"), the
#                  secret as secret_key_file = $S3_SECRET_FILE when that is
#                  set; keys from stdin are added (credentials = ... leaves
#                  the static keys out)
#   s3_sqlite_config DB NAME [storage keys on stdin]
#                  prints a whole runner config backing up SQLite file DB as
#                  definition test/NAME to that [storage] (workdir in KB_TMP)
# Needs node and the packages of package-lock.json (npm ci, done here if missing).

S3_HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

s3_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

s3_deps() {
	[ -x "$S3_HARNESS_DIR/node_modules/.bin/s3rver" ] && return 0
	(cd "$S3_HARNESS_DIR" && npm ci --no-audit --no-fund >/dev/null 2>&1)
}

s3_wait_port() {	# port seconds
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

s3_start() {
	local dir=$1 port
	command -v node >/dev/null || { echo "s3_start: node not found" >&2; return 1; }
	s3_deps || { echo "s3_start: npm ci failed in $S3_HARNESS_DIR" >&2; return 1; }
	mkdir -p "$dir/s3rver"
	export S3_ACCESS_KEY=${S3_ACCESS_KEY:-AKIAKBACKUPTEST0001}
	export S3_SECRET_KEY=${S3_SECRET_KEY:-kbackup-test-secret/0123456789abcdefABCDEF}
	export S3_BUCKET=${S3_BUCKET:-kbackup-test}
	export S3_REGION=${S3_REGION:-us-east-1}
	port=$(s3_free_port)
	NODE_OPTIONS=--openssl-legacy-provider \
	    "$S3_HARNESS_DIR/node_modules/.bin/s3rver" -d "$dir/s3rver" -a 127.0.0.1 \
	    -p "$port" --service-endpoint localhost --configure-bucket "$S3_BUCKET" >"$dir/s3rver.log" 2>&1 &
	S3_SERVER_PID=$!
	if ! s3_wait_port "$port" 20; then
		echo "s3_start: s3rver did not start (log: $dir/s3rver.log)" >&2
		s3_stop
		return 1
	fi
	export S3_UPSTREAM=http://127.0.0.1:$port
	export S3_SESSIONS=$dir/sessions
	mkdir -p "$S3_SESSIONS"
	s3_proxy "$dir" --upstream "$port" --data "$dir/s3rver" --sessions "$S3_SESSIONS" ||
		return 1
	export S3_ENDPOINT=http://127.0.0.1:$S3_PROXY_PORT
	export S3_VHOST_ENDPOINT=http://s3.localhost:$S3_PROXY_PORT
	echo "S3_ENDPOINT=$S3_ENDPOINT S3_BUCKET=$S3_BUCKET S3_UPSTREAM=$S3_UPSTREAM"
}

s3_proxy() {	# dir proxy-args...
	local dir=$1 i
	shift
	rm -f "$dir/proxy.port"
	node "$S3_HARNESS_DIR/proxy.js" --listen 0 "$@" --port-file "$dir/proxy.port" \
	    >"$dir/proxy.log" 2>&1 &
	S3_PROXY_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/proxy.port" ] && break
		sleep 0.1
	done
	if [ ! -s "$dir/proxy.port" ]; then
		echo "s3_proxy: proxy did not start (log: $dir/proxy.log)" >&2
		s3_stop
		return 1
	fi
	S3_PROXY_PORT=$(cat "$dir/proxy.port")
}

s3_passthrough() {	# dir upstream-url
	command -v node >/dev/null || { echo "s3_passthrough: node not found" >&2; return 1; }
	s3_deps || { echo "s3_passthrough: npm ci failed in $S3_HARNESS_DIR" >&2; return 1; }
	mkdir -p "$1"
	s3_proxy "$1" --upstream "${2##*:}" --passthrough || return 1
	export S3_UPSTREAM=$2
	export S3_ENDPOINT=http://127.0.0.1:$S3_PROXY_PORT
	export S3_VHOST_ENDPOINT=http://localhost:$S3_PROXY_PORT
}

s3_curl() {
	curl -s --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3" \
	    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
	    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
	    "$@"
}

# s3_curl_put BODY URL [curl args]: a signed PUT of BODY (its own payload
# hash: a second x-amz-content-sha256 would break the signature).
s3_curl_put() {
	local body=$1 url=$2
	shift 2
	curl -s --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3" \
	    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -X PUT --data-binary "$body" \
	    -H "x-amz-content-sha256: $(printf '%s' "$body" | sha256sum | cut -d' ' -f1)" \
	    -H "Content-MD5: $(printf '%s' "$body" | openssl md5 -binary | base64)" \
	    "$@" "$url"
}

s3_stop() {
	local p
	for p in ${S3_PROXY_PID:-} ${S3_SERVER_PID:-}; do
		kill "$p" 2>/dev/null && { wait "$p" 2>/dev/null || true; }
	done
	S3_PROXY_PID= S3_SERVER_PID=
	return 0
}

s3_storage_section() {
	local extra
	extra=$(cat)
	cat <<EOF
[storage]
type = s3
endpoint = $S3_ENDPOINT
region = $S3_REGION
bucket = $S3_BUCKET
prefix = ${S3_PREFIX:-kb}
path_style = true
EOF
	if ! grep -q '^credentials *=' <<<"$extra"; then
		echo "access_key = $S3_ACCESS_KEY"
		if [ -n "${S3_SECRET_FILE:-}" ]; then
			echo "secret_key_file = $S3_SECRET_FILE"
		else
			echo "secret_key = $S3_SECRET_KEY"
		fi
	fi
	[ -z "$extra" ] || printf '%s\n' "$extra"
}

s3_sqlite_config() {	# db name
	cat <<EOF
[backup]
name = $2
namespace = test
engine = sqlite
workdir = ${KB_TMP:?}/work

[sqlite]
path = $1

$(s3_storage_section)
EOF
}

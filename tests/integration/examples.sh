#!/usr/bin/env bash
# Every example config parses and validates (check --offline), with dummy
# secrets in the environment variables the examples name.
. "$(dirname "$0")/../lib.sh"
n=0
for f in "$KB_TOP"/examples/*.conf; do
	# Every *_env variable an example names gets a dummy value: a URL for
	# URLs, else 64 hex digits (a raw key fits too).
	vars=$(sed -n 's/^[a-z_.]*_env *= *\([A-Z0-9_]*\).*/\1/p' "$f")
	envs=()
	for v in $vars; do
		case $v in
		*URL*) envs+=("$v=https://hooks.example/kbackup") ;;
		*) envs+=("$v=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") ;;
		esac
	done
	set +e
	env "${envs[@]}" "$RUNNER" -c "$f" check --offline >"$KB_TMP/out" 2>"$KB_TMP/log"
	rc=$?
	set -e
	[ "$rc" = 0 ] || fail "$(basename "$f"): $(cat "$KB_TMP/log")"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no examples"
echo "ok: $n examples"

# tests/operator/standin.sh: sourced after tests/lib.sh by the operator tests
# that run real servers.  standin_start starts the Kubernetes API stand-in
# (apiserver.js) on 127.0.0.1, stopped at exit; sets SRV and defines k, the
# tests' kubectl (kctl.js), and OP, the operator (skips when it is not built).
OP=${KBACKUP_OPERATOR:-$KB_TOP/bin/kbackup-operator}
[ -x "$OP" ] || skip "$OP not built (make operator)"
command -v node >/dev/null || skip "node not installed"
command -v curl >/dev/null || skip "curl not installed"

standin_start() {
	node "$KB_TOP/tests/operator/apiserver.js" "$KB_TMP/port" >"$KB_TMP/apiserver.log" 2>&1 &
	at_exit "kill $!"
	for _ in $(seq 100); do [ -s "$KB_TMP/port" ] && break; sleep 0.1; done
	[ -s "$KB_TMP/port" ] || fail "stand-in did not start: $(cat "$KB_TMP/apiserver.log")"
	SRV=http://127.0.0.1:$(cat "$KB_TMP/port")
}
k() { node "$KB_TOP/tests/operator/kctl.js" "$SRV" "$@"; }

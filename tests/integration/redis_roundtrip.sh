#!/usr/bin/env bash
# Redis → kbackup-runner --once → a directory → restore writes an RDB file
# → a second redis-server loads it: every key (strings, binary, hash, list,
# set, zset, stream, TTL) equal by DUMP.  The password is in no child's argv
# and no log; a wrong password fails with nothing committed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

redis_start r1
P=$REDIS_PORT_r1
rcli "$P" SET greeting 'hello ü€ "quoted"' >/dev/null
printf 'bin\000ary\377data' | rcli "$P" -x SET binary >/dev/null
rcli "$P" HSET user:1 name alice age 42 >/dev/null
rcli "$P" RPUSH queue a b c d e >/dev/null
rcli "$P" SADD tags red green blue >/dev/null
rcli "$P" ZADD scores 1 one 2.5 two 3 three >/dev/null
rcli "$P" XADD events '*' kind login who alice >/dev/null
rcli "$P" SET session abc EX 86400 >/dev/null
for i in $(seq 1 2000); do echo "SET key:$i value-$i"; done | rcli "$P" >/dev/null
rcli "$P" SELECT 3 >/dev/null
rcli "$P" -n 3 SET in-db-3 yes >/dev/null

# Every key of every database: name, type, and its DUMP in hex (sets: their
# sorted members, as DUMP follows hash order); the key:N strings by one MGET.
fingerprint() {	# port
	local db k t
	for db in 0 3; do
		for k in $(rcli "$1" -n $db --scan | grep -v '^key:' | sort); do
			t=$(rcli "$1" -n $db TYPE "$k")
			printf '%s %s %s ' "$db" "$k" "$t"
			if [ "$t" = set ]; then rcli "$1" -n $db SMEMBERS "$k" | sort | tr '\n' ' '
			else rcli "$1" -n $db --raw DUMP "$k" | od -An -tx1 | tr -d ' \n'; fi
			echo
		done
		rcli "$1" -n $db --scan --pattern 'key:*' | sort >"$KB_TMP/keys"
		if [ -s "$KB_TMP/keys" ]; then rcli "$1" -n $db MGET $(cat "$KB_TMP/keys"); fi
	done
}

write_engine_config "$KB_TMP/kb.conf" redis <<EOF
host = 127.0.0.1
port = $P
password_env = KB_TEST_REDIS_PW
rdb_restore_path = $KB_TMP/restored/dump.rdb
EOF
export KB_TEST_REDIS_PW=$REDIS_PASSWORD

check_and_backup_watched "$KB_TMP/kb.conf" redis-cli "--rdb" "$REDIS_PASSWORD"

say "restore writes the RDB; a second server loads it"
mkdir -p "$KB_TMP/restored"
run_runner -c "$KB_TMP/kb.conf" restore latest
expect_rc 0 "restore"
assert_contains "$KB_TMP/log" "stop the server" "restore explains the next steps"
[ -f "$KB_TMP/restored/dump.rdb" ] || fail "no RDB written"
[ -z "$(ls -A "$KB_TMP/restored" | grep kbtmp || true)" ] || fail "temporary file left"
mkdir -p "$KB_TMP/r2"
mv "$KB_TMP/restored/dump.rdb" "$KB_TMP/r2/dump.rdb"
redis_start r2
fingerprint "$P" >"$KB_TMP/a"
fingerprint "$REDIS_PORT_r2" >"$KB_TMP/b"
[ "$(wc -l <"$KB_TMP/a")" -ge 2008 ] || fail "fingerprint too small"
diff -u "$KB_TMP/a" "$KB_TMP/b" >"$KB_TMP/diff" || fail "restored keys differ: $(head "$KB_TMP/diff")"
ttl=$(rcli "$REDIS_PORT_r2" TTL session)
[ "$ttl" -gt 0 ] || fail "TTL lost: $ttl"

say "restore --database PATH writes elsewhere"
run_runner -c "$KB_TMP/kb.conf" restore latest --database "$KB_TMP/other.rdb"
expect_rc 0 "restore to a path"
cmp "$KB_TMP/other.rdb" "$KB_TMP/r2/dump.rdb" >/dev/null 2>&1 || head -c5 "$KB_TMP/other.rdb" | grep -q REDIS ||
	fail "other.rdb is not an RDB"

wrong_password_fails redis <<EOF
port = $P
password_env = KB_TEST_BAD_PW
EOF
echo ok

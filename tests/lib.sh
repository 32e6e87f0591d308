# tests/lib.sh: helpers sourced by the integration tests and the demo.
# Servers run in a temporary directory on 127.0.0.1 or Unix sockets, and are
# stopped by the EXIT trap.  As root (CI), PostgreSQL runs as user postgres:
# initdb refuses root.
set -euo pipefail

KB_TOP=${KBACKUP_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
RUNNER=${KBACKUP_RUNNER:-$KB_TOP/bin/kbackup-runner}
KB_TMP=$(mktemp -d /tmp/kbtest.XXXXXX)
chmod 755 "$KB_TMP"
KB_CLEANUPS=()

kb_cleanup() {
	local i
	for ((i = ${#KB_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${KB_CLEANUPS[$i]}" >/dev/null 2>&1 || true
	done
	[ -n "${KB_KEEP_TMP:-}" ] || rm -rf "$KB_TMP"
}
trap kb_cleanup EXIT
at_exit() { KB_CLEANUPS+=("$1"); }

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
say() { echo "== $*"; }

assert_eq() {	# actual expected what
	[ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}
assert_contains() {	# file-or-text needle what
	if [ -f "$1" ]; then grep -qF -- "$2" "$1" || fail "$3: '$2' not in $1: $(tail -5 "$1")"
	else case "$1" in *"$2"*) ;; *) fail "$3: '$2' not in: $1" ;; esac; fi
}
assert_not_contains() {
	if [ -f "$1" ]; then ! grep -qF -- "$2" "$1" || fail "$3: '$2' found in $1"
	else case "$1" in *"$2"*) fail "$3: '$2' found" ;; esac; fi
}

# Runs the runner, records its exit status in $rc and its stderr in $KB_TMP/log.
# With KB_FAKE_AT="YYYY-MM-DD HH:MM:SS" set, on that clock (faketime_setup).
run_runner() {
	local fake=()
	[ -z "${KB_FAKE_AT:-}" ] || fake=(LD_PRELOAD="$FT_LIB" FAKETIME="@$KB_FAKE_AT")
	set +e
	env -u PGPASSWORD "${fake[@]}" "$RUNNER" "$@" >"$KB_TMP/out" 2>"$KB_TMP/log"
	rc=$?
	set -e
	cat "$KB_TMP/log" >>"$KB_TMP/all.log"
}
# Appends a [retention] section to conf that keeps by one rule, every other off.
retention_only() {	# conf rule value
	local r
	{
		printf '\n[retention]\n'
		for r in all hourly daily weekly monthly yearly; do
			if [ "$r" = "$2" ]; then echo "$r = $3"; else echo "$r = off"; fi
		done
	} >>"$1"
}

# Like run_runner, the runner's clock offset ("+20m", "-1h"; faketime_setup);
# its monotonic clock, which times requests and waits, left alone.
run_skewed() {	# offset args...
	local offset=$1
	shift
	set +e
	LD_PRELOAD="$FT_LIB" FAKETIME="$offset" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		"$RUNNER" "$@" >"$KB_TMP/out" 2>"$KB_TMP/log"
	rc=$?
	set -e
	cat "$KB_TMP/log" >>"$KB_TMP/all.log"
}

# Like run_runner, the runner's clock starting at time.
run_at() {	# "YYYY-MM-DD HH:MM:SS" args...
	local t=$1
	shift
	KB_FAKE_AT=$t run_runner "$@"
}
# Runs the runner in the background like run_runner, waits until probe (a
# command) prints something, then sends SIGTERM and waits for the runner.
run_runner_term_when() {	# probe args...
	local probe=$1 pid seen=
	shift
	set +e
	env -u PGPASSWORD "$RUNNER" "$@" >"$KB_TMP/out" 2>"$KB_TMP/log" &
	pid=$!
	set -e
	for _ in $(seq 1 400); do
		if [ -n "$($probe)" ]; then seen=1; break; fi
		sleep 0.02
	done
	[ -n "$seen" ] || { kill "$pid"; fail "$probe printed nothing while the runner ran"; }
	kill -TERM "$pid"
	set +e
	wait "$pid"
	rc=$?
	set -e
	cat "$KB_TMP/log" >>"$KB_TMP/all.log"
}
# Waits until file holds text (a fixed string), looking tries times, every
# interval seconds; the caller asserts what it waited for.
wait_for_text() {	# file text tries interval
	local i
	for ((i = 0; i < $3; i++)); do
		grep -qF -- "$2" "$1" && return 0
		sleep "$4"
	done
	return 0
}
# Files a job left in a workdir: anything but a state directory's lock and runner id.
workdir_leftovers() {	# workdir
	find "$1" -type f ! -name lock ! -name runner-id 2>/dev/null || true
}
assert_workdir_clean() {	# workdir what
	local left
	left=$(workdir_leftovers "$1")
	[ -z "$left" ] || fail "$2: left in workdir: $left"
}
expect_rc() {	# expected what
	[ "$rc" = "$1" ] || fail "$2: exit status $rc, expected $1; log: $(tail -5 "$KB_TMP/log")"
}

# Recomputes a manifest's checksum after an edit, as someone able to write the
# bucket could (kbackup-format(5)): SHA-256 of its compact JSON, checksum left out.
manifest_resum() {	# file
	python3 - "$1" <<'PY'
import hashlib, json, sys
from collections import OrderedDict
m = json.load(open(sys.argv[1]), object_pairs_hook=OrderedDict)
m.pop("checksum", None)
c = json.dumps(m, separators=(",", ":"), ensure_ascii=False).encode()
m["checksum"] = "sha256:" + hashlib.sha256(c).hexdigest()
open(sys.argv[1], "w").write(json.dumps(m, indent=2, ensure_ascii=False))
PY
}

# The IDs of the backups a runner's log says it committed, oldest first.
committed_id() {	# [log]
	sed -n 's/.*msg="backup committed" id=\([0-9TZa-f-]*\).*/\1/p' "${1:-$KB_TMP/log}"
}

# Flips the lowest bit of the byte at offset in file (a corrupt backup object).
flip_bit() {	# file offset
	python3 - "$1" "$2" <<'PY'
import sys
path, at = sys.argv[1], int(sys.argv[2])
b = bytearray(open(path, "rb").read())
b[at] ^= 1
open(path, "wb").write(bytes(b))
PY
}

# wait_catches_sigint PID: waits (up to 5 s) until the process has a SIGINT
# handler.  A background job of a non-interactive shell starts with SIGINT
# ignored; a signal sent before the runner installs its handlers (a slow
# start under ASan on a loaded machine) would be lost, not tested.
wait_catches_sigint() {	# pid
	local mask
	for _ in $(seq 1 100); do
		mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 0
		[ -n "$mask" ] || return 0
		(((16#$mask >> 1) & 1)) && return 0
		sleep 0.05
	done
}

# faketime_setup: FT_LIB, the libfaketime a test preloads to move the
# runner's clock (the test is skipped without it).  LD_PRELOAD and FAKETIME
# are set directly, not through the faketime wrapper (../shared/TEST-NOTES.md:
# no semaphore of the wrapper's to leave behind); ASan need not come first.
faketime_setup() {
	FT_LIB=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime.so.1$' | head -n 1 || true)
	[ -n "$FT_LIB" ] || skip "libfaketime not installed"
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
}

# fake_day N: YYYY-MM-DD of day N of a simulated month that starts 30 days
# from today, so every backup taken on the real clock is older than any
# simulated one, whatever day the suite runs.
fake_day() {	# n
	local base
	base=$(($(date -u -d "$(date -u +%F)" +%s) + 30 * 86400))
	date -u -d "@$((base + ${1#0} * 86400))" +%F
}

free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 12000))	# below the ephemeral range (32768-)
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return; fi
	done
	fail "no free port"
}

# Starts Ceph RGW in $KB_TMP/rgw, stopped at exit (the test is skipped where
# it is not installed); S3_ENDPOINT and the rest point at it (tests/s3/rgw.sh).
rgw_for_test() {
	. "$KB_TOP/tests/s3/rgw.sh"
	rgw_have || skip "Ceph RGW not installed (scripts/install-deps)"
	rgw_start "$KB_TMP/rgw" >/dev/null || fail "Ceph RGW did not start"
	at_exit "rgw_stop"
}

# Starts the S3 harness (tests/s3/harness.sh: s3rver behind the checking
# proxy) in $KB_TMP/s3, stopped at exit; points the AWS CLI at it and puts
# its secret key in $KB_TMP/s3secret, which the harness's s3_storage_section
# then names in secret_key_file.
s3_setup() {
	. "$KB_TOP/tests/s3/harness.sh"
	s3_start "$KB_TMP/s3" >/dev/null || fail "s3 harness did not start"
	at_exit "s3_stop"
	export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
	export AWS_DEFAULT_REGION=$S3_REGION AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
	printf '%s' "$S3_SECRET_KEY" >"$KB_TMP/s3secret"
	chmod 600 "$KB_TMP/s3secret"
	S3_SECRET_FILE=$KB_TMP/s3secret
}

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bindir() {
	local v
	v=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
	[ -n "$v" ] || skip "PostgreSQL server not installed"
	echo "/usr/lib/postgresql/$v/bin"
}

# pg_cluster_start NAME PWFILE: a fresh cluster in $KB_TMP/NAME whose postgres
# role has the password in PWFILE, stopped at exit; sets PG_BIN and
# CLUSTER_PORT.  A second one gives a test an empty server to restore onto.
pg_cluster_start() {
	local dir=$KB_TMP/$1 pwfile=$2 try
	PG_BIN=$(pg_bindir)
	CLUSTER_PORT=$(free_port)
	mkdir -p "$dir"
	if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir" "$pwfile"; fi
	as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 \
		--pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		fail "initdb: $(tail -3 "$dir/initdb.log")"
	# Settings of the test's own (PITR tests: archiving, replication), before the start.
	[ -z "${PG_CONF_EXTRA:-}" ] || printf '%s\n' "$PG_CONF_EXTRA" >>"$dir/data/postgresql.conf"
	# Another test may take the port between free_port and the server's bind: retry.
	for try in 1 2 3 4 5; do
		as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
			-o "-k $dir -p $CLUSTER_PORT -c listen_addresses=127.0.0.1 -c fsync=off" \
			start >/dev/null && break
		[ "$try" = 5 ] && fail "postgres did not start: $(tail -5 "$dir/server.log")"
		CLUSTER_PORT=$(free_port)
	done
	at_exit "as_pg $PG_BIN/pg_ctl -D $dir/data -m immediate stop"
}

# pg_start: a fresh cluster; sets PGPORT, PGHOST (socket dir), PG_PASSWORD, PG_BIN.
pg_start() {
	PG_DIR=$KB_TMP/pg
	PG_PASSWORD="pw-${RANDOM}${RANDOM}-not-in-argv"
	printf '%s\n' "$PG_PASSWORD" >"$KB_TMP/pgpw"
	pg_cluster_start pg "$KB_TMP/pgpw"
	PGPORT=$CLUSTER_PORT
	export PGPORT PGHOST=127.0.0.1 PGUSER=postgres
	export PGPASSWORD=$PG_PASSWORD	# the test's own psql; the runner gets it from a file
}

pg_stop() {
	as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null
}

psql_q() {	# database sql
	psql -X -q -tA -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# A database with tables of varied types.
pg_load_sample() {	# database [rows]
	local db=$1 rows=${2:-1000}
	psql_q postgres "CREATE DATABASE $db"
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE customers (
	id serial PRIMARY KEY, name text NOT NULL, email varchar(200) UNIQUE,
	born date, balance numeric(12,2), active boolean DEFAULT true,
	mood mood, tags text[], profile jsonb, avatar bytea, seen timestamptz,
	uid uuid, score double precision
);
INSERT INTO customers (name, email, born, balance, active, mood, tags, profile, avatar,
	seen, uid, score)
SELECT 'name ' || i || ' ü€ "quoted"', 'c' || i || '@example.com',
	date '1970-01-01' + i, i * 1.25, i % 2 = 0, (ARRAY['sad','ok','happy'])[1 + i % 3]::mood,
	ARRAY['t' || i, 'x'], jsonb_build_object('i', i, 'nested', jsonb_build_array(i, 'v')),
	decode(md5(i::text), 'hex'), timestamptz '2026-01-01 00:00:00+00' + i * interval '1 min',
	md5(i::text)::uuid, i / 3.0
FROM generate_series(1, $rows) AS i;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers(id),
	total numeric, note text, created timestamp DEFAULT '2026-11-24 03:00');
INSERT INTO orders (customer, total, note)
SELECT 1 + i % $rows, i * 3.5, CASE WHEN i % 7 = 0 THEN NULL ELSE repeat('n', i % 50) END
FROM generate_series(1, $rows * 2) AS i;
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
CREATE FUNCTION order_count(c int) RETURNS bigint LANGUAGE sql AS
	'SELECT count(*) FROM orders WHERE customer = c';
CREATE INDEX orders_customer ON orders(customer);
SQL
}

# Schema (pg_dump -s, minus the random \restrict lines of pg_dump >= 15.14) and
# every row of every table, in a stable order.
pg_fingerprint() {	# database
	local db=$1 t
	pg_dump -X -s -d "$db" 2>/dev/null | grep -v -e '^\\restrict' -e '^\\unrestrict' \
		-e '^-- Dumped' || pg_dump -s -d "$db" | grep -v -e '^\\restrict' -e '^\\unrestrict'
	for t in $(psql_q "$db" "SELECT schemaname || '.' || tablename FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"); do
		echo "-- $t"
		psql_q "$db" "SELECT t::text FROM $t t ORDER BY t::text"
	done
}

# restore latest of $KB_TMP/kb.conf into database copy (restore options may
# follow), then copy and orig must have the same fingerprint (fp: a command
# that prints a database's, as pg_fingerprint); orig's stays in $KB_TMP/a.
restore_copy_same() {	# fp orig copy [restore-options...]
	local fp=$1 orig=$2 copy=$3
	shift 3
	run_runner -c "$KB_TMP/kb.conf" restore latest --database "$copy" "$@"
	expect_rc 0 "restore into $copy $*"
	"$fp" "$orig" >"$KB_TMP/a"
	"$fp" "$copy" >"$KB_TMP/b"
	diff -u "$KB_TMP/a" "$KB_TMP/b" >"$KB_TMP/diff" ||
		fail "restored database $copy differs: $(head -20 "$KB_TMP/diff")"
}

# A runner config for PostgreSQL into a directory; extra lines from stdin if any.
write_pg_config() {	# file database [storage-dir]
	local file=$1 db=$2 dir=${3:-$KB_TMP/backups}
	cat >"$file" <<EOF2
[backup]
name = orders
namespace = test
engine = postgres
workdir = $KB_TMP/work

[postgres]
host = 127.0.0.1
port = $PGPORT
user = postgres
password_file = $KB_TMP/pgpw
database = $db

[storage]
type = file
path = $dir
EOF2
	chmod 600 "$file"
}

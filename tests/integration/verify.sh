#!/usr/bin/env bash
# verify and verify --restore on PostgreSQL with an encrypted file location:
# verify --all passes on good backups and names the bad one in a mixed set;
# verify --restore prints every table with the row count psql gives (a
# partitioned table's rows once, in its partitions), and
# leaves no scratch database behind: after success, after a failed restore
# (a corrupt backup), after SIGTERM half-way; --target and its refusals.
. "$(dirname "$0")/../lib.sh"

pg_start
pg_load_sample shop 20000
# A partitioned table: its rows are counted once, in its partitions.
psql_q shop "CREATE TABLE events (at date NOT NULL, what text) PARTITION BY RANGE (at);
	CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
	CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
	INSERT INTO events SELECT date '2025-06-01' + i, 'e' || i FROM generate_series(1, 300) i" >/dev/null
printf 'verify-test-passphrase-%s\n' "$RANDOM" >"$KB_TMP/key"
chmod 600 "$KB_TMP/key"
write_pg_config "$KB_TMP/kb.conf" shop
sed -i 's/^engine = postgres$/engine = postgres\ncompression = none/' "$KB_TMP/kb.conf"
echo "encryption_key_file = $KB_TMP/key" >>"$KB_TMP/kb.conf"
backups=$KB_TMP/backups/test/orders/backups

scratch_dbs() {
	psql_q postgres "SELECT datname FROM pg_database WHERE datname NOT IN
		('postgres', 'template0', 'template1', 'shop') ORDER BY 1" | tr '\n' ' '
}

say "three backups"
for i in 1 2 3; do
	[ "$i" = 1 ] || sleep 1	# IDs are per second
	psql_q shop "INSERT INTO orders (customer, total) VALUES ($i, $i)"
	run_runner -c "$KB_TMP/kb.conf" --once
	expect_rc 0 "backup $i"
done
mapfile -t ids < <(ls "$backups" | sort)
[ "${#ids[@]}" = 3 ] || fail "expected 3 backups, got ${ids[*]}"

say "verify --all on good backups"
run_runner -c "$KB_TMP/kb.conf" verify --all
expect_rc 0 "verify --all"
[ "$(grep -c ' ok ' "$KB_TMP/out")" = 3 ] || fail "verify --all: $(cat "$KB_TMP/out")"

say "verify --restore latest: tables and row counts as psql counts them"
run_runner -c "$KB_TMP/kb.conf" verify --restore latest
expect_rc 0 "verify --restore"
psql_q shop "SELECT schemaname || '.' || tablename FROM pg_tables t JOIN pg_class c
	ON c.oid = (quote_ident(schemaname) || '.' || quote_ident(tablename))::regclass
	WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND c.relkind = 'r'
	ORDER BY 1" |
	while read -r t; do
		printf '%s\t%s\n' "$t" "$(psql_q shop "SELECT count(*) FROM $t")"
	done >"$KB_TMP/expected"
grep -P '\t' "$KB_TMP/out" >"$KB_TMP/got" || true
diff -u "$KB_TMP/expected" "$KB_TMP/got" >"$KB_TMP/diff" ||
	fail "verify --restore counts differ from psql's: $(cat "$KB_TMP/diff")"
assert_contains "$KB_TMP/out" "${ids[2]} ok: restored" "summary line"
assert_contains "$KB_TMP/out" "4 tables, 60303 rows; dropped it" "summary counts"
assert_eq "$(scratch_dbs)" "" "scratch databases left after success"

say "verify --restore of an older backup by ID, into a named --target"
run_runner -c "$KB_TMP/kb.conf" verify --restore "${ids[0]}" --target kb_check_copy
expect_rc 0 "verify --restore --target"
assert_contains "$KB_TMP/out" "public.orders	40001" "first backup's orders"
assert_contains "$KB_TMP/out" "into kb_check_copy" "summary names the target"
assert_eq "$(scratch_dbs)" "" "--target database left behind"

say "--target refuses the configured database and any existing one"
run_runner -c "$KB_TMP/kb.conf" verify --restore latest --target shop
expect_rc 2 "--target = configured database"
assert_contains "$KB_TMP/log" "--target names the configured database" "message"
psql_q postgres "CREATE DATABASE precious"
run_runner -c "$KB_TMP/kb.conf" verify --restore latest --target precious
expect_rc 2 "--target existing"
assert_contains "$KB_TMP/log" "the --target database exists" "message"
[ "$(psql_q postgres "SELECT count(*) FROM pg_database WHERE datname = 'precious'")" = 1 ] ||
	fail "an existing --target was dropped"
psql_q postgres "DROP DATABASE precious"
run_runner -c "$KB_TMP/kb.conf" verify --target x latest
expect_rc 2 "--target without --restore"
run_runner -c "$KB_TMP/kb.conf" verify --restore --all
expect_rc 2 "--restore --all"

say "a corrupt backup in a mixed set: verify --all names it"
data=$backups/${ids[1]}/data
cp "$data" "$KB_TMP/data.orig"
flip_bit "$data" $((96 + 5 + 1048576 + 16 + 5 + 1000))	# inside frame 1's payload
run_runner -c "$KB_TMP/kb.conf" verify --all
expect_rc 1 "verify --all, mixed"
assert_contains "$KB_TMP/out" "${ids[0]} ok" "good one"
assert_contains "$KB_TMP/out" "${ids[2]} ok" "good one"
assert_contains "$KB_TMP/out" "${ids[1]} FAILED backup ${ids[1]} failed authentication at frame 1: it is corrupt or the key is wrong" "bad one named"
[ "$(wc -l <"$KB_TMP/out")" = 3 ] || fail "one line per backup: $(cat "$KB_TMP/out")"

say "verify --restore of the corrupt backup fails and drops its scratch database"
run_runner -c "$KB_TMP/kb.conf" verify --restore "${ids[1]}"
expect_rc 1 "verify --restore corrupt"
assert_contains "$KB_TMP/out" "${ids[1]} FAILED backup ${ids[1]} failed authentication at frame 1" "failure line"
assert_contains "$KB_TMP/log" 'msg="dropped the scratch database"' "drop logged"
assert_eq "$(scratch_dbs)" "" "scratch database left after a failed restore"
cp "$KB_TMP/data.orig" "$data"

say "SIGTERM half-way: the scratch database is dropped, exit 1"
run_runner_term_when scratch_dbs -c "$KB_TMP/kb.conf" verify --restore latest
expect_rc 1 "verify --restore after SIGTERM"
assert_contains "$KB_TMP/log" "interrupted by signal 15" "interruption logged"
assert_eq "$(scratch_dbs)" "" "scratch database left after SIGTERM"

say "the key is in no log"
assert_not_contains "$KB_TMP/all.log" "$(cat "$KB_TMP/key")" "key in the logs"
echo ok

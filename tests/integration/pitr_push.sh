#!/usr/bin/env bash
# Point-in-time recovery with archive_command = wal-push, on a real
# PostgreSQL: a physical base backup while a workload commits a row every
# ~100 ms, more WAL after it, restore --at T into a new data directory: the
# server started there has exactly the rows committed by T.  Then what can
# go wrong: wal-push SIGKILLed during uploads (PostgreSQL retries, nothing
# half-stored is read, the chain stays complete, the leftovers are swept),
# a segment pushed again (same content accepted, other content refused and
# the stored one unchanged), a swapped and a truncated segment (wal-get
# refuses them with exit 126, writing nothing), a segment deleted from
# storage (verify names it and fails; restore --at past it refuses before
# writing anything), one with a byte changed (verify reads every archived
# file and names it), a target outside the window, a non-empty directory.
. "$(dirname "$0")/../lib.sh"
. "$KB_TOP/tests/lib-pitr.sh"

conf=$KB_TMP/kb.conf
store=$KB_TMP/backups
wal=$store/test/orders/wal/00000001
mkdir -p "$KB_TMP/killed"
# archive_command: wal-push; while kill-delay holds seconds, each segment's
# first attempt is SIGKILLed that long after it began (its status says it
# runs), and fails.
cat >"$KB_TMP/archive.sh" <<EOF2
#!/bin/sh
f=\$(basename "\$1")
d=\$(cat $KB_TMP/kill-delay 2>/dev/null)
if [ -n "\$d" ] && [ ! -e "$KB_TMP/killed/\$f" ]; then
	touch "$KB_TMP/killed/\$f"
	$PITR_RUNNER -c $conf wal-push "\$1" & pid=\$!
	i=0
	while [ \$i -lt 200 ] && ! grep -q "\"running_pid\":\$pid," \
	    $KB_TMP/work/test.orders/wal-status.json 2>/dev/null; do
		sleep 0.01
		i=\$((i + 1))
	done
	sleep "\$d"
	kill -9 \$pid
	wait \$pid
	exit 1
fi
exec $PITR_RUNNER -c $conf wal-push "\$1"
EOF2
chmod 755 "$KB_TMP/archive.sh"
pitr_own "$KB_TMP/killed"

pitr_pg_conf "$KB_TMP/archive.sh %p"
pg_start
write_pitr_config "$conf" "$store"
cat >>"$conf" <<EOF2
orphan_grace = 1s

[metrics]
textfile = $KB_TMP/metrics/kbackup.prom
EOF2
# orphan_grace belongs to [backup]: move it there.
sed -i '/^orphan_grace = 1s$/d' "$conf"
sed -i 's/^schedule = 0 3 \* \* \*$/schedule = 0 3 * * *\norphan_grace = 1s/' "$conf"
pitr_own "$store" "$KB_TMP/metrics"
pitr_table

say "check"
run_pitr -c "$conf" check
expect_rc 0 "check"

say "a base backup while the workload commits"
pitr_workload_start 1 60
sleep 1.5
run_pitr -c "$conf" --once
expect_rc 0 "physical backup"
assert_contains "$KB_TMP/log" 'the WAL the backup needs is archived' "backup waited for its WAL"
pitr_workload_wait
pitr_switch_and_wait >/dev/null
id=$(ls "$store/test/orders/backups")
manifest=$store/test/orders/backups/$id/manifest.json
for k in start_lsn stop_lsn first_segment last_segment system_identifier server_version timeline; do
	grep -q "\"$k\"" "$manifest" || fail "manifest details lack $k"
done

say "restore --at a second between two commits after the backup"
t=$(pitr_pick_time 25)
[ -n "$t" ] || fail "no time to restore to"
pitr_restore_check "$conf" "$t" "$KB_TMP/restored"

say "list and verify show the window"
run_pitr -c "$conf" list
expect_rc 0 "list"
assert_contains "$KB_TMP/out" "WAL timeline 1: any time from" "list shows the window"
run_pitr -c "$conf" verify
expect_rc 0 "verify"
assert_contains "$KB_TMP/out" "WAL timeline 1: any time from" "verify shows the window"

say "wal-push SIGKILLed during uploads: PostgreSQL retries, the chain stays complete"
for d in 0.005 0.02 0.04; do
	echo "$d" >"$KB_TMP/kill-delay"
	psql_q postgres "INSERT INTO ticks SELECT g FROM generate_series(1000 + ${d#0.} * 100,
		1000 + ${d#0.} * 100 + 99) g"
	seg=$(pitr_switch_and_wait)
done
rm -f "$KB_TMP/kill-delay"
killed=$(ls "$KB_TMP/killed" | wc -l)
[ "$killed" -ge 3 ] || fail "only $killed pushes were killed"
failed=$(psql_q postgres "SELECT failed_count FROM pg_stat_archiver")
[ "$failed" -ge 3 ] || fail "PostgreSQL saw $failed failed pushes, not 3"
for f in "$KB_TMP/killed"/*; do
	f=$(basename "$f")
	[ -f "$wal/$f" ] || fail "killed push of $f was never retried into the archive"
done
run_pitr -c "$conf" verify
expect_rc 0 "verify after the kills"
leftovers=$(find "$store/test/orders/wal" -type f | grep -vE '/([0-9A-F]{24}(\.[0-9A-F]{8}\.backup|\.partial)?|[0-9A-F]{8}\.history|archive\.json)$' || true)
echo "leftovers of killed pushes: ${leftovers:-none}"
sleep 1.1
run_pitr -c "$conf" prune
expect_rc 0 "prune"
left=$(find "$store/test/orders/wal" -type f | grep -vE '/([0-9A-F]{24}(\.[0-9A-F]{8}\.backup|\.partial)?|[0-9A-F]{8}\.history|archive\.json)$' || true)
[ -z "$left" ] || fail "prune left what killed pushes began: $left"

say "a segment pushed again: same content accepted, other content refused"
cd "$KB_TMP"
mkdir -p "$KB_TMP/again" && pitr_own "$KB_TMP/again"
run_pitr -c "$conf" wal-get "$seg" "$KB_TMP/again/$seg"
expect_rc 0 "wal-get"
run_pitr -c "$conf" wal-push "$KB_TMP/again/$seg"
expect_rc 0 "the same segment again"
assert_contains "$KB_TMP/log" "already archived, with the same content" "same content"
before=$(sha256sum <"$wal/$seg")
printf 'X' | dd of="$KB_TMP/again/$seg" bs=1 seek=9000000 conv=notrunc status=none
run_pitr -c "$conf" wal-push "$KB_TMP/again/$seg"
expect_rc 1 "other content"
assert_contains "$KB_TMP/log" "archived already with other content" "other content refused"
assert_eq "$(sha256sum <"$wal/$seg")" "$before" "the stored segment"

say "swapped and truncated segments: wal-get refuses them, writes nothing"
segs=($(ls "$wal" | grep -E '^[0-9A-F]{24}$' | sort))
a=${segs[1]} b=${segs[2]}
cp "$wal/$a" "$KB_TMP/a.saved"
cp "$wal/$b" "$wal/$a"
run_pitr -c "$conf" wal-get "$a" "$KB_TMP/again/x"
expect_rc 126 "wal-get of a swapped segment"
assert_contains "$KB_TMP/log" "swapped" "swap named"
[ ! -e "$KB_TMP/again/x" ] || fail "wal-get wrote a swapped segment"
head -c $(($(stat -c %s "$KB_TMP/a.saved") / 2)) "$KB_TMP/a.saved" >"$wal/$a"
run_pitr -c "$conf" wal-get "$a" "$KB_TMP/again/x"
expect_rc 126 "wal-get of a truncated segment"
[ -z "$(ls "$KB_TMP/again" | grep -v "^$seg$")" ] || fail "wal-get left files: $(ls "$KB_TMP/again")"
cp "$KB_TMP/a.saved" "$wal/$a"
run_pitr -c "$conf" wal-get 0000000100000000000000FF "$KB_TMP/again/y"
expect_rc 1 "wal-get of a segment not in the archive"
# The store not there (a mount gone, a path changed): no end of the archive,
# recovery stops.
sed "s|^path = $store\$|path = $KB_TMP/unmounted|" "$conf" >"$KB_TMP/gone.conf"
pitr_own "$KB_TMP/gone.conf"
run_pitr -c "$KB_TMP/gone.conf" wal-get 000000010000000000000001 "$KB_TMP/again/y"
expect_rc 126 "wal-get with the store not there"
assert_contains "$KB_TMP/log" "there is no WAL archive in" "the absent archive named"
[ ! -e "$KB_TMP/again/y" ] || fail "wal-get wrote a file with the store not there"
# The store's mount gone, then back: wal-push fails (PostgreSQL keeps the
# segment) and writes nothing where the store was; the retry fills no gap.
mv "$store" "$store.away"
mkdir "$store" && pitr_own "$store"
failed=$(psql_q postgres "SELECT failed_count FROM pg_stat_archiver")
psql_q postgres "INSERT INTO ticks VALUES (5000)"
seg2=$(psql_q postgres "SELECT pg_walfile_name(pg_switch_wal())")
for ((i = 0; i < 100; i++)); do
	[ "$(psql_q postgres "SELECT failed_count FROM pg_stat_archiver")" -gt "$failed" ] && break
	sleep 0.1
done
[ "$i" -lt 100 ] || fail "wal-push of $seg2 did not fail with the store gone"
assert_contains "$PG_DIR/server.log" "is gone (no archive.json, which was there)" \
	"wal-push names the store gone"
[ -z "$(ls -A "$store")" ] || fail "wal-push wrote where the store was: $(find "$store")"
pitr_store_back "$store" "$wal/$seg2"

mkdir -p "$KB_TMP/other/global" "$KB_TMP/other/pg_wal"
printf '\001\002\003\004\005\006\007\010' >"$KB_TMP/other/global/pg_control"
pitr_own "$KB_TMP/other"
cd "$KB_TMP/other"
run_pitr -c "$conf" wal-get "$b" pg_wal/RECOVERYXLOG
expect_rc 126 "wal-get into another cluster"
assert_contains "$KB_TMP/log" "this cluster (global/pg_control) is" "the other system named"
[ -z "$(ls pg_wal)" ] || fail "wal-get wrote into another cluster: $(ls pg_wal)"
cd "$KB_TMP"

say "a segment deleted from storage: verify names it, restore past it refuses"
# One of the killed pushes' segments: after T's, before the last rows'.
gap=$(ls "$wal" | grep -E '^[0-9A-F]{24}$' | sort | tail -2 | head -1)
[ "$gap" \> "$(ls "$wal" | grep -E '^[0-9A-F]{24}$' | sort | sed -n 3p)" ] ||
	fail "no segment after T's to delete"
late=$(psql_q postgres "SELECT to_char(date_trunc('second', max(pg_xact_commit_timestamp(xmin)))
	AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM ticks")
mv "$wal/$gap" "$KB_TMP/gap.saved"
run_pitr -c "$conf" verify --all
expect_rc 1 "verify with a segment missing"
assert_contains "$KB_TMP/out" "segment $gap is missing" "verify names the missing segment"
pitr_restore_refused "$conf" "$KB_TMP/past-gap" "segment $gap is missing" \
	"restore --at past the gap" --at "$late"
pitr_restore_refused "$conf" "$KB_TMP/past-gap" "segment $gap is missing" \
	"restore latest past the gap" latest
run_pitr -c "$conf" restore --at "$t" --data-dir "$KB_TMP/before-gap" --dry-run
expect_rc 0 "restore --at before the gap"
mv "$KB_TMP/gap.saved" "$wal/$gap"

say "a segment with a byte changed in storage: verify reads it and names it"
cp "$wal/$gap" "$KB_TMP/gap.saved"
flip_bit "$wal/$gap" $(($(stat -c %s "$wal/$gap") / 2))
run_pitr -c "$conf" verify --all
expect_rc 1 "verify with a segment damaged"
assert_contains "$KB_TMP/out" "WAL: ${wal#"$store/"}/$gap FAILED" "verify names the damaged segment"
cp "$KB_TMP/gap.saved" "$wal/$gap"
run_pitr -c "$conf" verify --all
expect_rc 0 "verify with the segment back"
assert_contains "$KB_TMP/out" "files read back whole" "verify reads the archive"

say "a target outside the window, a directory that is not empty"
pitr_restore_refused "$conf" "$KB_TMP/old" "outside the recoverable window: any time from" \
	"restore --at before every backup" --at 2001-01-01T00:00:00Z
mkdir -p "$KB_TMP/full" && touch "$KB_TMP/full/PG_VERSION" && pitr_own "$KB_TMP/full"
run_pitr -c "$conf" restore --at "$t" --data-dir "$KB_TMP/full"
expect_rc 1 "restore into a non-empty directory"
assert_contains "$KB_TMP/log" "is not empty" "non-empty refused"
assert_eq "$(ls "$KB_TMP/full")" "PG_VERSION" "the non-empty directory"
run_pitr -c "$conf" restore --at "$t" --database other
expect_rc 2 "a physical backup into a database"

say "a tablespace of its own: refused before anything is written"
mkdir -p "$KB_TMP/ts" && pitr_own "$KB_TMP/ts"
psql_q postgres "CREATE TABLESPACE elsewhere LOCATION '$KB_TMP/ts'"
before=$(ls "$store/test/orders/backups" | sort)
run_pitr -c "$conf" --once
expect_rc 1 "a backup of a cluster with a tablespace"
assert_contains "$KB_TMP/log" "tablespaces of its own (elsewhere)" "the tablespace named"
assert_eq "$(ls "$store/test/orders/backups" | sort)" "$before" "backups after the refusal"
psql_q postgres "DROP TABLESPACE elsewhere"
say "metrics: archived files, failed pushes, last archived time"
run_pitr -c "$conf" --once
expect_rc 0 "second backup"
prom=$KB_TMP/metrics/kbackup.prom
# The refused push, and the killed ones (each counted by the next push): the
# first was killed 5 ms into its work; a later one may have finished before its
# kill, which is then no failure.
grep -E '^kbackup_wal_push_failures_total\{.*\} ([2-9]|[1-9][0-9]+)$' "$prom" >/dev/null ||
	fail "failed pushes not counted: $(grep wal "$prom")"
grep -E '^kbackup_wal_archived_total\{.*\} [1-9][0-9]*$' "$prom" >/dev/null ||
	fail "archived files not counted"
grep -E '^kbackup_wal_last_archived_timestamp_seconds\{.*\} [1-9][0-9]+$' "$prom" >/dev/null ||
	fail "no last archived time"
grep -q '^kbackup_wal_archive_lag_seconds{' "$prom" || fail "no archive lag"

echo "ok"

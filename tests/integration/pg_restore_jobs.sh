#!/usr/bin/env bash
# restore --jobs N and [postgres] restore_jobs: pg_restore -j N on a spool
# file in the workdir.  The restored database equals the original (into a
# new database and into one that exists); pg_restore got --jobs and a file;
# the spool is gone after a restore that worked, one whose pg_restore was
# killed half-way (and the database it had created dropped), one cancelled
# by SIGTERM, one that hit a full disk while spooling, and one whose runner
# was SIGKILLed (swept by the next run); a workdir without the room refuses
# to start, nothing written; without --jobs the restore streams (no spool)
# on the same small disk.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

[ "$(id -u)" = 0 ] || skip "needs root for a small tmpfs (a full file system)"

pg_start
pg_load_sample shop 20000
psql -X -q -v ON_ERROR_STOP=1 -d shop <<'SQL'
CREATE TABLE events (id bigserial PRIMARY KEY, customer int REFERENCES customers(id),
	kind text, payload text, at timestamptz);
INSERT INTO events (customer, kind, payload, at)
SELECT 1 + i % 20000, 'k' || (i % 13), md5(i::text) || repeat('p', i % 40),
	timestamptz '2026-01-01 00:00:00+00' + i * interval '1 s'
FROM generate_series(1, 60000) AS i;
CREATE INDEX events_kind ON events(kind, at);
CREATE INDEX events_customer ON events(customer);
SQL

# pg_restore and the tools beside it, in a bin_dir of the test's: pg_restore
# says what it was given and what the spool directory held, then (by
# $KB_PG_RESTORE) restores, stops half-way killed by SIGKILL, or pauses.
real=$PG_BIN
bin=$KB_TMP/bin
mkdir -p "$bin"
for t in psql pg_dump pg_dumpall; do ln -s "$real/$t" "$bin/$t"; done
cat >"$bin/pg_restore" <<EOF
#!/bin/bash
echo "args: \$*" >>"$KB_TMP/pg_restore.calls"
ls "$KB_TMP"/work/test.orders/tmp "$KB_TMP"/small/test.orders/tmp 2>/dev/null \
	>>"$KB_TMP/pg_restore.calls"
case "\${KB_PG_RESTORE:-}" in
kill)	"$real/pg_restore" --section=pre-data "\$@"; kill -KILL \$\$ ;;
pause)	echo \$\$ >"$KB_TMP/paused"; exec sleep 60 ;;
esac
exec "$real/pg_restore" "\$@"
EOF
chmod 755 "$bin/pg_restore"

write_pg_config "$KB_TMP/kb.conf" shop
sed -i "/^database = shop/a bin_dir = $bin" "$KB_TMP/kb.conf"
spools() { find "$KB_TMP/work" "$KB_TMP/small" -name '*.spool' 2>/dev/null || true; }

say "backup"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup"

say "restore --jobs 2 into a new database"
rm -f "$KB_TMP/pg_restore.calls"
restore_copy_same pg_fingerprint shop shop_copy --jobs 2
assert_contains "$KB_TMP/pg_restore.calls" "--jobs=2" "pg_restore -j"
assert_contains "$KB_TMP/pg_restore.calls" ".spool" "pg_restore read the spool file"
assert_not_contains "$KB_TMP/pg_restore.calls" "--single-transaction" "one transaction"
assert_contains "$KB_TMP/log" "restore --jobs: each dump is spooled" "the log says the cost"
assert_contains "$KB_TMP/log" "spool=" "the log says the spool's size"
[ -z "$(spools)" ] || fail "spool left: $(spools)"
assert_workdir_clean "$KB_TMP/work" "restore --jobs 2"

say "[postgres] restore_jobs = 2, into the database that exists"
sed -i "/^bin_dir = /a restore_jobs = 2" "$KB_TMP/kb.conf"
psql_q shop_copy "DELETE FROM events WHERE id % 2 = 0"
rm -f "$KB_TMP/pg_restore.calls"
run_runner -c "$KB_TMP/kb.conf" restore latest --database shop_copy
expect_rc 0 "restore with restore_jobs = 2"
assert_contains "$KB_TMP/pg_restore.calls" "--jobs=2" "restore_jobs"
pg_fingerprint shop_copy >"$KB_TMP/c"
diff -u "$KB_TMP/a" "$KB_TMP/c" >/dev/null || fail "restore into the existing database differs"
assert_workdir_clean "$KB_TMP/work" "restore_jobs"

say "--jobs 1 streams: no spool, one transaction"
rm -f "$KB_TMP/pg_restore.calls"
run_runner -c "$KB_TMP/kb.conf" restore latest --database shop_copy --jobs 1
expect_rc 0 "restore --jobs 1"
assert_contains "$KB_TMP/pg_restore.calls" "--single-transaction" "streaming restore"
assert_not_contains "$KB_TMP/pg_restore.calls" ".spool" "streaming restore's spool"

say "bad --jobs: exit 2, named"
run_runner -c "$KB_TMP/kb.conf" restore latest --jobs 0
expect_rc 2 "--jobs 0"
assert_contains "$KB_TMP/log" "--jobs 0" "--jobs 0 named"
run_runner -c "$KB_TMP/kb.conf" restore latest --jobs 2 --data-dir "$KB_TMP/d"
expect_rc 2 "--jobs with --data-dir"

say "pg_restore killed half-way: no spool, the database it created dropped"
rm -f "$KB_TMP/pg_restore.calls"
KB_PG_RESTORE=kill run_runner -c "$KB_TMP/kb.conf" restore latest --database shop_kill --jobs 2
expect_rc 1 "killed pg_restore"
assert_contains "$KB_TMP/pg_restore.calls" ".spool" "the spool was there while pg_restore ran"
[ -z "$(spools)" ] || fail "spool left by a killed pg_restore: $(spools)"
assert_workdir_clean "$KB_TMP/work" "killed pg_restore"
[ "$(psql_q postgres "SELECT count(*) FROM pg_database WHERE datname = 'shop_kill'")" = 0 ] ||
	fail "the database a failed restore created is still there"

say "SIGTERM while pg_restore runs: pg_restore stopped, no spool"
KB_PG_RESTORE=pause run_runner_until_paused "" -c "$KB_TMP/kb.conf" restore latest \
	--database shop_term --jobs 2
[ -n "$(spools)" ] || fail "no spool while pg_restore ran"
kill -TERM "$KB_PAUSED_RUNNER"
set +e
wait "$KB_PAUSED_RUNNER"
rc=$?
set -e
cat "$KB_TMP/paused.log" >>"$KB_TMP/all.log"
[ "$rc" != 0 ] || fail "a cancelled restore exited 0"
kill -0 "$(cat "$KB_TMP/paused")" 2>/dev/null && fail "pg_restore still runs after the cancel"
[ -z "$(spools)" ] || fail "spool left by a cancelled restore: $(spools)"
[ "$(psql_q postgres "SELECT count(*) FROM pg_database WHERE datname = 'shop_term'")" = 0 ] ||
	fail "the database a cancelled restore created is still there"

say "the runner SIGKILLed while pg_restore runs: the next run sweeps the spool"
KB_PG_RESTORE=pause run_runner_until_paused "" -c "$KB_TMP/kb.conf" restore latest \
	--database shop_k9 --jobs 2
kill9_paused_runner
[ -n "$(spools)" ] || fail "no spool while pg_restore ran"
run_runner -c "$KB_TMP/kb.conf" restore latest --database shop_k9 --jobs 2
expect_rc 0 "restore after the SIGKILL"
assert_contains "$KB_TMP/log" "removed what a killed job left" "sweep logged"
[ -z "$(spools)" ] || fail "spool left after the sweep: $(spools)"
pg_fingerprint shop_k9 >"$KB_TMP/d"
diff -u "$KB_TMP/a" "$KB_TMP/d" >/dev/null || fail "restore after the sweep differs"

raw=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["raw_bytes"])' \
	"$(ls "$KB_TMP"/backups/test/orders/backups/*/manifest.json | tail -n 1)")

say "a workdir without room for the spool ($raw bytes): refused, nothing written"
mkdir -p "$KB_TMP/small"
mount -t tmpfs -o size=1m,mode=0700 kbtest "$KB_TMP/small" || skip "cannot mount a tmpfs"
at_exit "umount $KB_TMP/small"
[ "$raw" -gt 1048576 ] || fail "the sample is too small for the test: $raw bytes"
sed "s|^workdir = .*|workdir = $KB_TMP/small|" "$KB_TMP/kb.conf" >"$KB_TMP/small.conf"
chmod 600 "$KB_TMP/small.conf"
rm -f "$KB_TMP/pg_restore.calls"
run_runner -c "$KB_TMP/small.conf" restore latest --database shop_small --jobs 2
expect_rc 1 "restore --jobs without room"
assert_contains "$KB_TMP/log" "the spool of restore --jobs needs" "space error"
assert_contains "$KB_TMP/log" "restore without --jobs" "space error says what to do"
[ ! -e "$KB_TMP/pg_restore.calls" ] || fail "pg_restore ran"
[ "$(psql_q postgres "SELECT count(*) FROM pg_database WHERE datname = 'shop_small'")" = 0 ] ||
	fail "a refused restore created the database"
[ -z "$(spools)" ] || fail "spool left: $(spools)"

say "the same workdir without --jobs: a stream, no spool"
sed -i "/^restore_jobs = /d" "$KB_TMP/small.conf"
run_runner -c "$KB_TMP/small.conf" restore latest --database shop_small
expect_rc 0 "streaming restore on the small workdir"
pg_fingerprint shop_small >"$KB_TMP/e"
diff -u "$KB_TMP/a" "$KB_TMP/e" >/dev/null || fail "streaming restore differs"

say "a disk that fills while the dump is spooled: failed, no spool"
# A backup of several parts: the globals are restored first, through psql,
# after the space was checked; this psql fills the file system to the brim.
umount "$KB_TMP/small"
mount -t tmpfs -o size=$((raw * 3 / 1024 / 1024 + 2))m,mode=0700 kbtest "$KB_TMP/small"
sed -i -e "s|^database = shop|databases = shop\nglobals = yes|" \
	-e "s|^path = .*|path = $KB_TMP/backups-multi|" "$KB_TMP/small.conf"
rm "$bin/psql"
cat >"$bin/psql" <<EOF
#!/bin/bash
if [ -n "\${KB_FILL:-}" ] && [ ! -e "$KB_TMP/filled" ]; then
	touch "$KB_TMP/filled"
	dd if=/dev/zero of="$KB_TMP/small/fill" bs=64k 2>/dev/null
	truncate -s -256k "$KB_TMP/small/fill"
fi
exec "$real/psql" "\$@"
EOF
chmod 755 "$bin/psql"
run_runner -c "$KB_TMP/small.conf" --once
expect_rc 0 "backup of several parts"
KB_FILL=1 run_runner -c "$KB_TMP/small.conf" restore latest --only shop --globals \
	--database shop_full --jobs 2
expect_rc 1 "restore onto a disk that filled"
[ -e "$KB_TMP/filled" ] || fail "the disk was not filled"
assert_contains "$KB_TMP/log" "No space left on device" "ENOSPC named"
[ -z "$(spools)" ] || fail "spool left by a full disk: $(spools)"
rm -f "$KB_TMP/small/fill"
assert_workdir_clean "$KB_TMP/small" "full disk"
echo ok

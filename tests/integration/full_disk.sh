#!/usr/bin/env bash
# A full disk at every point of a backup.  The storage directory is a small
# tmpfs, filled so that from nothing to a little more than one backup is
# free: the run ends out of space while writing the data, its manifest or
# the index, or just fits.  After each run: exit 0 or 1 and nothing else, a
# failure that says the disk is full, no temporary file left, every backup
# that exited 0 listed and verified, none that failed listed.  With the
# space back, the next backup and a restore of it work.  Then a full workdir:
# SQLite's snapshot cannot be written there; exit 1 naming the cause, nothing
# stored, the workdir clean.  Last a restore and an unpack into a full disk:
# exit 1 naming the file that could not be written, the old file kept; and
# a store on a read-only file system, which restores but takes nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

STORE=$KB_TMP/store
WORK=$KB_TMP/work
mkdir -p "$STORE" "$WORK"
mount -t tmpfs -o size=64m,mode=0755 kbtest "$STORE" 2>/dev/null ||
	skip "cannot mount a tmpfs (needs root): $(id -un)"
at_exit "umount -l $STORE"

avail() { df -B1 --output=avail "$1" | tail -n 1 | tr -d ' '; }
fill_leaving() {	# dir bytes: a filler file so that about bytes stay free
	local dir=$1 leave=$2 have
	rm -f "$dir/filler"
	have=$(avail "$dir")
	[ "$have" -gt "$leave" ] || return 0
	head -c $((have - leave)) /dev/zero >"$dir/filler" 2>/dev/null || true
}
listed() {	# conf: the IDs list shows, one per line
	env -u PGPASSWORD "$RUNNER" -c "$1" list --json | python3 -c '
import json, sys
for b in json.load(sys.stdin):
    print(b["id"] if b["state"] == "ok" else "%s %s" % (b["id"], b["state"]))'
}
temporaries() { find "$1" -name '*.kbtmp.*' 2>/dev/null || true; }

pg_start
pg_load_sample shop 20000
write_pg_config "$KB_TMP/kb.conf" shop "$STORE/backups"
sed -i 's/^engine = postgres/engine = postgres\ncompression = none/' "$KB_TMP/kb.conf"
ORIG=$(pg_fingerprint shop)

say "a backup with room to spare"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "first backup"
first=$(listed "$KB_TMP/kb.conf")
[ "$(echo "$first" | wc -l)" = 1 ] || fail "one backup listed after the first: $first"
size=$(du -sb "$STORE/backups" | cut -f1)
say "one backup takes $size bytes"

good=$first
for leave in 0 4096 16384 $((size / 3)) $((size * 2 / 3)) $((size - 16384)) \
	$((size - 4096)) "$size" $((size + 4096)) $((size + 16384)) $((size + 65536)); do
	say "--once with $leave bytes free"
	fill_leaving "$STORE" "$leave"
	run_runner -c "$KB_TMP/kb.conf" --once
	echo "   exit $rc: $(grep -o 'error="[^"]*' "$KB_TMP/log" | head -n 1 | sed 's/.*: //')"
	case $rc in
	0) new=$(listed "$KB_TMP/kb.conf" | grep -vxF "$good" || true)
	   [ "$(echo "$new" | grep -c .)" = 1 ] || fail "$leave free: exit 0, new backups listed: '$new'"
	   good=$(printf '%s\n%s\n' "$good" "$new") ;;
	1) grep -qi "no space left\|disk is full\|ENOSPC" "$KB_TMP/log" ||
		fail "$leave free: exit 1 without saying the disk is full: $(tail -n 3 "$KB_TMP/log")" ;;
	*) fail "$leave free: exit status $rc; log: $(tail -n 5 "$KB_TMP/log")" ;;
	esac
	[ -z "$(temporaries "$STORE")" ] || fail "$leave free: temporaries left: $(temporaries "$STORE")"
	rm -f "$STORE/filler"
	now=$(listed "$KB_TMP/kb.conf" | sort)
	assert_eq "$now" "$(echo "$good" | sort)" "$leave free: the backups listed"
	run_runner -c "$KB_TMP/kb.conf" verify --all
	expect_rc 0 "$leave free: verify --all"
	assert_workdir_clean "$WORK" "$leave free"
done

say "space back: a backup, and a restore of it"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup after the disk was full"
run_runner -c "$KB_TMP/kb.conf" restore latest --database shop_back
expect_rc 0 "restore latest"
assert_eq "$(pg_fingerprint shop_back)" "$ORIG" "the restored database"
for id in $good; do
	run_runner -c "$KB_TMP/kb.conf" verify "$id"
	expect_rc 0 "verify $id after everything"
done

say "a full workdir: SQLite's snapshot has no room"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
SWORK=$KB_TMP/swork
mkdir -p "$SWORK" "$KB_TMP/sstore"
mount -t tmpfs -o size=1m,mode=0755 kbtest "$SWORK" || fail "second tmpfs"
at_exit "umount -l $SWORK"
DB=$KB_TMP/app.db
sqlite3 "$DB" "CREATE TABLE t (v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL
	SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t SELECT randomblob(1024) FROM n;"
write_engine_config "$KB_TMP/s.conf" sqlite "$KB_TMP/sstore" <<EOF
path = $DB
EOF
sed -i "s|^workdir = .*|workdir = $SWORK|" "$KB_TMP/s.conf"
run_runner -c "$KB_TMP/s.conf" --once
expect_rc 1 "sqlite backup with a full workdir"
grep -qi "no space left\|disk is full" "$KB_TMP/log" ||
	fail "the full workdir is not named: $(tail -n 3 "$KB_TMP/log")"
expect_nothing_stored "$KB_TMP/sstore" "sqlite backup with a full workdir"
assert_workdir_clean "$SWORK" "sqlite backup with a full workdir"

say "restore and unpack into a full disk: exit 1 naming the file, the target as it was"
sed -i "s|^workdir = .*|workdir = $KB_TMP/work2|" "$KB_TMP/s.conf"
run_runner -c "$KB_TMP/s.conf" --once
expect_rc 0 "sqlite backup with room"
TGT=$KB_TMP/tgt
mkdir -p "$TGT"
mount -t tmpfs -o size=1m,mode=0755 kbtest "$TGT" || fail "third tmpfs"
at_exit "umount -l $TGT"
sqlite3 "$TGT/app.db" "CREATE TABLE kept (v); INSERT INTO kept VALUES ('before');"
run_runner -c "$KB_TMP/s.conf" restore latest --database "$TGT/app.db"
expect_rc 1 "sqlite restore into a full disk"
assert_contains "$KB_TMP/log" "write $TGT/.app.db.kbtmp." "the full disk's file named"
assert_contains "$KB_TMP/log" "No space left on device" "the full disk said"
assert_eq "$(sqlite3 "$TGT/app.db" "SELECT v FROM kept")" before "the target after the restore failed"
run_runner -c "$KB_TMP/s.conf" unpack latest -o "$TGT/out.db"
expect_rc 1 "unpack into a full disk"
assert_contains "$KB_TMP/log" "write $TGT/out.db.kbtmp." "unpack: the full disk's file named"
assert_eq "$(ls -A "$TGT")" app.db "left on the full disk"

say "a store on a read-only file system: read as usual, written not at all"
RO=$KB_TMP/ro
mkdir -p "$RO"
mount --bind "$KB_TMP/sstore" "$RO" && mount -o remount,ro,bind "$RO" || fail "read-only bind mount"
at_exit "umount -l $RO"
sed "s|^path = .*|path = $RO|" "$KB_TMP/s.conf" >"$KB_TMP/ro.conf"
before=$(listed "$KB_TMP/s.conf")
for args in list "verify --all" "unpack latest -o $KB_TMP/ro.db" \
	"restore latest --database $KB_TMP/ro-restored.db" "restore latest --dry-run"; do
	# shellcheck disable=SC2086
	run_runner -c "$KB_TMP/ro.conf" $args
	expect_rc 0 "$args from a read-only store"
done
assert_eq "$(sqlite3 "$KB_TMP/ro-restored.db" "SELECT count(*) FROM t")" 2000 \
	"restored from a read-only store"
run_runner -c "$KB_TMP/ro.conf" --once
expect_rc 1 "a backup into a read-only store"
assert_contains "$KB_TMP/log" "Read-only file system" "a backup into a read-only store"
run_runner -c "$KB_TMP/ro.conf" prune
expect_rc 0 "prune of a read-only store with nothing to delete"
assert_eq "$(listed "$KB_TMP/ro.conf")" "$before" "the backups of a read-only store"
echo "ok"

#!/usr/bin/env bash
# A full disk under the binary log archive.  The store is a small tmpfs; a
# dump, then the daemon archives while a workload writes; the disk is then
# filled so that the next pieces cannot be stored, and the workload goes on
# across a FLUSH BINARY LOGS.  Meanwhile: the daemon stays up, says that the
# disk is full and that archiving stopped, leaves no temporary file, and
# verify still passes on what is stored.  With the space back, the daemon
# goes on from where it stopped: verify passes (no gap), and restore --at a
# second written while the disk was full gives exactly its rows (a row
# replayed twice would break the primary key), through the daemon.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"
. "$(dirname "$0")/../lib-binlog.sh"

STORE=$KB_TMP/store
mkdir -p "$STORE"
mount -t tmpfs -o size=16m,mode=0755 kbtest "$STORE" 2>/dev/null ||
	skip "cannot mount a tmpfs (needs root): $(id -un)"
at_exit "umount -l $STORE"

binlog_server_start
conf=$KB_TMP/kb.conf
binlog_config "$conf" "$STORE/backups" </dev/null
binlog=$STORE/backups/test/db/binlog
temporaries() { find "$STORE" -name '*.kbtmp.*' 2>/dev/null || true; }

say "a dump, then archiving while the workload writes"
run_runner -c "$conf" backup
expect_rc 0 "backup"
daemon_start
workload_start
sleep 2

say "the disk full: the workload goes on across a FLUSH BINARY LOGS"
head -c 32M /dev/zero >"$STORE/filler" 2>/dev/null || true
[ "$(df -B1 --output=avail "$STORE" | tail -n 1 | tr -d ' ')" -lt 4096 ] ||
	fail "the tmpfs is not full"
stored=$(find "$binlog" -type f | sort)
sleep 2
my_q -e "FLUSH BINARY LOGS"
sleep 3
wait_for_text "$KB_TMP/daemon.log" "binary log archiving stopped" 50 0.1
kill -0 "$DAEMON" || fail "the daemon exited on a full disk"
grep 'binary log archiving stopped' "$KB_TMP/daemon.log" | tail -n 1 |
	grep -qi 'no space\|disk is full' ||
	fail "the failure does not say the disk is full: $(grep 'archiving stopped' \
		"$KB_TMP/daemon.log" | tail -n 1)"
[ -z "$(temporaries)" ] || fail "temporary files left on the full disk: $(temporaries)"
now=$(find "$binlog" -type f | sort)
[ "$(comm -13 <(echo "$stored") <(echo "$now") | grep -c .)" -le 1 ] ||
	fail "pieces stored while the disk was full: $(comm -13 <(echo "$stored") <(echo "$now"))"
run_runner -c "$conf" verify
expect_rc 0 "verify with the disk full"
full_rows=$(my_q -N -e "SELECT COUNT(*) FROM shop.ticks")

say "the space back: archiving goes on without a gap"
rm -f "$STORE/filler"
sleep 3
workload_stop
binlog_mark_end
sleep 3
kill -0 "$DAEMON" || fail "the daemon exited"
[ -z "$(temporaries)" ] || fail "temporary files left: $(temporaries)"
run_runner -c "$conf" verify
expect_rc 0 "verify after the space came back"
assert_contains "$KB_TMP/out" "any time from" "the window"
t=$(second_after_row "$((full_rows - 3))")
restore_check "$t" shop_full
echo "ok"

#!/usr/bin/env bash
# Retention of MariaDB dumps and their archived binary logs over six
# simulated days (libfaketime moves the clock of the dumps and prunes; the
# server's and the archiving daemon's are real): each day rows, FLUSH
# BINARY LOGS, the daemon archives the closed file, one dump a day kept
# three days.  After every dump and its prune: no piece of a file older
# than the oldest kept dump's file is left, verify finds every kept dump
# replayable without a gap, prune --dry-run deletes nothing.  At the end
# the oldest kept dump, restored to the server's current position
# (--position), holds every row of every day.  A dump taken while the
# archiver is stopped, its file not archived yet, verifies (lag, not a gap).
# The simulated days lie ahead of the real clock (fake_day), so the setup's
# dump, taken on the real clock, is the oldest whatever day the suite runs.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"
. "$(dirname "$0")/../lib-binlog.sh"

faketime_setup

binlog_file_setup
# One dump a day kept three days, nothing else.
retention_only "$conf" daily 3d

# The oldest file a kept dump starts in, from the manifests.
oldest_file() {
	jq -r .details.binlog.file "$store"/test/db/backups/*/manifest.json | sort | head -1
}
# Waits until the archive holds file's .last piece.
archived() {	# file
	for _ in $(seq 1 100); do
		ls "$binlog/$1" 2>/dev/null | grep -q '\.last$' && return 0
		sleep 0.1
	done
	fail "$1 not archived: $(tail -3 "$KB_TMP/daemon.log")"
}

rows=0
for day in 01 02 03 04 05 06; do
	say "day $day"
	daemon_start
	my_q shop -e "INSERT INTO ticks (ts) SELECT NOW(6) FROM seq_1_to_30"
	rows=$((rows + 30))
	closing=$(my_q -N -e "SHOW MASTER STATUS" | cut -f1)
	my_q -e "FLUSH BINARY LOGS"
	archived "$closing"
	kill "$DAEMON"
	wait "$DAEMON" 2>/dev/null || true
	find "$binlog" -type f | sort >"$KB_TMP/pieces"
	run_at "$(fake_day $day) 03:00:00" -c "$conf" backup
	expect_rc 0 "backup of day $day"
	kept=$(ls "$store/test/db/backups" | wc -l)
	first=$(oldest_file)
	older=$(ls "$binlog" | awk -v f="$first" '$0 < f' | wc -l)
	echo "dumps kept: $kept; the oldest starts in $first; older files: $older"
	[ "$kept" -le 4 ] || fail "day $day: $kept dumps kept with daily = 3d"
	[ "$older" = 0 ] || fail "day $day: $older files older than the oldest dump kept"
	# Whether the daemon stored a piece of $first before it was stopped is
	# its timing; what the prune may not do is delete one.
	while read -r piece; do
		[[ "$(basename "$(dirname "$piece")")" < "$first" ]] || [ -e "$piece" ] ||
			fail "day $day: $piece, of $first or after, was pruned"
	done <"$KB_TMP/pieces"
	run_at "$(fake_day $day) 03:30:00" -c "$conf" verify
	[ "$rc" = 0 ] || fail "verify on day $day: exit status $rc: $(cat "$KB_TMP/out")"
	! grep -E "cannot be replayed|gap" "$KB_TMP/out" ||
		fail "day $day: a kept dump is not replayable to the newest event"
done
[ "$(ls "$store/test/db/backups" | wc -l)" -lt 6 ] || fail "no dump was pruned"
[ ! -e "$binlog/mysql-bin.000001" ] || fail "the first day's binary log was kept"
assert_contains "$KB_TMP/all.log" "pruned binary logs no backup kept needs" "binary logs pruned"

say "prune --dry-run deletes nothing"
find "$store" -type f | sort >"$KB_TMP/before"
run_at "$(fake_day 6) 04:00:00" -c "$conf" prune --dry-run
expect_rc 0 "prune --dry-run"
find "$store" -type f | sort | cmp -s - "$KB_TMP/before" || fail "prune --dry-run deleted"

say "the oldest dump kept, replayed to the current position: every row"
daemon_start
my_q shop -e "INSERT INTO ticks (ts) SELECT NOW(6) FROM seq_1_to_30"
rows=$((rows + 30))
read -r pos_file pos_off _ < <(my_q -N -e "SHOW MASTER STATUS")
my_q -e "FLUSH BINARY LOGS"
archived "$pos_file"
kill "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
oldest=$(ls "$store/test/db/backups" | sort | head -1)
run_at "$(fake_day 6) 04:00:00" -c "$conf" restore "$oldest" --position "$pos_file:$pos_off" \
	--database shop_oldest
expect_rc 0 "restore $oldest --position $pos_file:$pos_off"
assert_eq "$(my_q -N -e "SELECT COUNT(*) FROM shop_oldest.ticks")" "$rows" \
	"rows of the oldest dump kept, replayed to $pos_file:$pos_off"

say "a dump newer than the archive's end (the archiver stopped): lag, not damage"
my_q -e "FLUSH BINARY LOGS"
run_at "$(fake_day 6) 05:00:00" -c "$conf" backup
expect_rc 0 "backup with the archiver stopped"
run_at "$(fake_day 6) 05:10:00" -c "$conf" verify
expect_rc 0 "verify of a dump whose binary log is not archived yet"
assert_contains "$KB_TMP/out" "is not archived yet; restorable to its own end only" \
	"the dump ahead of the archive"
echo "ok"

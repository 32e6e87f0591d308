#!/usr/bin/env bash
# Two archivers of one server's binary log into one store (a daemon left
# running on a host the definition moved from, say): each stores the same
# bytes with its own piece boundaries (binlog_flush 1 s and 3 s), so their
# pieces overlap.  On a real MariaDB with a workload and a FLUSH BINARY
# LOGS: verify passes (no false gap), the pieces do overlap, and restore
# --at T gives exactly the rows of second T and before, for a T in the
# second file; prune keeps what the dump needs.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"
. "$(dirname "$0")/../lib-binlog.sh"

binlog_file_setup
conf1=$conf
conf2=$KB_TMP/kb2.conf
sed -e "s|^workdir = .*|workdir = $KB_TMP/work2|" -e 's/^binlog_flush = .*/binlog_flush = 3s/' \
	"$conf1" >"$conf2"
chmod 600 "$conf2"

say "a dump, then two daemons archive while the workload writes"
run_runner -c "$conf1" backup
expect_rc 0 "backup"
daemon_start
first=$DAEMON
"$RUNNER" -c "$conf2" run >>"$KB_TMP/daemon2.log" 2>&1 &
second=$!
at_exit "kill $second 2>/dev/null"
workload_start
sleep 3.5
my_q -e "FLUSH BINARY LOGS"
sleep 3.5
workload_stop
binlog_mark_end
sleep 2
kill "$first" "$second"
wait "$first" "$second" 2>/dev/null || true
grep -c 'binary log archiving"' "$KB_TMP/daemon2.log" >/dev/null ||
	fail "the second daemon did not archive: $(tail -3 "$KB_TMP/daemon2.log")"

say "their pieces overlap"
overlap=0
for dir in "$binlog"/*/; do
	ends=$(ls "$dir" | sed 's/\.last$//' | cut -d- -f2 | sort | uniq -d | wc -l)
	starts=$(ls "$dir" | cut -d- -f1 | sort | uniq -d | wc -l)
	[ "$((ends + starts))" -gt 0 ] && overlap=1
	n=$(ls "$dir" | wc -l)
	echo "$(basename "$dir"): $n pieces"
done
[ "$overlap" = 1 ] || fail "no two pieces share a start or an end: one archiver only?"

say "verify: no gap; restore --at exact"
verify_then_restore 8 shop_t
run_runner -c "$conf1" prune
expect_rc 0 "prune"
run_runner -c "$conf1" verify
expect_rc 0 "verify after prune"
echo "ok"

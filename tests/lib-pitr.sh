# tests/lib-pitr.sh: point-in-time recovery tests' helpers (sourced after lib.sh).
#
# The runner runs as the cluster's user, as it does on a database host:
# PostgreSQL runs it as archive_command and restore_command.  It is copied
# into $KB_TMP (mode 755) so that user can run it wherever the tree is.
# The workload commits one row a time (ticks), about every 100 ms, with
# track_commit_timestamp on: pg_xact_commit_timestamp() is each commit's
# time as its WAL record has it, the time recovery_target_time compares.

PITR_RUNNER=$KB_TMP/bin/kbackup-runner
mkdir -p "$KB_TMP/bin"
cp "$RUNNER" "$PITR_RUNNER"
chmod 755 "$KB_TMP/bin" "$PITR_RUNNER"
PG_AS=postgres
[ "$(id -u)" = 0 ] || PG_AS=$(id -un)

# postgresql.conf lines for pg_start: archiving with archive_command (none: off).
pitr_pg_conf() {	# [archive_command]
	local mode=off
	[ -n "${1:-}" ] && mode=on
	PG_CONF_EXTRA="wal_level = replica
max_wal_senders = 10
track_commit_timestamp = on
archive_mode = $mode
archive_command = '${1:-/bin/false}'"
	export PG_CONF_EXTRA
}

# The WAL file the server archived last (pg_stat_archiver), and a wait for one.
pitr_archived_last() {
	psql_q postgres "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"
}
pitr_switch_and_wait() {	# switches to a new segment and waits until it is archived
	local seg i
	seg=$(psql_q postgres "SELECT pg_walfile_name(pg_switch_wal())")
	for ((i = 0; i < 600; i++)); do
		[ "$(pitr_archived_last)" \> "$seg" ] || [ "$(pitr_archived_last)" = "$seg" ] &&
			{ echo "$seg"; return 0; }
		sleep 0.1
	done
	fail "segment $seg not archived: $(psql_q postgres 'SELECT * FROM pg_stat_archiver')"
}

# Runs the runner as the cluster's user, like run_runner (rc, out, log;
# KB_FAKE_AT too).
run_pitr() {
	local fake=()
	[ -z "${KB_FAKE_AT:-}" ] || fake=(LD_PRELOAD="$FT_LIB" FAKETIME="@$KB_FAKE_AT")
	set +e
	if [ "$PG_AS" = "$(id -un)" ]; then
		env -u PGPASSWORD "${fake[@]}" "$PITR_RUNNER" "$@" >"$KB_TMP/out" 2>"$KB_TMP/log"
	else
		runuser -u "$PG_AS" -- env -u PGPASSWORD "${fake[@]}" "$PITR_RUNNER" "$@" \
			>"$KB_TMP/out" 2>"$KB_TMP/log"
	fi
	rc=$?
	set -e
	cat "$KB_TMP/log" >>"$KB_TMP/all.log"
}

# Puts back a store moved to STORE.away (emptied meanwhile: nothing may have
# been written there) and waits until the segment is archived into it.
pitr_store_back() {	# store segment-path
	local i
	rmdir "$1" && mv "$1.away" "$1"
	for ((i = 0; i < 300; i++)); do
		[ -f "$2" ] && return 0
		sleep 0.1
	done
	fail "$(basename "$2") not archived once the store was back"
}

# Like run_pitr, the runner's clock starting at time.
pitr_run_at() {	# "YYYY-MM-DD HH:MM:SS" args...
	local t=$1
	shift
	KB_FAKE_AT=$t run_pitr "$@"
}

# What the runner as that user reads and writes: the config, the storage, the workdir.
pitr_own() {	# paths...
	[ "$(id -u)" = 0 ] || return 0
	local p
	for p in "$@"; do
		[ -e "$p" ] || mkdir -p "$p"
		chown -R "$PG_AS" "$p"
	done
}

# A physical runner config: write_pg_config's with the method's keys (and no
# [storage] when dir is empty: the caller's follows).
write_pitr_config() {	# file storage-dir [wal_method]
	local file=$1 dir=$2 wm=${3:-push}
	write_pg_config "$file" postgres "${dir:-$KB_TMP/none}"
	sed -i "s|^workdir = .*|&\nschedule = 0 3 * * *|; s|^database = postgres$|&\nmethod = physical\ncheckpoint = fast\nwal_method = $wm\nwal_wait = 60s|" "$file"
	[ -n "$dir" ] || sed -i '/^\[storage\]$/,$d' "$file"
	pitr_own "$file" "$KB_TMP/work"
}

pitr_table() {
	psql_q postgres "CREATE TABLE IF NOT EXISTS ticks (i int PRIMARY KEY)"
}

# One row about every 100 ms, rows from..to, through one session.
pitr_workload_start() {	# from to
	(
		for ((i = $1; i <= $2; i++)); do
			echo "INSERT INTO ticks VALUES ($i);"
			sleep 0.1
		done
	) | psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null &
	PITR_WORKLOAD=$!
	at_exit "kill $PITR_WORKLOAD"
}

pitr_workload_wait() {
	wait "$PITR_WORKLOAD" || fail "the workload failed"
}

# A whole second (RFC 3339, UTC) between two commits, at least 20 ms from
# either, with commits after it: recovery_target_time has one answer.
pitr_pick_time() {	# [after-row]
	psql_q postgres "
	WITH c AS (SELECT pg_xact_commit_timestamp(xmin) AS t, i FROM ticks),
	s AS (SELECT DISTINCT date_trunc('second', t) + interval '1 second' AS at FROM c
	      WHERE i >= ${1:-0})
	SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM s
	WHERE (SELECT min(abs(extract(epoch FROM t - at))) FROM c) >= 0.02
	  AND (SELECT count(*) FROM c WHERE t > at) >= 5
	ORDER BY at LIMIT 1"
}

# The rows committed at or before T on the source, as one line.
pitr_rows_at() {	# T
	psql_q postgres "SELECT string_agg(i::text, ',' ORDER BY i) FROM ticks
		WHERE pg_xact_commit_timestamp(xmin) <= '$1'"
}

# Starts the restored data directory (no archiving, a socket of its own),
# waits for the end of recovery, prints its rows, stops it.
pitr_restored_rows() {	# data-dir
	local dir=$1 sock=$KB_TMP/sock-$RANDOM port i
	mkdir -p "$sock"
	pitr_own "$sock" "$dir"
	port=$(free_port)
	as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$dir.log" -w -t 120 \
		-o "-k $sock -p $port -c listen_addresses='' -c archive_mode=off" start \
		>/dev/null || fail "the restored server did not start: $(tail -5 "$dir.log")"
	at_exit "as_pg $PG_BIN/pg_ctl -D $dir -m immediate stop"
	for ((i = 0; i < 600; i++)); do
		[ "$(psql -X -tA -h "$sock" -p "$port" -d postgres \
			-c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && break
		sleep 0.1
	done
	[ "$i" -lt 600 ] || fail "the restored server is still recovering: $(tail -5 "$dir.log")"
	psql -X -tA -h "$sock" -p "$port" -d postgres \
		-c "SELECT string_agg(i::text, ',' ORDER BY i) FROM ticks"
	as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast stop >/dev/null
}

# restore --at T into a new directory, start it: exactly the rows committed by T.
pitr_restore_check() {	# conf T data-dir [restore args...]
	local conf=$1 t=$2 dir=$3 want got
	shift 3
	want=$(pitr_rows_at "$t")
	[ -n "$want" ] || fail "no row committed by $t"
	pitr_own "$(dirname "$dir")"
	run_pitr -c "$conf" restore --at "$t" --data-dir "$dir" "$@"
	expect_rc 0 "restore --at $t"
	[ -f "$dir/recovery.signal" ] || fail "no recovery.signal in $dir"
	got=$(pitr_restored_rows "$dir")
	assert_eq "$got" "$want" "rows of the server restored to $t"
	echo "restored to $t: rows 1..$(echo "$got" | tr ',' '\n' | tail -1) of $(psql_q postgres 'SELECT count(*) FROM ticks')"
}

# A restore into data-dir that must be refused (exit 1), the log naming why,
# before anything was written: data-dir is not made.
pitr_restore_refused() {	# conf data-dir message what restore-args...
	local conf=$1 dir=$2 msg=$3 what=$4
	shift 4
	run_pitr -c "$conf" restore "$@" --data-dir "$dir"
	expect_rc 1 "$what"
	assert_contains "$KB_TMP/log" "$msg" "$what: the message"
	[ ! -e "$dir" ] || fail "$what: a refused restore wrote $dir"
}

# The newest segment in a file-storage archive.
pitr_newest_segment() {	# storage-dir
	find "$1/test/orders/wal" -name '[0-9A-F]*' | grep -E '/[0-9A-F]{24}$' | sort | tail -1
}

# tests/lib-crash.sh: SIGKILL scenarios shared by the tests of engines with
# a database server (pg_crash, mysql_crash); sourced after lib.sh and
# lib-engines.sh.  The test sets:
#   CONF, PAUSE_CONF   a runner config, and the same with pause_wrapper tools
#   BACKUPS            the location's backups/ directory
#   SECRET             the database password; SECRET_FILES the test's own
#                      files that may hold it
#   BACKUP_AT, RESTORE_AT, COUNT_AT
#                      what the wrappers stop at: the dump, the restore, the
#                      row count of verify --restore
# and defines sql_dbs PREFIX (the databases whose names start with it,
# each followed by a blank), sql_exists NAME, sql_create NAME, sql_drop
# NAME, and sql_kept_make / sql_kept_rows (a table of its own in the
# database "kept", and its row count).

KB_SEED=${KB_SEED:-$$}
RANDOM=$KB_SEED
echo "seed: KB_SEED=$KB_SEED (set it to replay the random kills)"

secret_nowhere() {	# what
	# shellcheck disable=SC2086
	assert_secret_nowhere "$SECRET" "$1" ${SECRET_FILES:-}
}

# SIGKILL while the dump and the restore tool run, and at random points of
# ten backups and ten restores: no file holds the password.
crash_secret_cases() {
	local i
	say "SIGKILL while the dump tool and the restore tool run: no password on disk"
	run_runner_kill9_at "$BACKUP_AT" -c "$PAUSE_CONF" --once
	expect_rc 137 "killed backup"
	secret_nowhere "killed while the dump tool runs"
	run_runner_kill9_at "$RESTORE_AT" -c "$PAUSE_CONF" restore latest --database shop_copy
	expect_rc 137 "killed restore"
	secret_nowhere "killed while the restore tool runs"

	say "10 backups and 10 restores killed at random points"
	for i in $(seq 1 10); do
		run_runner_kill9_random -c "$CONF" --once
		secret_nowhere "backup $i killed"
		run_runner_kill9_random -c "$CONF" restore latest --database shop_copy
		secret_nowhere "restore $i killed"
	done
	sql_drop shop_copy
}

# The scratch databases of runs of this runner that were killed, without
# the engine's ones of other runners and unknown names.
ours() { sql_dbs kbackup_verify_ | tr ' ' '\n' | grep -v -e '^$' -e _0123456789ab_ -e _4242_ || true; }

# verify --restore killed while restoring and while counting: the next run
# drops both and says so, leaving another runner id's database and a name
# of no run (an older version's) alone; check drops a dead run's database
# and leaves a running one's; ten random kills, then one run: none left.
crash_scratch_cases() {
	local first first_wrapper left db dead running i
	say "verify --restore killed while restoring and while counting"
	# Every verify --restore drops what killed runs left before it starts:
	# to leave two, the second starts while the first still runs.
	run_runner_until_paused "$RESTORE_AT" -c "$PAUSE_CONF" verify --restore latest
	first=$KB_PAUSED_RUNNER first_wrapper=$(cat "$KB_TMP/paused")
	run_runner_until_paused "$COUNT_AT" -c "$PAUSE_CONF" verify --restore latest
	assert_contains "$KB_TMP/paused.log" "a scratch database in use by a running verify --restore" \
		"the second run leaves the running first one's database"
	kill -9 "$first"
	wait "$first" 2>/dev/null || true
	kill "$first_wrapper"
	kill9_paused_runner
	expect_rc 137 "killed while counting"
	left=$(ours)
	[ "$(echo $left | wc -w)" = 2 ] || fail "two killed runs should leave two: $left"
	sql_create kbackup_verify_0123456789ab_1_1
	sql_create kbackup_verify_4242_1700000000
	run_runner -c "$CONF" verify --restore latest
	expect_rc 0 "verify --restore after two killed ones"
	for db in $left; do
		assert_contains "$KB_TMP/log" "msg=\"dropped the scratch database a killed run left\" database=$db" \
			"$db dropped and said so"
	done
	assert_contains "$KB_TMP/log" "database=kbackup_verify_0123456789ab_1_1 runner=0123456789ab" \
		"another runner's left alone and said so"
	assert_contains "$KB_TMP/log" "database=kbackup_verify_4242_1700000000" "an unknown name said so"
	assert_eq "$(sql_dbs kbackup_verify_)" \
		"kbackup_verify_0123456789ab_1_1 kbackup_verify_4242_1700000000 " "what is left"

	say "check drops a killed run's scratch database and leaves a running one's"
	run_runner_until_paused "$COUNT_AT" -c "$PAUSE_CONF" verify --restore latest
	first=$KB_PAUSED_RUNNER first_wrapper=$(cat "$KB_TMP/paused")
	dead=$(ours)
	run_runner_until_paused "$COUNT_AT" -c "$PAUSE_CONF" verify --restore latest
	running=$(ours | grep -v "^$dead\$")
	kill -9 "$first"
	wait "$first" 2>/dev/null || true
	kill "$first_wrapper"
	[ -n "$dead" ] && [ -n "$running" ] || fail "two scratch databases expected: $(ours)"
	run_runner -c "$CONF" check
	expect_rc 0 "check"
	assert_contains "$KB_TMP/out" "scratch: $dead: dropped, its run (process $first) is no longer running" \
		"check drops the dead one"
	assert_contains "$KB_TMP/out" "scratch: $running: in use by process $KB_PAUSED_RUNNER, left alone" \
		"check leaves the running one"
	assert_contains "$KB_TMP/out" "scratch: kbackup_verify_0123456789ab_1_1: of runner 0123456789ab, left alone" \
		"check: another runner's"
	assert_contains "$KB_TMP/out" "scratch: kbackup_verify_4242_1700000000: of no run this runner knows" \
		"check: an unknown name"
	sql_exists "$running" || fail "check dropped a running verify's database"
	! sql_exists "$dead" || fail "check left the dead one's database"
	kill9_paused_runner
	sql_drop kbackup_verify_0123456789ab_1_1
	sql_drop kbackup_verify_4242_1700000000

	say "10 verify --restore runs killed at random points, then one more: nothing left"
	for i in $(seq 1 10); do
		run_runner_kill9_random -c "$CONF" verify --restore latest
		secret_nowhere "verify --restore $i killed"
	done
	run_runner -c "$CONF" verify --restore latest
	expect_rc 0 "verify --restore after random kills"
	assert_eq "$(sql_dbs kbackup_verify_)" "" "scratch databases after random kills"
}

# A dump tool killed under the runner: the backup fails with exit status 1
# naming the tool, and leaves nothing of itself in the location, not even
# its empty backups/ID/ directory; the next backup succeeds.
crash_dump_cases() {
	local id
	say "the dump tool killed under the runner: nothing of the backup left"
	run_runner_until_paused "$BACKUP_AT" -c "$PAUSE_CONF" --once
	kill9_paused_tool	# the dump tool, not the runner
	expect_rc 1 "backup whose dump tool was killed"
	assert_contains "$KB_TMP/log" "killed by signal 9" "the failure names the signal"
	id=$(sed -n 's/.*msg="backup started" id=\([0-9TZa-f-]*\).*/\1/p' "$KB_TMP/log")
	[ -n "$id" ] || fail "no backup started: $(tail -3 "$KB_TMP/log")"
	[ ! -e "$BACKUPS/$id" ] || fail "the failed backup left $BACKUPS/$id: $(ls -A "$BACKUPS/$id")"
	run_runner -c "$CONF" --once
	expect_rc 0 "a backup after the killed dump tool"
}

# A restore that fails (a corrupt backup, a restore tool killed under the
# runner) drops the database it created, and leaves one that existed.
crash_restore_cases() {
	local id data rows
	say "a failed restore drops the database it created, and leaves an existing one"
	id=$(basename "$(dirname "$(ls "$BACKUPS"/*/manifest.json | sort | tail -n 1)")")
	data=$BACKUPS/$id/data
	cp "$data" "$KB_TMP/data.orig"
	flip_bit "$data" "$(($(stat -c %s "$data") / 2))"
	run_runner -c "$CONF" restore "$id" --database fresh
	expect_rc 1 "restore of a corrupt backup into a new database"
	assert_contains "$KB_TMP/log" \
		'msg="dropped the database the failed restore had created" database=fresh' "drop logged"
	! sql_exists fresh || fail "the failed restore left the database it created"
	sql_create kept
	sql_kept_make
	rows=$(sql_kept_rows)
	run_runner -c "$CONF" restore "$id" --database kept
	expect_rc 1 "restore of a corrupt backup into an existing database"
	assert_not_contains "$KB_TMP/log" "dropped the database" "an existing database dropped"
	assert_eq "$(sql_kept_rows)" "$rows" "the existing database's own table"
	cp "$KB_TMP/data.orig" "$data"
	run_runner_until_paused "$RESTORE_AT" -c "$PAUSE_CONF" restore "$id" --database fresh2
	kill9_paused_tool	# the restore tool, not the runner
	expect_rc 1 "restore whose restore tool was killed"
	assert_contains "$KB_TMP/log" \
		'msg="dropped the database the failed restore had created" database=fresh2' "drop logged"
	! sql_exists fresh2 || fail "a killed restore tool left the database the restore created"
}

# Every case above, in the order the engines' tests run them.
crash_cases() {
	crash_secret_cases
	crash_scratch_cases
	crash_restore_cases
	crash_dump_cases
}

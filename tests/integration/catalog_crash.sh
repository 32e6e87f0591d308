#!/usr/bin/env bash
# Crashes and concurrency against the catalog's invariants (kbackup-format(5)),
# with a real PostgreSQL, on the file backend and on S3 (s3rver behind the
# checking proxy):
#   - SIGKILL at a random moment of --once, restore and prune, many times
#     (seeded: KB_CRASH_SEED=N repeats a run; KB_CRASH_TRIALS=N sets how many);
#   - two runners with two workdirs on one storage prefix, backing up and
#     pruning at once;
#   - two backups in the same second (libfaketime);
#   - a clock that jumps a month forward and back.
# After each: no damaged backup, every listed backup verifies, every backup
# that exited 0 is listed (retention keeps everything here) and verifies, no
# manifest without its data, and no file under the workdirs holds the
# database password.
. "$(dirname "$0")/../lib.sh"

command -v python3 >/dev/null || skip "python3 not installed"
SEED=${KB_CRASH_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SEED
say "seed $SEED (KB_CRASH_SEED=$SEED repeats this run)"
TRIALS=${KB_CRASH_TRIALS:-60}
[ "${SANITIZE:-}" = 1 ] && TRIALS=${KB_CRASH_TRIALS:-30}	# the same code paths, slower
LIBFAKETIME=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime.so.1$' | head -n 1 || true)
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

pg_start
pg_load_sample shop 400

KEEP_ALL='[retention]
all = 3650d
hourly = off
daily = off
weekly = off
monthly = off'

conf() {	# file workdir storage-section
	write_pg_config "$1" shop
	sed -i "s|^workdir = .*|workdir = $2|" "$1"
	sed -i '/^\[storage\]/,$d' "$1"
	printf '%s\n\n%s\n' "$3" "$KEEP_ALL" >>"$1"
}

declare -A GOOD	# backups that exited 0, by ID
note_good() {	# log: the ID of a committed backup
	local id
	id=$(committed_id "$1" | tail -n 1)
	[ -n "$id" ] && GOOD[$id]=1
	return 0
}

# The invariants, on one config's location.
check_all() {	# conf what
	local conf=$1 what=$2
	run_runner -c "$conf" list --json
	expect_rc 0 "$what: list"
	python3 - "$KB_TMP/out" "${!GOOD[@]}" >"$KB_TMP/why" <<'PY' || fail "$what: $(cat "$KB_TMP/why")"
import json, sys
entries = json.load(open(sys.argv[1]))
good = set(sys.argv[2:])
ok = {e["id"] for e in entries if e["state"] == "ok"}
bad = [e for e in entries if e["state"] == "damaged"]
why = []
if bad:
    why.append("damaged: %s" % bad)
missing = sorted(good - ok)
if missing:
    why.append("exited 0 but not listed: %s" % missing)
print("; ".join(why))
sys.exit(1 if why else 0)
PY
	run_runner -c "$conf" verify --all
	[ "$rc" = 0 ] || fail "$what: verify --all exit $rc: $(grep -v ' ok ' "$KB_TMP/out" | head -5)"
	if grep -rlF "$PG_PASSWORD" "$KB_TMP"/work* 2>/dev/null | grep -q .; then
		fail "$what: the password is in $(grep -rlF "$PG_PASSWORD" "$KB_TMP"/work*)"
	fi
}

# Runs the runner, kills it with SIGKILL after a random delay of up to max ms.
kill_at_random() {	# max-ms args...
	local max=$1 ms pid
	shift
	ms=$((RANDOM % max))
	env -u PGPASSWORD "$RUNNER" "$@" >"$KB_TMP/kout" 2>"$KB_TMP/klog" &
	pid=$!
	sleep "$(printf '0.%03d' "$ms")"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null && note_good "$KB_TMP/klog"
	cat "$KB_TMP/klog" >>"$KB_TMP/all.log"
	return 0
}

# How long a command takes (ms), to spread the kills over all of it.
duration_ms() {	# args...
	local t0 t1
	t0=$(date +%s%N)
	run_runner "$@"
	t1=$(date +%s%N)
	expect_rc 0 "timing $*"
	note_good "$KB_TMP/log"
	echo $(((t1 - t0) / 1000000 + 20))
}

crash_trials() {	# conf label trials
	local conf=$1 label=$2 n=$3 dbk dre dpr i kind
	say "[$label] $n SIGKILL trials of --once, restore and prune"
	dbk=$(duration_ms -c "$conf" --once)
	dre=$(duration_ms -c "$conf" restore latest --database crash_target)
	dpr=$(duration_ms -c "$conf" prune)
	for ((i = 1; i <= n; i++)); do
		kind=$((RANDOM % 4))
		case $kind in
		0|1)	kill_at_random "$dbk" -c "$conf" --once ;;
		2)	kill_at_random "$dre" -c "$conf" restore latest --database crash_target ;;
		3)	kill_at_random "$dpr" -c "$conf" prune ;;
		esac
		# Now and then a run that is not killed: it sweeps what the killed left.
		if [ $((RANDOM % 5)) = 0 ]; then
			run_runner -c "$conf" --once
			expect_rc 0 "[$label] trial $i: a backup after a kill"
			note_good "$KB_TMP/log"
		fi
		check_all "$conf" "[$label] trial $i (kind $kind)"
	done
	run_runner -c "$conf" prune
	expect_rc 0 "[$label] prune after the trials"
	check_all "$conf" "[$label] after the trials"
	# Under the lock, the killed runs' leftovers are gone: markers, temporaries, uploads.
	if [ "$label" = file ]; then
		[ -z "$(find "$KB_TMP/store" -name '*.kbtmp.*')" ] ||
			fail "[$label] temporaries left: $(find "$KB_TMP/store" -name '*.kbtmp.*')"
		[ -z "$(ls -A "$KB_TMP/store/test/orders/running" 2>/dev/null)" ] ||
			fail "[$label] markers left: $(ls "$KB_TMP/store/test/orders/running")"
	fi
}

# Two runners (two workdirs: two hosts) on one prefix, at once.
two_writers() {	# conf-a conf-b label
	local a=$1 b=$2 label=$3 i pa pb n_ok=0 n_other=0
	say "[$label] two runners on one prefix, backing up and pruning at once"
	for ((i = 1; i <= 6; i++)); do
		env -u PGPASSWORD "$RUNNER" -c "$a" --once >/dev/null 2>"$KB_TMP/a.log" & pa=$!
		env -u PGPASSWORD "$RUNNER" -c "$b" --once >/dev/null 2>"$KB_TMP/b.log" & pb=$!
		env -u PGPASSWORD "$RUNNER" -c "$b" prune >/dev/null 2>"$KB_TMP/p.log" || true
		for p in a b; do
			if wait "$([ $p = a ] && echo $pa || echo $pb)"; then
				note_good "$KB_TMP/$p.log"
				n_ok=$((n_ok + 1))
			elif grep -q "another runner is backing up" "$KB_TMP/$p.log"; then
				n_other=$((n_other + 1))
			elif ! grep -q "another kbackup-runner for" "$KB_TMP/$p.log"; then
				fail "[$label] round $i: runner $p failed otherwise: $(tail -3 "$KB_TMP/$p.log")"
			fi
			cat "$KB_TMP/$p.log" >>"$KB_TMP/all.log"
		done
		check_all "$a" "[$label] two writers, round $i"
	done
	say "[$label] $n_ok backups committed, $n_other refused naming the other runner"
	[ "$n_ok" -gt 0 ] || fail "[$label] no backup committed by two writers"
}

same_second() {	# conf label
	local conf=$1 label=$2 before after
	[ -n "$LIBFAKETIME" ] || { say "[$label] same second: libfaketime not installed"; return; }
	say "[$label] two backups in the same second"
	before=${#GOOD[@]}
	for _ in 1 2; do
		set +e
		env -u PGPASSWORD LD_PRELOAD="$LIBFAKETIME" FAKETIME="@2026-12-01 10:00:00" \
			"$RUNNER" -c "$conf" --once >/dev/null 2>"$KB_TMP/log"
		rc=$?
		set -e
		expect_rc 0 "[$label] backup in the frozen second"
		note_good "$KB_TMP/log"
	done
	after=${#GOOD[@]}
	[ $((after - before)) = 2 ] || fail "[$label] two backups in one second: $((after - before)) new IDs"
	check_all "$conf" "[$label] same second"
}

clock_jumps() {	# conf label
	local conf=$1 label=$2 fut
	[ -n "$LIBFAKETIME" ] || { say "[$label] clock jumps: libfaketime not installed"; return; }
	say "[$label] a clock a month ahead, then right again"
	set +e
	env -u PGPASSWORD LD_PRELOAD="$LIBFAKETIME" FAKETIME="+30d" "$RUNNER" -c "$conf" --once \
		>/dev/null 2>"$KB_TMP/log"
	rc=$?
	set -e
	expect_rc 0 "[$label] backup with the clock ahead"
	note_good "$KB_TMP/log"
	fut=$(committed_id)
	run_runner -c "$conf" --once
	expect_rc 0 "[$label] backup with the clock right"
	note_good "$KB_TMP/log"
	run_runner -c "$conf" list
	assert_contains "$KB_TMP/out" "FUTURE" "[$label] list marks the future-dated backup"
	grep "^$fut " "$KB_TMP/out" | grep -q FUTURE || fail "[$label] $fut not marked: $(cat "$KB_TMP/out")"
	run_runner -c "$conf" restore latest --dry-run
	expect_rc 0 "[$label] restore latest"
	assert_not_contains "$KB_TMP/out" "$fut" "[$label] latest took the future-dated backup"
	assert_contains "$KB_TMP/log" "passed over a backup dated in the future" "[$label] latest says so"
	run_runner -c "$conf" check
	assert_contains "$KB_TMP/out" "WARNING: backup $fut is dated in the future" "[$label] check"
	check_all "$conf" "[$label] after the clock jumps"
}

# SIGKILL of prunes that delete: backups made a week ago (libfaketime) that a
# one-hour rule no longer holds.  After each kill: nothing damaged (never a
# manifest without its data), what is listed verifies, the newest is there.
prune_kills() {	# label storage-section
	local label=$1 conf=$KB_TMP/$1-p.conf round i newest dpr
	[ -n "$LIBFAKETIME" ] || { say "[$label] prune kills: libfaketime not installed"; return; }
	say "[$label] SIGKILL of prunes that delete"
	write_pg_config "$conf" shop
	sed -i "s|^workdir = .*|workdir = $KB_TMP/work-$label-p|; s|^name = orders|name = pruned|" \
		"$conf"
	sed -i '/^\[storage\]/,$d' "$conf"
	printf '%s\n\n[retention]\nall = 1h\nhourly = off\ndaily = off\nweekly = off\nmonthly = off\n' \
		"$2" >>"$conf"
	for round in 1 2 3; do
		for i in 1 2 3 4 5; do
			set +e
			env -u PGPASSWORD LD_PRELOAD="$LIBFAKETIME" \
				FAKETIME="@2026-11-2$round 0$i:00:00" "$RUNNER" -c "$conf" --once \
				>/dev/null 2>"$KB_TMP/log"
			rc=$?
			set -e
			expect_rc 0 "[$label] old backup $round.$i"
		done
		newest=$(committed_id)
		[ "$round" = 1 ] && dpr=$(duration_ms -c "$conf" prune --dry-run)
		kill_at_random "$dpr" -c "$conf" prune
		kill_at_random "$dpr" -c "$conf" prune
		GOOD=()
		GOOD[$newest]=1
		check_all "$conf" "[$label] prune killed, round $round"
		run_runner -c "$conf" prune
		expect_rc 0 "[$label] prune, round $round"
		check_all "$conf" "[$label] prune done, round $round"
		run_runner -c "$conf" list --json
		[ "$(grep -c '"state": "ok"' "$KB_TMP/out")" = 1 ] ||
			fail "[$label] round $round: only the newest should be left: $(grep '"id"' "$KB_TMP/out")"
	done
}

run_suite() {	# label storage-section trials
	local label=$1 section=$2 n=$3
	GOOD=()
	conf "$KB_TMP/$label-a.conf" "$KB_TMP/work-$label-a" "$section"
	conf "$KB_TMP/$label-b.conf" "$KB_TMP/work-$label-b" "$section"
	crash_trials "$KB_TMP/$label-a.conf" "$label" "$n"
	two_writers "$KB_TMP/$label-a.conf" "$KB_TMP/$label-b.conf" "$label"
	same_second "$KB_TMP/$label-a.conf" "$label"
	clock_jumps "$KB_TMP/$label-a.conf" "$label"
	prune_kills "$label" "$section"
}

run_suite file "[storage]
type = file
path = $KB_TMP/store" "$TRIALS"

if [ -f "$KB_TOP/tests/s3/harness.sh" ] && command -v node >/dev/null; then
	. "$KB_TOP/tests/s3/harness.sh"
	s3_start "$KB_TMP/s3" >/dev/null || fail "s3 harness did not start"
	at_exit "s3_stop"
	printf '%s' "$S3_SECRET_KEY" >"$KB_TMP/s3secret"
	chmod 600 "$KB_TMP/s3secret"
	run_suite s3 "[storage]
type = s3
endpoint = $S3_ENDPOINT
region = $S3_REGION
bucket = $S3_BUCKET
prefix = crash
path_style = true
part_size = 5MiB
access_key = $S3_ACCESS_KEY
secret_key_file = $KB_TMP/s3secret" $((TRIALS / 2))
else
	say "S3 variant left out (no harness or node)"
fi
echo ok

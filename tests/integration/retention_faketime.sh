#!/usr/bin/env bash
# Retention over ten simulated days: the runner's clock (and pg_dump's) is
# moved with libfaketime, a backup every 6 hours with small rules in
# America/New_York (clocks spring forward on 2026-03-08 on the way).  After
# every backup, what storage holds (backups, their manifests' labels,
# labels.json) is compared with retention_model.py, which computes it
# independently of the runner.  On the way: a failed backup deletes nothing;
# a deleted and a corrupted labels.json are rebuilt with the same result;
# orphaned data and stale temporaries older than orphan_grace are swept, a
# fresh orphan is not, not even once it is older than the newest backup;
# prune --dry-run deletes nothing; list shows the labels; restore --at at
# the edges.  Then mode = single.
#
# Runs on the file backend, and also on S3 when tests/s3/harness.sh exists
# (s3rver behind the checking proxy; KBACKUP_RETENTION_S3=0 leaves it out).
# Under ASan the runner needs ASAN_OPTIONS=verify_asan_link_order=0 to start
# with libfaketime preloaded; this script sets it.
. "$(dirname "$0")/../lib.sh"

faketime_setup
command -v python3 >/dev/null || skip "python3 not installed"
[ -x "$RUNNER" ] || skip "$RUNNER not built"
MODEL=$KB_TOP/tests/integration/retention_model.py
export TZ=UTC


pg_start
pg_load_sample shop 20

# Storage access for the checks, independent of the runner: file or s3.
# On S3, st_keys mirrors ROOT/ with one "aws s3 sync" (one CLI start instead
# of one per object: the CLI's start-up is most of this test's time) and
# st_get reads the mirror, or fetches what was written since.
BACKEND=file
ROOT=test/orders
st_keys() {	# every key under ROOT/, relative to the location's root
	if [ "$BACKEND" = file ]; then
		(cd "$STORE" && find "$ROOT" -type f | sort)
	else
		mkdir -p "$KB_TMP/mirror/$ROOT"
		aws --endpoint-url "$S3_ENDPOINT" s3 sync --quiet --delete --exact-timestamps \
			"s3://$S3_BUCKET/$S3_PREFIX/$ROOT/" "$KB_TMP/mirror/$ROOT/"
		(cd "$KB_TMP/mirror" && find "$ROOT" -type f | sort)
	fi
}
st_get() {	# key → stdout
	if [ "$BACKEND" = file ]; then cat "$STORE/$1"
	elif [ -f "$KB_TMP/mirror/$1" ] && [ "$(basename "$1")" != labels.json ]; then
		cat "$KB_TMP/mirror/$1"	# objects other than labels.json never change
	else aws --endpoint-url "$S3_ENDPOINT" s3 cp "s3://$S3_BUCKET/$S3_PREFIX/$1" - ; fi
}
st_put() {	# key file
	if [ "$BACKEND" = file ]; then mkdir -p "$(dirname "$STORE/$1")"; cp "$2" "$STORE/$1"
	else aws --endpoint-url "$S3_ENDPOINT" s3 cp --quiet "$2" "s3://$S3_BUCKET/$S3_PREFIX/$1"; fi
}
st_rm() {
	if [ "$BACKEND" = file ]; then rm -f "$STORE/$1"
	else aws --endpoint-url "$S3_ENDPOINT" s3 rm --quiet "s3://$S3_BUCKET/$S3_PREFIX/$1"; fi
}
st_ids() {	# backups with a manifest
	st_keys | sed -n "s|^$ROOT/backups/\([0-9TZa-f-]*\)/manifest.json$|\1|p"
}
st_has() { st_keys | grep -qxF "$1"; }

# A snapshot of storage for the model: ids, manifests, labels.json.
snapshot() {	# dir
	local d=$1 id
	rm -rf "$d"
	mkdir -p "$d/m"
	st_ids >"$d/ids"
	while read -r id; do
		st_get "$ROOT/backups/$id/manifest.json" >"$d/m/$id.json"
	done <"$d/ids"
	st_get "$ROOT/labels.json" >"$d/labels.json" 2>/dev/null || echo '{"backups":[]}' >"$d/labels.json"
}
# When backup ID finished, from the last snapshot's manifest.
finished_at() {	# id
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["finished"])' \
		"$KB_TMP/snap/m/$1.json"
}
# The time (YYYY-MM-DDTHH:MM:SSZ) one second before $1.
second_before() {	# time
	python3 -c 'import sys, datetime as d
t = d.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ") - d.timedelta(seconds=1)
print(t.strftime("%Y-%m-%dT%H:%M:%SZ"))' "$1"
}
# Storage as bytes: every key with its content's hash.
fingerprint() {
	local k
	st_keys | while read -r k; do echo "$k $(st_get "$k" | sha256sum | cut -c1-64)"; done
}

check_model() {	# what
	snapshot "$KB_TMP/snap"
	python3 "$MODEL" "$KB_TMP/rules" "$KB_TMP/history" "$KB_TMP/snap" >"$KB_TMP/model.out" ||
		fail "$1: $(cat "$KB_TMP/model.out")"
}

# Rules: durations are whole hours not multiple of 6, so no label expires
# within an hour of a backup (a backup every 6 h): the result does not
# depend on how long a backup takes.
cat >"$KB_TMP/retention.ini" <<'EOF2'
[retention]
all = 1h
hourly = 13h
daily = 70h
weekly = 193h
monthly = off
yearly = off
rule.halfday = %Y-%m-%d%p 31h
EOF2
cat >"$KB_TMP/rules" <<'EOF2'
tz America/New_York
all - 3600
hourly %Y-%m-%dT%H 46800
daily %Y-%m-%d 252000
weekly %G-W%V 694800
halfday %Y-%m-%d%p 111600
EOF2

configure() {	# file backend
	write_pg_config "$1" shop "$STORE"
	sed -i "s|^workdir = .*|&\ntimezone = America/New_York|" "$1"
	if [ "$2" = s3 ]; then
		sed -i '/^\[storage\]/,$d' "$1"
		s3_storage_section </dev/null >>"$1"
	fi
	cat "$KB_TMP/retention.ini" >>"$1"
}

# One successful backup at fake time t, recorded in the history, then compared.
backup_at() {	# "YYYY-MM-DD HH:MM:SS" what
	local id fin
	run_at "$1" -c "$CONF" --once
	expect_rc 0 "$2: backup at $1"
	id=$(committed_id)
	[ -n "$id" ] || fail "$2: no backup id in the log"
	fin=$(st_get "$ROOT/backups/$id/manifest.json" | python3 -c \
		'import json, sys, calendar, time
print(calendar.timegm(time.strptime(json.load(sys.stdin)["finished"], "%Y-%m-%dT%H:%M:%SZ")))')
	echo "$id $fin" >>"$KB_TMP/history"
	check_model "$2: after the backup at $1"
}

retention_run() {	# backend
	BACKEND=$1
	CONF=$KB_TMP/kb-$1.conf
	STORE=$KB_TMP/store-$1
	: >"$KB_TMP/history"
	configure "$CONF" "$1"
	say "[$1] ten days, a backup every 6 hours"
	local day hour n=0 t
	for day in $(seq 1 10); do
		for hour in 00 06 12 18; do
			t=$(printf '2026-03-%02d %s:30:00' "$day" "$hour")
			n=$((n + 1))
			case $n in
			10)	say "[$1] a failed backup deletes nothing"
				run_at "$t" -c "$CONF" prune --dry-run
				expect_rc 0 "prune --dry-run"
				assert_contains "$KB_TMP/out" "would delete" \
					"prune --dry-run at $t has something to delete"
				assert_contains "$KB_TMP/out" "(expired " "dry run says which labels expired"
				fingerprint >"$KB_TMP/before"
				printf 'wrong\n' >"$KB_TMP/wrongpw"
				sed -i "s|^password_file = .*|password_file = $KB_TMP/wrongpw|" "$CONF"
				run_at "$t" -c "$CONF" --once
				expect_rc 1 "backup with a wrong password"
				assert_not_contains "$KB_TMP/log" 'msg=pruned' "failed backup pruned"
				fingerprint >"$KB_TMP/after"
				diff -u "$KB_TMP/before" "$KB_TMP/after" >&2 ||
					fail "storage changed by a failed backup or a dry run"
				sed -i "s|^password_file = .*|password_file = $KB_TMP/pgpw|" "$CONF"
				;;
			14)	say "[$1] labels.json deleted: rebuilt"
				st_rm "$ROOT/labels.json" ;;
			18)	say "[$1] labels.json corrupted: rebuilt"
				printf '{"version":1,"backups":[{"id":"x"' >"$KB_TMP/bad"
				st_put "$ROOT/labels.json" "$KB_TMP/bad" ;;
			23)	say "[$1] orphaned data, old and fresh"
				# Age is the store's: the object's mtime (set back
				# with touch on files; S3 objects are all fresh).
				printf 'partial' >"$KB_TMP/partial"
				st_put "$ROOT/backups/20260306T080000Z/data" "$KB_TMP/partial"
				st_put "$ROOT/backups/20260306T150000Z/data" "$KB_TMP/partial"
				if [ "$1" = file ]; then
					touch -d "2 days ago" "$STORE/$ROOT/backups/20260306T080000Z/data"
					st_put "$ROOT/backups/20260306T110000Z/data.kbtmp.1.aa" "$KB_TMP/partial"
					touch -d "2026-02-01" "$STORE/$ROOT/backups/20260306T110000Z/data.kbtmp.1.aa"
					st_put "$ROOT/backups/20260306T110000Z/data.kbtmp.2.bb" "$KB_TMP/partial"
				fi ;;
			esac
			backup_at "$t" "[$1] backup $n"
			case $n in
			14|18)	assert_contains "$KB_TMP/log" "rebuilt from the manifests" \
					"labels.json rebuild logged" ;;
			23)	if [ "$1" = file ]; then
					! st_has "$ROOT/backups/20260306T080000Z/data" ||
						fail "old orphan not swept"
					assert_contains "$KB_TMP/log" "data without a manifest" \
						"orphan reason"
					[ ! -e "$STORE/$ROOT/backups/20260306T110000Z/data.kbtmp.1.aa" ] ||
						fail "stale temporary kept"
					[ -e "$STORE/$ROOT/backups/20260306T110000Z/data.kbtmp.2.bb" ] ||
						fail "fresh temporary swept"
					rm -f "$STORE/$ROOT/backups/20260306T110000Z/data.kbtmp.2.bb"
				fi
				st_has "$ROOT/backups/20260306T150000Z/data" ||
					fail "fresh orphan (newer than the newest backup) swept" ;;
			24)	st_has "$ROOT/backups/20260306T150000Z/data" ||
					fail "fresh orphan swept for being older than the newest backup"
				if [ "$1" = file ]; then
					touch -d "2 days ago" "$STORE/$ROOT/backups/20260306T150000Z/data"
					run_at "$t" -c "$CONF" prune
					expect_rc 0 "prune of an aged orphan"
					! st_has "$ROOT/backups/20260306T150000Z/data" ||
						fail "orphan older than orphan_grace not swept"
				else
					st_rm "$ROOT/backups/20260306T150000Z/data"
					st_rm "$ROOT/backups/20260306T080000Z/data"
				fi ;;
			esac
		done
	done
	cat "$KB_TMP/model.out"
	assert_contains "$KB_TMP/all.log" 'msg=pruned' "prune logged"

	say "[$1] list shows every backup's labels and their expiry"
	run_at "$t" -c "$CONF" list
	expect_rc 0 "list"
	python3 - "$KB_TMP/snap" "$KB_TMP/out" <<'PY' || fail "list output"
import json, os, sys
snap, out = sys.argv[1], open(sys.argv[2]).read().splitlines()
for bid in open(os.path.join(snap, "ids")).read().split():
    m = json.load(open(os.path.join(snap, "m", bid + ".json")))
    line = [l for l in out if l.startswith(bid + " ")]
    assert len(line) == 1, "no list line for %s" % bid
    for l in m["labels"]:
        assert l["name"] in line[0] and "(until %s)" % l["expires"] in line[0], \
            "%s: %s not in %r" % (bid, l, line[0])
PY

	say "[$1] prune with nothing to do, and prune --dry-run"
	run_at "$t" -c "$CONF" prune
	expect_rc 0 "prune"
	check_model "prune right after the last backup"
	run_at "2026-03-20 00:00:00" -c "$CONF" prune --dry-run
	expect_rc 0 "prune --dry-run later"
	assert_contains "$KB_TMP/out" "would keep" "dry run: the newest is kept"
	check_model "prune --dry-run deleted something"

	say "[$1] restore --at at the edges"
	local ids first second f1 f2
	mapfile -t ids < <(st_ids | sort)
	first=${ids[0]} second=${ids[1]}
	f1=$(finished_at "$first")
	f2=$(finished_at "$second")
	run_runner -c "$CONF" restore --at "$f2" --dry-run
	expect_rc 0 "restore --at exactly the second's finish time"
	assert_contains "$KB_TMP/out" "would restore backup $second" "exactly at a finish time"
	assert_contains "$KB_TMP/log" "id=$second" "the log says which backup was picked"
	before2=$(second_before "$f2")
	run_runner -c "$CONF" restore --at "$before2" --dry-run
	expect_rc 0 "restore --at one second before"
	assert_contains "$KB_TMP/out" "would restore backup $first" "one second before"
	before1=$(second_before "$f1")
	run_runner -c "$CONF" restore --at "$before1" --dry-run
	expect_rc 1 "restore --at before the first backup"
	assert_contains "$KB_TMP/log" "the first one, $first, finished at $f1" \
		"before the first backup: the message names it"
	run_runner -c "$CONF" restore --at "$f1" --database "restored_$1"
	expect_rc 0 "restore --at into a new database"
	[ "$(psql_q "restored_$1" 'SELECT count(*) FROM customers')" = 20 ] || fail "restored rows"
}

STORE=$KB_TMP/store-file
retention_run file

if [ "${KBACKUP_RETENTION_S3:-1}" != 0 ] && [ -f "$KB_TOP/tests/s3/harness.sh" ] &&
    command -v node >/dev/null && command -v aws >/dev/null; then
	s3_setup
	S3_PREFIX=retention
	retention_run s3
else
	say "S3 variant left out (no tests/s3/harness.sh, node or aws, or KBACKUP_RETENTION_S3=0)"
fi
echo ok

#!/usr/bin/env bash
# Two definitions on one host under the shipped units' settings: two
# kbackup-runnerd@NAME daemons, each with the StateDirectory= of its unit
# ($STATE_DIRECTORY=/var/lib/kbackup/NAME, as systemd sets it) and the
# ExecStart= config path, both run; trigger from a shell (no
# $STATE_DIRECTORY: the default workdir follows the same rule) reaches the
# right one and backs up that definition only; a shell's --once of a
# definition whose daemon runs is refused by the daemon's lock.
# /var/lib is a private copy in a mount namespace where one can be made
# (root with CAP_SYS_ADMIN); else the real /var/lib/kbackup with instance
# names of this test's own, removed afterwards.
if [ -z "${KB_IN_NS:-}" ] && [ "$(id -u)" = 0 ] &&
	unshare -m --propagation private true 2>/dev/null; then
	exec env KB_IN_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../lib.sh"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"

if [ -n "${KB_IN_NS:-}" ]; then
	mkdir -p "$KB_TMP/varlib"
	mount --bind "$KB_TMP/varlib" /var/lib || fail "cannot bind a private /var/lib"
	say "/var/lib is private to this test (mount namespace)"
else
	[ -d /var/lib/kbackup ] || at_exit "rmdir /var/lib/kbackup"
	mkdir -p /var/lib/kbackup 2>/dev/null && [ -w /var/lib/kbackup ] ||
		skip "no private /var/lib and /var/lib/kbackup is not writable"
	say "using the real /var/lib/kbackup with this test's own instance names"
fi

# What the units say.
unit=$KB_TOP/systemd/kbackup-runnerd@.service
statedir=$(sed -n 's/^StateDirectory=//p' "$unit")
assert_eq "$statedir" "kbackup/%i" "kbackup-runnerd@'s StateDirectory="
assert_eq "$(sed -n 's/^StateDirectory=//p' "$KB_TOP/systemd/kbackup-runner@.service")" \
	"$statedir" "kbackup-runner@'s StateDirectory="
read -r -a exec_start <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
assert_eq "${exec_start[*]:1}" "-c /etc/kbackup/%i.conf run" "kbackup-runnerd@'s ExecStart="

confdir=$KB_TMP/etc/kbackup
mkdir -p "$confdir"
users=kbt$$-users orders=kbt$$-orders	# instance names: the config files' names
for def in users orders; do
	inst=${!def}
	sqlite3 "$KB_TMP/$def.db" "CREATE TABLE t (x); INSERT INTO t VALUES ('$def');"
	cat >"$confdir/$inst.conf" <<EOF2
[backup]
name = $def
namespace = test
engine = sqlite
schedule = 0 3 1 1 *

[sqlite]
path = $KB_TMP/$def.db

[storage]
type = file
path = $KB_TMP/backups
EOF2
	chmod 600 "$confdir/$inst.conf"
	at_exit "rm -rf /var/lib/kbackup/$inst"
done

# Starts the daemon of instance $1 as systemd would: its StateDirectory=
# created 0700 and named in $STATE_DIRECTORY, the ExecStart= arguments with
# the config directory moved to the test's.
start_unit() {	# instance
	local inst=$1 sd=/var/lib/${statedir//%i/$1} args=() a
	mkdir -p -m 0700 "$sd"
	for a in "${exec_start[@]:1}"; do
		a=${a//%i/$inst}
		args+=("${a/#\/etc\/kbackup/$confdir}")
	done
	: >"$KB_TMP/$inst.log"
	STATE_DIRECTORY=$sd "$RUNNER" "${args[@]}" >"$KB_TMP/$inst.out" 2>"$KB_TMP/$inst.log" &
	eval "PID_$2=\$!"
	at_exit "kill $!; wait $!"
}
start_unit "$users" users
start_unit "$orders" orders
for _ in $(seq 1 100); do
	grep -q 'msg="daemon started"' "$KB_TMP/$users.log" &&
		grep -q 'msg="daemon started"' "$KB_TMP/$orders.log" && break
	sleep 0.1
done
sleep 0.3	# a second daemon that fails does so at once
for def in users orders; do
	inst=${!def} pid=PID_$def
	kill -0 "${!pid}" 2>/dev/null || fail "the $def daemon exited: $(tail -3 "$KB_TMP/$inst.log")"
	grep -q 'msg="daemon started"' "$KB_TMP/$inst.log" ||
		fail "the $def daemon did not start: $(tail -3 "$KB_TMP/$inst.log")"
	[ -S "/var/lib/kbackup/$inst/test.$def/control.sock" ] ||
		fail "no control socket in $def's own state directory"
done

say "trigger from a shell reaches the right daemon"
unset STATE_DIRECTORY
manifests() { ls "$KB_TMP"/backups/test/"$1"/backups/*/manifest.json 2>/dev/null | wc -l; }
run_runner -c "$confdir/$users.conf" trigger backup
expect_rc 0 "trigger backup of users"
assert_eq "$(manifests users)" 1 "users backed up"
assert_eq "$(manifests orders)" 0 "orders backed up by users' trigger"
grep -q 'msg="backup committed"' "$KB_TMP/$users.log" || fail "users' daemon did not run it"
grep -q 'msg="backup committed"' "$KB_TMP/$orders.log" && fail "orders' daemon ran users' backup"
run_runner -c "$confdir/$orders.conf" trigger backup
expect_rc 0 "trigger backup of orders"
assert_eq "$(manifests orders)" 1 "orders backed up"
assert_eq "$(manifests users)" 1 "users backed up again by orders' trigger"
run_runner -c "$confdir/$orders.conf" trigger status
expect_rc 0 "trigger status of orders"
assert_contains "$KB_TMP/out" "idle" "status"

say "a shell's --once of a definition whose daemon runs: the daemon's lock"
run_runner -c "$confdir/$users.conf" --once
expect_rc 1 "--once while users' daemon runs"
assert_contains "$KB_TMP/log" "another kbackup-runner for test/users is running (pid $PID_users" \
	"the lock names the daemon"
assert_eq "$(manifests users)" 1 "a second backup of users"
echo ok

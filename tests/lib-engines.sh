# tests/lib-engines.sh: server helpers for the engine tests (MariaDB, Redis,
# etcd); sourced after tests/lib.sh.  Servers live in $KB_TMP and are stopped
# by the EXIT trap.  As root, mariadbd runs as user mysql.

# Files written since the test began are searched for secrets.
: >"$KB_TMP/.started"

# Fails if a file under $KB_TMP/work, or one written anywhere under /tmp
# since the test began (the allowed files aside: the test's own password
# files), holds secret.
assert_secret_nowhere() {	# secret what [allowed-file...]
	local secret=$1 what=$2 f hits=
	shift 2
	while IFS= read -r f; do
		case " $* " in *" $f "*) continue ;; esac
		hits="$hits $f"
	done < <(find "$KB_TMP/work" /tmp -xdev -type f \( -path "$KB_TMP/work/*" -o \
		-newer "$KB_TMP/.started" \) -size -1024k -print0 2>/dev/null | sort -zu |
		xargs -0 -r grep -laF -- "$secret" 2>/dev/null)
	[ -z "$hits" ] || fail "$what: the password is in$hits"
}

# A runner config: [backup] for ENGINE into a directory, the engine's section
# from stdin.
write_engine_config() {	# file engine [storage-dir]
	local file=$1 engine=$2 dir=${3:-$KB_TMP/backups}
	{
		cat <<EOF2
[backup]
name = db
namespace = test
engine = $engine
workdir = $KB_TMP/work

EOF2
		echo "[$engine]"
		cat
		cat <<EOF2

[storage]
type = file
path = $dir
EOF2
	} >"$file"
	chmod 600 "$file"
}

# The smallest definition: $DB, a SQLite file of one row, backed up by
# $KB_TMP/kb.conf into $KB_TMP/backups (the test is skipped without sqlite3).
sqlite_tiny() {
	command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
	DB=$KB_TMP/data/app.db
	mkdir -p "$KB_TMP/data"
	sqlite3 "$DB" "CREATE TABLE t (a); INSERT INTO t VALUES (1);"
	write_engine_config "$KB_TMP/kb.conf" sqlite <<EOF2
path = $DB
EOF2
}

# Fails unless nothing was committed under the storage dir (no manifest, no data).
expect_nothing_stored() {	# storage-dir what
	local n
	# Nor a directory: a failed backup's empty backups/ID/ stays for ever.
	n=$(find "$1" -mindepth 1 2>/dev/null | wc -l || true)
	[ "$n" = 0 ] || fail "$2: under $1: $(find "$1" -mindepth 1 | head -5)"
}

# verify --restore of backup ID with one bit of its data flipped half-way:
# exit 1, a FAILED line, the scratch database's drop logged.  The data is
# put back.
verify_restore_corrupt() {	# conf backups-dir id
	local data=$2/$3/data
	cp "$data" "$KB_TMP/data.orig"
	flip_bit "$data" "$(($(stat -c %s "$data") / 2))"
	run_runner -c "$1" verify --restore "$3"
	cp "$KB_TMP/data.orig" "$data"
	expect_rc 1 "verify --restore of a corrupt backup"
	assert_contains "$KB_TMP/out" "$3 FAILED backup $3 failed" "failure line"
	assert_contains "$KB_TMP/log" 'msg="dropped the scratch database"' "drop logged"
}

# Records the command lines (and environments) of programs named $@ while
# they run, into $KB_TMP/cmdlines and $KB_TMP/environs; stop with stop_watch.
watch_cmdlines() {
	: >"$KB_TMP/cmdlines"
	: >"$KB_TMP/environs"
	(
		while :; do
			for n in "$@"; do
				for p in $(pgrep -x "$n" 2>/dev/null); do
					{ tr '\0' ' ' </proc/$p/cmdline >>"$KB_TMP/cmdlines"
					echo >>"$KB_TMP/cmdlines"
					tr '\0' '\n' </proc/$p/environ >>"$KB_TMP/environs"; } 2>/dev/null || true
				done
			done
			sleep 0.01
		done
	) &
	KB_WATCHER=$!
	at_exit "kill $KB_WATCHER"
}
stop_watch() { kill "$KB_WATCHER" 2>/dev/null || true; wait "$KB_WATCHER" 2>/dev/null || true; }

# check, then a backup (--once) of conf watching tool: committed, the tool
# seen with an argument of its dump (when it ran long enough to be seen),
# the password neither in its argv nor in the log nor in storage, the
# workdir clean.  For the engines whose tool runs once per backup.
check_and_backup_watched() {	# conf tool seen-arg password
	local conf=$1 tool=$2 seen=$3 pw=$4

	say "check"
	run_runner -c "$conf" check
	expect_rc 0 "check"

	say "backup, watching $tool's command line"
	watch_cmdlines "$tool"
	run_runner -c "$conf" --once
	stop_watch
	expect_rc 0 "backup"
	assert_contains "$KB_TMP/log" 'msg="backup committed"' "backup log"
	if [ -s "$KB_TMP/cmdlines" ]; then
		assert_contains "$KB_TMP/cmdlines" "$seen" "$tool seen"
		assert_not_contains "$KB_TMP/cmdlines" "$pw" "password in $tool's argv"
	else
		echo "note: $tool ran too briefly to be seen"
	fi
	assert_not_contains "$KB_TMP/all.log" "$pw" "password in the log"
	assert_workdir_clean "$KB_TMP/work" "workdir"
	! grep -aqr "$pw" "$KB_TMP/backups" || fail "password in storage"
}

# A backup with a wrong password fails, commits nothing into its own
# storage, logs no password and leaves the workdir clean.  The engine's
# section is on stdin; its password_env names KB_TEST_BAD_PW.
wrong_password_fails() {	# engine
	say "a wrong password fails, nothing committed"
	write_engine_config "$KB_TMP/bad.conf" "$1" "$KB_TMP/bad-backups"
	export KB_TEST_BAD_PW="wrong-${RANDOM}-secret"
	run_runner -c "$KB_TMP/bad.conf" --once
	expect_rc 1 "backup with a wrong password"
	assert_contains "$KB_TMP/log" "backup failed" "failure message"
	assert_not_contains "$KB_TMP/log" "$KB_TEST_BAD_PW" "password in the log"
	expect_nothing_stored "$KB_TMP/bad-backups" "failed dump"
	assert_workdir_clean "$KB_TMP/work" "workdir after failure"
}

# A wrapper for a tool of the runner's (in a directory of its own, named as
# the tool): it passes stdin and arguments to the real tool, unless stdin
# holds $KB_PAUSE_AT; then it writes its pid to $KB_TMP/paused and sleeps,
# for a test to kill the runner right there.  With "args" (tools whose stdin
# is binary, such as pg_restore), the arguments are matched instead and
# stdin is left alone.
pause_wrapper() {	# dir tool real-path [args]
	local match='in=$(cat; echo x); what=$in'
	[ "${4:-}" = args ] && match='what="$*"'
	mkdir -p "$1"
	cat >"$1/$2" <<EOF2
#!/bin/bash
$match
case "\$what" in *"\${KB_PAUSE_AT:-#none#}"*) echo \$\$ >"$KB_TMP/paused"; exec sleep 60 ;; esac
[ -n "\${in+set}" ] || exec "$3" "\$@"
printf '%s' "\${in%x}" | exec "$3" "\$@"
EOF2
	chmod 755 "$1/$2"
}

# Starts the runner in the background with KB_PAUSE_AT=needle and waits
# until a pause_wrapper stops there; the runner's pid in $KB_PAUSED_RUNNER.
# Its output goes to $KB_TMP/paused.out and .log (run_runner may run meanwhile).
run_runner_until_paused() {	# needle args...
	local needle=$1
	shift
	rm -f "$KB_TMP/paused"
	KB_PAUSE_AT=$needle env -u PGPASSWORD "$RUNNER" "$@" >"$KB_TMP/paused.out" \
		2>"$KB_TMP/paused.log" &
	KB_PAUSED_RUNNER=$!
	for _ in $(seq 1 500); do
		[ -s "$KB_TMP/paused" ] && return 0
		kill -0 "$KB_PAUSED_RUNNER" 2>/dev/null || break
		sleep 0.02
	done
	kill -9 "$KB_PAUSED_RUNNER" 2>/dev/null || true
	fail "the runner never reached '$needle': $(tail -3 "$KB_TMP/paused.log")"
}
# SIGKILL for the paused runner (and its sleeping wrapper); rc: its status (137).
kill9_paused_runner() {
	kill -9 "$KB_PAUSED_RUNNER"
	set +e
	wait "$KB_PAUSED_RUNNER"
	rc=$?
	set -e
	kill "$(cat "$KB_TMP/paused")" 2>/dev/null || true
	cat "$KB_TMP/paused.log" >>"$KB_TMP/all.log"
}
# SIGKILL for the tool the runner is paused at, not the runner; waits for the
# runner, like run_runner (rc, log).
kill9_paused_tool() {
	kill -9 "$(cat "$KB_TMP/paused")"
	set +e
	wait "$KB_PAUSED_RUNNER"
	rc=$?
	set -e
	cp "$KB_TMP/paused.log" "$KB_TMP/log"
	cat "$KB_TMP/log" >>"$KB_TMP/all.log"
}
run_runner_kill9_at() {	# needle args...
	run_runner_until_paused "$@"
	kill9_paused_runner
}

# Starts the runner, kills it with SIGKILL after 0 to 0.39 s ($RANDOM: seed
# it), and waits for the children it had (they are not killed, as systemd
# or a container runtime would kill them: they run on, without the runner).
run_runner_kill9_random() {	# args...
	local pid
	setsid env -u PGPASSWORD "$RUNNER" "$@" >"$KB_TMP/out" 2>"$KB_TMP/log" &
	pid=$!
	sleep "$(printf '0.%02d' $((RANDOM % 40)))"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for _ in $(seq 1 300); do	# (zombies wait for whoever reaps orphans here)
		ps -o stat= -g "$pid" | grep -qv '^Z' || break
		sleep 0.05
	done
	cat "$KB_TMP/log" >>"$KB_TMP/all.log"
}

as_mysql() {
	if [ "$(id -u)" = 0 ]; then runuser -u mysql -- "$@"; else "$@"; fi
}

# mariadb_run NAME PORT: starts the server of $KB_TMP/NAME and waits until it
# answers; MY_ARGS_NAME: its binary log arguments (--skip-log-bin unless
# MY_SERVER_ARGS was set for mariadb_start).
mariadb_run() {	# name port
	local dir=$KB_TMP/$1 args
	eval "args=\$MY_ARGS_$1"
	# shellcheck disable=SC2086
	as_mysql /usr/sbin/mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" \
		--port="$2" --bind-address=127.0.0.1 --pid-file="$dir/mysqld.pid" \
		--log-error="$dir/error.log" --tmpdir="$dir/tmp" $args --innodb-buffer-pool-size=32M \
		--innodb-log-file-size=16M >/dev/null 2>&1 &
	for _ in $(seq 1 100); do
		[ -S "$dir/mysqld.sock" ] && mariadb --no-defaults -S "$dir/mysqld.sock" -uroot \
			-e 'SELECT 1' >/dev/null 2>&1 && break
		sleep 0.2
	done
	mariadb --no-defaults -S "$dir/mysqld.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 ||
		fail "mariadbd did not start: $(tail -5 "$dir/error.log")"
}

# mariadb_restart NAME: stops the server (waiting for it to be gone) and starts it again.
mariadb_restart() {	# name
	local dir=$KB_TMP/$1 pid port
	pid=$(cat "$dir/mysqld.pid")
	eval "port=\$MY_PORT_$1"
	kill "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	mariadb_run "$1" "$port"
}

# mariadb_start NAME: a fresh server; sets MY_SOCK_NAME, MY_PORT_NAME (as
# MY_SOCK / MY_PORT for the first one started), root password in MY_PASSWORD.
mariadb_start() {	# name
	local name=${1:-my} dir port sock
	command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || skip "mariadbd not installed"
	dir=$KB_TMP/$name
	port=$(free_port)
	sock=$dir/mysqld.sock
	# Its own tmpdir: two bootstraps at once in /tmp collide on their
	# temporary tables' names ("Unknown table 'mysql.tmp_user_sys'").
	mkdir -p "$dir/data" "$dir/tmp"
	if [ "$(id -u)" = 0 ]; then chown -R mysql "$dir"; fi
	mariadb-install-db --no-defaults --datadir="$dir/data" --tmpdir="$dir/tmp" --user=mysql \
		--auth-root-authentication-method=normal --skip-test-db \
		>"$dir/install.log" 2>&1 || fail "mariadb-install-db: $(tail -3 "$dir/install.log")"
	eval "MY_ARGS_$name=\${MY_SERVER_ARGS:---skip-log-bin}"
	mariadb_run "$name" "$port"
	at_exit "kill \$(cat $dir/mysqld.pid) ; sleep 1"
	MY_PASSWORD=${MY_PASSWORD:-"my-${RANDOM}${RANDOM}-not-in-argv"}
	mariadb --no-defaults -S "$sock" -uroot <<SQL
CREATE USER 'kb'@'127.0.0.1' IDENTIFIED BY '$MY_PASSWORD';
CREATE USER 'kb'@'localhost' IDENTIFIED BY '$MY_PASSWORD';
GRANT ALL ON *.* TO 'kb'@'127.0.0.1';
GRANT ALL ON *.* TO 'kb'@'localhost';
SQL
	if [ -z "${MY_SOCK:-}" ]; then MY_SOCK=$sock; MY_PORT=$port; fi
	eval "MY_SOCK_$name=\$sock; MY_PORT_$name=\$port"
}

my_q() {	# [mariadb args...] — the test's own client, as root on the socket, in UTF-8
	mariadb --no-defaults -S "$MY_SOCK" -uroot --default-character-set=utf8mb4 "$@"
}

# redis_start NAME [extra redis-server args]: sets REDIS_PORT_NAME; the first
# one's port in REDIS_PORT.  Password (requirepass) in REDIS_PASSWORD.
redis_start() {	# name [args...]
	local name=$1 dir port try
	shift
	command -v redis-server >/dev/null || skip "redis-server not installed"
	dir=$KB_TMP/$name
	mkdir -p "$dir"
	REDIS_PASSWORD=${REDIS_PASSWORD:-"rd-${RANDOM}${RANDOM}-not-in-argv"}
	for try in 1 2 3; do	# a free port may be taken by a client's ephemeral port meanwhile
		port=$(free_port)
		cat >"$dir/redis.conf" <<EOF2
port $port
bind 127.0.0.1
dir $dir
daemonize no
save ""
appendonly no
requirepass $REDIS_PASSWORD
logfile $dir/redis.log
EOF2
		redis-server "$dir/redis.conf" "$@" >/dev/null 2>&1 &
		at_exit "kill $!"
		for _ in $(seq 1 100); do
			rcli "$port" ping 2>/dev/null | grep -q PONG && break
			kill -0 $! 2>/dev/null || break
			sleep 0.1
		done
		rcli "$port" ping 2>/dev/null | grep -q PONG && break
	done
	rcli "$port" ping 2>/dev/null | grep -q PONG ||
		fail "redis-server did not start: $(tail -5 "$dir/redis.log")"
	[ -n "${REDIS_PORT:-}" ] || REDIS_PORT=$port
	eval "REDIS_PORT_$name=\$port"
}

rcli() {	# port args...
	local p=$1
	shift
	REDISCLI_AUTH=$REDIS_PASSWORD redis-cli --no-auth-warning -p "$p" "$@"
}

# etcd_start NAME [DATA_DIR]: an etcd on free ports; sets ETCD_EP_NAME (the
# first one's in ETCD_EP).  An existing DATA_DIR (a restored one) is used as is.
etcd_start() {	# name [data-dir]
	local name=$1 dir=${2:-$KB_TMP/$1/data} cport pport
	command -v etcd >/dev/null || skip "etcd not installed"
	mkdir -p "$KB_TMP/$name"
	cport=$(free_port)
	pport=$(free_port)
	etcd --name default --data-dir "$dir" \
		--listen-client-urls "http://127.0.0.1:$cport" \
		--advertise-client-urls "http://127.0.0.1:$cport" \
		--listen-peer-urls "http://127.0.0.1:$pport" \
		--initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "default=http://127.0.0.1:$pport" \
		>"$KB_TMP/$name/etcd.log" 2>&1 &
	at_exit "kill $!"
	for _ in $(seq 1 100); do
		ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$cport" endpoint health \
			>/dev/null 2>&1 && break
		ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$cport" endpoint health 2>&1 |
			grep -q "user name is empty\|authentication" && break
		sleep 0.2
	done
	[ -n "${ETCD_EP:-}" ] || ETCD_EP=127.0.0.1:$cport
	eval "ETCD_EP_$name=127.0.0.1:\$cport"
	ETCD_PEER_PORT=$pport
}

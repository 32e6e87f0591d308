#!/usr/bin/env bash
# MariaDB → kbackup-runner --once → a directory → restore into another
# database (created) and over the original after damage: schema, routines
# and every row equal.  Then two databases in one backup, restored by name.
# The password is in no child's argv and no log; the option file is gone
# after the job; a wrong password fails with nothing committed.
# verify --restore: exact counts, odd names, --target and its refusals; no
# scratch database is left after a success, a failure or SIGTERM.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-engines.sh"

mariadb_start my

my_q <<'SQL'
CREATE DATABASE shop CHARACTER SET utf8mb4;
USE shop;
CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL,
	balance DECIMAL(12,2), active BOOL, born DATE, seen DATETIME(6), avatar BLOB,
	profile JSON, mood ENUM('sad','ok','happy'), score DOUBLE, UNIQUE KEY (name));
INSERT INTO customers (name, balance, active, born, seen, avatar, profile, mood, score)
SELECT CONCAT('name ', seq, ' ü€ "q''uoted"\ttab'), seq * 1.25, seq % 2,
	DATE('1970-01-01') + INTERVAL seq DAY, TIMESTAMP('2026-01-01') + INTERVAL seq MINUTE,
	UNHEX(MD5(seq)), JSON_OBJECT('i', seq, 'n', JSON_ARRAY(seq, 'v')),
	ELT(1 + seq % 3, 'sad', 'ok', 'happy'), seq / 3
FROM seq_1_to_3000;
CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer INT, total DECIMAL(12,2),
	note TEXT, FOREIGN KEY (customer) REFERENCES customers(id)) ENGINE=InnoDB;
INSERT INTO orders (customer, total, note)
SELECT 1 + seq % 3000, seq * 3.5, IF(seq % 7 = 0, NULL, REPEAT('n', seq % 50)) FROM seq_1_to_6000;
CREATE TABLE log (id INT PRIMARY KEY, msg TEXT) ENGINE=MyISAM;
INSERT INTO log VALUES (1, 'myisam row');
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
CREATE FUNCTION order_count(c INT) RETURNS INT READS SQL DATA
	RETURN (SELECT COUNT(*) FROM orders WHERE customer = c);
CREATE TRIGGER orders_note BEFORE INSERT ON orders FOR EACH ROW
	SET NEW.note = IFNULL(NEW.note, 'none');
CREATE DATABASE other;
CREATE TABLE other.kv (k VARCHAR(20) PRIMARY KEY, v VARBINARY(100));
INSERT INTO other.kv VALUES ('a', 0x00ff), ('b', NULL);
SQL

# Schema (without comments and AUTO_INCREMENT counters) and every row.
fingerprint() {	# database
	mariadb-dump --no-defaults -S "$MY_SOCK" -uroot --skip-dump-date --skip-comments \
		--routines --triggers --no-data "$1" | sed -e 's/ AUTO_INCREMENT=[0-9]*//'
	for t in $(my_q -N -e "SELECT table_name FROM information_schema.tables
		WHERE table_schema = '$1' AND table_type = 'BASE TABLE' ORDER BY 1"); do
		echo "-- $t"
		my_q -N -e "CHECKSUM TABLE \`$1\`.\`$t\` EXTENDED" | cut -f2
		my_q -N -e "SELECT COUNT(*) FROM \`$1\`.\`$t\`"
	done
}

# The dump through a wrapper that records its argv and environment: a dump too
# quick for the /proc watcher is still seen.
cat >"$KB_TMP/dump-wrapper" <<'EOF'
#!/bin/sh
printf '%s ' "$0" "$@" >>"${0%/*}/cmdlines"; echo >>"${0%/*}/cmdlines"
env >>"${0%/*}/environs"
exec mariadb-dump "$@"
EOF
chmod 755 "$KB_TMP/dump-wrapper"

write_engine_config "$KB_TMP/kb.conf" mysql <<EOF
dump_command = $KB_TMP/dump-wrapper
host = 127.0.0.1
port = $MY_PORT
user = kb
password_env = KB_TEST_MYSQL_PW
databases = shop
EOF
export KB_TEST_MYSQL_PW=$MY_PASSWORD

say "check"
run_runner -c "$KB_TMP/kb.conf" check
expect_rc 0 "check"
assert_contains "$KB_TMP/out" "database: ok" "check output"

say "backup, watching the dump's command line"
watch_cmdlines mariadb-dump mysqldump
run_runner -c "$KB_TMP/kb.conf" --once
stop_watch
expect_rc 0 "backup"
assert_contains "$KB_TMP/log" 'msg="backup committed"' "backup log"
assert_contains "$KB_TMP/cmdlines" "--single-transaction" "dump seen"
grep -q '^[^ ]* --defaults-extra-file=' "$KB_TMP/cmdlines" ||
	fail "--defaults-extra-file is not the first argument: $(head -2 "$KB_TMP/cmdlines")"
assert_not_contains "$KB_TMP/cmdlines" "$MY_PASSWORD" "password in the dump's argv"
assert_not_contains "$KB_TMP/environs" "$MY_PASSWORD" "password in the dump's environment"
assert_not_contains "$KB_TMP/all.log" "$MY_PASSWORD" "password in the log"
[ -z "$(find "$KB_TMP/work" -name 'my.cnf*')" ] || fail "option file left in workdir"
id=$(ls "$KB_TMP/backups/test/db/backups")
grep -q '"engine": "mysql"' "$KB_TMP/backups/test/db/backups/$id/manifest.json" || fail "manifest"
! grep -aqr "$MY_PASSWORD" "$KB_TMP/backups" || fail "password in storage"

say "restore into a new database, compare"
restore_copy_same fingerprint shop shop_copy
assert_eq "$(my_q -N -e 'SELECT shop_copy.order_count(5)')" 2 "routine restored"

say "damage the original, restore by ID into the configured database"
my_q -e "DROP TABLE shop.orders; DELETE FROM shop.customers WHERE id > 10; DROP VIEW shop.big_orders"
run_runner -c "$KB_TMP/kb.conf" restore "$id"
expect_rc 0 "restore over shop"
fingerprint shop >"$KB_TMP/c"
diff -u "$KB_TMP/a" "$KB_TMP/c" >"$KB_TMP/diff" || fail "restore over shop differs: $(head -20 "$KB_TMP/diff")"
assert_not_contains "$KB_TMP/all.log" "$MY_PASSWORD" "password in the log"

# verify --restore: every base table with its COUNT(*), as the test's client
# counts it (information_schema's row estimates would not match), names as
# batch mode prints them (a backslash doubled), in UTF-8 as the runner
# prints them whatever the locale; no scratch database is left by a success
# or a failure.
my_counts() {	# database
	local t n
	my_q -N -r -e "SELECT table_name FROM information_schema.tables
		WHERE table_schema = '$1' AND table_type IN ('BASE TABLE', 'SYSTEM VERSIONED')
		ORDER BY table_name" |
	while IFS= read -r t; do
		n=$(my_q -N -e "SELECT COUNT(*) FROM \`$1\`.\`${t//\`/\`\`}\`")
		printf '%s\t%s\n' "${t//\\/\\\\}" "$n"
	done
}
databases() { my_q -N -e "SHOW DATABASES" | tr '\n' ' '; }
scratch_dbs() { my_q -N -e "SHOW DATABASES LIKE 'kbackup\\_verify\\_%'"; }
# A config for user kb over the socket; more keys on stdin.
my_socket_config() {	# file storage-dir databases
	{ printf 'socket = %s\nuser = kb\npassword_env = KB_TEST_MYSQL_PW\ndatabases = %s\n' \
		"$MY_SOCK" "$3"; cat; } | write_engine_config "$1" mysql "$2"
}
verify_counts() {	# database what: verify's table lines against my_counts
	my_counts "$1" >"$KB_TMP/expected"
	grep -P '\t' "$KB_TMP/out" >"$KB_TMP/got" || true
	diff -u "$KB_TMP/expected" "$KB_TMP/got" >"$KB_TMP/diff" ||
		fail "$2: counts differ from the client's: $(cat "$KB_TMP/diff")"
}
dbs_before=$(databases)

say "verify --restore latest"
run_runner -c "$KB_TMP/kb.conf" verify --restore latest
expect_rc 0 "verify --restore latest"
verify_counts shop "verify --restore latest"
assert_contains "$KB_TMP/out" "$id ok: restored" "summary line"
assert_contains "$KB_TMP/out" "3 tables, 9001 rows; dropped it" "summary counts"
assert_contains "$KB_TMP/log" 'msg="dropped the scratch database" database=kbackup_verify_' "drop"
assert_eq "$(databases)" "$dbs_before" "databases after verify --restore"
assert_not_contains "$KB_TMP/all.log" "$MY_PASSWORD" "password in the log"
[ -z "$(find "$KB_TMP/work" -name 'my.cnf*')" ] || fail "option file left by verify"

say "verify --restore: odd table names, a system-versioned table, a sequence and a view"
my_q <<'SQL'
CREATE DATABASE odd;
USE odd;
CREATE TABLE `it's "quoted"` (i INT PRIMARY KEY);
INSERT INTO `it's "quoted"` SELECT seq FROM seq_1_to_7;
CREATE TABLE `back``tick` (i INT);
INSERT INTO `back``tick` VALUES (1), (2);
CREATE TABLE `back\slash` (i INT);
INSERT INTO `back\slash` SELECT seq FROM seq_1_to_5;
CREATE TABLE `ünï €` (i INT);
CREATE TABLE versioned (i INT PRIMARY KEY, v INT) WITH SYSTEM VERSIONING;
INSERT INTO versioned SELECT seq, 0 FROM seq_1_to_40;
UPDATE versioned SET v = 1 WHERE i <= 20;
CREATE TABLE estimated (i INT PRIMARY KEY, pad CHAR(200)) ENGINE=InnoDB;
INSERT INTO estimated SELECT seq, 'x' FROM seq_1_to_20000;
CREATE SEQUENCE counter;
CREATE VIEW every_tick AS SELECT * FROM `back``tick`;
SQL
my_socket_config "$KB_TMP/odd.conf" "$KB_TMP/odd-backups" odd </dev/null
run_runner -c "$KB_TMP/odd.conf" --once
expect_rc 0 "backup of odd"
dbs_before=$(databases)
run_runner -c "$KB_TMP/odd.conf" verify --restore latest
expect_rc 0 "verify --restore odd"
cat "$KB_TMP/out"
verify_counts odd "verify --restore odd"
assert_contains "$KB_TMP/out" "6 tables, 20054 rows; dropped it" "odd summary"
assert_eq "$(databases)" "$dbs_before" "databases after verify --restore odd"

say "verify --restore --target: a new name is used and dropped, an existing one refused"
target="kb chéck's \`copy\`"
run_runner -c "$KB_TMP/odd.conf" verify --restore latest --target "$target"
expect_rc 0 "verify --restore --target"
verify_counts odd "verify --restore --target"
assert_contains "$KB_TMP/out" "into $target, 6 tables" "summary names the target"
assert_eq "$(databases)" "$dbs_before" "databases after verify --restore --target"
run_runner -c "$KB_TMP/odd.conf" verify --restore latest --target shop
expect_rc 2 "--target an existing database"
assert_contains "$KB_TMP/log" "the --target database exists" "message"
run_runner -c "$KB_TMP/odd.conf" verify --restore latest --target odd
expect_rc 2 "--target the configured database"
assert_eq "$(databases)" "$dbs_before" "databases after refused --target"
assert_eq "$(my_q -N -e 'SELECT COUNT(*) FROM odd.estimated')" 20000 "odd left alone"

say "verify --restore of a corrupt backup fails and drops its scratch database"
verify_restore_corrupt "$KB_TMP/kb.conf" "$KB_TMP/backups/test/db/backups" "$id"
assert_eq "$(databases)" "$dbs_before" "databases after a corrupt backup"

say "verify --restore of a dump the server refuses fails and drops its scratch database"
cat >"$KB_TMP/bad-dump" <<'EOF'
#!/bin/sh
mariadb-dump "$@" || exit
echo 'INSERT INTO no_such_table VALUES (1);'
EOF
chmod 755 "$KB_TMP/bad-dump"
echo "dump_command = $KB_TMP/bad-dump" |
	my_socket_config "$KB_TMP/refused.conf" "$KB_TMP/refused-backups" shop
run_runner -c "$KB_TMP/refused.conf" --once
expect_rc 0 "backup through bad-dump"
run_runner -c "$KB_TMP/refused.conf" verify --restore latest
expect_rc 1 "verify --restore of a refused dump"
assert_contains "$KB_TMP/out" " FAILED " "failure line"
assert_contains "$KB_TMP/log" "no_such_table" "the server's error"
assert_contains "$KB_TMP/log" 'msg="dropped the scratch database"' "drop logged"
assert_eq "$(databases)" "$dbs_before" "databases after a refused dump"
[ -z "$(find "$KB_TMP/work" -name 'my.cnf*')" ] || fail "option file left by a failed verify"

say "SIGTERM half-way: the client is stopped, the scratch database dropped, exit 1"
# The restore client starts reading late, so the pipe is full when SIGTERM comes.
cat >"$KB_TMP/slow-client" <<'EOF'
#!/bin/sh
case " $* " in *" --binary-mode "*) sleep 5 ;; esac
exec mariadb "$@"
EOF
chmod 755 "$KB_TMP/slow-client"
echo "client_command = $KB_TMP/slow-client" |
	my_socket_config "$KB_TMP/slow.conf" "$KB_TMP/odd-backups" odd
run_runner_term_when scratch_dbs -c "$KB_TMP/slow.conf" verify --restore latest
expect_rc 1 "verify --restore after SIGTERM"
assert_contains "$KB_TMP/log" "interrupted by signal 15" "interruption logged"
assert_eq "$(databases)" "$dbs_before" "databases after SIGTERM"

say "two databases in one backup, over the unix socket"
write_engine_config "$KB_TMP/two.conf" mysql "$KB_TMP/two-backups" <<EOF
socket = $MY_SOCK
user = kb
password_env = KB_TEST_MYSQL_PW
databases = shop other
EOF
run_runner -c "$KB_TMP/two.conf" --once
expect_rc 0 "backup of two databases"
fingerprint other >"$KB_TMP/o1"
my_q -e "DROP DATABASE other; DROP TABLE shop.log"
run_runner -c "$KB_TMP/two.conf" restore latest
expect_rc 0 "restore of two databases"
fingerprint other >"$KB_TMP/o2"
fingerprint shop >"$KB_TMP/d"
diff -u "$KB_TMP/o1" "$KB_TMP/o2" >/dev/null || fail "database other differs"
diff -u "$KB_TMP/a" "$KB_TMP/d" >/dev/null || fail "database shop differs after the two-database restore"
run_runner -c "$KB_TMP/two.conf" restore latest --database elsewhere
expect_rc 1 "restore of two databases into one name"
assert_contains "$KB_TMP/log" "needs a backup of one database" "message"
dbs_before=$(databases)
run_runner -c "$KB_TMP/two.conf" verify --restore latest
expect_rc 2 "verify --restore of two databases"
assert_contains "$KB_TMP/log" "verify --restore needs a backup of one database" "message"
run_runner -c "$KB_TMP/two.conf" verify --restore latest --target elsewhere
expect_rc 2 "verify --restore --target of two databases"
assert_contains "$KB_TMP/log" "verify --restore needs a backup of one database" "message"
assert_eq "$(databases)" "$dbs_before" "databases after verify of two databases"

say "a wrong password fails, nothing committed"
write_engine_config "$KB_TMP/bad.conf" mysql "$KB_TMP/bad-backups" <<EOF
host = 127.0.0.1
port = $MY_PORT
user = kb
password_env = KB_TEST_BAD_PW
databases = shop
EOF
export KB_TEST_BAD_PW="wrong-${RANDOM}-secret"
run_runner -c "$KB_TMP/bad.conf" --once
expect_rc 1 "backup with a wrong password"
assert_contains "$KB_TMP/log" "Access denied" "failure message"
assert_contains "$KB_TMP/log" "backup failed" "failure message"
assert_not_contains "$KB_TMP/log" "$KB_TEST_BAD_PW" "password in the log"
expect_nothing_stored "$KB_TMP/bad-backups" "failed dump"
[ -z "$(find "$KB_TMP/work" -name 'my.cnf*')" ] || fail "option file left after failure"
echo ok

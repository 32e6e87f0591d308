#!/usr/bin/env bash
# Whole-server logical backups (databases = *): a real PostgreSQL with three
# databases of its own (one with a non-ASCII name, one owned by a role that
# owns objects and has a membership) and two roles with passwords and
# settings, backed up and restored onto a second, empty cluster: the same
# roles (password hashes included), memberships, databases (owners, settings,
# grants) and every schema and row.  A database created later is in the next
# backup, a dropped one is not; exclude takes globs; --only restores one
# database and touches no other; --globals leaves an existing role's password
# alone unless --globals=replace; unpack -o DIR, verify, verify --restore
# --only.  A dump that fails for one database (CONNECT revoked) fails the
# backup, names the database, lists nothing and leaves no part in storage.
. "$(dirname "$0")/../lib.sh"

pg_start
A=$PGPORT
printf 'b-side-%s\n' "$RANDOM$RANDOM" >"$KB_TMP/pgpw-b"
pg_cluster_start pg-b "$KB_TMP/pgpw-b"
B=$CLUSTER_PORT
on_b() { PGPORT=$B PGPASSWORD=$(cat "$KB_TMP/pgpw-b") "$@"; }

say "a server: roles, memberships, settings, three databases"
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
CREATE ROLE readers NOLOGIN;
CREATE ROLE alice LOGIN PASSWORD 'alice-secret-pw' CONNECTION LIMIT 7;
ALTER ROLE alice SET work_mem = '8MB';
GRANT readers TO alice;
CREATE ROLE "bob ü" LOGIN PASSWORD 'bob-secret-pw';
ALTER ROLE "bob ü" SET search_path = public, extra;
CREATE DATABASE app OWNER alice;
ALTER DATABASE app SET statement_timeout = '9s';
GRANT CONNECT ON DATABASE app TO readers;
ALTER ROLE alice IN DATABASE app SET lock_timeout = '3s';
CREATE DATABASE "ünï-db";
SQL
pg_load_sample shop 200
psql -X -q -v ON_ERROR_STOP=1 -d app <<'SQL'
SET ROLE alice;
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id int PRIMARY KEY, total numeric, note text);
INSERT INTO billing.invoices SELECT i, i * 1.5, 'n' || i FROM generate_series(1, 300) i;
CREATE VIEW billing.big AS SELECT * FROM billing.invoices WHERE total > 100;
RESET ROLE;
GRANT SELECT ON billing.invoices TO readers;
SQL
psql_q "ünï-db" "CREATE TABLE wörter (w text); INSERT INTO wörter VALUES ('grüße'), ('naïve')"
alice_hash=$(psql_q postgres "SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'")

write_pg_config "$KB_TMP/kb.conf" unused
sed -i 's/^database = unused$/databases = */' "$KB_TMP/kb.conf"
printf 'encryption_key_file = %s\n' "$KB_TMP/enc" >>"$KB_TMP/kb.conf"
printf 'server-backup-passphrase\n' >"$KB_TMP/enc"
sed -e "s/^port = .*/port = $B/" -e "s|^password_file = .*|password_file = $KB_TMP/pgpw-b|" \
	"$KB_TMP/kb.conf" >"$KB_TMP/b.conf"
chmod 600 "$KB_TMP/b.conf"

say "backup of *: globals and one part per database"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup of *"
run_runner -c "$KB_TMP/kb.conf" list
assert_contains "$KB_TMP/out" "globals + 4 databases: app postgres shop ünï-db" "list: what the backup holds"
first=$(ls "$KB_TMP/backups/test/orders/backups")
manifest=$KB_TMP/backups/test/orders/backups/$first/manifest.json
python3 - "$manifest" "$KB_TMP/backups" <<'PY' || fail "manifest parts"
import json, os, sys
m = json.load(open(sys.argv[1]))
names = [p["name"] for p in m["parts"]]
assert names == ["globals", "database:app", "database:postgres", "database:shop",
                 "database:ünï-db"], names
for p in m["parts"]:
    assert len(p["sha256"]) == 64 and p["raw_bytes"] > 0, p
    assert p["encryption"]["cipher"] == "aes-256-gcm", p
    assert os.path.getsize(os.path.join(sys.argv[2], p["key"])) == p["stored_bytes"], p
assert m["raw_bytes"] == sum(p["raw_bytes"] for p in m["parts"])
PY

say "the globals' password hashes: in no log, no workdir file, nowhere in plain in storage"
assert_not_contains "$KB_TMP/all.log" "$alice_hash" "alice's hash in the log"
assert_not_contains "$KB_TMP/all.log" "SCRAM-SHA-256" "a hash in the log"
! grep -rqF "SCRAM-SHA-256" "$KB_TMP/backups" "$KB_TMP/work" || fail "a password hash in storage or the workdir"

say "verify: every part; verify --restore --only one database"
run_runner -c "$KB_TMP/kb.conf" verify latest
expect_rc 0 "verify"
assert_contains "$KB_TMP/out" "$first ok (" "verify"
assert_contains "$KB_TMP/out" "5 parts" "verify checks every part"
run_runner -c "$KB_TMP/kb.conf" verify --restore --only app latest
expect_rc 0 "verify --restore --only app"
assert_contains "$KB_TMP/out" "$first database app ok: restored" "verify --restore of app"
assert_contains "$KB_TMP/out" "1 tables, 300 rows" "app's rows counted"
assert_not_contains "$KB_TMP/out" "database shop" "verify --restore --only app restored shop"

say "unpack -o DIR: one file per part"
run_runner -c "$KB_TMP/kb.conf" unpack latest -o "$KB_TMP/unpacked"
expect_rc 0 "unpack into a directory"
grep -q '^CREATE ROLE alice;' "$KB_TMP/unpacked/globals" || fail "unpack: no roles in globals"
pg_restore -l "$KB_TMP/unpacked/database:shop" | grep -q "TABLE public customers" ||
	fail "unpack: database:shop is no pg_dump archive"
[ -f "$KB_TMP/unpacked/database:ünï-db" ] || fail "unpack: no file for ünï-db"
run_runner -c "$KB_TMP/kb.conf" unpack latest -o -
expect_rc 2 "unpack of several parts to stdout"
run_runner -c "$KB_TMP/kb.conf" unpack latest --only shop -o "$KB_TMP/shop.pgdump"
expect_rc 0 "unpack --only shop"
pg_restore -l "$KB_TMP/shop.pgdump" >/dev/null || fail "unpack --only: not an archive"

say "restore onto an empty server: dry run, then everything"
run_runner -c "$KB_TMP/b.conf" restore latest --database x
expect_rc 2 "--database with several databases"
run_runner -c "$KB_TMP/b.conf" restore latest --dry-run
expect_rc 0 "dry run"
assert_contains "$KB_TMP/out" "globals: roles and tablespaces the server lacks are created; existing ones are left as they are" "dry run: globals"
assert_contains "$KB_TMP/out" "database app into app: missing: created as it was" "dry run: app"
assert_contains "$KB_TMP/out" "database postgres into postgres: it exists" "dry run: postgres"
[ "$(on_b psql_q postgres "SELECT count(*) FROM pg_roles WHERE rolname = 'alice'")" = 0 ] ||
	fail "the dry run restored something"
b_postgres=$(on_b psql_q postgres "SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'")
run_runner -c "$KB_TMP/b.conf" restore latest
expect_rc 0 "restore of everything"
roles="SELECT a.rolname, a.rolpassword, r.rolcanlogin, r.rolconnlimit, r.rolconfig
	FROM pg_authid a JOIN pg_roles r USING (oid)
	WHERE a.rolname !~ '^pg_' AND a.rolname <> 'postgres' ORDER BY 1"
members="SELECT r.rolname, m.rolname, g.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid
	JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.grantor ORDER BY 1, 2"
dbs="SELECT datname, pg_get_userbyid(datdba), datacl, pg_encoding_to_char(encoding), datcollate
	FROM pg_database ORDER BY 1"
settings="SELECT coalesce(d.datname, '-'), coalesce(r.rolname, '-'), s.setconfig FROM pg_db_role_setting s
	LEFT JOIN pg_database d ON d.oid = s.setdatabase LEFT JOIN pg_roles r ON r.oid = s.setrole ORDER BY 1, 2"
for q in "$roles" "$members" "$dbs" "$settings"; do
	want=$(psql_q postgres "$q")
	got=$(on_b psql_q postgres "$q")
	[ -n "$want" ] || fail "nothing to compare: $q"
	assert_eq "$got" "$want" "the empty server after the restore: $q"
done
assert_eq "$(on_b psql_q postgres "SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'")" \
	"$b_postgres" "the restore kept the password of the role it connects as"
for db in app shop "ünï-db" postgres; do
	pg_fingerprint "$db" >"$KB_TMP/a.fp"
	on_b pg_fingerprint "$db" >"$KB_TMP/b.fp"
	cmp -s "$KB_TMP/a.fp" "$KB_TMP/b.fp" || fail "$db differs after the restore: $(diff "$KB_TMP/a.fp" "$KB_TMP/b.fp" | head -5)"
done
assert_eq "$(on_b psql_q app "SELECT count(*) FROM billing.invoices")" 300 "app's rows"

say "--only restores one database and touches no other"
on_b psql_q shop "DELETE FROM orders"
on_b psql_q app "INSERT INTO billing.invoices VALUES (1000, 1, 'only on B')"
run_runner -c "$KB_TMP/b.conf" restore latest --only shop
expect_rc 0 "restore --only shop"
assert_eq "$(on_b psql_q shop "SELECT count(*) FROM orders")" 400 "shop restored"
assert_eq "$(on_b psql_q app "SELECT count(*) FROM billing.invoices WHERE id = 1000")" 1 "--only shop touched app"
assert_not_contains "$KB_TMP/log" "part=globals" "--only restored the globals"

say "--globals onto a server whose role exists: its password stays, unless replace"
on_b psql_q postgres "ALTER ROLE alice PASSWORD 'changed-on-b'; DROP ROLE \"bob ü\""
b_alice=$(on_b psql_q postgres "SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'")
run_runner -c "$KB_TMP/b.conf" restore latest --only app --globals
expect_rc 0 "restore --only app --globals"
assert_eq "$(on_b psql_q postgres "SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'")" \
	"$b_alice" "--globals reset alice's password"
assert_eq "$(on_b psql_q postgres "SELECT rolpassword FROM pg_authid WHERE rolname = 'bob ü'")" \
	"$(psql_q postgres "SELECT rolpassword FROM pg_authid WHERE rolname = 'bob ü'")" "--globals: a missing role, made again"
run_runner -c "$KB_TMP/b.conf" restore latest --only app --globals=replace
expect_rc 0 "restore --globals=replace"
assert_eq "$(on_b psql_q postgres "SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'")" \
	"$alice_hash" "--globals=replace: alice's password from the backup"

say "a database created after the first backup is in the next one; a dropped one is not"
psql_q postgres "CREATE DATABASE later"
psql_q later "CREATE TABLE t AS SELECT generate_series(1, 5) AS i"
psql_q postgres "DROP DATABASE \"ünï-db\""
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "second backup"
run_runner -c "$KB_TMP/kb.conf" list
second=$(ls "$KB_TMP/backups/test/orders/backups" | grep -v "^$first$")
assert_contains "$KB_TMP/out" "globals + 4 databases: app later postgres shop" "the second backup's databases"
assert_contains "$KB_TMP/out" "globals + 4 databases: app postgres shop ünï-db" "the first backup's databases"

say "restore of a database the latest backup lacks: the newest backup that holds it"
run_runner -c "$KB_TMP/kb.conf" restore latest --only "ünï-db"
expect_rc 0 "restore --only ünï-db"
assert_contains "$KB_TMP/log" "latest=$second id=$first" "took the newest backup holding it"
assert_eq "$(psql_q "ünï-db" "SELECT string_agg(w, ',' ORDER BY w) FROM wörter")" "grüße,naïve" "ünï-db is back"
run_runner -c "$KB_TMP/kb.conf" restore "$second" --only "ünï-db"
expect_rc 1 "restore of a backup without the database"
assert_contains "$KB_TMP/log" "the backup holds no such database" "message"
run_runner -c "$KB_TMP/kb.conf" restore --at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --only nosuch
expect_rc 1 "--at of a database no backup holds"
assert_contains "$KB_TMP/log" "holds database nosuch" "message names the database"

say "exclude: globs"
write_pg_config "$KB_TMP/ex.conf" unused "$KB_TMP/ex-backups"
sed -i 's/^database = unused$/databases = *\nexclude = sh* post?res\nglobals = no/' "$KB_TMP/ex.conf"
run_runner -c "$KB_TMP/ex.conf" --once
expect_rc 0 "backup with exclude"
run_runner -c "$KB_TMP/ex.conf" list
assert_contains "$KB_TMP/out" " 3 databases: app later ünï-db" "exclude left shop and postgres out, globals = no"

say "a dump that fails for one database: exit 1, the database named, nothing listed or left"
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
CREATE ROLE dumper LOGIN PASSWORD 'dumper-pw' IN ROLE pg_read_all_data;
CREATE DATABASE locked;
REVOKE CONNECT ON DATABASE locked FROM PUBLIC;
SQL
printf 'dumper-pw\n' >"$KB_TMP/dumperpw"
write_pg_config "$KB_TMP/fail.conf" unused "$KB_TMP/fail-backups"
sed -i -e 's/^database = unused$/databases = *\nrole_passwords = no/' -e 's/^user = postgres$/user = dumper/' \
	-e "s|^password_file = .*|password_file = $KB_TMP/dumperpw|" "$KB_TMP/fail.conf"
run_runner -c "$KB_TMP/fail.conf" --once
expect_rc 1 "a dump refused for one database"
assert_contains "$KB_TMP/log" 'msg="backup failed"' "failure logged"
assert_contains "$KB_TMP/log" "the dump of database locked failed" "the message names the database"
assert_contains "$KB_TMP/log" 'part="database app"' "parts before it were written"
left=$(find "$KB_TMP/fail-backups" -type f 2>/dev/null || true)
[ -z "$left" ] || fail "the failed backup left: $left"
run_runner -c "$KB_TMP/fail.conf" list
assert_not_contains "$KB_TMP/out" "databases:" "the failed backup is listed"
assert_workdir_clean "$KB_TMP/work" "after the failed backup"
echo ok

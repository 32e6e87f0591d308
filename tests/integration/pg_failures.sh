#!/usr/bin/env bash
# Failing dumps (wrong password, unknown database, server down) end with exit
# status 1, a log line that says why, and nothing in storage.
# The client tools for the server: with bin_dir unset, the server's major
# from /usr/lib/postgresql, else the newest newer one (stand-in trees of
# links to the real tools under other major numbers, KBACKUP_POSTGRESQL_ROOT);
# only older ones: backup, restore and check fail naming the server's version
# and the package, with nothing stored and no database created -- a backup
# before it writes its job marker, so the store is not touched at all.
. "$(dirname "$0")/../lib.sh"

pg_start
pg_load_sample shop 10

nothing_stored() {
	local left
	left=$(find "$KB_TMP/backups" -type f 2>/dev/null || true)
	[ -z "$left" ] || fail "$1: left in storage: $left"
}

say "wrong password"
write_pg_config "$KB_TMP/kb.conf" shop
printf 'wrong-password\n' >"$KB_TMP/wrongpw"
sed -i "s|^password_file = .*|password_file = $KB_TMP/wrongpw|" "$KB_TMP/kb.conf"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 1 "wrong password"
assert_contains "$KB_TMP/log" "password authentication failed" "wrong password: why"
assert_contains "$KB_TMP/log" 'msg="backup failed"' "wrong password: failure logged"
assert_not_contains "$KB_TMP/log" "wrong-password" "the password in the log"
nothing_stored "wrong password"

say "unknown database"
write_pg_config "$KB_TMP/kb.conf" nosuchdb
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 1 "unknown database"
assert_contains "$KB_TMP/log" 'nosuchdb\" does not exist' "unknown database: why"
nothing_stored "unknown database"

say "restore with no backup at all"
run_runner -c "$KB_TMP/kb.conf" restore latest
expect_rc 1 "restore without backups"
assert_contains "$KB_TMP/log" "there is no backup yet" "restore without backups: why"

say "bin_dir unset: the client of the server's major"
version=$(psql_q postgres "SHOW server_version" | cut -d' ' -f1)
major=$(($(psql_q postgres "SHOW server_version_num") / 10000))
write_pg_config "$KB_TMP/kb.conf" shop "$KB_TMP/ok-backups"
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup, bin_dir unset"
assert_contains "$KB_TMP/log" "msg=\"PostgreSQL client chosen for the server\" server=$version bin_dir=/usr/lib/postgresql/$major/bin" \
	"the installed client of the server's major"
manifest=$(ls "$KB_TMP"/ok-backups/test/orders/backups/*/manifest.json)
grep -q "\"tool_version\": \"pg_dump (PostgreSQL) $version" "$manifest" ||
	fail "the manifest names another pg_dump: $(grep tool_version "$manifest")"

# ROOT/MAJOR/bin with links to the real tools, as apt lays out several clients.
client_tree() {	# root major...
	local root=$1 m t
	shift
	for m in "$@"; do
		mkdir -p "$root/$m/bin"
		for t in pg_dump pg_restore psql; do ln -s "$PG_BIN/$t" "$root/$m/bin/$t"; done
	done
}
client_tree "$KB_TMP/clients-match" $((major - 2)) "$major" $((major + 1))
client_tree "$KB_TMP/clients-newer" $((major - 2)) $((major + 1)) $((major + 3))
client_tree "$KB_TMP/clients-older" $((major - 2)) $((major - 1))
mkdir -p "$KB_TMP/clients-none/9.6/bin" "$KB_TMP/clients-none/$major"	# none usable

# One storage directory per backup below: two backups within a second may share an ID.
say "stand-in clients: the server's major among others"
write_pg_config "$KB_TMP/kb.conf" shop "$KB_TMP/match-backups"
KBACKUP_POSTGRESQL_ROOT=$KB_TMP/clients-match run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup with the server's major installed"
assert_contains "$KB_TMP/log" "bin_dir=$KB_TMP/clients-match/$major/bin" "the server's major, not a newer one"

say "stand-in clients: only older and newer ones: the newest"
write_pg_config "$KB_TMP/kb.conf" shop "$KB_TMP/newer-backups"
KBACKUP_POSTGRESQL_ROOT=$KB_TMP/clients-newer run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup with newer clients only"
assert_contains "$KB_TMP/log" "bin_dir=$KB_TMP/clients-newer/$((major + 3))/bin" "the newest newer one"
KBACKUP_POSTGRESQL_ROOT=$KB_TMP/clients-newer run_runner -c "$KB_TMP/kb.conf" restore latest \
	--database shop_newer
expect_rc 0 "restore with newer clients only"
assert_contains "$KB_TMP/log" "bin_dir=$KB_TMP/clients-newer/$((major + 3))/bin" "restore: the newest newer one"
psql_q postgres "DROP DATABASE shop_newer"

say "stand-in clients: only older ones: fail before anything is written"
too_old="the server runs PostgreSQL $version and the client tools installed in $KB_TMP/clients-older are older ($((major - 2)), $((major - 1))): install postgresql-client-$major, or set [postgres] bin_dir"
write_pg_config "$KB_TMP/old.conf" shop "$KB_TMP/old-backups"
# The engine's preflight refuses before the job's marker: the store is not
# touched at all (a marker written and removed again would change the
# directory's modification time).
mkdir -p "$KB_TMP/old-backups"
before=$(stat -c %y "$KB_TMP/old-backups")
sleep 0.01
KBACKUP_POSTGRESQL_ROOT=$KB_TMP/clients-older run_runner -c "$KB_TMP/old.conf" --once
expect_rc 1 "backup with older clients only"
assert_contains "$KB_TMP/log" "$too_old" "backup: the message"
assert_contains "$KB_TMP/log" "refused before anything was written" "backup: refused up front"
assert_not_contains "$KB_TMP/log" "child=pg_dump" "pg_dump ran"
[ -z "$(find "$KB_TMP/old-backups" -mindepth 1 2>/dev/null)" ] ||
	fail "something was written: $(find "$KB_TMP/old-backups" -mindepth 1)"
assert_eq "$(stat -c %y "$KB_TMP/old-backups")" "$before" "the store was written to (a job marker?)"
sed -i 's/^database = shop$/databases = shop/' "$KB_TMP/old.conf"
KBACKUP_POSTGRESQL_ROOT=$KB_TMP/clients-older run_runner -c "$KB_TMP/old.conf" --once
expect_rc 1 "backup of databases = with older clients only"
assert_contains "$KB_TMP/log" "$too_old" "databases =: the message"
assert_eq "$(stat -c %y "$KB_TMP/old-backups")" "$before" "databases =: the store was written to"
sed -i 's/^databases = shop$/database = shop/' "$KB_TMP/old.conf"
KBACKUP_POSTGRESQL_ROOT=$KB_TMP/clients-older run_runner -c "$KB_TMP/kb.conf" restore latest \
	--database shop_never
expect_rc 1 "restore with older clients only"
assert_contains "$KB_TMP/log" "$too_old" "restore: the message"
[ "$(psql_q postgres "SELECT count(*) FROM pg_database WHERE datname = 'shop_never'")" = 0 ] ||
	fail "the refused restore created its database"
KBACKUP_POSTGRESQL_ROOT=$KB_TMP/clients-older run_runner -c "$KB_TMP/kb.conf" check
expect_rc 1 "check with older clients only"
assert_contains "$KB_TMP/out" "database: FAILED $too_old" "check: the message"

say "stand-in clients: none usable: PATH's; bin_dir set: no choice"
write_pg_config "$KB_TMP/kb.conf" shop "$KB_TMP/none-backups"
KBACKUP_POSTGRESQL_ROOT=$KB_TMP/clients-none run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup with no client under the root"
assert_not_contains "$KB_TMP/log" "PostgreSQL client chosen" "a choice without clients"
write_pg_config "$KB_TMP/kb.conf" shop "$KB_TMP/bindir-backups"
sed -i "s|^database = shop|database = shop\nbin_dir = $KB_TMP/clients-older/$((major - 1))/bin|" \
	"$KB_TMP/kb.conf"
KBACKUP_POSTGRESQL_ROOT=$KB_TMP/clients-older run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "bin_dir set: used as it is"
assert_not_contains "$KB_TMP/log" "PostgreSQL client chosen" "a choice despite bin_dir"

say "server down"
write_pg_config "$KB_TMP/kb.conf" shop
pg_stop
run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 1 "server down"
assert_contains "$KB_TMP/log" "pg_dump exited with status 1" "server down: exit status"
assert_contains "$KB_TMP/log" "Connection refused" "server down: why"
nothing_stored "server down"
run_runner -c "$KB_TMP/kb.conf" check
expect_rc 1 "check with the server down"
assert_contains "$KB_TMP/out" "database: FAILED" "check says which part failed"
[ -z "$(find "$KB_TMP/work" -name 'pgpass*')" ] || fail "PGPASSFILE left in workdir"
echo ok

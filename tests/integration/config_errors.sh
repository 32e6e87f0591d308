#!/usr/bin/env bash
# Every config error path: exit status 2 before anything runs, and a message
# that names the file, the section and the key.  Needs no database.
. "$(dirname "$0")/../lib.sh"
shopt -s lastpipe

base() {
	cat <<EOF2
[backup]
name = orders
engine = postgres
workdir = $KB_TMP/work

[postgres]
database = shop
password = inline-secret-value

[storage]
type = file
path = $KB_TMP/backups
EOF2
}

# base with lines added after its line that reads line: keys in a section it has.
base_after() {	# line new-line...
	local line=$1
	shift
	base | awk -v at="$line" -v add="$(printf '%s\n' "$@")" '{ print } $0 == at { print add }'
}

n=0
bad() {	# what expected-in-message ; config on stdin
	local what=$1 expect=$2
	n=$((n + 1))
	cat >"$KB_TMP/bad$n.conf"
	run_runner -c "$KB_TMP/bad$n.conf" check --offline
	[ "$rc" = 2 ] || fail "$what: exit status $rc, expected 2"
	assert_contains "$KB_TMP/log" "$expect" "$what"
	assert_contains "$KB_TMP/log" "bad$n.conf" "$what names the file"
	assert_not_contains "$KB_TMP/log" "inline-secret-value" "$what leaks the secret"
	[ ! -e "$KB_TMP/backups" ] || fail "$what: something was written"
	echo "ok: $what"
}

base >"$KB_TMP/good.conf"
run_runner -c "$KB_TMP/good.conf" check --offline
expect_rc 0 "the good config"

base | sed 's/^name = orders/name = Orders_1/' | bad "bad name" "[backup] name: 'Orders_1' is not"
base | sed '/^name = orders/d' | bad "missing name" "[backup] name: missing"
base | sed 's/^engine = postgres/engine = oracle/' | bad "unknown engine" "[backup] engine: 'oracle' is not one of"
base | sed 's/^database = shop/databse = shop/' | bad "misspelt key" "[postgres] databse: unknown key"
base | sed 's/^\[postgres\]/[postgress]/' | bad "unknown section" "[postgress]: unknown section"
base | sed '/^\[postgres\]/,/^password/d' | bad "missing engine section" "[postgres]: missing section"
base | sed 's/^type = file/type = ftp/' | bad "unknown storage type" "[storage] type: 'ftp' is not one of"
base | sed '/^path = /d' | bad "file storage without path" "[storage] path: missing"
base | sed 's|^path = .*|path = relative/dir|' | bad "relative path" "[storage] path: 'relative/dir' is not an absolute path"
base | sed '/^\[storage\]/,$d' | bad "no storage" "[storage]: missing section"
(base; printf '[retention]\ndaily = 7 days\n') | bad "bad duration" "[retention] daily: '7 days' is not a duration"
(base; printf '[retention]\nrule.q = %%Y-%%m\n') | bad "bad custom rule" "[retention] rule.q: expected STRFTIME-FORMAT DURATION"
(base; printf '[retention]\nrule.q = quarterly 90d\n') | bad "rule without conversion" '[retention] rule.q: format \"quarterly\" has no % conversion'
base_after 'engine = postgres' 'mode = mirror' | bad "bad mode" "[backup] mode: 'mirror' is not one of retained|single"
base_after 'engine = postgres' 'compression = lz4' | bad "bad compression" "[backup] compression: 'lz4' is not zstd"
# An empty value would reach pg_dump as "" (which dumps the user's own database).
base | sed 's/^database = shop/database =/' | bad "empty database" "[postgres] database: empty value: expected the database to back up"
base_after 'engine = postgres' 'timezone =' | bad "empty timezone" "[backup] timezone: empty value"
base_after 'engine = postgres' 'compression = zstd:99' | bad "bad zstd level" "[backup] compression: 'zstd:99'"
base_after 'engine = postgres' 'compression = zstd:auto' 'compression_threads = 0' | bad "zstd:auto without workers" "set compression_threads to 1 or more"
base_after 'database = shop' 'port = 99999' | bad "port out of range" "[postgres] port: '99999' is too large"
base | sed 's/^password = .*/password_file = \/nonexistent\/pw/' | bad "missing secret file" "[postgres] password_file: /nonexistent/pw: No such file"
base | sed 's/^password = .*/password_env = KB_TEST_UNSET_VAR/' | bad "unset secret env" "[postgres] password_env: environment variable KB_TEST_UNSET_VAR is not set"
base_after 'password = inline-secret-value' 'password_file = /x' | bad "secret given twice" "give only one of password, password_file and password_env"
(base; printf '[storage.off_site]\ntype = file\npath = /tmp/x\n') | bad "bad location name" "[storage.off_site]: 'off_site' is not a name"
(base; printf '[storage.two]\ntype = file\npath = /tmp/x\nbucket = b\n') | bad "key of another type" "[storage.two] bucket: "
(base; printf '[metrics]\nlisten = localhost\n') | bad "bad listen" "[metrics] listen: 'localhost' is not HOST:PORT"
(base; printf '[postgres:x]\nhost = y\n') | bad "colon in section" "[postgres:x]: ':' in a section name (line 13)"
(base; printf '[postgres\\\n:x]\nhost = y\n') | bad "colon after a continuation" "[postgres:x]: ':' in a section name"
(base; printf '[backup]\nname = x\n') | bad "section twice" "[backup]: section given twice (lines 1 and 13)"
base_after 'database = shop' 'database = other' | bad "key twice" "[postgres] database: given twice (lines 7 and 8)"
printf 'this is not ini\n[backup\n' | bad "not INI" "bad$((n + 1)).conf"
(base; printf '[mysql]\ndatabases = x\n') | bad "other engine's section" "[mysql]: "
base_after 'engine = postgres' 'schedule = 61 * * * *' | bad "bad schedule" "[backup] schedule: '61 * * * *': minute field: 61 is out of range 0-59"
base_after 'engine = postgres' 'schedule = @every 10x' | bad "bad @every" "[backup] schedule: '@every 10x': @every: bad duration"
base_after 'engine = postgres' 'timezone = Mars/Olympus' | bad "bad timezone" "[backup] timezone: 'Mars/Olympus' is not an IANA time zone"
base_after 'engine = postgres' 'timezone = ../../etc/passwd' | bad "timezone outside zoneinfo" "[backup] timezone: '../../etc/passwd'"

(base; printf 'encryption_key_format = raw\nencryption_key = 0123\n') | bad "malformed raw key" "[storage] encryption_key: a raw key is 64 hex digits"
(base; printf 'encryption_key_format = raw\nencryption_key = %064d\nencryption_key_old = zz\n' 0) | bad "malformed old raw key" "[storage] encryption_key_old: a raw key is 64 hex digits"
(base; printf '[notify]\nwebhook = ftp://hooks.example/inline-secret-value\n') | bad "webhook not http" "[notify] webhook: invalid value (expected an http(s) URL)"
base | sed '/^path = /d; s/^type = file/type = s3\nbucket = b\naccess_key = AKIDEXAMPLE/' | bad "s3 without a secret key" "[storage] access_key and secret_key: both required for type = s3"
base | sed '/^path = /d; s/^type = file/type = s3\nbucket = b\naccess_key = a\nsecret_key = s\nmax_tries = 0/' | bad "s3 max_tries 0" "[storage] max_tries: '0' is too small: expected a number of tries from 1 to 100"
base | sed '/^path = /d; s|^type = file|type = s3\nbucket = bb\nendpoint = https://AKID:inline-secret-value@s3.example|' |
	bad "s3 endpoint with credentials in it" "[storage] endpoint: a URL with a user name or password in it"
say "bytes iniparser misreads: a NUL byte, UTF-16, a line that is no INI; a UTF-8 byte-order mark is accepted"
base | sed 's/^database = shop/database = shop\x00/' | bad "NUL byte" "line 7: a NUL byte: the file is not text"
(printf '\n\n\0'; base) | bad "NUL byte on line 3" ": line 3: a NUL byte"
base | iconv -f UTF-8 -t UTF-16 | bad "UTF-16 (with its BOM)" "line 1: the file is UTF-16"
base | iconv -f UTF-8 -t UTF-16LE | bad "UTF-16 without a BOM" "line 1: a NUL byte"
(base; printf 'host 127.0.0.1\n') | bad "a line without =" "line 13: neither a [section], a key = value nor a comment"
(base; printf 'host = %02000d\n' 1) | bad "a line too long" "line 13: longer than 1024 bytes"
(printf '\xef\xbb\xbf'; base) >"$KB_TMP/bom.conf"
run_runner -c "$KB_TMP/bom.conf" check --offline
expect_rc 0 "a UTF-8 byte-order mark"
(printf '\xef\xbb\xbf; a comment first\n'; base) >"$KB_TMP/bom2.conf"
run_runner -c "$KB_TMP/bom2.conf" check --offline
expect_rc 0 "a UTF-8 byte-order mark before a comment"
# After the mark: the same messages, the same line numbers, the file's own name.
(printf '\xef\xbb\xbf'; base; printf 'host 127.0.0.1\n') |
	bad "a BOM, then a line without =" "bad$((n + 1)).conf: line 13: neither a [section]"
assert_not_contains "$KB_TMP/log" "/proc/self/fd" "the memfile's name in the message"
(printf '\xef\xbb\xbf'; base | sed 's/^name = orders/name = Orders/') |
	bad "a BOM, then a bad value" "[backup] name: 'Orders' is not"
(printf '\xef\xbb\xbf'; base; printf '[backup]\nname = x\n') |
	bad "a BOM, then a section twice" "[backup]: section given twice (lines 1 and 13)"
printf '\xef\xbb\xbf\xef\xbb\xbf[backup]\n' | bad "two byte-order marks" "line 1: neither a [section]"

say "secrets from a file relative to \$CREDENTIALS_DIRECTORY and from the environment"
mkdir -p "$KB_TMP/creds"
printf 'from-credentials\n' >"$KB_TMP/creds/pg"
base | sed 's/^password = .*/password_file = pg/' >"$KB_TMP/cred.conf"
CREDENTIALS_DIRECTORY=$KB_TMP/creds run_runner -c "$KB_TMP/cred.conf" check --offline
expect_rc 0 "password_file relative to CREDENTIALS_DIRECTORY"
base | sed 's/^password = .*/password_env = KB_TEST_PW/' >"$KB_TMP/env.conf"
KB_TEST_PW=from-env run_runner -c "$KB_TMP/env.conf" check --offline
expect_rc 0 "password_env"

say "usage errors"
run_runner -c "$KB_TMP/good.conf" frobnicate
expect_rc 2 "unknown command"
run_runner -c "$KB_TMP/good.conf" restore 20261124T030000Z --at 2026-11-20T12:00Z
expect_rc 2 "ID and --at"
run_runner -c "$KB_TMP/nonexistent.conf" list
expect_rc 2 "missing config file"
assert_contains "$KB_TMP/log" "nonexistent.conf: No such file" "missing config file message"

say "bad option values: exit 2 naming the option, before the lock or the store"
while IFS='|' read -r needle args; do
	# shellcheck disable=SC2086
	run_runner -c "$KB_TMP/good.conf" $args
	expect_rc 2 "$args"
	assert_contains "$KB_TMP/log" "$needle" "$args"
done <<'EOF2'
--at: bad time \"garbage|restore --at garbage
--at: bad time \"2026-13-45\": no such date|verify --at 2026-13-45
--at: bad time|unpack --at=2026-11-20T25:00 -o -
--database needs a value|restore latest --database=
--output needs a value|unpack latest --output=
--database given twice|restore --database a --database b
EOF2
[ ! -e "$KB_TMP/backups" ] && [ ! -e "$KB_TMP/work" ] ||
	fail "a bad option value wrote something"

say "the WAL commands and restore --data-dir with a config without the WAL archive"
# wal-get exits 126, not 1 ("not in the archive"), which would end recovery at once.
run_runner -c "$KB_TMP/good.conf" wal-get 000000010000000000000001 "$KB_TMP/seg"
expect_rc 126 "wal-get with [postgres] method = dump"
assert_contains "$KB_TMP/log" "wal-get needs [postgres] method = physical" "wal-get"
run_runner -c "$KB_TMP/good.conf" wal-push "$KB_TMP/good.conf"
expect_rc 2 "wal-push with [postgres] method = dump"
assert_contains "$KB_TMP/log" "wal-push needs [postgres] method = physical" "wal-push"
run_runner -c "$KB_TMP/good.conf" restore --data-dir "$KB_TMP/data"
expect_rc 2 "restore --data-dir with [postgres] method = dump"
assert_contains "$KB_TMP/log" "restore --data-dir needs [postgres] method = physical" \
	"restore --data-dir"
[ ! -e "$KB_TMP/seg" ] && [ ! -e "$KB_TMP/data" ] && [ -z "$(find "$KB_TMP/backups" -type f 2>/dev/null)" ] ||
	fail "a WAL command without the WAL archive wrote something"
rm -rf "$KB_TMP/backups" "$KB_TMP/work"

say "verify --restore on engines without a scratch database: exit 2, nothing touched"
for e in redis etcd cockroach; do
	cat >"$KB_TMP/$e.conf" <<EOF2
[backup]
name = db
engine = $e
workdir = $KB_TMP/work

[$e]
$(if [ "$e" = cockroach ]; then echo 'database = shop'; fi)

[storage]
type = file
path = $KB_TMP/backups
EOF2
	run_runner -c "$KB_TMP/$e.conf" verify --restore latest
	expect_rc 2 "verify --restore on $e"
	assert_contains "$KB_TMP/log" "verify --restore is not supported for this engine" "$e"
	assert_contains "$KB_TMP/log" "engine=$e" "$e named"
done
[ ! -e "$KB_TMP/backups" ] && [ ! -e "$KB_TMP/work" ] ||
	fail "verify --restore on an engine without a scratch database wrote something"
echo "ok: $n bad configs"

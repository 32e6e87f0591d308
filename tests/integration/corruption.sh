#!/usr/bin/env bash
# A real encrypted backup (compression = none, several 1 MiB frames), damaged
# in every way man/kbackup-format.5 promises to detect: a flipped byte in the
# header, in a frame, in the trailer; a truncated object; two frames swapped;
# a frame duplicated; the wrong key.  For each: restore, unpack and verify
# exit 1 with the container's message, and the restore target (the
# configured database, holding other data than the backup) is unchanged.
# A truncated or grown object is refused twice over: by the catalog (its size is not
# the manifest's), and, with the manifest edited to the cut size as an
# attacker could, by the container.
. "$(dirname "$0")/../lib.sh"

pg_start
pg_load_sample shop 15000
printf 'corruption-test-passphrase-%s\n' "$RANDOM" >"$KB_TMP/key"
chmod 600 "$KB_TMP/key"
write_pg_config "$KB_TMP/kb.conf" shop
sed -i 's/^engine = postgres$/engine = postgres\ncompression = none/' "$KB_TMP/kb.conf"
echo "encryption_key_file = $KB_TMP/key" >>"$KB_TMP/kb.conf"

run_runner -c "$KB_TMP/kb.conf" --once
expect_rc 0 "backup"
id=$(ls "$KB_TMP/backups/test/orders/backups")
data=$KB_TMP/backups/test/orders/backups/$id/data
manifest=$KB_TMP/backups/test/orders/backups/$id/manifest.json
cp "$data" "$KB_TMP/data.orig"
cp "$manifest" "$KB_TMP/manifest.orig"

# The target holds something the backup does not: a restore would change it.
psql_q shop "CREATE TABLE canary (x int); INSERT INTO canary VALUES (1), (2);
	DELETE FROM orders WHERE id % 3 = 0"
pg_fingerprint shop >"$KB_TMP/fp.before"

# frames.py OP FILE ARGS: edits a container with the layout of kbackup-format(5):
# a 96-byte header, then frames of length (4, big-endian) | kind (1) | payload | tag (16).
cat >"$KB_TMP/frames.py" <<'PY'
import struct, sys
op, path = sys.argv[1], sys.argv[2]
b = bytearray(open(path, "rb").read())
frames, off = [], 96
while off < len(b):
    n, kind = struct.unpack(">IB", b[off:off + 5])
    frames.append((off, 5 + n + 16, kind))
    off += 5 + n + 16
def chunk(i):
    o, n, _ = frames[i]
    return bytes(b[o:o + n])
if op == "count":			# data frames (the trailer not counted)
    print(len(frames) - 1)
elif op == "flip":			# flip one byte at an absolute offset
    b[int(sys.argv[3])] ^= 0x40
elif op == "flip-frame":		# a byte in the payload of frame i
    o, n, _ = frames[int(sys.argv[3])]
    b[o + 5 + (n - 21) // 2] ^= 0x01
elif op == "truncate-in":		# cut in the middle of frame i
    o, n, _ = frames[int(sys.argv[3])]
    del b[o + n // 2:]
elif op == "swap":			# frames i and i+1
    i = int(sys.argv[3])
    o = frames[i][0]
    a, c = chunk(i), chunk(i + 1)
    b[o:o + len(a) + len(c)] = c + a
elif op == "dup":			# frame i stored twice
    i = int(sys.argv[3])
    o, n, _ = frames[i]
    b[o + n:o + n] = chunk(i)
else:
    sys.exit("unknown op " + op)
if op != "count":
    open(path, "wb").write(bytes(b))
PY
frames() { python3 "$KB_TMP/frames.py" "$@"; }

n=$(frames count "$data")
[ "$n" -ge 4 ] || fail "want at least 4 data frames for frame-level edits, got $n"
say "backup $id: $n data frames"

# check WHAT MESSAGE [CONF]: restore, unpack and verify all refuse with MESSAGE.
check() {
	local what=$1 msg=$2 conf=${3:-$KB_TMP/kb.conf}
	run_runner -c "$conf" restore "$id"
	expect_rc 1 "$what: restore"
	tail -n 1 "$KB_TMP/log" | grep -qF "error=\"$msg\"" ||
		fail "$what: restore's last log line: $(tail -n 1 "$KB_TMP/log"), expected error=\"$msg\""
	pg_fingerprint shop >"$KB_TMP/fp.after"
	diff -u "$KB_TMP/fp.before" "$KB_TMP/fp.after" >"$KB_TMP/diff" ||
		fail "$what: the target database changed: $(head -20 "$KB_TMP/diff")"
	run_runner -c "$conf" unpack "$id" -o "$KB_TMP/unpacked"
	expect_rc 1 "$what: unpack"
	tail -n 1 "$KB_TMP/log" | grep -qF "error=\"$msg\"" || fail "$what: unpack's last log line: $(tail -n 1 "$KB_TMP/log")"
	[ ! -e "$KB_TMP/unpacked" ] || fail "$what: unpack left its output"
	ls "$KB_TMP" | grep -q 'unpacked.kbtmp' && fail "$what: unpack left a temporary file"
	run_runner -c "$conf" verify "$id"
	expect_rc 1 "$what: verify"
	assert_eq "$(cat "$KB_TMP/out")" "$id FAILED $msg" "$what: verify's line"
	cp "$KB_TMP/data.orig" "$data"
}
auth() { echo "backup $id failed authentication at frame $1: it is corrupt or the key is wrong"; }
# resized WHAT MESSAGE: the cut or grown object ($data, edited already) is refused by
# the catalog, then -- its manifest made to agree on the size -- by the container.
resized() {
	local what=$1 msg=$2 size
	size=$(stat -c %s "$data")
	run_runner -c "$KB_TMP/kb.conf" restore "$id"
	expect_rc 1 "$what: restore"
	assert_contains "$KB_TMP/log" "backup $id is damaged: part data is $size bytes, its manifest says $(stat -c %s "$KB_TMP/data.orig")" "$what: restore"
	run_runner -c "$KB_TMP/kb.conf" verify --all
	expect_rc 1 "$what: verify --all"
	assert_contains "$KB_TMP/out" "$id DAMAGED part data is $size bytes" "$what: verify --all"
	python3 - "$manifest" "$size" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["stored_bytes"] = m["parts"][0]["stored_bytes"] = int(sys.argv[2])
open(sys.argv[1], "w").write(json.dumps(m, indent=2))
PY
	manifest_resum "$manifest"
	check "$what" "$msg"
	cp "$KB_TMP/manifest.orig" "$manifest"
}

say "intact: everything passes (the harness itself is right)"
run_runner -c "$KB_TMP/kb.conf" verify "$id"
expect_rc 0 "verify intact"

say "flipped byte in the header (the salt)"
frames flip "$data" 40
check "header" "backup $id: header checksum mismatch"

say "flipped byte in a frame"
frames flip-frame "$data" 2
check "frame 2" "$(auth 2)"

say "flipped byte in the trailer"
frames flip-frame "$data" "$n"
check "trailer" "$(auth "$n")"

say "flipped byte in the first frame's tag"
frames flip "$data" $((96 + 5 + 1048576 + 3))
check "frame 0 tag" "$(auth 0)"

say "truncated object (in frame 3)"
frames truncate-in "$data" 3
resized "truncated" "backup $id is truncated after frame 2"

say "truncated object (the trailer missing)"
python3 - "$data" <<'PY'
import os, sys
p = sys.argv[1]
os.truncate(p, os.path.getsize(p) - 5 - 16 - 16)
PY
resized "no trailer" "backup $id is truncated after frame $((n - 1))"

say "frames 1 and 2 swapped"
frames swap "$data" 1
check "swap" "$(auth 1)"

say "frame 1 duplicated"
frames dup "$data" 1
resized "duplicate" "$(auth 2)"

say "the wrong key"
printf 'not-the-right-passphrase\n' >"$KB_TMP/wrongkey"
chmod 600 "$KB_TMP/wrongkey"
sed "s|^encryption_key_file = .*|encryption_key_file = $KB_TMP/wrongkey|" "$KB_TMP/kb.conf" >"$KB_TMP/wrong.conf"
chmod 600 "$KB_TMP/wrong.conf"
check "wrong key" "$(auth 0)" "$KB_TMP/wrong.conf"

say "the intact backup still restores after all that"
run_runner -c "$KB_TMP/kb.conf" restore "$id" --database shop_ok
expect_rc 0 "restore intact"
[ "$(psql_q shop_ok 'SELECT count(*) FROM orders')" = 30000 ] || fail "row count of the intact restore"
echo ok

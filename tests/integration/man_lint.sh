#!/usr/bin/env bash
# Every man page is mandoc -Tlint clean (warnings count).
. "$(dirname "$0")/../lib.sh"
command -v mandoc >/dev/null || skip "mandoc not installed"
for m in "$KB_TOP"/man/*.[58]; do
	mandoc -Tlint -Wwarning "$m" || fail "$(basename "$m") is not lint clean"
done
echo ok

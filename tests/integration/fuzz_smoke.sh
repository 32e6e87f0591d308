#!/usr/bin/env bash
# Every libFuzzer target (tests/fuzz/fuzz_NAME.c) builds and runs for a few
# seconds over its seed corpus (tests/fuzz/corpus/NAME; fuzz_config also over
# examples/) with no crash, leak, timeout or sanitizer report.  A smoke run, not
# a fuzzing campaign: it catches a target that no longer builds and a checked-in
# reproducer that fails again.  On a failure the reproducer is kept and its path
# printed.  KBACKUP_FUZZ_SECONDS (12) and KBACKUP_FUZZ_RUNS (200000) bound each
# target.
. "$(dirname "$0")/../lib.sh"

# Skipped under `make check SANITIZE=1`: the fuzz build is ASan+UBSan whatever
# SANITIZE says, so that pass would build and run the same binaries over the
# same seeds again; two more minutes of CI for other random mutations, which
# belong to a longer fuzzing run, not to a smoke test.
[ "${SANITIZE:-}" != 1 ] || skip "fuzz targets are ASan+UBSan builds already; run by the plain make check"
command -v clang >/dev/null || skip "clang not installed"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' \
	>"$KB_TMP/probe.c"
clang -fsanitize=fuzzer,address,undefined -o "$KB_TMP/probe" "$KB_TMP/probe.c" \
	>"$KB_TMP/probe.log" 2>&1 || skip "clang cannot link libFuzzer (libclang-rt-*-dev): $(head -n 1 "$KB_TMP/probe.log")"

secs=${KBACKUP_FUZZ_SECONDS:-12}
runs=${KBACKUP_FUZZ_RUNS:-200000}
build=$KB_TMP/build

say "make fuzz O=$build"
# A make above us (make check) passes its command line and jobserver in MAKEFLAGS.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$KB_TOP" --no-print-directory \
	-j"$(nproc)" fuzz O="$build" >"$KB_TMP/build.log" 2>&1 ||
	fail "make fuzz: $(tail -n 20 "$KB_TMP/build.log")"

failed=()
n=0
for src in "$KB_TOP"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	bin=$build/fuzz/fuzz_$name
	seeds=$KB_TOP/tests/fuzz/corpus/$name
	[ -x "$bin" ] || fail "fuzz_$name was not built"
	[ -n "$(ls -A "$seeds" 2>/dev/null)" ] || fail "fuzz_$name has no seeds in tests/fuzz/corpus/$name"
	extra=()
	[ "$name" != config ] || extra=("$KB_TOP/examples")
	# New inputs go to the first directory, a scratch one: never into the tree.
	work=$KB_TMP/$name
	mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
	say "fuzz_$name: ${secs}s or $runs runs"
	set +e
	(cd "$work" && TMPDIR=$work/tmp UBSAN_OPTIONS=print_stacktrace=1 "$bin" \
		-max_total_time="$secs" -runs="$runs" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" \
		"$work/corpus" "$seeds" "${extra[@]}") >"$work/log" 2>&1
	rc=$?
	set -e
	grep -E '^(INFO: Seed|#[0-9]+[[:space:]]+(INITED|DONE)|stat::number_of_executed_units)' \
		"$work/log" || true
	if [ "$rc" = 0 ] && [ -z "$(ls -A "$work/artifacts")" ] &&
	    ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$work/log"; then
		n=$((n + 1))
		continue
	fi
	failed+=("fuzz_$name")
	KB_KEEP_TMP=1
	echo "FAIL: fuzz_$name: exit status $rc; log $work/log:"
	grep -E -A 30 'ERROR: |runtime error:' "$work/log" >"$work/report" || tail -n 40 "$work/log" >"$work/report"
	head -n 60 "$work/report"
	for a in "$work"/artifacts/*; do
		[ -f "$a" ] || continue
		echo "reproducer: $a ($(wc -c <"$a") bytes)"
		# The temporary directory is gone with a CI machine: the bytes, if few.
		[ "$(wc -c <"$a")" -gt 4096 ] || base64 "$a"
		echo "run it: make fuzz && build/fuzz/fuzz_$name $a; once fixed, copy it to tests/fuzz/corpus/$name/"
	done
done
[ ${#failed[@]} -eq 0 ] || fail "${failed[*]} (kept in $KB_TMP)"
[ "$n" -gt 0 ] || fail "no fuzz targets"
echo "ok: $n fuzz targets"

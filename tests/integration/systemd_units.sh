#!/usr/bin/env bash
# systemd/*: "systemd-analyze verify" finds nothing to say about the units
# (an instance of each template, ExecStart pointed at an existing program),
# and each instance has a state directory (workdir) of its own.
set -u
top=${KBACKUP_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "skip: systemd-analyze not installed"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$top"/systemd/kbackup-runner@.service "$top"/systemd/kbackup-runner@.timer \
	"$top"/systemd/kbackup-runnerd@.service "$tmp"/
# verify checks that ExecStart's program exists: use the built runner or true(1).
prog=${KBACKUP_RUNNER:-}
[ -x "$prog" ] || prog=/bin/true
sed -i "s|/usr/local/bin/kbackup-runner|$prog|" "$tmp"/*
cd "$tmp"
out=$(systemd-analyze verify --man=no ./kbackup-runner@orders.service \
	./kbackup-runner@orders.timer ./kbackup-runnerd@orders.service 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	echo "systemd-analyze verify (exit $rc):"
	echo "$out"
	exit 1
fi
# What the issue asks of the units, so that an edit cannot drop it silently.
grep -q '^Type=oneshot$' kbackup-runner@.service || { echo "not oneshot"; exit 1; }
grep -q -- '--once$' kbackup-runner@.service || { echo "no --once"; exit 1; }
grep -q '^CapabilityBoundingSet=$' kbackup-runner@.service || { echo "caps"; exit 1; }
grep -q '^Persistent=true$' kbackup-runner@.timer || { echo "not persistent"; exit 1; }
grep -q '^Type=notify$' kbackup-runnerd@.service || { echo "not notify"; exit 1; }
# A workdir per instance: definitions side by side (systemd_instances runs two).
for u in kbackup-runner@.service kbackup-runnerd@.service; do
	grep -q '^StateDirectory=kbackup/%i$' "$u" || { echo "$u: no StateDirectory per instance"; exit 1; }
	! grep -q '^ReadWritePaths=.*/var/lib/kbackup' "$u" ||
		{ echo "$u: every instance's state is writable"; exit 1; }
done
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' kbackup-runnerd@.service ||
	{ echo "no reload"; exit 1; }
echo "units verified"

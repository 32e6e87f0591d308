#!/usr/bin/env bash
# k8s/monitoring: the alert rules pass "promtool check rules" and their unit
# tests ("promtool test rules"); the Grafana dashboard is valid JSON.
set -u
top=${KBACKUP_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
if ! command -v promtool >/dev/null 2>&1; then
	echo "skip: promtool not installed"
	exit 77
fi
cd "$top/k8s/monitoring" || exit 1
promtool check rules kbackup-rules.yml || exit 1
promtool test rules kbackup-rules.test.yml || exit 1
if command -v python3 >/dev/null 2>&1; then
	python3 -m json.tool kbackup-dashboard.json >/dev/null || exit 1
elif command -v node >/dev/null 2>&1; then
	node -e 'JSON.parse(require("fs").readFileSync("kbackup-dashboard.json"))' || exit 1
fi
echo "monitoring rules and dashboard ok"

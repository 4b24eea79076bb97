#!/usr/bin/env bash
# Every alert in alerting/ has a "## <AlertName>" section in docs/runbook.md,
# and every runbook section names an alert that exists.
set -euo pipefail
root=$1
alerts=$(sed -n 's/^ *- alert: *\([A-Za-z0-9_]*\).*/\1/p' "$root"/alerting/*.rules.yml | sort -u)
sections=$(sed -n 's/^## *\([A-Za-z0-9_]*\) *$/\1/p' "$root/docs/runbook.md" | sort -u)
missing=$(comm -23 <(echo "$alerts") <(echo "$sections"))
stale=$(comm -13 <(echo "$alerts") <(echo "$sections"))
status=0
[[ -z "$missing" ]] || { echo "alerts without a runbook entry: $missing"; status=1; }
[[ -z "$stale" ]] || { echo "runbook entries for alerts that do not exist: $stale"; status=1; }
echo "runbook: $(echo "$alerts" | wc -l) alerts, $(echo "$sections" | wc -l) entries"
exit $status

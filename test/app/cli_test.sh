#!/usr/bin/env bash
# The amas-scaler binary's subcommands, end to end: exit codes and messages.
#   cli_test.sh AMAS_SCALER_BINARY TESTDATA_DIR
set -uo pipefail
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
checks=0
failed=0

# expect NAME WANT_CODE WANT_TEXT -- CMD...: runs CMD, compares the exit code
# and looks for WANT_TEXT in stdout+stderr.
expect() {
  local name=$1 want_code=$2 want_text=$3
  shift 4
  local out code
  out=$("$@" 2>&1)
  code=$?
  checks=$((checks + 1))
  if [[ $code -ne $want_code || "$out" != *"$want_text"* ]]; then
    failed=$((failed + 1))
    echo "FAIL: $name: exit $code (want $want_code), output:"
    echo "$out" | sed 's/^/    /'
    echo "    wanted to find: $want_text"
  else
    echo "ok: $name"
  fi
}

expect "help" 0 "--config.file" -- "$bin" --help
expect "version" 0 "amas-scaler, version" -- "$bin" --version
expect "unknown flag" 2 "amas-scaler: error: unknown long flag '--config.fil', try --help" -- \
  "$bin" --config.fil=x
expect "unknown command" 2 "unknown command \"check everything\"" -- "$bin" check everything

expect "check config good" 0 "SUCCESS: $data/config/good/full.yaml is valid" -- \
  "$bin" check config "$data/config/good/full.yaml"
expect "check config bad" 1 \
  "FAILED: $data/config/bad/unknown_field_in_job.yaml:7:5: unknown field \"scrape_intervall\" in scrape_configs[0]" -- \
  "$bin" check config "$data/config/good/minimal.yaml" "$data/config/bad/unknown_field_in_job.yaml"
expect "check config missing file" 1 "FAILED: $tmp/nope.yml: cannot read the config file" -- \
  "$bin" check config "$tmp/nope.yml"

expect "serving with a bad config exits 1" 1 \
  "level=error msg=\"Error loading config\" err=\"$data/config/bad/unknown_field_in_job.yaml:7:5: unknown field \\\"scrape_intervall\\\" in scrape_configs[0]\"" -- \
  "$bin" --config.file="$data/config/bad/unknown_field_in_job.yaml" --web.listen-address=127.0.0.1:0
expect "serving with a missing config exits 1" 1 "cannot read the config file" -- \
  "$bin" --config.file="$tmp/missing.yml" --web.listen-address=127.0.0.1:0

printf '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 1\na_total{x="2"} 2\nb 3\n' \
  >"$tmp/good.prom"
expect "check metrics stdin" 0 "families: 2, series: 3 (text format 0.0.4)" -- \
  bash -c "\"$bin\" check metrics < \"$tmp/good.prom\""
expect "check metrics file" 0 "families: 2, series: 3" -- "$bin" check metrics "$tmp/good.prom"
printf '# TYPE a counter\na_total 1 1700000000.5\n# EOF\n' >"$tmp/good.om"
expect "check metrics sniffs OpenMetrics" 0 "families: 1, series: 1 (OpenMetrics)" -- \
  bash -c "\"$bin\" check metrics - < \"$tmp/good.om\""
expect "check metrics --format=text" 1 "2:" -- \
  bash -c "\"$bin\" check metrics --format=text < \"$tmp/good.om\""
printf 'a 1\nb{x="1" 2\n' >"$tmp/bad.prom"
expect "check metrics bad" 1 "2:" -- "$bin" check metrics "$tmp/bad.prom"

cat >"$tmp/ok.test" <<'EOF'
load 5m
  http_requests{job="api"} 0+10x10

eval instant at 50m sum(http_requests)
  {} 100
EOF
cat >"$tmp/wrong.test" <<'EOF'
load 5m
  http_requests{job="api"} 0+10x10

eval instant at 50m sum(http_requests)
  {} 99
EOF
expect "test promql passes" 0 "1 passed, 0 failed" -- "$bin" test promql "$tmp/ok.test"
expect "test promql fails" 1 "1 passed, 1 failed" -- "$bin" test promql "$tmp/ok.test" "$tmp/wrong.test"
expect "test promql needs files" 2 "test promql: expected at least one .test file" -- \
  "$bin" test promql

expect "check rules good" 0 "SUCCESS: 2 rules found" -- \
  "$bin" check rules "$data/config/good/rules/backend.rules.yml"
expect "check rules bad" 1 \
  "$data/config/bad_files/rules/a.broken.yml:7:20: unknown field \"abve\" in groups[0].rules[0].scale_up" -- \
  "$bin" check rules "$data/config/bad_files/rules/a.broken.yml"
expect "check rules missing file" 1 "$tmp/r.yml: cannot open rule file" -- "$bin" check rules "$tmp/r.yml"
expect "check config with rules and scale targets" 0 "decision.yaml is valid" -- \
  "$bin" check config "$data/config/good/decision.yaml"
expect "check config scale rule without target" 1 \
  "unknown_target.rules.yml:9:17: groups[0].rules[1].target: scale rule \"queue\" names scale target \"celery-workers\", which scale_targets does not define" -- \
  "$bin" check config "$data/config/bad_files/unknown_target.yaml"
expect "test rules missing file" 1 "$tmp/t.yml: cannot open file" -- "$bin" test rules "$tmp/t.yml"
expect "test rules needs files" 2 "test rules: expected at least one file" -- "$bin" test rules
expect "eval" 0 "{} => 1 @[" -- "$bin" eval "vector(1)"

bt="$data/backtest"
expect "backtest needs a source" 2 "backtest: expected --source=FILE|URL" -- "$bin" backtest
expect "backtest timeline" 0 "2026-01-01T00:02:00Z web 4 -> 6 rate_policy: scale-up limited to 6" -- \
  "$bin" backtest --config.file="$bt/amas-scaler.yml" --source="$bt/samples.prom"
expect "backtest summary" 0 \
  "web: 10 changes, desired 3..10 (start 4, end 3), at 10 for 5m from 2026-01-01T00:04:00Z" -- \
  "$bin" backtest --config.file="$bt/amas-scaler.yml" --source="$bt/samples.prom"
expect "backtest json" 0 "\"seconds_at_max\": 300" -- \
  "$bin" backtest --config.file="$bt/amas-scaler.yml" --source="$bt/samples.prom" --output=json
expect "backtest window and step" 0 ": 4 rounds, 1 scale target" -- \
  "$bin" backtest --config.file="$bt/amas-scaler.yml" --source="$bt/samples.prom" \
  --start=2026-01-01T00:01:00Z --end=2026-01-01T00:04:00Z --step=1m
printf 'load{service="web"} 0.5 1767225600000\nload{service="web"} 0.9\n' >"$tmp/bt.prom"
expect "backtest bad samples file" 1 "$tmp/bt.prom:2:24: sample without a timestamp" -- \
  "$bin" backtest --config.file="$bt/amas-scaler.yml" --source="$tmp/bt.prom"
expect "backtest unknown target" 1 "unknown scale target \"api\" (the config has: web)" -- \
  "$bin" backtest --config.file="$bt/amas-scaler.yml" --source="$bt/samples.prom" --target=api
expect "backtest bad output" 2 "--output wants text or json, got \"yaml\"" -- \
  "$bin" backtest --config.file="$bt/amas-scaler.yml" --source="$bt/samples.prom" --output=yaml
expect "backtest bad config" 1 "unknown field \"scrape_intervall\"" -- \
  "$bin" backtest --config.file="$data/config/bad/unknown_field_in_job.yaml" --source="$bt/samples.prom"

echo "$((checks - failed)) of $checks checks passed"
[[ $failed -eq 0 ]]

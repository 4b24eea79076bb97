#!/usr/bin/env bash
# backtest --source=URL against Debian's Prometheus: the fixture's samples
# are loaded as a TSDB block (promtool tsdb create-blocks-from openmetrics),
# and the replay must print the same timeline as from the file.
#   backtest_prometheus_test.sh AMAS_SCALER PROMETHEUS PROMTOOL TESTDATA_DIR
set -uo pipefail
bin=$1 prometheus=$2 promtool=$3 data=$4/backtest
tmp=$(mktemp -d)
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# The fixture as OpenMetrics: seconds, each series contiguous, repeats dropped.
grep -v '^#' "$data/samples.prom" |
  awk '{ts=$NF; $NF=""; printf "%s%d.%03d\n", $0, ts/1000, ts%1000}' |
  sort -t' ' -k1,1 -k3,3n | uniq >"$tmp/in.om"
echo "# EOF" >>"$tmp/in.om"
"$promtool" tsdb create-blocks-from openmetrics "$tmp/in.om" "$tmp/data" >/dev/null || exit 1

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "global: {}" >"$tmp/prometheus.yml"
"$prometheus" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
  >"$tmp/prometheus.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break
  sleep 0.2
done

from_file=$("$bin" backtest --config.file="$data/amas-scaler.yml" --source="$data/samples.prom")
from_url=$("$bin" backtest --config.file="$data/amas-scaler.yml" \
  --source="http://127.0.0.1:$port" --start=2026-01-01T00:00:00Z --end=2026-01-01T00:15:00Z)
code=$?
if [[ $code -ne 0 || "$from_url" != "$from_file" ]]; then
  echo "FAIL: backtest from Prometheus (exit $code) differs from the file:"
  diff <(echo "$from_file") <(echo "$from_url")
  tail -5 "$tmp/prometheus.log"
  exit 1
fi
echo "ok: backtest from Prometheus's API prints the file's timeline ($(echo "$from_url" | wc -l) lines)"

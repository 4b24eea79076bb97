#!/bin/sh
# Alertmanager receiver throughput: amas-scaler on loopback, Debian's wrk POSTing
# Alertmanager 0.25's real firing webhook (firing.json) with a bearer token.
#
#   bench/receiver/run.sh [AMAS_SCALER] [SECONDS] [CONNECTIONS] [WRK_THREADS]
#
# Defaults: build-e2e's binary, 10 s, 16 connections, 1 wrk thread (on 2 cores
# wrk and the server share the CPU; more wrk threads steal it from the server).
# Prints wrk --latency's report (requests/s, percentiles) and the receiver's
# counters from /metrics afterwards. Stops amas-scaler by PID on exit.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-/work/build-e2e/src/app/amas-scaler}
seconds=${2:-10}
connections=${3:-16}
threads=${4:-1}
wrk=${WRK:-/usr/bin/wrk}

tmp=$(mktemp -d /tmp/amas-bench-receiver.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"; wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=bench-token-$$
printf '%s\n' "$token" > "$tmp/token"
cat > "$tmp/amas.yml" <<YAML
global:
  evaluation_interval: 1s
alertmanager_receiver:
  bearer_token_file: token
YAML
"$binary" --config.file="$tmp/amas.yml" --web.listen-address=127.0.0.1:$port \
  --storage.path="$tmp/data" --log.level=warn > "$tmp/amas.log" 2>&1 &
pid=$!
i=0
until curl -sf "http://127.0.0.1:$port/-/ready" > /dev/null; do
  i=$((i + 1))
  if [ $i -gt 100 ]; then echo "amas-scaler did not become ready" >&2; cat "$tmp/amas.log" >&2; exit 1; fi
  sleep 0.1
done

url=http://127.0.0.1:$port/api/v1/alertmanager
# one request by hand: the payload must be accepted, not rejected fast
answer=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  --data-binary @"$here/firing.json" "$url")
echo "first answer: $answer"
case "$answer" in *'"status":"success"'*) ;; *) echo "payload not accepted" >&2; exit 1;; esac

echo "wrk: $seconds s, $connections connections, $threads thread(s), body $(wc -c < "$here/firing.json") bytes"
AMAS_BENCH_BODY="$here/firing.json" AMAS_BENCH_TOKEN="$token" \
  "$wrk" --latency -t"$threads" -c"$connections" -d"${seconds}s" -s "$here/post.lua" "$url"

echo "receiver counters after the run:"
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^amas_scaler_alertmanager_(webhooks_received|alerts_duplicate|webhooks_rejected)' || true

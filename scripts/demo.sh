#!/usr/bin/env bash
# Quick start (1): install what is missing, build, and run the demo: the main
# job on deploy/demo.yaml with its embedded simulated AMAS platform; no
# Prometheus or Kubernetes needed. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
listen=${AMAS_DEMO_LISTEN:-127.0.0.1:9105}
echo
echo "amas-scaler demo on http://$listen  (try /metrics, /api/v1/targets, /api/v1/scale_targets)"
exec build/src/app/amas-scaler --config.file=deploy/demo.yaml --web.listen-address="$listen" \
  --storage.path="${AMAS_DEMO_STORAGE:-/tmp/amas-scaler-demo}" "$@"

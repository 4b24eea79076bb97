#!/usr/bin/env python3
"""Full-scale side-by-side run: Debian's Prometheus and amas-scaler on the
~201k-series exposition of shared/bench/gen_exposition.py (--scale 1), served
byte-identical to both by serve_metrics.py --static, with
shared/bench/amas_rules.yml unchanged, scrape and evaluation every 5 s.

  compare_prometheus.py --amas-scaler BUILD/src/app/amas-scaler [--json OUT]
                        [--keep DIR] [--timeout 600] [--scale 1]

Prints both alert counts, every difference in (alertname, labels, state) and
in values; exit 0 when the sets are the same. The integration test
test/promql/alert_compare_test.py runs the same comparison at 5 % scale.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test",
                                "promql"))
import prom_compare  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--amas-scaler", required=True)
    ap.add_argument("--prometheus", default="/usr/bin/prometheus")
    ap.add_argument("--shared-bench", default=prom_compare.SHARED_BENCH)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--timeout", type=int, default=600, help="seconds")
    ap.add_argument("--json")
    ap.add_argument("--keep")
    a = ap.parse_args()
    r = prom_compare.run(a.amas_scaler, a.prometheus, scale=a.scale, interval_s=5,
                         timeout_s=a.timeout, keep=a.keep, shared_bench=a.shared_bench)
    groups = {"prometheus": {g["name"]: g["evaluationTime"] for g in r["prometheus_rules"]["groups"]},
              "amas-scaler": {g["name"]: g["evaluationTime"] for g in r["amas_rules"]["groups"]}}
    print("last evaluationTime per group (s):", json.dumps(groups))
    print("firing per rule (prometheus / amas-scaler):")
    for name, c in r["firing_per_rule"].items():
        print(f"  {name}: {c['prometheus']} / {c['amas']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)
    prom_compare.report(r)
    return 0 if r["differences"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

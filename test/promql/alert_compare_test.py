#!/usr/bin/env python3
"""amas-scaler and Debian's Prometheus fire the same alerts on the same input.

  alert_compare_test.py AMAS_SCALER PROMETHEUS SHARED_BENCH_DIR

shared/bench/amas_rules.yml (56 rules, 4 groups, `for: 1m`) unchanged, over a
5 % scale exposition of shared/bench/gen_exposition.py (~32k series) served
byte-identical to both by serve_metrics.py --static, scrape and evaluation
every second (prom_compare.py does the work). Checks: the same set of
(alertname, labels, state) and the same values once `for:` has elapsed, and
that amas-scaler's /api/v1/rules times every rule. Exit 77 (skipped) when
shared/bench is not there.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prom_compare  # noqa: E402
from harness import check  # noqa: E402  (prom_compare put test/testing on the path)
import harness  # noqa: E402


def main():
    binary, prometheus, shared_bench = sys.argv[1:4]
    if not os.path.exists(os.path.join(shared_bench, "amas_rules.yml")):
        print(f"SKIPPED: {shared_bench}/amas_rules.yml is not there")
        return 77
    started = time.monotonic()
    r = prom_compare.run(binary, prometheus, scale=0.05, interval_s=1, timeout_s=150,
                         shared_bench=shared_bench)
    prom_compare.report(r)
    check(r["settled"], f"both settled: no pending alert, no change ({r['seconds']}s)")
    s = r["scraped_samples"]
    check(s["prometheus"] == s["amas"] and s["amas"] > 30000,
          f"both scraped the same {s['amas']} samples")
    check(r["differences"] == 0,
          f"the same (alertname, labels, state) set: {r['prometheus_counts']} in Prometheus, "
          f"{r['amas_counts']} in amas-scaler, {r['differences']} differences")
    firing_rules = [n for n, c in r["firing_per_rule"].items() if c["amas"] > 0]
    check(r["amas_counts"]["firing"] >= 100 and len(firing_rules) >= 10,
          f"a meaningful set: {r['amas_counts']['firing']} alerts of {len(firing_rules)} rules "
          f"firing ({', '.join(firing_rules)})")
    check(not r["value_differs"], f"the same alert values ({len(r['value_differs'])} differ)")
    rules = [rule for g in r["amas_rules"]["groups"] for rule in g["rules"]]
    groups = r["amas_rules"]["groups"]
    # Groups are timed in whole milliseconds (publish::RuleGroupReport), rules finer.
    check(len(rules) == 56 and all(rule["evaluationTime"] > 0 for rule in rules) and
          all(g["evaluationTime"] >= sum(x["evaluationTime"] for x in g["rules"]) - 0.001
              for g in groups),
          f"amas-scaler's /api/v1/rules times all {len(rules)} rules, each group at least their "
          f"sum ({[(g['name'], g['evaluationTime']) for g in groups]}, slowest rule "
          f"{max(rule['evaluationTime'] for rule in rules):.4f}s)")
    print(f"PASSED: {harness.CHECKS} checks in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Every panel query in dashboards/*.json runs on a real Prometheus scraping a
real amas-scaler (demo mode) and returns data.

usage: dashboards_test.py AMAS_SCALER_BINARY

Series that only appear after an event the demo never causes are listed in
EVENT_ONLY with the reason; their queries must still be valid.
"""
import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo_harness as h  # noqa: E402

# metric name -> why the demo has no series for it.
EVENT_ONLY = {
    'result="failed"':
        "a failed scale action; the demo's dry_run actuators never fail",
    "amas_scaler_actions_total":
        "series are created by the first scale action; the demo's load is quiet for its first "
        "25 minutes, so no action happens while this test runs",
    "amas_scaler_action_duration_seconds":
        "observed per scale action (none while this test runs, see actions_total)",
    "amas_scaler_rule_evaluation_failures_total":
        "created on a group's first failed evaluation (not exported at 0 per group)",
    "amas_scaler_rule_group_iterations_missed_total":
        "created on a group's first missed iteration (not exported at 0 per group)",
}
SETTLE_SECONDS = 25


def panel_targets(path):
    with open(path) as f:
        d = json.load(f)
    for p in d["panels"]:
        for t in p.get("targets", []):
            yield p["title"], t["expr"]
    for v in d["templating"]["list"]:
        if v["type"] == "query":
            yield "variable " + v["name"], v["definition"]


def substitute(expr):
    return (expr.replace("$__rate_interval", "1m").replace('=~"$target"', '=~"backend"')
            .replace('="$target"', '="backend"'))


def event_only_reason(expr):
    for needle, why in EVENT_ONLY.items():
        if needle in expr:
            return why
    return None


def main():
    binary = sys.argv[1]
    failures = []
    checked = empty_ok = 0
    with h.running_demo(binary) as (base, tmp):
        with h.running_prometheus(base.removeprefix("http://"), tmp) as prom:
            time.sleep(SETTLE_SECONDS)
            for path in sorted(glob.glob(os.path.join(h.SOURCE_DIR, "dashboards", "*.json"))):
                name = os.path.basename(path)
                for title, expr in panel_targets(path):
                    if expr.startswith("label_values("):
                        metric = expr[len("label_values("):].split(",")[0].strip()
                        q = "count by (target) (%s)" % metric
                    else:
                        q = substitute(expr)
                    r = h.query(prom, q)
                    checked += 1
                    where = "%s / %s: %s" % (name, title, q)
                    if r.get("status") != "success":
                        failures.append("%s\n    invalid: %s" % (where, r.get("error")))
                        continue
                    if r["data"]["result"]:
                        continue
                    why = event_only_reason(expr)
                    if why:
                        empty_ok += 1
                        print("event-only (empty, valid): %s\n    because %s" % (where, why))
                    else:
                        failures.append("%s\n    returned no data" % where)
    for f in failures:
        print("FAIL " + f)
    print("%d queries, %d with data, %d event-only empty, %d failed" %
          (checked, checked - empty_ok - len(failures), empty_ok, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

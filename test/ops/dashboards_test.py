#!/usr/bin/env python3
"""Every panel query in dashboards/*.json runs on a real Prometheus scraping a
real amas-scaler (demo mode) and returns data.

usage: dashboards_test.py AMAS_SCALER_BINARY

The demo runs with demo_harness.EVENT_RULES / EVENT_TARGET added, so scale
actions, a failing action and a failing rule evaluation happen within
seconds. $target is "backend" (and "flaky", the target whose actions fail);
$__rate_interval is 1m. Series no event in the test can cause are listed in
EVENT_ONLY with the reason; their queries must still be valid.
"""
import glob
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo_harness as h  # noqa: E402

# metric name -> why the test has no series for it.
EVENT_ONLY = {
    "amas_scaler_rule_group_iterations_missed_total":
        "created on a group's first missed iteration (an evaluation that overran its interval); "
        "nothing in the demo runs that long",
}
TARGETS = ("backend", "flaky")
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


def substitutions(expr):
    """The query with $target filled in: all targets for =~, each target for =."""
    expr = expr.replace("$__rate_interval", "1m")
    if '=~"$target"' in expr:
        return [expr.replace('=~"$target"', '=~"%s"' % "|".join(TARGETS))]
    if '="$target"' in expr:
        return [expr.replace('="$target"', '="%s"' % t) for t in TARGETS]
    return [expr]


def event_only_reason(expr):
    for needle, why in EVENT_ONLY.items():
        if needle in expr:
            return why
    return None


def main():
    binary = sys.argv[1]
    failures = []
    checked = empty_ok = 0
    with h.running_demo(binary, events=True) as (base, tmp):
        with h.running_prometheus(base.removeprefix("http://"), tmp) as prom:
            time.sleep(SETTLE_SECONDS)
            for path in sorted(glob.glob(os.path.join(h.SOURCE_DIR, "dashboards", "*.json"))):
                name = os.path.basename(path)
                for title, expr in panel_targets(path):
                    if expr.startswith("label_values("):
                        metric = expr[len("label_values("):].split(",")[0].strip()
                        queries = ["count by (target) (%s)" % metric]
                    else:
                        queries = substitutions(expr)
                    checked += 1
                    where = "%s / %s: %s" % (name, title, expr)
                    results = [h.query(prom, q) for q in queries]
                    bad = [r for r in results if r.get("status") != "success"]
                    if bad:
                        failures.append("%s\n    invalid: %s" % (where, bad[0].get("error")))
                        continue
                    if any(r["data"]["result"] for r in results):
                        continue
                    why = event_only_reason(expr)
                    if why:
                        empty_ok += 1
                        print("event-only (empty, valid): %s\n    because %s" % (where, why))
                    else:
                        failures.append("%s\n    returned no data for $target in %s" %
                                        (where, ", ".join(TARGETS)))
    for f in failures:
        print("FAIL " + f)
    print("%d queries, %d with data, %d event-only empty, %d failed" %
          (checked, checked - empty_ok - len(failures), empty_ok, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

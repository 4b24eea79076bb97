#!/usr/bin/env python3
"""Side by side: Debian's Prometheus and amas-scaler evaluate one rule file over
the same scrape input, and their /api/v1/alerts are compared.

  prom_compare.py --amas-scaler BIN [--prometheus /usr/bin/prometheus]
                  [--rules FILE] [--scale 0.05 | --exposition FILE]
                  [--interval 5s] [--timeout 360] [--json OUT] [--keep DIR]

One exposition (shared/bench/gen_exposition.py at --scale, or --exposition)
is served unchanged by shared/bench/serve_metrics.py --static, so both scrape
byte-identical input. Both load the rule file unchanged, scrape and evaluate
every --interval. Once `for:` has elapsed and neither has a pending alert nor
changed its set since the last poll (or at --timeout), the sets of
(alertname, labels, state) are compared; values are compared too (relative
1e-9) and reported apart. Exit 0: same sets; 1: differences; 2: setup failed.
Every process runs on 127.0.0.1 free ports in a temp dir, stopped by PID.
The integration test (alert_compare_test.py) and bench/promql use run().
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "testing"))
from harness import Process, api, dump_logs, free_ports, get, query, scaler_args, write  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
SHARED_BENCH = os.path.join(os.path.dirname(REPO), "shared", "bench")


def scrape_config(interval_s, target_port, rules):
    # The same text for both: amas-scaler reads Prometheus's config fields.
    return f"""global:
  scrape_interval: {interval_s}s
  scrape_timeout: {interval_s}s
  evaluation_interval: {interval_s}s
rule_files: [{rules}]
scrape_configs:
  - job_name: amas
    honor_labels: true
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:{target_port}']
"""


def max_hold_seconds(rules_path):
    """The longest `for:` of the rule file (Prometheus duration syntax)."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    longest = 0.0
    for m in re.finditer(r"^\s*for:\s*([0-9a-z]+)\s*$", open(rules_path).read(), re.M):
        total = sum(float(n) * units[u] for n, u in re.findall(r"(\d+)(ms|[smhdwy])", m.group(1)))
        longest = max(longest, total)
    return longest


def alert_set(base):
    """{(alertname, labels, state): value} of /api/v1/alerts, None if it did not answer."""
    data = api(base + "/api/v1/alerts")
    if data is None:
        return None
    out = {}
    for a in data["alerts"]:
        labels = tuple(sorted(a["labels"].items()))
        out[(a["labels"].get("alertname", ""), labels, a["state"])] = float(a["value"])
    return out


def fmt_key(key):
    name, labels, state = key
    inner = ",".join(f'{k}="{v}"' for k, v in labels if k != "alertname")
    return f"{name}{{{inner}}} {state}"


def compare(prom, amas):
    """Differences between two alert sets, in words a person can act on."""
    def by_labels(s):
        return {(k[0], k[1]): (k[2], v) for k, v in s.items()}
    p, a = by_labels(prom), by_labels(amas)
    only_prom = sorted(fmt_key((*k, p[k][0])) for k in p.keys() - a.keys())
    only_amas = sorted(fmt_key((*k, a[k][0])) for k in a.keys() - p.keys())
    state_differs, value_differs = [], []
    for k in sorted(p.keys() & a.keys()):
        (ps, pv), (as_, av) = p[k], a[k]
        if ps != as_:
            state_differs.append(f"{fmt_key((*k, ''))}: prometheus {ps}, amas-scaler {as_}")
        same = (math.isnan(pv) and math.isnan(av)) or pv == av or \
            abs(pv - av) <= 1e-9 * max(abs(pv), abs(av))
        if not same:
            value_differs.append(f"{fmt_key((*k, ps))}: prometheus {pv!r}, amas-scaler {av!r}")
    names = sorted({k[0] for k in prom} | {k[0] for k in amas})
    per_rule = {n: {"prometheus": sum(1 for k in prom if k[0] == n and k[2] == "firing"),
                    "amas": sum(1 for k in amas if k[0] == n and k[2] == "firing")} for n in names}
    return {"only_prometheus": only_prom, "only_amas": only_amas, "state_differs": state_differs,
            "value_differs": value_differs, "firing_per_rule": per_rule,
            "differences": len(only_prom) + len(only_amas) + len(state_differs)}


def counts(s):
    return {st: sum(1 for k in s if k[2] == st) for st in ("firing", "pending")}


def scraped_samples(base, metric="scrape_samples_scraped"):
    data = query(base, metric + '{job="amas"}')
    if not data or not data["result"]:
        return None
    return float(data["result"][0]["value"][1])


def run(amas_scaler, prometheus="/usr/bin/prometheus", rules=None, scale=0.05, exposition=None,
        interval_s=5, timeout_s=360, keep=None, log=print, shared_bench=SHARED_BENCH):
    """Runs both side by side; returns the comparison as a dict (see compare())."""
    rules = os.path.abspath(rules or os.path.join(shared_bench, "amas_rules.yml"))
    tmp_dir = None if keep else tempfile.TemporaryDirectory(prefix="amas-prom-compare-")
    tmp = keep or tmp_dir.name
    os.makedirs(tmp, exist_ok=True)
    procs = []
    try:
        generated = exposition is None
        if generated:
            exposition = os.path.join(tmp, "metrics.prom")
            subprocess.run([sys.executable, os.path.join(shared_bench, "gen_exposition.py"),
                            "--scale", str(scale), "-o", exposition], check=True)
        size_mb = os.path.getsize(exposition) / 1e6
        srv_port, prom_port, amas_port = free_ports(3)
        srv, prom, amas = (f"http://127.0.0.1:{p}" for p in (srv_port, prom_port, amas_port))
        procs.append(Process("serve_metrics", [
            sys.executable, os.path.join(shared_bench, "serve_metrics.py"), "--static", exposition,
            "--port", str(srv_port)], f"{tmp}/serve_metrics.log"))
        deadline = time.monotonic() + 30
        while get(srv + "/metrics", timeout=10)[0] != 200:
            if time.monotonic() > deadline:
                raise AssertionError("serve_metrics.py did not answer")
            time.sleep(0.2)
        config = scrape_config(interval_s, srv_port, rules)
        # Start both at once so their `for:` clocks start together.
        procs.append(Process("prometheus", [
            prometheus, f"--config.file={write(f'{tmp}/prometheus.yml', config)}",
            f"--storage.tsdb.path={tmp}/prom-data", f"--web.listen-address=127.0.0.1:{prom_port}"],
            f"{tmp}/prometheus.log"))
        procs.append(Process("amas-scaler", scaler_args(
            amas_scaler, write(f"{tmp}/amas.yml", config), amas_port, tmp), f"{tmp}/amas.log"))
        started = time.monotonic()
        log(f"input: {exposition} ({size_mb:.1f} MB), scrape/eval every {interval_s}s, "
            f"rules {rules}")

        hold = max_hold_seconds(rules)
        # for: counts from the first evaluation that sees data; a rate() needs two scrapes.
        settle_after = hold + 3 * interval_s
        deadline = started + max(timeout_s, settle_after + 10 * interval_s)
        last = None
        settled = False
        while time.monotonic() < deadline:
            time.sleep(max(1.0, interval_s / 2))
            for p in procs:
                if not p.alive():
                    raise AssertionError(f"{p.name} exited: {p.tail(10)}")
            p_set, a_set = alert_set(prom), alert_set(amas)
            if p_set is None or a_set is None:
                continue
            elapsed = time.monotonic() - started
            log(f"t={elapsed:5.0f}s prometheus {counts(p_set)} amas-scaler {counts(a_set)}")
            now = (p_set, a_set)
            quiet = not any(k[2] == "pending" for s in now for k in s)
            unchanged = last is not None and set(last[0]) == set(p_set) and \
                set(last[1]) == set(a_set)
            last = now
            if elapsed >= settle_after and quiet and unchanged:
                settled = True
                break
        if last is None:
            raise AssertionError("neither API answered /api/v1/alerts")
        result = compare(*last)
        result.update({
            "settled": settled, "seconds": round(time.monotonic() - started, 1),
            "interval_s": interval_s, "exposition_mb": round(size_mb, 1),
            "scale": scale if generated else None,
            "prometheus_counts": counts(last[0]), "amas_counts": counts(last[1]),
            "scraped_samples": {"prometheus": scraped_samples(prom),
                                "amas": scraped_samples(amas)},
            # A timing input of its own: AmasTargetSlowScrape compares it with 4 s.
            "scrape_duration_s": {"prometheus": scraped_samples(prom, "scrape_duration_seconds"),
                                  "amas": scraped_samples(amas, "scrape_duration_seconds")},
            "amas_rules": api(amas + "/api/v1/rules"),
            "prometheus_rules": api(prom + "/api/v1/rules"),
        })
        return result
    except Exception:
        dump_logs(procs)
        raise
    finally:
        for p in reversed(procs):
            p.stop()
        if tmp_dir is not None:
            tmp_dir.cleanup()


def report(result, out=sys.stdout):
    pc, ac = result["prometheus_counts"], result["amas_counts"]
    print(f"prometheus: {pc['firing']} firing, {pc['pending']} pending; "
          f"amas-scaler: {ac['firing']} firing, {ac['pending']} pending; "
          f"scraped samples {result['scraped_samples']}, scrape duration "
          f"{result['scrape_duration_s']}; "
          f"{'settled' if result['settled'] else 'NOT settled'} after {result['seconds']}s",
          file=out)
    for what in ("only_prometheus", "only_amas", "state_differs", "value_differs"):
        for line in result[what][:50]:
            print(f"  {what}: {line}", file=out)
        if len(result[what]) > 50:
            print(f"  {what}: ... {len(result[what]) - 50} more", file=out)
    print(f"{result['differences']} differences in (alertname, labels, state), "
          f"{len(result['value_differs'])} value differences", file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--amas-scaler", required=True)
    ap.add_argument("--prometheus", default="/usr/bin/prometheus")
    ap.add_argument("--shared-bench", default=SHARED_BENCH,
                    help="shared/bench (generator, server, amas_rules.yml)")
    ap.add_argument("--rules")
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--exposition")
    ap.add_argument("--interval", type=int, default=5, help="seconds")
    ap.add_argument("--timeout", type=int, default=360, help="seconds")
    ap.add_argument("--json")
    ap.add_argument("--keep", help="work in this dir and keep it (logs, TSDB, configs)")
    a = ap.parse_args()
    try:
        result = run(a.amas_scaler, a.prometheus, a.rules, a.scale, a.exposition, a.interval,
                     a.timeout, a.keep, shared_bench=a.shared_bench)
    except Exception as e:  # noqa: BLE001 (a setup failure is exit 2, not 1)
        print(f"setup failed: {e}", file=sys.stderr)
        return 2
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    report(result)
    return 0 if result["differences"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

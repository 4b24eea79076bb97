#!/usr/bin/env python3
"""A rule group with `datasource:` evaluated by a real Prometheus.

  remote_datasource_test.py AMAS_SCALER PROMETHEUS

On free loopback ports, in a temp dir:
  exposition (here) <- Prometheus <- amas-scaler (group "remote", datasource: prom)

1. The remote group's alert (QueueDeep) fires in amas-scaler's /api/v1/alerts
   with the series labels, rule labels, value and templated annotation that
   Prometheus's answer gives; its recording rule lands in amas-scaler's store,
   where a local group reads it.
2. /api/v1/rules shows the group with "datasource": "prom", and a rule whose
   expression Prometheus rejects as health "err" with Prometheus's parse error
   as lastError, while the other rules of the group stay "ok"; every rule has
   an evaluationTime > 0 and a lastEvaluation.
3. Prometheus stops: the remote rules report the connection error as
   lastError, the firing alert keeps firing (a failed evaluation changes no
   state, as in Prometheus), and the local group keeps being evaluated.
Every process is stopped by PID, also on failure.
"""
import datetime
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testing"))
from harness import (Process, api, check, dump_logs, free_ports, get, metric_value, query,  # noqa: E402
                        scaler_args, wait_for, write)
import harness  # noqa: E402

EXPOSITION = b"""# TYPE demo_queue_depth gauge
demo_queue_depth{queue="orders"} 42
demo_queue_depth{queue="mail"} 3
"""


class Exposition:
    """A fixed exposition on a free loopback port, for Prometheus to scrape."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(EXPOSITION)))
                self.end_headers()
                self.wfile.write(EXPOSITION)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def amas_config(tmp, prom_port):
    write(f"{tmp}/rules.yml", """groups:
  - name: remote
    datasource: prom
    interval: 1s
    rules:
      - alert: QueueDeep
        expr: demo_queue_depth{job="demo"} > 10
        for: 2s
        labels: {severity: page}
        annotations: {summary: "queue {{ $labels.queue }} holds {{ $value }}"}
      - alert: BadExpr
        expr: sum(demo_queue_depth by (queue)
      - record: remote:queue_depth:sum
        expr: sum(demo_queue_depth{job="demo"})
  - name: local
    interval: 1s
    rules:
      - alert: LocalHeartbeat
        expr: vector(1)
      - record: local:queue_depth:copy
        expr: remote:queue_depth:sum
""")
    return write(f"{tmp}/amas.yml", f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
remote_datasources:
  - name: prom
    url: http://127.0.0.1:{prom_port}
    timeout: 2s
    max_attempts: 1
rule_files: [{tmp}/rules.yml]
""")


def prometheus_config(tmp, target_port):
    return write(f"{tmp}/prometheus.yml", f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: demo
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
""")


def rfc3339(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def groups(amas):
    data = api(amas + "/api/v1/rules")
    return {g["name"]: g for g in data["groups"]} if data else {}


def rule(amas, group, name):
    g = groups(amas).get(group)
    return next((r for r in g["rules"] if r["name"] == name), None) if g else None


def main():
    binary, prometheus = sys.argv[1:3]
    started = time.monotonic()
    tmp_dir = tempfile.TemporaryDirectory(prefix="amas-remote-ds-")
    tmp = tmp_dir.name
    procs = []
    target = Exposition()
    try:
        prom_port, amas_port = free_ports(2)
        prom, amas = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{amas_port}"
        prom_proc = Process("prometheus", [
            prometheus, f"--config.file={prometheus_config(tmp, target.port)}",
            f"--storage.tsdb.path={tmp}/prom-data", f"--web.listen-address=127.0.0.1:{prom_port}"],
            f"{tmp}/prometheus.log")
        procs.append(prom_proc)
        procs.append(Process("amas-scaler", scaler_args(binary, amas_config(tmp, prom_port),
                                                        amas_port, tmp), f"{tmp}/amas.log"))
        wait_for("Prometheus ready", lambda: get(prom + "/-/ready")[0] == 200, 30)
        wait_for("Prometheus to scrape the exposition",
                 lambda: (query(prom, 'demo_queue_depth{queue="orders"}') or {}).get("result"), 30)

        # 1. the remote group's alert fires in amas-scaler
        def queue_deep():
            data = api(amas + "/api/v1/alerts")
            alerts = [a for a in (data or {}).get("alerts", [])
                      if a["labels"].get("alertname") == "QueueDeep" and a["state"] == "firing"]
            return alerts or None
        alerts = wait_for("QueueDeep firing in amas-scaler", queue_deep, 40)
        a = alerts[0]
        check(len(alerts) == 1 and a["labels"] == {
            "alertname": "QueueDeep", "job": "demo", "instance": f"127.0.0.1:{target.port}",
            "queue": "orders", "severity": "page"},
            f"QueueDeep fires for the one queue above 10, with Prometheus's series labels and the "
            f"rule's ({a['labels']})")
        check(float(a["value"]) == 42 and a["annotations"] == {"summary": "queue orders holds 42"},
              f"its value and annotation come from Prometheus's answer ({a['value']}, "
              f"{a['annotations']})")

        def copied():
            data = query(amas, "local:queue_depth:copy")
            return data["result"] if data and data["result"] else None
        res = wait_for("the remote recording rule read by the local group", copied, 20)
        check(res[0]["value"][1] == "45",
              f"the remote group's recorded series is in amas-scaler's store and a local rule "
              f"reads it (local:queue_depth:copy = {res[0]['value'][1]})")

        # 2. /api/v1/rules: the datasource, the bad expression's error, timings
        g = groups(amas)
        check(g["remote"].get("datasource") == "prom" and "datasource" not in g["local"],
              f"/api/v1/rules names the remote group's datasource "
              f"({g['remote'].get('datasource')!r}) and no datasource for the local group")
        bad = wait_for("BadExpr to be evaluated",
                       lambda: (r := rule(amas, "remote", "BadExpr")) and
                       r["health"] != "unknown" and r, 10)
        check(bad["health"] == "err" and "parse error" in bad.get("lastError", "") and
              "datasource prom" in bad.get("lastError", ""),
              f"the expression Prometheus rejects is the rule's lastError ({bad.get('lastError')})")
        by_name = {r["name"]: r for grp in g.values() for r in grp["rules"]}
        others = [by_name[n] for n in ("QueueDeep", "remote:queue_depth:sum", "LocalHeartbeat",
                                       "local:queue_depth:copy")]
        check(all(r["health"] == "ok" and "lastError" not in r for r in others),
              f"the other rules stay ok ({[(r['name'], r['health']) for r in others]})")
        check(all(r["evaluationTime"] > 0 for r in by_name.values()),
              f"every rule has an evaluationTime > 0 "
              f"({ {n: r['evaluationTime'] for n, r in by_name.items()} })")
        remote = g["remote"]
        last = [rfc3339(r["lastEvaluation"]) for r in remote["rules"]]
        group_last = rfc3339(remote["lastEvaluation"])
        check(last == sorted(last) and group_last <= last[0] + datetime.timedelta(milliseconds=1)
              and last[-1] - group_last <= datetime.timedelta(seconds=remote["evaluationTime"] + 0.002)
              and abs((datetime.datetime.now(datetime.timezone.utc) - group_last).total_seconds()) < 10,
              f"rules' lastEvaluation is each rule's start, within the group's round "
              f"(group {remote['lastEvaluation']} + {remote['evaluationTime']}s, rules "
              f"{[r['lastEvaluation'] for r in remote['rules']]})")

        # 3. Prometheus goes away
        prom_proc.stop()
        procs.remove(prom_proc)  # stopped by PID; its log is closed
        down = wait_for("QueueDeep to report the connection error",
                        lambda: (r := rule(amas, "remote", "QueueDeep")) and
                        r["health"] == "err" and r, 15)
        check("datasource prom" in down.get("lastError", ""),
              f"with Prometheus down the remote rule's lastError says so ({down.get('lastError')})")
        check(queue_deep() is not None,
              "the firing alert keeps firing: a failed evaluation changes no alert state")
        before = rfc3339(groups(amas)["local"]["lastEvaluation"])
        time.sleep(2.5)
        g = groups(amas)
        local = g["local"]
        check(rfc3339(local["lastEvaluation"]) > before and
              all(r["health"] == "ok" for r in local["rules"] if r["name"] == "LocalHeartbeat"),
              f"the local group keeps running ({before.isoformat()} -> {local['lastEvaluation']})")
        failures = metric_value(get(amas + "/metrics")[1],
                                "amas_scaler_rule_evaluation_failures_total")
        check(failures is not None and failures > 0,
              f"failed evaluations are counted in amas_scaler_rule_evaluation_failures_total "
              f"({failures})")
        check(all(p.alive() for p in procs if p is not prom_proc), "amas-scaler is still running")
        print(f"PASSED: {harness.CHECKS} checks in {time.monotonic() - started:.1f}s")
        return 0
    except Exception:
        dump_logs(procs)
        raise
    finally:
        for p in reversed(procs):
            p.stop()
        target.stop()
        tmp_dir.cleanup()


if __name__ == "__main__":
    sys.exit(main())

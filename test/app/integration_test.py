#!/usr/bin/env python3
"""End-to-end test of the amas-scaler binary with Debian's Prometheus.

  integration_test.py AMAS_SCALER_BINARY [PROMETHEUS_BINARY]

1. amas-scaler starts with a slow scrape target, so /-/ready must answer 503
   before its first scrape round is done and 200 after.
2. Prometheus (on a free loopback port, temp storage) scrapes amas-scaler's
   /metrics: its /api/v1/query must report up == 1 for it.
3. amas-scaler federates from that Prometheus (/federate, honor_labels,
   match[]): the federated series must appear in amas-scaler's store with
   Prometheus's own sample timestamps.
4. /-/reload with a broken config answers 500 naming file:line:col and the
   running config keeps working; SIGHUP reloads a good one.
5. The demo platform exporter is scraped and queryable.
6. SIGTERM stops amas-scaler within 1 s.
Every process is stopped by PID, also on failure. Standard library only.
"""
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testing"))
from harness import Process, api, check, dump_logs, free_port, get, wait_for  # noqa: E402
import harness  # noqa: E402

class SlowHandler(BaseHTTPRequestHandler):
    """A scrape target that takes 1.5 s to answer, so readiness is observable."""

    def do_GET(self):
        time.sleep(1.5)
        body = b"# TYPE slow_metric gauge\nslow_metric 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def amas_config(slow_port, prom_port, platform_port, broken=False):
    job_key = "scrape_intervall" if broken else "scrape_interval"
    return f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: slow
    {job_key}: 3s
    scrape_timeout: 2500ms
    static_configs:
      - targets: ["127.0.0.1:{slow_port}"]
  - job_name: prometheus-federate
    metrics_path: /federate
    honor_labels: true
    params:
      "match[]": ['{{job="amas-scaler"}}']
    static_configs:
      - targets: ["127.0.0.1:{prom_port}"]
  - job_name: amas-platform
    static_configs:
      - targets: ["127.0.0.1:{platform_port}"]
demo:
  platform_exporter:
    listen_address: 127.0.0.1:{platform_port}
    period: 5m
"""


def main():
    binary = os.path.abspath(sys.argv[1])
    prometheus = sys.argv[2] if len(sys.argv) > 2 else "/usr/bin/prometheus"
    tmp = tempfile.TemporaryDirectory(prefix="amas-integration-")
    procs = []
    slow = ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    try:
        amas_port, prom_port, platform_port = free_port(), free_port(), free_port()
        amas = f"http://127.0.0.1:{amas_port}"
        prom = f"http://127.0.0.1:{prom_port}"
        config_path = os.path.join(tmp.name, "amas.yml")
        good_config = amas_config(slow.server_address[1], prom_port, platform_port)
        with open(config_path, "w") as f:
            f.write(good_config)

        # 1. readiness: 503 until the slow target's first scrape is done, then 200
        scaler = Process("amas-scaler", [
            binary, f"--config.file={config_path}", f"--web.listen-address=127.0.0.1:{amas_port}",
            f"--storage.path={tmp.name}/amas-data", "--log.level=debug"],
            os.path.join(tmp.name, "amas.log"))
        procs.append(scaler)
        wait_for("amas-scaler to answer", lambda: get(amas + "/-/healthy")[0] == 200, 10)
        check(get(amas + "/-/ready")[0] == 503, "/-/ready is 503 before the first scrape round")
        wait_for("amas-scaler ready", lambda: get(amas + "/-/ready")[0] == 200, 15)
        check(True, "/-/ready turns 200 after the first scrape round")

        # 2. Prometheus scrapes amas-scaler's /metrics
        prom_config = os.path.join(tmp.name, "prometheus.yml")
        with open(prom_config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: amas-scaler
    static_configs:
      - targets: ["127.0.0.1:{amas_port}"]
""")
        procs.append(Process("prometheus", [
            prometheus, f"--config.file={prom_config}",
            f"--storage.tsdb.path={tmp.name}/prom-data",
            f"--web.listen-address=127.0.0.1:{prom_port}"], os.path.join(tmp.name, "prom.log")))
        wait_for("Prometheus ready", lambda: get(prom + "/-/ready")[0] == 200, 30)

        def prom_up():
            q = urllib.parse.quote('up{job="amas-scaler"}')
            data = api(f"{prom}/api/v1/query?query={q}")
            return data and data["result"] and data["result"][0]["value"][1] == "1"
        wait_for("Prometheus to see amas-scaler up", prom_up, 40)
        check(True, "Prometheus reports up == 1 for amas-scaler's /metrics")

        # 3. amas-scaler federates Prometheus's series about itself
        sel = 'amas_scaler_build_info{job="amas-scaler"}'
        def federated():
            q = urllib.parse.quote(sel)
            return api(f"{amas}/api/v1/series?match[]={q}")
        series = wait_for("federated series in amas-scaler's store", federated, 40)
        check(series[0]["instance"] == f"127.0.0.1:{amas_port}",
              "federated series keep Prometheus's labels (honor_labels)")
        time.sleep(3)
        at = time.time() - 1
        q = urllib.parse.quote(sel + "[30s]")
        ours = api(f"{amas}/api/v1/query?query={q}&time={at:.3f}")
        theirs = api(f"{prom}/api/v1/query?query={q}&time={at:.3f}")
        check(ours is not None and ours["resultType"] == "matrix" and ours["result"],
              "amas-scaler answers a range selector over federated data")
        our_ts = {p[0] for s in ours["result"] for p in s["values"]}
        prom_ts = {p[0] for s in theirs["result"] for p in s["values"]}
        check(our_ts and our_ts <= prom_ts,
              f"federated samples carry Prometheus's timestamps ({len(our_ts)} of {len(prom_ts)})")
        q = urllib.parse.quote(f'up{{job="amas-scaler",instance="127.0.0.1:{amas_port}"}}')
        data = api(f"{amas}/api/v1/query?query={q}")
        check(data["result"] and data["result"][0]["value"][1] == "1",
              "Prometheus's up for amas-scaler, federated back, is 1")

        targets = api(amas + "/api/v1/targets")["activeTargets"]
        health = {t["scrapePool"]: t["health"] for t in targets}
        check(health.get("prometheus-federate") == "up", f"federate target is up ({health})")

        # 4. reload: a broken config is rejected and the running one stays
        with open(config_path, "w") as f:
            f.write(amas_config(slow.server_address[1], prom_port, platform_port, broken=True))
        status, body = get(amas + "/-/reload", method="POST")
        check(status == 500 and f"{config_path}:6:5: unknown field \"scrape_intervall\"" in body,
              f"a broken config is rejected naming file:line:col ({body.strip()})")
        check(len(api(amas + "/api/v1/targets")["activeTargets"]) == 3,
              "the running config keeps working after a rejected reload")
        metrics = get(amas + "/metrics")[1]
        check("amas_scaler_config_last_reload_successful 0" in metrics,
              "/metrics reports the failed reload")
        with open(config_path, "w") as f:
            f.write(good_config.replace("  - job_name: slow\n", "  - job_name: slow2\n"))
        scaler.proc.send_signal(signal.SIGHUP)
        def reloaded():
            pools = {t["scrapePool"] for t in api(amas + "/api/v1/targets")["activeTargets"]}
            return "slow2" in pools
        wait_for("SIGHUP to reload the config", reloaded, 10)
        check("amas_scaler_config_last_reload_successful 1" in get(amas + "/metrics")[1],
              "SIGHUP reloads a good config")
        yaml = api(amas + "/api/v1/status/config")["yaml"]
        check("slow2" in yaml, "/api/v1/status/config shows the reloaded YAML")

        # 5. the demo platform exporter is scraped and queryable
        def platform_series():
            q = urllib.parse.quote('amas_process_cpu_seconds_total{service="backend"}')
            return api(f"{amas}/api/v1/series?match[]={q}")
        check(len(wait_for("demo platform series", platform_series, 15)) == 3,
              "the demo platform's three backend pods are ingested")
        q = urllib.parse.quote('amas_http_request_duration_seconds_bucket{service="backend",le="+Inf"}')
        data = api(f"{amas}/api/v1/query?query={q}")
        check(data["result"], "the latency histogram is queryable")
        metrics = get(amas + "/metrics")[1]
        check('amas_scaler_scrape_duration_seconds_count{job="amas-platform"}' in metrics,
              "/metrics has per-job scrape durations")
        lint = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=metrics.encode(),
                              capture_output=True)
        check(lint.returncode == 0 and not lint.stdout and not lint.stderr,
              f"live /metrics passes promtool check metrics {lint.stdout + lint.stderr!r}")

        # 6. SIGTERM: gone within 1 s
        start = time.monotonic()
        scaler.proc.send_signal(signal.SIGTERM)
        try:
            code = scaler.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        took = time.monotonic() - start
        check(code == 0 and took < 1.0, f"SIGTERM stops amas-scaler within 1 s (took {took:.3f}s, exit {code})")
        print(f"PASSED: {harness.CHECKS} checks")
        return 0
    except Exception:
        dump_logs(procs)
        raise
    finally:
        for p in reversed(procs):
            p.stop()
        slow.shutdown()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())

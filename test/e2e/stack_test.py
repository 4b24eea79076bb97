#!/usr/bin/env python3
"""amas-scaler in the real stack: Debian's Prometheus and Alertmanager.

  stack_test.py AMAS_SCALER PROMETHEUS ALERTMANAGER

On free loopback ports, in a temp dir:
  webhook receiver (here) <- amas-scaler -> Alertmanager -> amas-scaler
                                  ^                ^
                     Prometheus scrapes /metrics, fires "Incident"

1. amas-scaler decides for a dry_run target "web" (2 replicas) with a scale
   rule on count(ALERTS{alertname="Incident",alertstate="firing"}) > 0: with
   no incident the rule has no data, so the target holds at 2.
2. Prometheus scrapes amas-scaler (up == 1) and fires Incident (vector(1));
   Alertmanager routes it to POST /api/v1/alertmanager with a bearer token.
3. The alert becomes ALERTS{alertname="Incident",alertstate="firing"} in
   amas-scaler, its scale rule votes up and the decision for "web" grows.
4. amas-scaler's own alert rule (AmasSawIncident) reaches Alertmanager's
   GET /api/v2/alerts.
5. The recommendation reaches the local webhook receiver with a valid
   X-Amas-Signature (HMAC-SHA256 over "<t>.<body>").
6. Prometheus drops the Incident rule (reload); Alertmanager's resolved
   webhook ends the ALERTS series in amas-scaler.
Every process is stopped by PID, also on failure.
"""
import hashlib
import hmac
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testing"))
from harness import (  # noqa: E402
    Process, api, check, dump_logs, free_ports, get, metric_value, query,
    scaler_args, wait_for, write)
import harness  # noqa: E402

WEBHOOK_SECRET = "e2e-webhook-secret"
RECEIVER_TOKEN = "e2e-receiver-token"


class WebhookSink:
    """A local webhook endpoint that checks each event's signature."""

    def __init__(self, secret):
        self.secret = secret.encode()
        self.lock = threading.Lock()
        self.valid, self.invalid = [], []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                sink.record(self.headers.get("X-Amas-Signature", ""), body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, header, body):
        fields = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        t, v1 = fields.get("t", ""), fields.get("v1", "")
        want = hmac.new(self.secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
        ok = t.isdigit() and abs(int(t) - time.time()) < 60 and hmac.compare_digest(v1, want)
        with self.lock:
            (self.valid if ok else self.invalid).append((header, body))

    def events(self):
        with self.lock:
            return [json.loads(b) for _, b in self.valid], list(self.invalid)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def amas_config(tmp, platform_port, am_port, sink_port):
    write(f"{tmp}/amas-rules.yml", """groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: AmasSawIncident
        expr: count(ALERTS{alertname="Incident",alertstate="firing"}) > 0
        labels: {severity: info, e2e: stack}
        annotations: {summary: "amas-scaler received {{ $value }} Incident alert(s)"}
      - name: incident
        target: web
        expr: count(ALERTS{alertname="Incident",alertstate="firing"})
        scale_up: {above: 0}
""")
    write(f"{tmp}/webhook-secret", WEBHOOK_SECRET + "\n")
    write(f"{tmp}/receiver-token", RECEIVER_TOKEN + "\n")
    return write(f"{tmp}/amas.yml", f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: amas-platform
    static_configs:
      - targets: ["127.0.0.1:{platform_port}"]
demo:
  platform_exporter:
    listen_address: 127.0.0.1:{platform_port}
    period: 5m
rule_files: [amas-rules.yml]
scale_targets:
  - name: web
    min_replicas: 1
    max_replicas: 5
    actuator: {{kind: dry_run, initial_replicas: 2}}
alerting:
  resend_delay: 1s
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{am_port}"]
webhooks:
  - name: e2e-sink
    url: http://127.0.0.1:{sink_port}/hook
    secret_file: webhook-secret
    events: [recommendation, action_started, action_succeeded, action_failed]
    max_attempts: 3
alertmanager_receiver:
  bearer_token_file: receiver-token
""")


def alertmanager_config(tmp, amas_port):
    return write(f"{tmp}/alertmanager.yml", f"""route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['alertname="Incident"']
      receiver: amas-scaler
receivers:
  - name: blackhole
  - name: amas-scaler
    webhook_configs:
      - url: http://127.0.0.1:{amas_port}/api/v1/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials_file: {tmp}/receiver-token
""")


def prometheus_config(tmp, amas_port, am_port):
    write(f"{tmp}/prom-rules.yml", """groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: Incident
        expr: vector(1)
        labels: {severity: page, service: web}
        annotations: {summary: "a synthetic incident"}
""")
    return write(f"{tmp}/prometheus.yml", f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [{tmp}/prom-rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{am_port}"]
scrape_configs:
  - job_name: amas-scaler
    static_configs:
      - targets: ["127.0.0.1:{amas_port}"]
""")


def main():
    binary, prometheus, alertmanager = sys.argv[1:4]
    started = time.monotonic()
    tmp_dir = tempfile.TemporaryDirectory(prefix="amas-e2e-stack-")
    tmp = tmp_dir.name
    procs = []
    sink = WebhookSink(WEBHOOK_SECRET)
    try:
        amas_port, prom_port, am_port, platform_port = free_ports(4)
        amas = f"http://127.0.0.1:{amas_port}"
        prom = f"http://127.0.0.1:{prom_port}"
        am = f"http://127.0.0.1:{am_port}"

        procs.append(Process("alertmanager", [
            alertmanager, f"--config.file={alertmanager_config(tmp, amas_port)}",
            f"--storage.path={tmp}/am-data", f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address="], f"{tmp}/alertmanager.log"))
        scaler = Process("amas-scaler", scaler_args(
            binary, amas_config(tmp, platform_port, am_port, sink.port), amas_port, tmp) +
            ["--log.level=debug"], f"{tmp}/amas.log")
        procs.append(scaler)
        wait_for("Alertmanager ready", lambda: get(am + "/-/ready")[0] == 200, 20)
        wait_for("amas-scaler ready", lambda: get(amas + "/-/ready")[0] == 200, 20)

        # 1. before any incident: the rule has no data, the target holds at 2
        def decided():
            t = api(amas + "/api/v1/scale_targets/web")
            return t if t and t["decision"] else None
        before = wait_for("a first decision for web", decided, 15)
        check(before["currentReplicas"] == 2 and before["desiredReplicas"] == 2,
              f"without an incident web holds at 2 (desired {before['desiredReplicas']})")
        check(before["rules"][0]["vote"] != "up",
              f"the incident rule does not vote up yet ({before['rules'][0]['vote']})")

        # 2. Prometheus scrapes amas-scaler and fires Incident
        procs.append(Process("prometheus", [
            prometheus, f"--config.file={prometheus_config(tmp, amas_port, am_port)}",
            f"--storage.tsdb.path={tmp}/prom-data", f"--web.listen-address=127.0.0.1:{prom_port}",
            "--rules.alert.resend-delay=1s", "--web.enable-lifecycle"], f"{tmp}/prometheus.log"))
        wait_for("Prometheus ready", lambda: get(prom + "/-/ready")[0] == 200, 20)

        def prom_up():
            data = query(prom, 'up{job="amas-scaler"}')
            return data and data["result"] and data["result"][0]["value"][1] == "1"
        wait_for("Prometheus to see amas-scaler up", prom_up, 30)
        check(True, "Prometheus reports up == 1 for amas-scaler's /metrics")

        # 3. Alertmanager delivers Incident; it becomes ALERTS in amas-scaler
        def incident_in_amas():
            data = query(amas, 'ALERTS{alertname="Incident",alertstate="firing"}')
            return data["result"] if data and data["result"] else None
        series = wait_for("ALERTS{alertname=\"Incident\"} in amas-scaler", incident_in_amas, 40)
        labels = series[0]["metric"]
        check(labels.get("severity") == "page" and labels.get("service") == "web" and
              series[0]["value"][1] == "1",
              f"Alertmanager's Incident is ALERTS{{alertstate=\"firing\"}} = 1 in amas-scaler "
              f"({labels})")
        metrics = get(amas + "/metrics")[1]
        received = metric_value(metrics, "amas_scaler_alertmanager_webhooks_received_total")
        rejected = metric_value(metrics, "amas_scaler_alertmanager_webhooks_rejected_total") or 0
        check(received and received >= 1 and rejected == 0,
              f"the receiver accepted Alertmanager's bearer token ({received} received, "
              f"{rejected} rejected)")

        # the decision changes because of it
        def grown():
            t = api(amas + "/api/v1/scale_targets/web")
            return t if t and t["decision"] and t["desiredReplicas"] > 2 else None
        after = wait_for("web's decision to grow", grown, 20)
        rule = after["rules"][0]
        check(rule["rule"] == "incident" and rule["vote"] == "up" and rule["value"] >= 1,
              f"the incident rule votes up on the alert ({rule['vote']}, value {rule['value']})")
        check(after["desiredReplicas"] > before["desiredReplicas"],
              f"web's decision grows from {before['desiredReplicas']} to "
              f"{after['desiredReplicas']} ({after['decision']['why']})")

        # 4. amas-scaler's own alert rule reaches Alertmanager
        def in_alertmanager():
            q = urllib.parse.quote('alertname="AmasSawIncident"')
            status, body = get(f"{am}/api/v2/alerts?filter={q}")
            alerts = json.loads(body) if status == 200 else []
            return alerts or None
        alerts = wait_for("AmasSawIncident in Alertmanager", in_alertmanager, 20)
        check(alerts[0]["labels"].get("e2e") == "stack" and
              alerts[0]["status"]["state"] == "active" and
              "received 1 Incident" in alerts[0]["annotations"].get("summary", ""),
              f"amas-scaler's alert is active in Alertmanager ({alerts[0]['labels']}, "
              f"{alerts[0]['annotations']})")

        # 5. the webhook receiver got signed events
        def recommendation():
            valid, _ = sink.events()
            return [e for e in valid if e["kind"] == "recommendation" and e["target"] == "web" and
                    e["to"] > 2]
        events = wait_for("a signed recommendation event to grow web", recommendation, 15)
        _, invalid = sink.events()
        check(events[0]["from"] == 2 and events[0]["to"] > 2 and not invalid,
              f"the webhook got a validly signed recommendation {events[0]['from']} -> "
              f"{events[0]['to']} and no badly signed event ({len(invalid)})")

        # 6. the incident ends: Alertmanager's resolution removes the series
        write(f"{tmp}/prom-rules.yml", "groups: []\n")
        status, _ = get(prom + "/-/reload", method="POST")
        check(status == 200, f"Prometheus reloads without the Incident rule ({status})")
        wait_for("ALERTS{alertname=\"Incident\"} to go stale in amas-scaler",
                 lambda: not incident_in_amas(), 30)
        received_after = metric_value(get(amas + "/metrics")[1],
                                      "amas_scaler_alertmanager_webhooks_received_total")
        check(received_after > received,
              f"Alertmanager's resolved webhook ({received_after - received:.0f} more received) "
              "ends the alert in amas-scaler: the series went stale")

        def rule_no_data():
            t = api(amas + "/api/v1/scale_targets/web")
            return t and t["rules"][0]["vote"] == "no_data"
        wait_for("the incident rule to have no data again", rule_no_data, 10)
        check(True, "the incident rule has no data again")

        check(all(p.alive() for p in procs), "every process is still running")
        print(f"PASSED: {harness.CHECKS} checks in {time.monotonic() - started:.1f}s")
        return 0
    except Exception:
        dump_logs(procs)
        raise
    finally:
        for p in reversed(procs):
            p.stop()
        sink.stop()
        tmp_dir.cleanup()


if __name__ == "__main__":
    sys.exit(main())

"""Starts amas-scaler in demo mode on free loopback ports (and, if asked, a
Prometheus scraping it) in a temp dir, and stops them by PID on exit.

Shared by dashboards_test.py, scripts/gen_metrics_doc.py and
metrics_doc_test.py.
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_until(what, ok, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ok():
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError("timed out waiting for " + what)


# With events=True the demo also gets rules and a target that make the
# event-driven series appear within seconds: a rule that always votes up (a
# scale action on backend), a rule whose evaluation fails at every round, and
# a target "flaky" whose exec actuator fails every apply.
EVENT_RULES = """groups:
  - name: ops-test
    interval: 1s
    rules:
      - name: always-up
        target: backend
        expr: vector(1)
        scale_up: {above: 0}
      - name: always-up-flaky
        target: flaky
        expr: vector(1)
        scale_up: {above: 0}
  - name: ops-test-failing
    interval: 1s
    rules:
      # Two series per side with the same (empty) match group: a runtime error.
      - record: ops_test:failing
        expr: amas_pod_cpu_usage_ratio + on() amas_pod_cpu_usage_ratio
"""
EVENT_TARGET = """  - name: flaky
    min_replicas: 1
    max_replicas: 5
    actuator:
      kind: exec
      current: ["/bin/echo", "2"]
      apply: ["/bin/false"]
"""


def demo_config(tmp, exporter_port, events=False):
    """deploy/demo.yaml with the exporter on exporter_port, a 1 s scrape and
    an absolute rule_files path (plus EVENT_RULES / EVENT_TARGET if events)."""
    with open(os.path.join(SOURCE_DIR, "deploy", "demo.yaml")) as f:
        text = f.read()
    text = text.replace("127.0.0.1:9106", "127.0.0.1:%d" % exporter_port)
    text = text.replace("scrape_interval: 5s", "scrape_interval: 1s")
    text = text.replace("scrape_timeout: 4s", "scrape_timeout: 1s")
    text = text.replace("evaluation_interval: 15s", "evaluation_interval: 2s")
    text = text.replace("../rules/amas-policy.rules.yml",
                        os.path.join(SOURCE_DIR, "rules", "amas-policy.rules.yml"))
    assert "127.0.0.1:%d" % exporter_port in text and SOURCE_DIR in text
    if events:
        extra = os.path.join(tmp, "events.rules.yml")
        with open(extra, "w") as f:
            f.write(EVENT_RULES)
        text = text.replace("rule_files:\n", "rule_files:\n  - %s\n" % extra)
        assert extra in text and text.rstrip().endswith("initial_replicas: 10")
        text = text.rstrip() + "\n" + EVENT_TARGET
    path = os.path.join(tmp, "demo.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def stop(proc):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def running_demo(binary, events=False):
    """Yields (base URL, temp dir) of an amas-scaler running deploy/demo.yaml."""
    tmp = tempfile.mkdtemp(prefix="amas-ops-")
    proc = None
    try:
        cfg = demo_config(tmp, free_port(), events)
        port = free_port()
        log = open(os.path.join(tmp, "amas-scaler.log"), "w")
        proc = subprocess.Popen(
            [binary, "--config.file=" + cfg, "--web.listen-address=127.0.0.1:%d" % port,
             "--storage.path=" + os.path.join(tmp, "data")],
            stdout=log, stderr=subprocess.STDOUT)
        base = "http://127.0.0.1:%d" % port

        def ready():
            if proc.poll() is not None:
                raise RuntimeError("amas-scaler exited: " +
                                   open(os.path.join(tmp, "amas-scaler.log")).read())
            return http_get(base + "/-/ready")[0] == 200

        wait_until("amas-scaler /-/ready", ready, 30)
        yield base, tmp
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def running_prometheus(scrape_hostport, tmp):
    """Yields the base URL of /usr/bin/prometheus scraping scrape_hostport every second."""
    port = free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: amas-scaler\n"
                "    static_configs:\n      - targets: ['%s']\n" % scrape_hostport)
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    proc = subprocess.Popen(
        ["/usr/bin/prometheus", "--config.file=" + cfg,
         "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
         "--web.listen-address=127.0.0.1:%d" % port],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        base = "http://127.0.0.1:%d" % port
        wait_until("prometheus /-/ready", lambda: http_get(base + "/-/ready")[0] == 200, 60)
        yield base
    finally:
        stop(proc)


def query(base, expr):
    import json
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        _, body = http_get(url)
    except urllib.error.HTTPError as e:
        body = e.read().decode()
    return json.loads(body)


def families(metrics_text):
    """{name: (type, help)} from # HELP / # TYPE lines, in exposition order."""
    out = {}
    for line in metrics_text.splitlines():
        m = re.match(r"# (HELP|TYPE) (\S+) ?(.*)$", line)
        if not m:
            continue
        kind, name, rest = m.groups()
        t, h = out.get(name, ("", ""))
        if kind == "TYPE":
            t = rest
        else:
            h = rest.replace("\\\\", "\\").replace("\\n", "\n")
        out[name] = (t, h)
    return out

"""Helpers shared by the Python integration tests: checks, free ports, HTTP, processes.

Standard library only. Every process is started with its output in a log file
and stopped by its PID (terminate, then kill after 5 s).
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

CHECKS = 0


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        raise AssertionError(what)
    print(f"ok {CHECKS}: {what}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    """n distinct free loopback ports (all held open until every one is picked)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def request(url, method="GET", body=None, headers=None, timeout=5):
    """(status, headers, body text) of a request; connection errors give (0, {}, reason)."""
    req = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException, OSError) as e:
        return 0, {}, str(e)


def get(url, timeout=5, method="GET"):
    status, _, body = request(url, method=method, body=b"" if method == "POST" else None,
                              timeout=timeout)
    return status, body


def api(url):
    """The "data" of a Prometheus-style API answer, None unless it is a 200."""
    status, body = get(url)
    if status != 200:
        return None
    return json.loads(body)["data"]


def query(base, expr):
    return api(f"{base}/api/v1/query?query={urllib.parse.quote(expr)}")


def wait_for(what, fn, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def metric_value(metrics_text, name):
    """Sum of every sample of a metric family's series named exactly `name`."""
    total = None
    for line in metrics_text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if series == name or series.startswith(name + "{"):
            total = (total or 0.0) + float(value)
    return total


class Process:
    def __init__(self, name, args, log_path):
        self.name = name
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def tail(self, lines=40):
        self.log.flush()
        with open(self.log.name, "rb") as f:
            return b"".join(f.readlines()[-lines:]).decode(errors="replace")


def dump_logs(procs):
    for p in procs:
        print(f"--- {p.name} log (last 40 lines):", file=sys.stderr)
        sys.stderr.write(p.tail())


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def scaler_args(binary, config_path, port, tmp):
    return [os.path.abspath(binary), f"--config.file={config_path}",
            f"--web.listen-address=127.0.0.1:{port}", f"--storage.path={tmp}/amas-data"]

#!/usr/bin/env python3
"""A stand-in for the Kubernetes API server, for tests only. NOT Kubernetes.

Implements just the scale subresource of apps/v1 deployments and statefulsets
and of one custom resource (example.com/v1 widgets), following the documented
API semantics the amas-scaler kubernetes actuator relies on: autoscaling/v1
Scale objects, JSON merge patch, resourceVersion preconditions (409 Conflict),
bearer-token and client-certificate authentication (401), a forbidden
namespace (403), unknown objects (404), each error as a metav1 Status object.
Faults (5xx, delays, lost replies, resets, conflicts) are injected through
/_standin/ controls. See README.md beside this file for the full list.
"""

import argparse
import bisect
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

SERVED = {
    ("apps", "v1", "deployments"): "deployments.apps",
    ("apps", "v1", "statefulsets"): "statefulsets.apps",
    ("example.com", "v1", "widgets"): "widgets.example.com",
}
PATH_RE = re.compile(
    r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)/namespaces/(?P<ns>[^/]+)/"
    r"(?P<resource>[^/]+)/(?P<name>[^/]+)/scale$")
SERVICE_ACCOUNT = "system:serviceaccount:amas:amas-scaler"


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.rv = 1000
        self.objects = {}  # (group, version, resource, ns, name) -> dict
        self.faults = []  # dicts with match/action/count/...
        self.requests = []  # monotonic times of API requests
        self.per_second = {}  # int(monotonic) -> count

    def next_rv(self):
        self.rv += 1
        return self.rv

    def put(self, key, replicas):
        with self.lock:
            obj = self.objects.get(key)
            if obj is None:
                obj = {"replicas": replicas, "rv": self.next_rv(), "writes": 0,
                       "uid": str(uuid.uuid4()), "created": time.strftime(
                           "%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                self.objects[key] = obj
            elif obj["replicas"] != replicas:
                obj["replicas"] = replicas
                obj["rv"] = self.next_rv()

    def take_fault(self, request_line):
        with self.lock:
            for f in self.faults:
                if f["match"] in request_line and f["count"] > 0:
                    f["count"] -= 1
                    return dict(f)
            return None

    def record(self):
        now = time.monotonic()
        with self.lock:
            self.requests.append(now)
            sec = int(now)
            self.per_second[sec] = self.per_second.get(sec, 0) + 1

    def stats(self, window):
        with self.lock:
            times = list(self.requests)
            per_second = [self.per_second[k] for k in sorted(self.per_second)]
        best = 0
        for i, t in enumerate(times):
            j = bisect.bisect_left(times, t + window, lo=i)
            best = max(best, j - i)
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        return {"requests": len(times), "max_in_window": best, "window_s": window,
                "span_s": span, "per_second": per_second}


def status_body(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


def scale_body(key, obj):
    group, version, resource, ns, name = key
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": name, "namespace": ns, "uid": obj["uid"],
                         "resourceVersion": str(obj["rv"]),
                         "creationTimestamp": obj["created"]},
            "spec": {"replicas": obj["replicas"]},
            "status": {"replicas": obj["replicas"], "selector": "app=" + name}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "k8s-standin/0.1"
    # Headers and body go out in separate writes; with Nagle on, each reply
    # would wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet: tests read stats, not logs
        pass

    # --- plumbing -----------------------------------------------------------
    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self.dispatch("GET")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        url = urlparse(self.path)
        body = self.read_body()
        if url.path.startswith("/_standin/"):
            return self.control(method, url, body)
        store = self.server.store
        store.record()
        fault = store.take_fault(method + " " + url.path)
        if fault and fault["action"] == "reset":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault and fault["action"] == "status":
            code = int(fault.get("status", 503))
            return self.send_json(code, status_body(code, "ServiceUnavailable" if code == 503
                                                    else "InternalError",
                                                    fault.get("message", "injected fault")))
        if fault and fault["action"] == "delay":
            time.sleep(fault.get("delay_ms", 1000) / 1000.0)
        code, reply = self.api(method, url.path, body, fault)
        if fault and fault["action"] == "lost_reply":
            time.sleep(fault.get("delay_ms", 1000) / 1000.0)
        try:
            self.send_json(code, reply)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # --- the API ------------------------------------------------------------
    def authenticated(self):
        if self.server.client_cert_auth:
            try:
                if self.connection.getpeercert():
                    return True
            except (AttributeError, ValueError):
                pass
        auth = self.headers.get("Authorization", "")
        return self.server.token is not None and auth == "Bearer " + self.server.token

    def api(self, method, path, body, fault):
        store = self.server.store
        if not self.authenticated():
            return 401, status_body(401, "Unauthorized", "Unauthorized")
        m = PATH_RE.match(path)
        if not m or method not in ("GET", "PATCH", "PUT"):
            return 404, status_body(404, "NotFound", "the server could not find the requested "
                                    "resource")
        g = m.groupdict()
        served = SERVED.get((g["group"], g["version"], g["resource"]))
        if served is None:
            return 404, status_body(404, "NotFound", "the server could not find the requested "
                                    "resource")
        name, ns = g["name"], g["ns"]
        if ns in self.server.forbidden:
            verb = {"GET": "get", "PATCH": "patch", "PUT": "update"}[method]
            return 403, status_body(
                403, "Forbidden",
                f'{served} "{name}" is forbidden: User "{SERVICE_ACCOUNT}" cannot {verb} '
                f'resource "{g["resource"]}/scale" in API group "{g["group"]}" in the '
                f'namespace "{ns}"',
                {"name": name, "group": g["group"], "kind": g["resource"]})
        key = (g["group"], g["version"], g["resource"], ns, name)
        not_found = (404, status_body(404, "NotFound", f'{served} "{name}" not found',
                                      {"name": name, "group": g["group"],
                                       "kind": g["resource"]}))
        if method == "GET":
            with store.lock:
                obj = store.objects.get(key)
                return (200, scale_body(key, obj)) if obj else not_found

        if method == "PATCH":
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
            if ctype != "application/merge-patch+json":
                return 415, status_body(415, "UnsupportedMediaType",
                                        f'the body of the request was in an unknown format - '
                                        f'accepted media types include: '
                                        f'application/merge-patch+json (this stand-in only)')
        try:
            doc = json.loads(body or b"{}")
        except ValueError as e:
            return 400, status_body(400, "BadRequest", f"error decoding body: {e}")
        spec = doc.get("spec") if isinstance(doc, dict) else None
        replicas = spec.get("replicas") if isinstance(spec, dict) else None
        want_rv = (doc.get("metadata") or {}).get("resourceVersion", "") \
            if isinstance(doc, dict) else ""
        if replicas is not None and (not isinstance(replicas, int) or isinstance(replicas, bool)
                                     or replicas < 0):
            return 422, status_body(422, "Invalid",
                                    f'Scale.autoscaling "{name}" is invalid: spec.replicas: '
                                    f'Invalid value: {json.dumps(replicas)}: must be greater '
                                    f'than or equal to 0')
        with store.lock:
            obj = store.objects.get(key)
            if obj is None:
                return not_found
            if fault and fault["action"] == "conflict":
                obj["rv"] = store.next_rv()
            if want_rv and want_rv != str(obj["rv"]):
                return 409, status_body(
                    409, "Conflict",
                    f'Operation cannot be fulfilled on {served} "{name}": the object has been '
                    f'modified; please apply your changes to the latest version and try again',
                    {"name": name, "group": g["group"], "kind": g["resource"]})
            if method == "PUT" and replicas is None:
                return 422, status_body(422, "Invalid", f'Scale.autoscaling "{name}" is '
                                        f'invalid: spec.replicas: Required value')
            if replicas is not None and replicas != obj["replicas"]:
                obj["replicas"] = replicas
                obj["rv"] = store.next_rv()
                obj["writes"] += 1
            return 200, scale_body(key, obj)

    # --- test controls --------------------------------------------------------
    def control(self, method, url, body):
        store = self.server.store
        parts = url.path.split("/")[2:]
        if parts == ["healthz"]:
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            return self.wfile.write(data)
        if parts == ["objects"] and method == "POST":
            d = json.loads(body)
            store.put((d.get("group", "apps"), d.get("version", "v1"), d["resource"],
                       d["namespace"], d["name"]), int(d["replicas"]))
            return self.send_json(200, {"ok": True})
        if len(parts) == 5 and parts[0] == "objects" and method == "GET":
            _, group, resource, ns, name = parts
            with store.lock:
                for key, obj in store.objects.items():
                    if key[0] == group and key[2] == resource and key[3] == ns \
                            and key[4] == name:
                        return self.send_json(200, {"replicas": obj["replicas"],
                                                    "resourceVersion": str(obj["rv"]),
                                                    "writes": obj["writes"]})
            return self.send_json(404, {"error": "no such object"})
        if parts == ["faults"] and method == "POST":
            d = json.loads(body)
            d.setdefault("count", 1)
            d.setdefault("match", "")
            with store.lock:
                store.faults.append(d)
            return self.send_json(200, {"ok": True})
        if parts == ["faults"] and method == "DELETE":
            with store.lock:
                store.faults.clear()
            return self.send_json(200, {"ok": True})
        if parts == ["stats"] and method == "GET":
            window = float(parse_qs(url.query).get("window", ["1"])[0])
            return self.send_json(200, store.stats(window))
        if parts == ["stats"] and method == "DELETE":
            with store.lock:
                store.requests.clear()
                store.per_second.clear()
            return self.send_json(200, {"ok": True})
        return self.send_json(404, {"error": "unknown control " + url.path})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def parse_object(spec):
    path, _, replicas = spec.partition("=")
    group, version, resource, ns, name = path.split("/")
    return (group, version, resource, ns, name), int(replicas)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token")
    ap.add_argument("--forbidden-namespace", action="append", default=[])
    ap.add_argument("--object", action="append", default=[],
                    help="group/version/resource/ns/name=replicas")
    ap.add_argument("--bulk", action="append", default=[],
                    help="group/version/resource/ns/prefix/count/replicas")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client-ca")
    args = ap.parse_args()

    server = Server(("127.0.0.1", args.port), Handler)
    server.store = Store()
    server.token = args.token
    server.forbidden = set(args.forbidden_namespace)
    server.client_cert_auth = bool(args.client_ca)
    for spec in args.object:
        key, replicas = parse_object(spec)
        server.store.put(key, replicas)
    for spec in args.bulk:
        group, version, resource, ns, prefix, count, replicas = spec.split("/")
        for i in range(int(count)):
            server.store.put((group, version, resource, ns, f"{prefix}{i}"), int(replicas))
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            ctx.load_verify_locations(args.client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    # The launcher may stop reading once it has this line: never write again.
    try:
        sys.stdout.write(f"listening on {server.server_address[1]}\n")
        sys.stdout.flush()
    except OSError:
        pass
    sys.stdout = open(os.devnull, "w")
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Bad input against amas-scaler's Alertmanager receiver (POST /api/v1/alertmanager).

  receiver_bad_input_test.py AMAS_SCALER TESTDATA_DIR

amas-scaler runs with a bearer token on a free loopback port. After one good
webhook (Alertmanager 0.25's real firing payload) is stored as ALERTS:
malformed JSON, a wrong version, missing fields and invalid UTF-8 are 400s
naming the problem; no or a wrong token is a 401; a 10 MB body is a 413
(without a token a 401) answered from the headers before the body is sent;
9 clients trickling their bodies do not stall a webhook, /-/healthy or
/metrics sent meanwhile, and one trickling past the 10 s body deadline gets
a 408;
500 duplicates are 200s and raise the duplicates counter. Afterwards the
process is still up and the first alert is still in the store.
Every process is stopped by PID, also on failure.
"""
import concurrent.futures
import copy
import json
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testing"))
from harness import (  # noqa: E402
    Process, check, dump_logs, free_port, get, metric_value, query, request,
    scaler_args, wait_for, write)
import harness  # noqa: E402

TOKEN = "e2e-bad-input-token"


def post(base, body, token=TOKEN, timeout=10):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    return request(base + "/api/v1/alertmanager", method="POST", body=body, headers=headers,
                   timeout=timeout)


def api_error(status, body):
    """The "error" of a Prometheus-style error answer, "" if the body is not one."""
    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    return doc.get("error", "") if doc.get("status") == "error" else ""


def expect_400(base, body, want_in_error, what):
    status, headers, text = post(base, body)
    error = api_error(status, text)
    check(status == 400 and headers.get("Content-Type", "").startswith("application/json") and
          want_in_error in error,
          f"{what}: 400 with a JSON error naming it ({status}: {error or text.strip()!r})")


def trickle(port, payload, pieces, delay):
    """Sends a POST in `pieces` chunks `delay` seconds apart; returns the status line."""
    head = (f"POST /api/v1/alertmanager HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode()
    data = head + payload
    step = max(1, len(data) // pieces)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        for i in range(0, len(data), step):
            try:
                s.sendall(data[i:i + step])
            except OSError:
                break  # answered and closed early (408): read what was said
            time.sleep(delay)
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode(errors="replace")


def raw_head(port, length, token):
    """Sends only the head of a POST announcing `length` body bytes; returns
    (status line, body) of the answer, which must come without the body."""
    head = (f"POST /api/v1/alertmanager HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n")
    if token is not None:
        head += f"Authorization: Bearer {token}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall((head + "\r\n").encode())
        answer = b""
        while True:  # the server closes after answering: read to the end
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return status_line.decode(errors="replace"), rest.partition(b"\r\n\r\n")[2].decode(
        errors="replace")


def main():
    binary, testdata = sys.argv[1], sys.argv[2]
    with open(os.path.join(testdata, "alertmanager-firing.json")) as f:
        firing = json.load(f)
    tmp_dir = tempfile.TemporaryDirectory(prefix="amas-e2e-receiver-")
    tmp = tmp_dir.name
    procs = []
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        write(f"{tmp}/token", TOKEN + "\n")
        config = write(f"{tmp}/amas.yml", """global:
  evaluation_interval: 1s
alertmanager_receiver:
  bearer_token_file: token
""")
        scaler = Process("amas-scaler", scaler_args(binary, config, port, tmp), f"{tmp}/amas.log")
        procs.append(scaler)
        wait_for("amas-scaler ready", lambda: get(base + "/-/ready")[0] == 200, 20)

        # a good webhook first: it must survive everything below
        status, _, text = post(base, firing)
        check(status == 200 and json.loads(text)["data"] == {"alerts": 1, "duplicates": 0},
              f"Alertmanager's firing payload is accepted ({status}: {text.strip()})")
        stored = 'ALERTS{alertname="DemoTriggered",alertstate="firing",severity="page"}'
        wait_for("the alert in the store", lambda: (query(base, stored) or {}).get("result"), 5)
        check(True, "the alert is stored as ALERTS{alertstate=\"firing\"}")

        # malformed and invalid payloads: 400, naming the problem
        expect_400(base, '{"version": "4", "alerts": [', "invalid JSON at offset", "truncated JSON")
        expect_400(base, "not json at all", "invalid JSON at offset 1", "not JSON")
        expect_400(base, "[]", "body: must be a JSON object", "a JSON list")
        wrong = dict(firing, version="3")
        expect_400(base, wrong, 'version: unsupported version "3"', "version 3")
        no_version = {k: v for k, v in firing.items() if k != "version"}
        expect_400(base, no_version, "version: missing", "no version")
        no_alerts = {k: v for k, v in firing.items() if k != "alerts"}
        expect_400(base, no_alerts, "alerts: missing", "no alerts")
        no_fp = copy.deepcopy(firing)
        del no_fp["alerts"][0]["fingerprint"]
        expect_400(base, no_fp, "alerts[0].fingerprint: missing", "an alert without fingerprint")
        no_start = copy.deepcopy(firing)
        del no_start["alerts"][0]["startsAt"]
        expect_400(base, no_start, "alerts[0].startsAt: missing", "an alert without startsAt")
        bad_time = copy.deepcopy(firing)
        bad_time["alerts"][0]["startsAt"] = "yesterday"
        expect_400(base, bad_time, "alerts[0].startsAt: not an RFC 3339 time",
                   "an alert with a bad startsAt")
        bad_label = copy.deepcopy(firing)
        bad_label["alerts"][0]["labels"]["bad-name"] = "x"
        expect_400(base, bad_label, 'invalid label name "bad-name"', "an invalid label name")
        no_name = copy.deepcopy(firing)
        del no_name["alerts"][0]["labels"]["alertname"]
        expect_400(base, no_name, "alerts[0].labels: no alertname", "an alert without alertname")
        wrong_type = dict(firing, alerts={"not": "a list"})
        expect_400(base, wrong_type, "alerts: must be a list", "alerts that are not a list")
        utf8 = json.dumps(firing).replace("DemoTriggered", "Demo\udcffTriggered", 1)
        expect_400(base, utf8.encode("utf-8", "surrogateescape"), "Invalid encoding",
                   "invalid UTF-8 in a label value")

        # authentication
        status, headers, text = post(base, firing, token=None)
        check(status == 401 and headers.get("WWW-Authenticate") == "Bearer" and
              api_error(status, text) == "unauthorized",
              f"no token: 401 with WWW-Authenticate: Bearer ({status})")
        status, _, text = post(base, firing, token=TOKEN + "x")
        check(status == 401, f"a wrong token: 401 ({status})")
        status, _, _ = request(base + "/api/v1/alertmanager", method="POST",
                               body=json.dumps(firing).encode(),
                               headers={"Authorization": "Basic dXNlcjpwYXNz"})
        check(status == 401, f"basic auth where a bearer token is configured: 401 ({status})")

        # 10 MB announced: 413 (and without a token 401) before the body is
        # sent at all: the server answers from the headers and closes.
        status_line, text = raw_head(port, 10_000_000, TOKEN)
        check(status_line.startswith("HTTP/1.1 413") and "larger than" in text,
              f"a 10 MB body: 413 from its Content-Length, body unread ({status_line}: "
              f"{text.strip()[:80]!r})")
        status_line, text = raw_head(port, 10_000_000, None)
        check(status_line.startswith("HTTP/1.1 401") and "unauthorized" in text,
              f"a 10 MB body without a token: 401, body unread ({status_line})")

        # Slow clients each hold a worker, but there are more workers than a
        # handful of them, and a body must arrive within 10 s (else 408).
        # 9 clients trickle their webhook over ~3 s, one trickles too slowly;
        # meanwhile a webhook, /-/healthy and /metrics are answered (the
        # deadline here is functional: an answer at all within 10 s).
        body = json.dumps(firing).encode()
        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            slow = [pool.submit(trickle, port, body, 20, 0.15) for _ in range(9)]
            too_slow = pool.submit(trickle, port, body, 40, 0.5)  # ~20 s
            time.sleep(0.5)
            status, _, _ = post(base, firing, timeout=10)
            check(status == 200, f"a webhook is answered while 10 clients trickle ({status})")
            check(get(base + "/-/healthy", timeout=10)[0] == 200, "and so is /-/healthy")
            status, text = get(base + "/metrics", timeout=10)
            check(status == 200 and "amas_scaler_alertmanager" in text, "and so is /metrics")
            lines = [f.result(timeout=60) for f in slow]
            check(all(line.startswith("HTTP/1.1 200") for line in lines),
                  f"the 9 trickled webhooks complete ({sorted(set(lines))})")
            line = too_slow.result(timeout=60)
            check(line.startswith("HTTP/1.1 408"),
                  f"a body still trickling after 10 s is cut off with a 408 ({line})")

        # 500 duplicates: 200s, counted
        def duplicates():
            return metric_value(get(base + "/metrics")[1],
                                "amas_scaler_alertmanager_alerts_duplicate_total") or 0
        before = duplicates()
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda _: post(base, firing), range(500)))
        codes = {}
        for status, _, _ in answers:
            codes[status] = codes.get(status, 0) + 1
        check(codes == {200: 500}, f"500 duplicates are all 200 ({codes})")
        check(all(json.loads(t)["data"]["duplicates"] == 1 for _, _, t in answers),
              "each answer reports the alert as a duplicate")
        after = duplicates()
        check(after - before == 500,
              f"amas_scaler_alertmanager_alerts_duplicate_total rose by 500 ({before} -> {after})")

        metrics = get(base + "/metrics")[1]
        rejected = {}
        for line in metrics.splitlines():
            if line.startswith("amas_scaler_alertmanager_webhooks_rejected_total{"):
                reason = line.split('reason="', 1)[1].split('"', 1)[0]
                rejected[reason] = float(line.rsplit(" ", 1)[1])
        check(rejected.get("bad_request") == 13 and rejected.get("unauthorized") == 4 and
              rejected.get("too_large") == 1,
              f"rejections are counted by reason ({rejected})")

        # still up, and the first alert is still there
        check(scaler.alive() and get(base + "/-/healthy")[0] == 200, "amas-scaler is still up")
        data = query(base, "ALERTS")
        names = [s["metric"].get("alertname") for s in data["result"]] if data else []
        check(names == ["DemoTriggered"],
              f"the alert received first is still in the store ({names})")
        print(f"PASSED: {harness.CHECKS} checks")
        return 0
    except Exception:
        dump_logs(procs)
        raise
    finally:
        for p in reversed(procs):
            p.stop()
        tmp_dir.cleanup()


if __name__ == "__main__":
    sys.exit(main())

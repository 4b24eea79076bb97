#!/usr/bin/env python3
"""`promtool check metrics` on the live /metrics of amas-scaler in demo mode.

usage: metrics_lint_test.py AMAS_SCALER_BINARY PROMTOOL
"""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo_harness as h  # noqa: E402


def main():
    binary, promtool = sys.argv[1], sys.argv[2]
    with h.running_demo(binary) as (base, _tmp):
        time.sleep(5)  # a few evaluation rounds so the decision families have samples
        text = h.http_get(base + "/metrics")[1]
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    sys.stdout.write(r.stdout + r.stderr)
    print("promtool check metrics: exit %d on %d families" %
          (r.returncode, len(h.families(text))))
    return 0 if r.returncode == 0 and not (r.stdout + r.stderr).strip() else 1


if __name__ == "__main__":
    sys.exit(main())

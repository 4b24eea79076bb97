"""A tiny Celery app for amas-scaler's integration tests.

Run a worker with Debian's interpreter (the CLI's #!/bin/sh picks the first
python3 on PATH, which may lack celery):
    AMAS_CELERY_BROKER=redis://127.0.0.1:PORT/0 \
    /usr/bin/python3 -m celery -A amas_test_app worker -c 2 -n w1@%h \
        --without-mingle --without-gossip
"""
import os
import sys
import time

from celery import Celery

app = Celery("amas_test_app",
             broker=os.environ.get("AMAS_CELERY_BROKER", "redis://127.0.0.1:6379/0"))
app.conf.update(
    worker_hijack_root_logger=False,
    task_acks_late=False,
)


@app.task(name="amas_test_app.sleep_for")
def sleep_for(seconds):
    time.sleep(seconds)
    return seconds


def _send(queue, count, seconds, priority=None):
    for _ in range(count):
        sleep_for.apply_async((seconds,), queue=queue, priority=priority)


if __name__ == "__main__":
    # python3 amas_test_app.py send QUEUE COUNT SECONDS [PRIORITY]
    if len(sys.argv) >= 5 and sys.argv[1] == "send":
        _send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]),
              int(sys.argv[5]) if len(sys.argv) > 5 else None)
    else:
        sys.exit(__doc__)

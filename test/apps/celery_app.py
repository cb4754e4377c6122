"""Celery through redoubt: a worker (started by the test) runs N tasks with
the Redis broker and result backend; this script sends them and waits for
every result. Nothing here knows about redoubt: only REDIS_URL."""
import os
import sys

from celery import Celery

app = Celery("redoubt_apps", broker=os.environ["REDIS_URL"], backend=os.environ["REDIS_URL"])
app.conf.broker_connection_retry_on_startup = False
app.conf.worker_hijack_root_logger = False


@app.task(name="add")
def add(x, y):
    return x + y


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    results = [add.delay(i, i) for i in range(n)]
    got = [r.get(timeout=60) for r in results]
    assert got == [2 * i for i in range(n)], got
    print(f"celery: {n} tasks done")

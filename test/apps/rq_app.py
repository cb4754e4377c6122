"""RQ through redoubt: enqueue N jobs, then run a burst worker in this
process until the queue is empty, and check every result."""
import os
import sys

from redis import Redis
from rq import Queue, Worker

import rq_jobs

if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    conn = Redis.from_url(os.environ["REDIS_URL"])
    q = Queue("redoubt", connection=conn)
    jobs = [q.enqueue(rq_jobs.square, i) for i in range(n)]
    Worker([q], connection=conn).work(burst=True)
    got = [Queue("redoubt", connection=conn).fetch_job(j.id).result for j in jobs]
    assert got == [i * i for i in range(n)], got
    print(f"rq: {n} jobs done")

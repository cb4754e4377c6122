"""redis-py's Lock (EVALSHA scripts) across two clients: one holds and
extends the lock, the other cannot take it until it is released."""
import os

from redis import Redis
from redis.exceptions import LockError

url = os.environ["REDIS_URL"]
a, b = Redis.from_url(url), Redis.from_url(url)
la = a.lock("redoubt-lock", timeout=5)
lb = b.lock("redoubt-lock", timeout=5, blocking_timeout=0.2)
assert la.acquire(blocking=False), "first client could not acquire"
assert not lb.acquire(), "second client acquired a held lock"
assert la.extend(5), "extend failed"
assert a.pttl("redoubt-lock") > 5000, "extend did not add time"
try:
    lb.release()
    raise SystemExit("second client released a lock it does not own")
except LockError:
    pass
la.release()
assert lb.acquire(), "second client could not acquire after release"
assert lb.reacquire(), "reacquire failed"
lb.release()
assert a.get("redoubt-lock") is None
print("lock: acquire/extend/release across two clients ok")

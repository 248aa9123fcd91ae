#!/usr/bin/env python3
"""warden external workload: redis-py's Sentinel client tuned to retry at once.

The same writer as `redis_py.py` (same environment, same line protocol), but its client
retries a failed command or connection at once, with no backoff (`Retry(NoBackoff(), 10)`
instead of the default exponential backoff with jitter), so the drill shows what the
backoff costs.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import redis  # noqa: E402
import redis.sentinel  # noqa: E402,F401
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

import sentinel_py  # noqa: E402

if __name__ == "__main__":
    sentinel_py.main(redis, "redis-py (tight)", retry=Retry(NoBackoff(), 10))

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

from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

import redis_py  # noqa: E402

if __name__ == "__main__":
    try:
        redis_py.run(retry=Retry(NoBackoff(), 10))
    except (BrokenPipeError, KeyboardInterrupt):
        pass

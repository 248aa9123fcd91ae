#!/usr/bin/env python3
"""warden external workload: valkey-py's Sentinel client tuned to retry at once
(`Retry(NoBackoff(), 10)`), as `redis_py_tight.py` does for redis-py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import valkey  # noqa: E402
import valkey.sentinel  # noqa: E402,F401
from valkey.backoff import NoBackoff  # noqa: E402
from valkey.retry import Retry  # noqa: E402

import sentinel_py  # noqa: E402

if __name__ == "__main__":
    sentinel_py.main(valkey, "valkey-py (tight)", retry=Retry(NoBackoff(), 10))

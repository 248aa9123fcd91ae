#!/usr/bin/env python3
"""warden external workload: redis-py's Sentinel client with its library defaults.

`Sentinel(...).master_for(...)` as an application writes it; the writer loop, the
environment and the line protocol are in `sentinel_py.py`.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import redis  # noqa: E402
import redis.sentinel  # noqa: E402,F401

import sentinel_py  # noqa: E402

if __name__ == "__main__":
    sentinel_py.main(redis, "redis-py")

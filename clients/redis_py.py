#!/usr/bin/env python3
"""warden external workload: redis-py's Sentinel client with its library defaults.

warden starts this program for a drill (`[workload] command = ["python3",
"clients/redis_py.py"]`) and reads one line per write on stdout:

    <key> <outcome> <node|-> <monotonic_ns>

It writes `SET <prefix>:<seq> <value> EX <ttl>` at `WARDEN_RATE` writes/s through
`Sentinel(...).master_for(...)`, exactly as an application would, and exits on SIGTERM.
Settings come from the environment warden sets (README, "Bring your own client"):
WARDEN_SENTINELS, WARDEN_MASTER, WARDEN_KEY_PREFIX, WARDEN_RATE, WARDEN_TTL_SECONDS,
WARDEN_VALUE_SIZE, and, only with credentials, WARDEN_REDIS_USER / WARDEN_REDIS_PASSWORD,
WARDEN_SENTINEL_USER / WARDEN_SENTINEL_PASSWORD.
"""

import os
import signal
import sys
import time

import redis
from redis.sentinel import MasterNotFoundError, Sentinel

# redis-py's SentinelManagedConnection turns a READONLY reply into this ConnectionError.
DEMOTED = "previous master is now a slave"


def settings():
    env = os.environ
    sentinels = []
    for addr in env["WARDEN_SENTINELS"].split(","):
        host, port = addr.rsplit(":", 1)
        sentinels.append((host, int(port)))
    return {
        "sentinels": sentinels,
        "master": env["WARDEN_MASTER"],
        "prefix": env["WARDEN_KEY_PREFIX"],
        "rate": float(env.get("WARDEN_RATE", "0")),
        "ttl": int(env.get("WARDEN_TTL_SECONDS", "1800")),
        "value_size": int(env.get("WARDEN_VALUE_SIZE", "512")),
    }


def credentials(user_var, password_var):
    password = os.environ.get(password_var)
    if not password:
        return {}
    return {"username": os.environ.get(user_var) or None, "password": password}


def outcome_of(error):
    """The protocol's outcome for a failed write."""
    if isinstance(error, redis.exceptions.TimeoutError):
        return "timeout"
    if isinstance(error, MasterNotFoundError):
        return "MASTERNOTFOUND"  # no Sentinel named a master: nothing was sent
    if isinstance(error, redis.exceptions.ConnectionError):
        return "READONLY" if DEMOTED in str(error) else "unknown"
    if isinstance(error, redis.exceptions.ResponseError):
        words = str(error).split()
        kind = words[0] if words else "ERR"
        return kind if kind.isupper() and kind.isalpha() else "ERR"
    return "unknown"


def node_of(client):
    """The primary redis-py's pool connects to (from its last Sentinel answer)."""
    addr = client.connection_pool.master_address
    return f"{addr[0]}:{addr[1]}" if addr else "-"


def run(**client_options):
    """Writes until SIGTERM; `client_options` go to `master_for` (none: library defaults)."""
    cfg = settings()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    sentinel = Sentinel(
        cfg["sentinels"],
        sentinel_kwargs=credentials("WARDEN_SENTINEL_USER", "WARDEN_SENTINEL_PASSWORD"),
        **credentials("WARDEN_REDIS_USER", "WARDEN_REDIS_PASSWORD"),
    )
    client = sentinel.master_for(cfg["master"], **client_options)
    value = os.urandom(cfg["value_size"])
    period = 1.0 / cfg["rate"] if cfg["rate"] > 0 else 0.0
    out = sys.stdout
    next_at = time.monotonic()
    seq = 0
    while not stopping:
        if period:
            next_at += period
            now = time.monotonic()
            if next_at > now:
                time.sleep(next_at - now)
            elif now - next_at > 0.1:
                next_at = now  # fell behind (an outage): do not burst to catch up
        key = f"{cfg['prefix']}:{seq}"
        try:
            client.set(key, value, ex=cfg["ttl"])
            outcome = "ok"
        except redis.exceptions.RedisError as e:
            outcome = outcome_of(e)
        out.write(f"{key} {outcome} {node_of(client)} {time.monotonic_ns()}\n")
        out.flush()
        seq += 1


if __name__ == "__main__":
    try:
        run()
    except (BrokenPipeError, KeyboardInterrupt):
        pass

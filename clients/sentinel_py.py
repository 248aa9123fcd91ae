"""warden external workload, shared by the Python adapters: redis-py's `Sentinel` client and
valkey-py's (a fork with the same `Sentinel` class), given as `lib`.

warden starts an adapter for a drill (`[workload] command = ["python3",
"clients/redis_py.py"]`) and reads one line per write on stdout:

    <key> <outcome> <node|-> <monotonic_ns>

It writes `SET <prefix>:<seq> <value> EX <ttl>` at `WARDEN_RATE` writes/s through
`Sentinel(...).master_for(...)`, exactly as an application would, and exits on SIGTERM.
`node` is the peer address of the socket the write went out on (not the pool's last Sentinel
answer). Settings come from the environment warden sets (README, "Bring your own client"):
WARDEN_SENTINELS, WARDEN_MASTER, WARDEN_KEY_PREFIX, WARDEN_RATE, WARDEN_TTL_SECONDS,
WARDEN_VALUE_SIZE; with credentials only WARDEN_REDIS_USER / WARDEN_REDIS_PASSWORD,
WARDEN_SENTINEL_USER / WARDEN_SENTINEL_PASSWORD; with TLS WARDEN_TLS (nodes, sentinels or
both), WARDEN_TLS_CA, WARDEN_TLS_CERT, WARDEN_TLS_KEY, WARDEN_TLS_SERVER_NAME,
WARDEN_TLS_INSECURE; WARDEN_RESOLVE (`name=ip,…`) maps host names before DNS.

A rejected password ends the program with one line on stderr (never the password), exit 2.
"""

import os
import signal
import socket
import sys
import time

# The socket peer of the last command sent, `host:port`.
_PEER = ["-"]


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


def tls(side):
    """The library's TLS keywords for `side` (`nodes` or `sentinels`), from WARDEN_TLS_*."""
    env = os.environ
    on = env.get("WARDEN_TLS", "")
    if on not in ("both", side):
        return {}
    opts = {"ssl": True, "ssl_cert_reqs": "required"}
    if env.get("WARDEN_TLS_INSECURE") == "1":
        opts.update(ssl_cert_reqs="none", ssl_check_hostname=False)
    for var, key in [
        ("WARDEN_TLS_CA", "ssl_ca_certs"),
        ("WARDEN_TLS_CERT", "ssl_certfile"),
        ("WARDEN_TLS_KEY", "ssl_keyfile"),
    ]:
        if env.get(var):
            opts[key] = env[var]
    # The library checks the certificate against the host it connects to; it has no option
    # for another name, so a given name turns the host check off and keeps the CA check.
    if env.get("WARDEN_TLS_SERVER_NAME"):
        opts["ssl_check_hostname"] = False
    return opts


def install_resolve_map():
    """Applies WARDEN_RESOLVE (`name=ip,…`) to every name lookup of this process."""
    entries = [e.split("=", 1) for e in os.environ.get("WARDEN_RESOLVE", "").split(",") if "=" in e]
    table = {name: ip for name, ip in entries}
    if not table:
        return
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real(table.get(host, host), *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def traced(base):
    """`base` (a Sentinel-managed connection class) that records its socket's peer."""

    class Traced(base):
        def send_packed_command(self, command, check_health=True):
            super().send_packed_command(command, check_health)
            try:
                host, port = self._sock.getpeername()[:2]
                _PEER[0] = f"{host}:{port}"
            except (AttributeError, OSError):
                _PEER[0] = "-"

    return Traced


def outcome_of(lib, error):
    """The protocol's outcome for a failed write."""
    exc = lib.exceptions
    if isinstance(error, exc.TimeoutError):
        return "timeout"
    if isinstance(error, lib.sentinel.MasterNotFoundError):
        return "MASTERNOTFOUND"  # no Sentinel named a master: nothing was sent
    if isinstance(error, exc.ConnectionError):
        # SentinelManagedConnection turns a READONLY reply into this ConnectionError.
        return "READONLY" if "is now a slave" in str(error) else "unknown"
    if isinstance(error, exc.ResponseError):
        words = str(error).split()
        kind = words[0] if words else "ERR"
        return kind if kind.isupper() and kind.isalpha() else "ERR"
    return "unknown"


def refused(name, error):
    """Ends the program on a rejected password: one line, without the password."""
    print(f"{name}: authentication failed: {type(error).__name__}: {error}", file=sys.stderr)
    sys.exit(2)


def run(lib, name, **client_options):
    """Writes until SIGTERM through `lib`'s Sentinel client; `client_options` go to
    `master_for` (none: the library's defaults)."""
    install_resolve_map()
    cfg = settings()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    sentinel_kwargs = credentials("WARDEN_SENTINEL_USER", "WARDEN_SENTINEL_PASSWORD")
    sentinel_kwargs.update(tls("sentinels"))
    node_tls = tls("nodes")
    ssl = node_tls.pop("ssl", False)
    base = lib.sentinel.SentinelManagedSSLConnection if ssl else lib.sentinel.SentinelManagedConnection
    sentinel = lib.sentinel.Sentinel(
        cfg["sentinels"],
        sentinel_kwargs=sentinel_kwargs,
        **credentials("WARDEN_REDIS_USER", "WARDEN_REDIS_PASSWORD"),
        **node_tls,
    )
    client = sentinel.master_for(cfg["master"], connection_class=traced(base), **client_options)
    # redis-py's base error is RedisError; valkey-py renamed it ValkeyError.
    base_error = getattr(lib.exceptions, "RedisError", None) or lib.exceptions.ValkeyError
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
        _PEER[0] = "-"
        try:
            client.set(key, value, ex=cfg["ttl"])
            outcome = "ok"
        except lib.exceptions.AuthenticationError as e:
            refused(name, e)
        except lib.exceptions.ResponseError as e:
            if str(e).startswith(("WRONGPASS", "NOAUTH", "invalid password")):
                refused(name, e)
            outcome = outcome_of(lib, e)
        except base_error as e:
            outcome = outcome_of(lib, e)
        out.write(f"{key} {outcome} {_PEER[0]} {time.monotonic_ns()}\n")
        out.flush()
        seq += 1


def main(lib, name, **client_options):
    """`run`, ending quietly on a closed stdout or Ctrl-C."""
    try:
        run(lib, name, **client_options)
    except (BrokenPipeError, KeyboardInterrupt):
        pass

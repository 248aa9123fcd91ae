#!/usr/bin/env php
<?php
// warden external workload: phpredis (Debian `php-redis`, 5.3) with its defaults and the
// discovery pattern its docs show: ask a `RedisSentinel` for `getMasterAddrByName`, connect a
// plain `Redis` to the answer, and on an error ask again. phpredis has no Sentinel-managed
// connection: it never checks ROLE, never listens for +switch-master, and keeps a connection
// until the program drops it; this program drops it after any failed write, as the pattern
// does.
//
// It writes `SET <prefix>:<seq> <value> EX <ttl>` at WARDEN_RATE writes/s and prints one line
// per write on stdout (`<key> <outcome> <node|-> <monotonic_ns>`, README "Bring your own
// client"). `node` is the address the connection's socket was opened to (phpredis exposes no
// socket peer; `getHost()`/`getPort()` of the live connection). Settings come from the
// environment warden sets: WARDEN_SENTINELS, WARDEN_MASTER, WARDEN_KEY_PREFIX, WARDEN_RATE,
// WARDEN_TTL_SECONDS, WARDEN_VALUE_SIZE; credentials only in WARDEN_REDIS_USER /
// WARDEN_REDIS_PASSWORD (phpredis 5.3's RedisSentinel takes no password: a Sentinel password
// ends the program with one line); TLS to the nodes from WARDEN_TLS (nodes or both),
// WARDEN_TLS_CA / _CERT / _KEY / _SERVER_NAME / _INSECURE (RedisSentinel 5.3 has no TLS);
// WARDEN_RESOLVE (`name=ip,…`) maps host names. A rejected password ends it with one line on
// stderr (never the password), exit 2. `--tight` is the tuned variant: 1 s connect and read
// timeouts instead of none and `default_socket_timeout` (60 s).

$tight = in_array('--tight', $argv, true);
$name = $tight ? 'phpredis (tight)' : 'phpredis';
$env = getenv();

function fail(string $line): void
{
    fwrite(STDERR, $line . "\n");
    exit(2);
}

if (($env['WARDEN_SENTINEL_PASSWORD'] ?? '') !== '') {
    fail("$name: RedisSentinel in phpredis 5.3 cannot authenticate to a Sentinel (no password argument)");
}
$tls = $env['WARDEN_TLS'] ?? '';
if ($tls === 'both' || $tls === 'sentinels') {
    fail("$name: RedisSentinel in phpredis 5.3 cannot use TLS");
}
$resolve = [];
foreach (explode(',', $env['WARDEN_RESOLVE'] ?? '') as $entry) {
    if (str_contains($entry, '=')) {
        [$host, $ip] = explode('=', $entry, 2);
        $resolve[$host] = $ip;
    }
}
$sentinels = [];
foreach (explode(',', $env['WARDEN_SENTINELS']) as $addr) {
    $i = strrpos($addr, ':');
    $sentinels[] = [substr($addr, 0, $i), (int) substr($addr, $i + 1)];
}
$master = $env['WARDEN_MASTER'];
$prefix = $env['WARDEN_KEY_PREFIX'];
$rate = (float) ($env['WARDEN_RATE'] ?? '0');
$ttl = (int) ($env['WARDEN_TTL_SECONDS'] ?? '1800');
$value = random_bytes((int) ($env['WARDEN_VALUE_SIZE'] ?? '512'));
$timeout = $tight ? 1.0 : 0.0;

/** The primary's address from the first Sentinel that names one (the docs' loop). */
function discover(array $sentinels, string $master, float $timeout): ?array
{
    foreach ($sentinels as [$host, $port]) {
        try {
            $s = new RedisSentinel($host, $port, $timeout);
            $addr = $s->getMasterAddrByName($master);
            if (is_array($addr) && count($addr) === 2) {
                return [$addr[0], (int) $addr[1]];
            }
        } catch (RedisException $e) {
            continue;
        }
    }
    return null;
}

/** A `Redis` connected (and authenticated) to `addr`; a rejected password ends the program. */
function open(array $addr, array $env, array $resolve, float $timeout, string $name): Redis
{
    [$host, $port] = $addr;
    $host = $resolve[$host] ?? $host;
    $tls = in_array($env['WARDEN_TLS'] ?? '', ['both', 'nodes'], true);
    $context = [];
    if ($tls) {
        $stream = ['verify_peer' => true, 'verify_peer_name' => true];
        if (($env['WARDEN_TLS_CA'] ?? '') !== '') $stream['cafile'] = $env['WARDEN_TLS_CA'];
        if (($env['WARDEN_TLS_CERT'] ?? '') !== '') {
            $stream['local_cert'] = $env['WARDEN_TLS_CERT'];
            $stream['local_pk'] = $env['WARDEN_TLS_KEY'];
        }
        if (($env['WARDEN_TLS_SERVER_NAME'] ?? '') !== '') $stream['peer_name'] = $env['WARDEN_TLS_SERVER_NAME'];
        if (($env['WARDEN_TLS_INSECURE'] ?? '') === '1') {
            $stream['verify_peer'] = false;
            $stream['verify_peer_name'] = false;
        }
        $context = ['stream' => $stream];
    }
    $r = new Redis();
    $r->connect(($tls ? 'tls://' : '') . $host, $port, $timeout, null, 0, $timeout, $context);
    $password = $env['WARDEN_REDIS_PASSWORD'] ?? '';
    if ($password !== '') {
        $user = $env['WARDEN_REDIS_USER'] ?? '';
        try {
            $ok = $r->auth($user !== '' ? [$user, $password] : $password);
        } catch (RedisException $e) {
            $ok = false;
        }
        if (!$ok) {
            $why = $r->getLastError() ?? 'AUTH refused';
            fail("$name: authentication failed: " . str_replace($password, '***', $why));
        }
    }
    return $r;
}

function kind(?string $error): string
{
    $word = explode(' ', (string) $error)[0];
    return preg_match('/^[A-Z]+$/', $word) ? $word : 'ERR';
}

$stopping = false;
pcntl_async_signals(true);
pcntl_signal(SIGTERM, function () use (&$stopping) {
    $stopping = true;
});

$period = $rate > 0 ? 1.0 / $rate : 0.0;
$next = hrtime(true) / 1e9;
$redis = null;
$seq = 0;
while (!$stopping) {
    if ($period > 0) {
        $next += $period;
        $now = hrtime(true) / 1e9;
        if ($next > $now) {
            usleep((int) (($next - $now) * 1e6));
        } elseif ($now - $next > 0.1) {
            $next = $now; // fell behind (an outage): do not burst to catch up
        }
    }
    $key = "$prefix:$seq";
    $node = '-';
    try {
        if ($redis === null) {
            $addr = discover($sentinels, $master, $timeout);
            if ($addr === null) {
                throw new UnexpectedValueException('MASTERNOTFOUND');
            }
            $redis = open($addr, $env, $resolve, $timeout, $name);
        }
        $node = $redis->getHost() . ':' . $redis->getPort();
        $node = str_replace('tls://', '', $node);
        if ($redis->set($key, $value, ['ex' => $ttl])) {
            $outcome = 'ok';
        } else {
            $error = $redis->getLastError();
            if (str_starts_with((string) $error, 'NOAUTH') || str_starts_with((string) $error, 'WRONGPASS')) {
                fail("$name: authentication failed: $error");
            }
            $outcome = kind($error);
            $redis->clearLastError();
            $redis = null; // the docs' pattern: ask the Sentinels again after an error
        }
    } catch (UnexpectedValueException $e) {
        $outcome = 'MASTERNOTFOUND';
    } catch (RedisException $e) {
        // A lost connection mid-command: the write may have landed. A refused connect: never sent.
        $msg = $e->getMessage();
        $outcome = str_contains($msg, 'timed out') ? 'timeout'
            : (str_contains($msg, 'Connection refused') ? 'CONNECTION' : 'unknown');
        if ($node === '-') $outcome = 'CONNECTION';
        $redis = null;
    }
    if (@fwrite(STDOUT, "$key $outcome $node " . hrtime(true) . "\n") === false) {
        break;
    }
    fflush(STDOUT);
    $seq++;
}

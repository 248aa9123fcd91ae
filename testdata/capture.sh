#!/usr/bin/env bash
# Capture the Pub/Sub events real Sentinels publish during a scripted set of faults.
# Lab: primary 17400 + replicas 17401/17402, an extra standalone 17403 (for +monitor/+set/
# +reset-master/-monitor), Sentinels 17410-17412 (quorum 2, down-after 1000 ms).
# Writes testdata/sentinel-events.txt (channel<TAB>payload) and kills everything it started.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/sentinel-events.txt"
dir="$(mktemp -d /tmp/warden-capture.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
log() { echo "[$(date +%T.%N | cut -c1-12)] $*" >&2; }

start_redis() { # port [replicaof-port]
  local port=$1
  {
    echo "port $port"; echo "bind 127.0.0.1"; echo "dir $dir"; echo "dbfilename dump-$port.rdb"
    echo "save \"\""; echo "appendonly no"; echo "repl-diskless-sync-delay 0"
    echo "logfile $dir/redis-$port.log"
    [ $# -gt 1 ] && echo "replicaof 127.0.0.1 $2"
  } > "$dir/redis-$port.conf"
  redis-server "$dir/redis-$port.conf" & pids+=($!); eval "pid_$port=$!"
}
start_sentinel() { # port
  local port=$1
  if [ ! -f "$dir/sentinel-$port.conf" ]; then
    {
      echo "port $port"; echo "bind 127.0.0.1"; echo "dir $dir"
      echo "logfile $dir/sentinel-$port.log"
      echo "sentinel monitor m 127.0.0.1 17400 2"
      echo "sentinel down-after-milliseconds m 1000"
      echo "sentinel failover-timeout m 10000"
    } > "$dir/sentinel-$port.conf"
  fi
  redis-server "$dir/sentinel-$port.conf" --sentinel & pids+=($!); eval "pid_$port=$!"
}
subscribe() { # port: one redis-cli per Sentinel; reconnects if the Sentinel goes away
  local port=$1
  ( while true; do redis-cli -p "$port" psubscribe '*' 2>/dev/null || sleep 0.2; done ) >> "$dir/sub-$port.raw" &
  pids+=($!)
}
sentinel_cli() { redis-cli -p "$1" "${@:2}"; }
primary_port() { redis-cli -p 17410 sentinel get-master-addr-by-name m | sed -n 2p; }

start_redis 17400
start_redis 17401 17400
start_redis 17402 17400
start_redis 17403
sleep 1
for p in 17410 17411 17412; do start_sentinel $p; done
sleep 0.3
for p in 17410 17411 17412; do subscribe $p; done
log "waiting for discovery"; sleep 6

log "+monitor/+set/+reset-master/-monitor on m2"
sentinel_cli 17410 sentinel monitor m2 127.0.0.1 17403 1 >/dev/null
sentinel_cli 17410 sentinel set m2 down-after-milliseconds 5000 >/dev/null
sentinel_cli 17410 sentinel set m2 quorum 1 >/dev/null
sentinel_cli 17410 sentinel reset m2 >/dev/null
sentinel_cli 17410 sentinel remove m2 >/dev/null
sleep 1

log "SENTINEL FAILOVER"; sentinel_cli 17411 sentinel failover m; sleep 10

old=$(primary_port); log "kill -9 primary $old"
eval "kill -9 \$pid_$old"; sleep 9
log "restart old primary $old (as master: expect +convert-to-slave)"
start_redis "$old"; sleep 14

rep=$(redis-cli -p 17410 sentinel replicas m | awk 'p{print;exit} /^port$/{p=1}')
log "kill -9 replica $rep then restart it (+sdown slave, +reboot)"
eval "kill -9 \$pid_$rep"; sleep 3
start_redis "$rep" "$(primary_port)"; sleep 4

log "kill -9 sentinel 17412 then restart"
kill -9 "$pid_17412"; sleep 3
start_sentinel 17412; sleep 5

log "SIGSTOP sentinel 17411 for 3 s (+tilt), wait for -tilt"
kill -STOP "$pid_17411"; sleep 3; kill -CONT "$pid_17411"; sleep 34

log "done; converting"
: > "$out"
for p in 17410 17411 17412; do
  # redis-cli prints each reply element on its own line: pmessage / pattern / channel / payload
  awk 'BEGIN{OFS="\t"} $0=="pmessage"{getline pat; getline ch; getline pl; print ch, pl}' "$dir/sub-$p.raw" >> "$out"
done
wc -l "$out" >&2
cut -f1 "$out" | sort | uniq -c >&2
log "logs kept in $dir"

#!/usr/bin/env bash
# Capture, with arrival times, what real Sentinels publish around failovers that `watch` got
# wrong (issue "Production watch"): consecutive failovers, a returning old master, a master
# removed mid-failover, a Sentinel restarted mid-failover.
# Lab: primary 17500 + replicas 17501/17502, Sentinels 17510-17512 (quorum 2, down-after
# 1000 ms, failover-timeout 6000 ms). Writes testdata/episodes/<scenario>.tsv as
#   <ms since scenario start> TAB <sentinel index 0-2> TAB <channel> TAB <payload>
# and kills everything it started. Needs bash 5 (EPOCHREALTIME) and redis-server/redis-cli.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/episodes"
dir="$(mktemp -d /tmp/warden-capture-episodes.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
log() { echo "[$(date +%T.%N | cut -c1-12)] $*" >&2; }
S=(17510 17511 17512)

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
      echo "sentinel monitor m 127.0.0.1 17500 2"
      echo "sentinel down-after-milliseconds m 1000"
      echo "sentinel failover-timeout m 6000"
    } > "$dir/sentinel-$port.conf"
  fi
  redis-server "$dir/sentinel-$port.conf" --sentinel & pids+=($!); eval "pid_$port=$!"
}
# One redis-cli per Sentinel, each message stamped (µs) as its payload line is read.
subscribe() { # index
  local i=$1
  (
    while true; do
      stdbuf -oL redis-cli -p "${S[$i]}" psubscribe '*' 2>/dev/null | {
        state=0
        while IFS= read -r line; do
          case $state in
            0) [ "$line" = pmessage ] && state=1 ;;
            1) state=2 ;;
            2) ch=$line; state=3 ;;
            3) printf '%s\t%s\t%s\t%s\n' "${EPOCHREALTIME/./}" "$i" "$ch" "$line"; state=0 ;;
          esac
        done
      }
      sleep 0.05
    done
  ) >> "$dir/sub.raw" &
  pids+=($!)
}
scli() { redis-cli -p "$1" "${@:2}"; }
primary_port() { redis-cli -p 17510 sentinel get-master-addr-by-name m | sed -n 2p; }
wait_primary_not() { # port: until every Sentinel names another primary and none is failing over
  for _ in $(seq 1 300); do
    local ok=1
    for s in "${S[@]}"; do
      p=$(redis-cli -p "$s" sentinel get-master-addr-by-name m 2>/dev/null | sed -n 2p)
      f=$(redis-cli -p "$s" sentinel master m 2>/dev/null | awk 'p{print;exit} /^flags$/{p=1}')
      [ -n "$p" ] && [ "$p" != "$1" ] && [[ "$f" != *failover* ]] || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  log "timed out waiting for a new primary"; return 1
}
marks=()
mark() { marks+=("${EPOCHREALTIME/./} $1"); log "scenario $1"; }

start_redis 17500
start_redis 17501 17500
start_redis 17502 17500
sleep 1
for p in "${S[@]}"; do start_sentinel "$p"; done
sleep 0.3
for i in 0 1 2; do subscribe "$i"; done
log "waiting for discovery"; sleep 6

mark consecutive-failovers
for n in 1 2 3; do
  old=$(primary_port); log "SENTINEL FAILOVER #$n (primary $old)"
  scli 17511 sentinel failover m >/dev/null; wait_primary_not "$old"; sleep 1
done
sleep 2

mark returning-old-master
old=$(primary_port); log "kill -9 primary $old, restart it 2.5 s later as a master"
eval "kill -9 \$pid_$old"; sleep 2.5
start_redis "$old"; wait_primary_not "$old"; sleep 12

mark master-removed-mid-failover
old=$(primary_port); log "kill -9 primary $old; SENTINEL REMOVE on every Sentinel after +odown"
eval "kill -9 \$pid_$old"; sleep 1.6
for s in "${S[@]}"; do scli "$s" sentinel remove m >/dev/null || true; done
sleep 3
new=$(for p in 17500 17501 17502; do [ "$p" = "$old" ] && continue
  redis-cli -p "$p" role 2>/dev/null | head -1 | grep -q master && echo "$p"; done | head -1 || true)
new=${new:-$(for p in 17500 17501 17502; do [ "$p" != "$old" ] && echo "$p"; done | head -1)}
log "re-monitor m at $new"
for p in 17500 17501 17502; do
  [ "$p" = "$old" ] || [ "$p" = "$new" ] || scli "$p" replicaof 127.0.0.1 "$new" >/dev/null
done
scli "$new" replicaof no one >/dev/null
start_redis "$old" "$new"
for s in "${S[@]}"; do
  scli "$s" sentinel monitor m 127.0.0.1 "$new" 2 >/dev/null
  scli "$s" sentinel set m down-after-milliseconds 1000 >/dev/null
  scli "$s" sentinel set m failover-timeout 6000 >/dev/null
done
sleep 8

mark sentinel-restarted-mid-failover
old=$(primary_port); log "SENTINEL FAILOVER via 17511, kill -9 17511 right away, restart it 1 s later"
scli 17511 sentinel failover m >/dev/null; sleep 0.25
kill -9 "$pid_17511"; sleep 1
start_sentinel 17511; sleep 1
wait_primary_not "$old" || true; sleep 10
mark end

log "done; splitting"
mkdir -p "$out"
for ((k = 0; k + 1 < ${#marks[@]}; k++)); do
  read -r from name <<< "${marks[$k]}"
  read -r to _ <<< "${marks[$((k + 1))]}"
  sort -n -k1,1 "$dir/sub.raw" |
    awk -F'\t' -v from="$from" -v to="$to" 'BEGIN{OFS="\t"}
      $1 >= from && $1 < to { printf "%.3f\t%s\t%s\t%s\n", ($1 - from) / 1000, $2, $3, $4 }' \
    > "$out/$name.tsv"
  log "$name: $(wc -l < "$out/$name.tsv") events, $(grep -c '+switch-master' "$out/$name.tsv" || true) +switch-master reports"
done
log "logs kept in $dir"

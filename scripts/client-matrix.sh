#!/usr/bin/env bash
# Runs the client matrix (scenarios/client-matrix*.toml: SENTINEL FAILOVER, primary kill,
# primary frozen 5 s) one drill after another, keeps each drill's report, history and table in
# OUT (default .warden/client-matrix), and prints the table per library and fault
# (clients/matrix_table.py). Run from the repository root after scripts/setup.sh.
# Until [versus] takes a list of faults, the matrix is three scenarios run by this script.
set -euo pipefail
out=${1:-.warden/client-matrix}
warden=${WARDEN:-warden}
mkdir -p "$out"
args=()
for fault in failover kill pause; do
  scenario=scenarios/client-matrix-$fault.toml
  [ "$fault" = failover ] && scenario=scenarios/client-matrix.toml
  # A missed target exits 1: the table is what this script is for.
  "$warden" drill "$scenario" --json "$out/$fault.json" --history "$out/$fault.jsonl" \
    > "$out/$fault.txt" || [ $? -eq 1 ]
  args+=("$fault=$out/$fault.json:$out/$fault.jsonl")
done
python3 clients/matrix_table.py "${args[@]}" | tee "$out/table.md"

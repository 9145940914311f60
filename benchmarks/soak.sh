#!/usr/bin/env bash
# Soak: N consecutive runs (default 50) of the multicast and kv benchmarks, each under a hard time limit; a run
# that exceeds it is a hang. Prints one line per run and a JSON summary last; exits 1 on any hang or failure.
#   bash benchmarks/soak.sh [runs] [seconds-per-phase]
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
seconds=${2:-2}
limit=300 # seconds per benchmark run before it counts as hung
dotnet build -c Release benchmarks/Derecho.Benchmarks -v q >/dev/null || { echo "build failed"; exit 1; }
bench=(dotnet benchmarks/Derecho.Benchmarks/bin/Release/net10.0/Derecho.Benchmarks.dll)
declare -A ok=([multicast]=0 [kv]=0) hung=([multicast]=0 [kv]=0) failed=([multicast]=0 [kv]=0)
logs=$(mktemp -d /tmp/derecho-soak-XXXX)
for ((i = 1; i <= runs; i++)); do
  for mode in multicast kv; do
    args=("$mode" --json --seconds "$seconds")
    [ "$mode" = kv ] && args+=(--shards 1)
    start=$(date +%s)
    timeout --kill-after=10 "$limit" "${bench[@]}" "${args[@]}" >"$logs/$mode-$i.log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then ok[$mode]=$((ok[$mode] + 1)); state=ok
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then hung[$mode]=$((hung[$mode] + 1)); state=HUNG
    else failed[$mode]=$((failed[$mode] + 1)); state="FAILED rc=$rc"; fi
    echo "run $i $mode: $state in ${took}s ($logs/$mode-$i.log)"
  done
done
echo "{\"runs\":$runs,\"multicast\":{\"ok\":${ok[multicast]},\"hung\":${hung[multicast]},\"failed\":${failed[multicast]}},\"kv\":{\"ok\":${ok[kv]},\"hung\":${hung[kv]},\"failed\":${failed[kv]}},\"logs\":\"$logs\"}"
[ $((hung[multicast] + hung[kv] + failed[multicast] + failed[kv])) -eq 0 ]

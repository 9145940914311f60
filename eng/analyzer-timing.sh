#!/usr/bin/env bash
# Builds the samples with and without analyzers and reports the wall time of each compile, plus the time
# Roslyn itself attributes to Derecho's analyzers (ReportAnalyzer). Generators run either way.
# Usage: eng/analyzer-timing.sh [runs per setting, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
samples=(samples/Counter/Counter.csproj samples/KvStore/KvStore.csproj)

for project in "${samples[@]}"; do dotnet build "$project" -v:q -nologo > /dev/null; done

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

compile() { # project, extra msbuild arguments...; prints seconds for a rebuild of that project alone
  local project=$1; shift
  local start end
  start=$(date +%s.%N)
  dotnet build "$project" --no-restore --no-dependencies -t:Rebuild -v:q -nologo "$@" > /dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

printf '%-16s %13s %13s %15s %15s\n' project "no analyzers" "analyzers" "all analyzers" "Derecho's"
for project in "${samples[@]}"; do
  without=$(for _ in $(seq "$runs"); do compile "$project" -p:RunAnalyzers=false; done | median)
  with=$(for _ in $(seq "$runs"); do compile "$project"; done | median)
  # ReportAnalyzer prints each analyzer assembly's share of the compiler's time in the detailed log
  # (summed over threads, so it can exceed the wall time the analyzers add).
  report=$(dotnet build "$project" --no-restore --no-dependencies -t:Rebuild -nologo -v:d -p:ReportAnalyzer=true)
  total=$(grep -m1 -oE 'Total analyzer execution time: [0-9.]+' <<< "$report" | awk '{ print $NF }')
  derecho=$(grep -m1 -E '^\s+[0-9.<]+\s+[0-9<]+\s+Derecho\.Analyzers, Version' <<< "$report" | awk '{ print $1 }')
  printf '%-16s %12.2fs %12.2fs %14ss %14ss\n' "$(basename "$project" .csproj)" "$without" "$with" "${total:-?}" "${derecho:-?}"
done

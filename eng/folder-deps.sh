#!/usr/bin/env bash
# Prints, for each folder of Derecho.Runtime, the other folders (namespaces) its files use, and any cycle.
# A folder's namespace is Derecho.<Folder>; a use is `using Derecho.X;`, `Derecho.X.…`, or `X.T` for a type T declared in X.
set -euo pipefail
cd "$(dirname "$0")/../Derecho.Runtime"
folders=$(find . -mindepth 1 -maxdepth 1 -type d ! -name bin ! -name obj -printf '%f\n' | sort)
declare -A deps
for f in $folders; do
  uses=""
  for g in $folders; do
    [ "$f" = "$g" ] && continue
    # the types folder g declares, so that `g.Type` counts and a property that happens to be called g does not
    types=$(grep -rhoE "(class|struct|record|interface|enum)( struct)? [A-Z][A-Za-z0-9]*" --include=*.cs "$g" | awk '{print $NF}' | sort -u | paste -sd'|' -)
    if grep -rqE "using Derecho\.$g(\.[A-Za-z]+)?;|[^A-Za-z.]Derecho\.$g\.|[^A-Za-z.\"]$g\.($types)\b" --include=*.cs "$f" 2>/dev/null; then uses="$uses $g"; fi
  done
  deps[$f]="$uses"
  echo "$f ->${uses:- (nothing)}"
done
# Any cycle, of any length: repeatedly remove folders that use nothing left; whatever remains is on a cycle.
remaining="$folders"
while :; do
  next=""; removed=0
  for f in $remaining; do
    blocked=0
    for g in ${deps[$f]}; do case " $remaining " in *" $g "*) blocked=1 ;; esac; done
    if [ $blocked = 1 ]; then next="$next $f"; else removed=1; fi
  done
  remaining=$(echo $next)
  [ $removed = 1 ] && [ -n "$remaining" ] || break
done
if [ -n "$remaining" ]; then echo "cycle among: $remaining"; exit 1; fi
echo "no cycles"

#!/usr/bin/env bash
# After a deliberate change of Derecho.Runtime's public surface: builds it, then records every new public
# symbol (RS0016) in PublicAPI.Unshipped.txt and every removed one (RS0017): a line of Unshipped is deleted,
# a line of Shipped is marked *REMOVED* in Unshipped. Review the diff before committing.
set -euo pipefail
cd "$(dirname "$0")/../Derecho.Runtime"
unshipped=PublicAPI.Unshipped.txt
out=$(dotnet build --no-incremental 2>&1 || true)
mapfile -t added < <(grep -o "RS0016: Symbol '.*' is not part of the declared public API" <<<"$out" | sed -E "s/^RS0016: Symbol '(.*)' is not part.*/\1/" | sort -u)
mapfile -t removed < <(grep -o "RS0017: Symbol '.*' is part of the declared API" <<<"$out" | sed -E "s/^RS0017: Symbol '(.*)' is part.*/\1/" | sort -u)
for symbol in "${removed[@]}"; do
  if grep -qxF -- "$symbol" "$unshipped"; then grep -vxF -- "$symbol" "$unshipped" > "$unshipped.tmp" && mv "$unshipped.tmp" "$unshipped"
  else echo "*REMOVED*$symbol" >> "$unshipped"; fi
done
for symbol in "${added[@]}"; do echo "$symbol" >> "$unshipped"; done
echo "public API: ${#added[@]} added, ${#removed[@]} removed"

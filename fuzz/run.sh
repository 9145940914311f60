#!/usr/bin/env bash
# Fuzzes the decoders with afl++ through SharpFuzz (see fuzz/README.md).
#   fuzz/run.sh [minutes-per-target] [target...]     default: 1 minute, every target
# Prints execs, paths and crashes per target; crashing and hanging inputs are copied into
# fuzz/corpus/<target>/, which FuzzCorpusTests replays in `dotnet test`.
set -euo pipefail

minutes="${1:-1}"
shift || true
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/out"              # build, seeds and findings: never checked in
bin="$out/bin"
tools="$here/.tools"

if ! command -v afl-fuzz >/dev/null; then
    echo "afl-fuzz missing: installing the Debian package afl++"
    sudo_if_needed=""
    [ "$(id -u)" -eq 0 ] || sudo_if_needed="sudo"
    $sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_if_needed apt-get install -y -qq afl++
fi
if [ ! -x "$tools/sharpfuzz" ]; then
    dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools"
fi

# A fresh publish each time: sharpfuzz instruments the copy in place and refuses one it already did.
rm -rf "$bin"
dotnet publish "$here/Derecho.Fuzz/Derecho.Fuzz.csproj" -c Release -o "$bin" --nologo -v quiet
# Seeds first: an instrumented assembly runs only under afl-fuzz.
rm -rf "$out/seeds"
dotnet "$bin/Derecho.Fuzz.dll" seeds "$out/seeds"

# Only what decodes untrusted bytes carries afl's edge counters: ours and MemoryPack's reader.
for assembly in Derecho.Runtime.dll MemoryPack.Core.dll; do "$tools/sharpfuzz" "$bin/$assembly"; done

if [ "$#" -eq 0 ]; then set -- $(ls "$out/seeds"); fi

# Containers cannot set core_pattern or the CPU governor; neither matters to a managed target.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1

stat() { grep -E "^$2 " "$1" | head -1 | sed 's/.*: *//'; }

printf '%-15s %8s %12s %9s %7s %8s %6s\n' target minutes execs execs/s paths crashes hangs
for target in "$@"; do
    findings="$out/findings/$target"
    rm -rf "$findings"
    mkdir -p "$out/findings"
    nice -n 10 afl-fuzz -V "$(awk "BEGIN { print int($minutes * 60) }")" -i "$out/seeds/$target" -o "$findings" -t 5000 -m none \
        -- dotnet "$bin/Derecho.Fuzz.dll" "$target" >"$out/afl-$target.log" 2>&1 || {
        echo "$target: afl-fuzz failed, see $out/afl-$target.log"; tail -5 "$out/afl-$target.log"; continue; }
    stats="$findings/default/fuzzer_stats"
    crashes="$(stat "$stats" saved_crashes)"
    hangs="$(stat "$stats" saved_hangs)"
    printf '%-15s %8s %12s %9s %7s %8s %6s\n' "$target" "$minutes" "$(stat "$stats" execs_done)" \
        "$(stat "$stats" execs_per_sec)" "$(stat "$stats" corpus_count)" "$crashes" "$hangs"
    # Named by content, so a rerun that finds the same input adds nothing.
    for found in "$findings"/default/crashes/id:* "$findings"/default/hangs/id:*; do
        [ -f "$found" ] || continue
        kind="$(basename "$(dirname "$found")")"; kind="${kind%es}"; kind="${kind%s}" # crashes -> crash, hangs -> hang
        mkdir -p "$here/corpus/$target"
        cp "$found" "$here/corpus/$target/$kind-$(sha1sum "$found" | cut -c1-12)"
    done
done

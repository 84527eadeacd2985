#!/usr/bin/env bash
# Fuzzes the parsers that read what strangers send or administrators write, with libFuzzer and
# AddressSanitizer: TARGET is sip, sdp, rtp or config; SECONDS per target (default 600).
#   scripts/fuzz.sh sip 600        # one target
#   scripts/fuzz.sh all 600        # each in turn
# Inputs that reach new code are merged into Fuzz/corpus/TARGET (commit them); a crash leaves its
# input as Fuzz/crashes/TARGET-crash-* and stops the run. CI replays the corpora.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-all}"
seconds="${2:-600}"
scratch=.build-fuzz
swift build --scratch-path "$scratch" --product callbot-fuzz -c debug \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING
binary="$(swift build --scratch-path "$scratch" --show-bin-path -c debug)/callbot-fuzz"
mkdir -p Fuzz/crashes
run() {
  local name="$1" found="$scratch/corpus/$1"
  mkdir -p "$found"
  echo "fuzz: $name for ${seconds}s"
  # New inputs go to the scratch folder; those that reach new code are merged into the repo's.
  CALLBOT_FUZZ_TARGET="$name" CALLBOT_ROOT="$PWD" "$binary" "$found" "Fuzz/corpus/$name" \
    -max_total_time="$seconds" -max_len=65535 -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix="Fuzz/crashes/$name-" -print_final_stats=1
  CALLBOT_FUZZ_TARGET="$name" CALLBOT_ROOT="$PWD" "$binary" -merge=1 "Fuzz/corpus/$name" "$found" 2>&1 \
    | grep -E "MERGE-OUTER: [0-9]+ new files" || true
}
if [ "$target" = all ]; then
  for name in sip sdp rtp config; do run "$name"; done
else
  run "$target"
fi

#!/usr/bin/env bash
# Benchmarks, release build: intent recognition throughput on one core.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product callbot-bench
taskset -c 0 .build/release/callbot-bench "$@"

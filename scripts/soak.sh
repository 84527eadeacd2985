#!/usr/bin/env bash
# Soak benchmark of the line (not a test): SIPp places RATE new calls a second for SECONDS
# against a release callbotd on loopback; every caller speaks (RTP), presses a key and hangs up
# after about 9 s. Reports failed calls, calls recorded against calls placed, and the daemon's
# memory and CPU at the start and the end.
#   scripts/soak.sh            # 50 calls/s for 300 s
#   scripts/soak.sh 20 60      # RATE SECONDS
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${1:-50}"
seconds="${2:-300}"
calls=$((rate * seconds))
swift build -c release --product callbotd >/dev/null
swift build -c release --product callbotctl >/dev/null
bin="$(swift build -c release --show-bin-path)"
work="$(mktemp -d /tmp/callbot-soak.XXXXXX)"
trap 'kill "$daemon" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/config" "$work/prompts"
cp -r config/intents.yaml config/knowledge "$work/config/"
cp prompts/messages.fr.yaml "$work/prompts/"
# Keys only (the speech engine is measured by scripts/bench-listen.sh), room for the calls in flight.
sed -e 's/^  engine: local$/  engine: none/' -e 's/^    engine: local$/    engine: none/' \
  -e 's/^  max_calls: 200 /  max_calls: 1500 /' -e 's/^  max_calls: 200$/  max_calls: 1500/' \
  config/callbot.yaml > "$work/config/callbot.yaml"
# The caller's speech: a human French recording, as headerless μ-law.
sox /usr/share/asterisk/sounds/fr/queue-holdtime.wav -t ul -r 8000 -c 1 "$work/caller.ul" 2>/dev/null ||
  sox -n -t ul -r 8000 -c 1 "$work/caller.ul" synth 3 sine 440
CALLBOT_PSEUDONYM_KEY=soak-key "$bin/callbotd" --config "$work/config" --db "$work/soak.sqlite" \
  --sip-listen 127.0.0.1:25301 --rtp-ports 30000-33999 --admin-listen 127.0.0.1:0 \
  --prompt-cache var/cache/prompts > "$work/callbotd.log" 2>&1 &
daemon=$!
until grep -q "SIP listening" "$work/callbotd.log"; do
  kill -0 "$daemon" 2>/dev/null || { cat "$work/callbotd.log"; exit 1; }
  sleep 0.2
done
sample() { # RSS (MiB) and CPU seconds of the daemon
  local rss ticks
  rss=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$daemon/status")
  ticks=$(awk '{print $14 + $15}' "/proc/$daemon/stat")
  echo "$rss $(awk -v t="$ticks" -v h="$(getconf CLK_TCK)" "BEGIN {printf \"%.1f\", t / h}")"
}
read -r rss_start cpu_start < <(sample)
(cd "$work" && sipp -sf "$OLDPWD/Benchmarks/soak/soak.xml" -i 127.0.0.1 -p 25302 -mi 127.0.0.1 -mp 34000 \
  -r "$rate" -m "$calls" -l 3000 -nostdin -timeout "$((seconds + 120))s" -trace_stat -fd 10 \
  -stf stats.csv 127.0.0.1:25301 > sipp.out 2>&1) || true
sleep 3
read -r rss_end cpu_end < <(sample)
# CPU over 5 s of idle after the soak, and memory after 30 s of rest.
idle_start=$(awk '{print $14 + $15}' "/proc/$daemon/stat"); sleep 5
idle_end=$(awk '{print $14 + $15}' "/proc/$daemon/stat")
sleep 25
read -r rss_rest _ < <(sample)
kill -TERM "$daemon"; wait "$daemon" || true
# SIPp's cumulative counts, from the last line of its statistics file.
column() { awk -F';' -v name="$1" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == name) c = i} END {print $c}' "$work/stats.csv"; }
successful=$(column "SuccessfulCall(C)")
failed=$(column "FailedCall(C)")
recorded=$(sqlite3 "$work/soak.sqlite" "SELECT count(*) FROM calls")
distinct=$(sqlite3 "$work/soak.sqlite" "SELECT count(DISTINCT id) FROM calls")
echo "soak: ${rate} calls/s for ${seconds} s, ${calls} calls placed"
echo "  successful ${successful:-?}, failed ${failed:-?} (SIPp)"
echo "  recorded ${recorded} calls (${distinct} distinct)"
echo "  daemon RSS ${rss_start} MiB at start, ${rss_end} MiB at the end, ${rss_rest} MiB after 30 s of rest"
share() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN {printf "%.1f", (b - a) / s * 100}'; }
echo "  daemon CPU ${cpu_start} s at start, ${cpu_end} s at the end ($(share "$cpu_start" "$cpu_end" "$seconds") % of a core over the soak)"
echo "  idle CPU after: $(share "$idle_start" "$idle_end" 500) % of a core"
echo "  error lines in the log: $(grep -c " error " "$work/callbotd.log" || true)"
mkdir -p var && cp "$work/callbotd.log" var/soak-callbotd.log && cp "$work/stats.csv" var/soak-sipp-stats.csv
echo "  (the daemon's log and SIPp's statistics are kept in var/soak-*)"

#!/usr/bin/env bash
# Load benchmark of the phone line (release build, loopback only): SIPp places N concurrent calls
# that listen to the greeting, tshark timestamps every RTP packet the target sends, and we report
# per level: calls answered, calls/s accepted, CPU of the target, and the send jitter (gap between
# consecutive packets of a stream minus 20 ms) at p50/p99/max.
# TARGETS="callbotd baresip" (baresip auto-answering with a WAV, for comparison); LEVELS="50 100 200";
# hold time: HOLD_MS. Then call rates: CPS_RATES="50 100 200" places 10 s of one-second calls at
# each rate and reports how many were answered and at what rate.
set -euo pipefail
cd "$(dirname "$0")/.."
levels=${LEVELS:-"50 100 200 300 500"}
targets=${TARGETS:-"callbotd"}
cps_rates=${CPS_RATES:-"50 100 200"}
hold_ms=${HOLD_MS:-15000}
sip_port=${SIP_PORT:-35070}
for tool in sipp tshark python3; do command -v $tool >/dev/null || { echo "bench-line: $tool is needed (scripts/setup.sh; tshark: apt-get install tshark)"; exit 1; }; done

swift build -c release --product callbotd >/dev/null
work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/config" "$work/prompts"
cp config/intents.yaml "$work/config/"
cp prompts/messages.fr.yaml "$work/prompts/"
sed -e 's/max_calls: .*/max_calls: 2000/' -e 's/answer_delay_ms: .*/answer_delay_ms: 0/' config/callbot.yaml > "$work/config/callbot.yaml"
sed "s/HOLD_MS/$hold_ms/" Tests/Fixtures/sipp/load.xml > "$work/load.xml"

start_callbotd() {
  CALLBOT_PSEUDONYM_KEY=bench CALLBOT_LOG_LEVEL=warning .build/release/callbotd --config "$work/config" \
    --sip-listen "127.0.0.1:$sip_port" --rtp-ports 30000-39999 --db "$work/db.sqlite" \
    --prompt-cache var/cache/prompts 2> "$work/target.log" &
  echo $! > "$work/pid"
}

start_baresip() {
  mkdir -p "$work/baresip"
  sox -n -r 8000 -c 1 -b 16 "$work/baresip/greeting.wav" synth 600 sine 440 vol 0.3
  cat > "$work/baresip/config" <<CONF
poll_method epoll
sip_listen 127.0.0.1:$sip_port
net_interface 127.0.0.1
audio_source aufile,$work/baresip/greeting.wav
audio_player aufile,/dev/null
audio_alert none
ausrc_srate 8000
ausrc_channels 1
rtp_ports 30000-39999
call_max_calls 4000
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module_app account.so
CONF
  echo "<sip:bot@127.0.0.1:$sip_port>;regint=0;audio_codecs=PCMU/8000;answermode=auto" > "$work/baresip/accounts"
  baresip -f "$work/baresip" < /dev/null > "$work/target.log" 2>&1 &
  echo $! > "$work/pid"
}

ready() {
  python3 - "$sip_port" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
msg = ("OPTIONS sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-b\r\nFrom: <sip:b@b>;tag=1\r\n"
       "To: <sip:bot@127.0.0.1>\r\nCall-ID: bench\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
s.bind(("127.0.0.1", 0)); s.sendto(msg.encode(), ("127.0.0.1", int(sys.argv[1])))
try: s.recv(2000)
except OSError: sys.exit(1)
PY
}

for target in $targets; do
echo "== $target"
start_$target
pid=$(cat "$work/pid")
for _ in $(seq 1 100); do
  if [ "$target" = baresip ]; then grep -q "baresip is ready" "$work/target.log" && break; else ready && break; fi
  sleep 0.2
done
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
ticks=$(getconf CLK_TCK)
printf '%-8s %-10s %-8s %-10s %-14s %-10s %-10s %-10s %-8s\n' calls answered failed cps "cpu (%core)" "ms/call·s" "jit p50" "jit p99" "jit max"
for level in $levels; do
  rate=$(( level / 5 > 0 ? level / 5 : 1 ))
  tshark -q -i lo -f "udp and src portrange 30000-39999" -w "$work/cap.pcap" 2>/dev/null &
  tpid=$!
  sleep 1
  before=$(cpu); start=$(date +%s.%N)
  sipp -sf "$work/load.xml" -i 127.0.0.1 -p $((sip_port + 1)) -mi 127.0.0.1 \
    -mp $((sip_port + 2)) -r "$rate" -l "$level" -m "$level" -nostdin -timeout 120s -trace_stat -stf "$work/stat.csv" \
    "127.0.0.1:$sip_port" > "$work/sipp.out" 2>&1 || true
  end=$(date +%s.%N); after=$(cpu)
  kill -INT $tpid; wait $tpid 2>/dev/null || true
  python3 - "$work" "$level" "$before" "$after" "$start" "$end" "$ticks" "$hold_ms" "$target" <<'PY'
import csv, subprocess, sys, collections
work, level, before, after, start, end, ticks, hold = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:9])
rows = list(csv.reader(open(work + "/stat.csv"), delimiter=";"))
head, last = rows[0], rows[-1]
ok = int(last[head.index("SuccessfulCall(C)")]); failed = int(last[head.index("FailedCall(C)")])
wall = end - start
cpu_s = (after - before) / ticks
call_seconds = ok * hold / 1000
fields = subprocess.run(["tshark", "-r", work + "/cap.pcap", "-d", "udp.port==30000-39999,rtp", "-T", "fields",
                         "-e", "frame.time_epoch", "-e", "rtp.ssrc"], capture_output=True, text=True).stdout
streams = collections.defaultdict(list)
for line in fields.splitlines():
    parts = line.split("\t")
    if len(parts) == 2 and parts[1]:
        streams[parts[1]].append(float(parts[0]))
gaps = []
for times in streams.values():
    times.sort()
    inner = times[50:-50]  # one second off each end: set-up and tear-down
    gaps += [abs((b - a) - 0.020) * 1000 for a, b in zip(inner, inner[1:])]
gaps.sort()
pick = lambda q: gaps[min(len(gaps) - 1, int(q * len(gaps)))] if gaps else float("nan")
open(work + "/results", "a").write(f"{sys.argv[9]} {level} {100 * cpu_s / wall:.1f} {ok}\n")
print(f"{level:<8} {ok:<10} {failed:<8} {ok / wall:<10.1f} {100 * cpu_s / wall:<14.1f} {1000 * cpu_s / max(call_seconds, 1):<10.3f} "
      f"{pick(0.5):<10.3f} {pick(0.99):<10.3f} {gaps[-1] if gaps else float('nan'):<8.2f}")
PY
  rm -f "$work/stat.csv"
done
sed "s/HOLD_MS/1000/" Tests/Fixtures/sipp/load.xml > "$work/short.xml"
printf '%-8s %-10s %-8s %-10s\n' "rate" answered failed "answered/s"
for rate in $cps_rates; do
  start=$(date +%s.%N)
  sipp -sf "$work/short.xml" -i 127.0.0.1 -p $((sip_port + 1)) -mi 127.0.0.1 -mp $((sip_port + 2)) \
    -r "$rate" -m $((rate * 10)) -nostdin -timeout 120s -trace_stat -stf "$work/rate.csv" \
    "127.0.0.1:$sip_port" > "$work/sipp.out" 2>&1 || true
  end=$(date +%s.%N)
  python3 - "$work/rate.csv" "$rate" "$start" "$end" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=";"))
head, last = rows[0], rows[-1]
ok = int(last[head.index("SuccessfulCall(C)")]); failed = int(last[head.index("FailedCall(C)")])
# Calls last one second: the answered rate is over the wall time less that second.
print(f"{sys.argv[2]:<8} {ok:<10} {failed:<8} {ok / max(float(sys.argv[4]) - float(sys.argv[3]) - 1, 0.1):<10.1f}")
PY
  rm -f "$work/rate.csv"
done
kill "$pid"; wait "$pid" 2>/dev/null || true
sleep 1
done

# CPU of callbotd relative to baresip at each level both ran.
if [[ " $targets " == *" callbotd "* && " $targets " == *" baresip "* ]]; then
  python3 - "$work/results" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
cpu = {(r[0], r[1]): float(r[2]) for r in rows}
print("calls    cpu callbotd / baresip")
for target, level in sorted({(r[0], r[1]) for r in rows}, key=lambda k: int(k[1])):
    if target == "callbotd" and ("baresip", level) in cpu:
        print(f"{level:<8} {cpu[('callbotd', level)] / max(cpu[('baresip', level)], 0.1):.2f}")
PY
fi

#!/usr/bin/env bash
# The local call demo behind `make run`: a relay on 127.0.0.1:4433, a wzp-netem path with 10 %
# loss in front of it (127.0.0.1:4500), the web bridge on http://127.0.0.1:8080, and two
# clients in room "demo" through the lossy path — one sends a 440 Hz tone for a minute, the
# other records and measures it. Open the printed URL to join them from a browser. After the
# minute the recorder prints what it measured and the network report (every hostile profile,
# as HTML) is written. Everything stays up until Ctrl-C, which stops it all.
# Ports: WZP_DEMO_RELAY_PORT (4433), WZP_DEMO_NETEM_PORT (4500), WZP_DEMO_WEB_PORT (8080),
# WZP_DEMO_METRICS_PORT (9464); the call's length: DEMO_SECONDS (60). WZP_DEMO_REPORT=0 skips
# the network report and WZP_DEMO_STAY=0 stops everything after the call (the smoke test,
# tests/tools/demo_test.sh, sets both).
set -euo pipefail
bin=${1:-build/bin}
state=${2:-build/demo}
secs=${DEMO_SECONDS:-60}
relay_port=${WZP_DEMO_RELAY_PORT:-4433}
netem_port=${WZP_DEMO_NETEM_PORT:-4500}
web_port=${WZP_DEMO_WEB_PORT:-8080}
metrics_port=${WZP_DEMO_METRICS_PORT:-9464}
mkdir -p "$state"
rm -f "$state"/*.jsonl
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

wait_for() {  # FILE PATTERN: up to 5 s
  for _ in $(seq 50); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  cat "$1"; return 1
}

echo "demo: logs and recordings in $state/"
"$bin/wzp-relay" --listen "127.0.0.1:$relay_port" --metrics-listen "127.0.0.1:$metrics_port" \
  --state-dir "$state/relay" >"$state/relay.log" 2>&1 &
pids+=($!)
wait_for "$state/relay.log" "listening on"
sed -n 's/^.* wzp-relay  /wzp-relay: /p' "$state/relay.log"

"$bin/wzp-netem" --listen "127.0.0.1:$netem_port" --upstream "127.0.0.1:$relay_port" --loss 10 --seed 1 \
  >"$state/netem.log" 2>&1 &
pids+=($!)

"$bin/wzp-web" --port "$web_port" --relay "127.0.0.1:$relay_port" --state-dir "$state/web" >"$state/web.log" 2>&1 &
pids+=($!)
wait_for "$state/web.log" "serving"

client=("$bin/wzp-client" "127.0.0.1:$netem_port" --room demo --known-relays "$state/known_relays")
"${client[@]}" --name listener --identity "$state/listener.id" --record "$state/demo.wav" \
  --metrics-file "$state/listener.jsonl" --duration $((secs + 4)) >"$state/listener.log" 2>&1 &
listener=$!
pids+=($listener)
sleep 1
"${client[@]}" --name tone --identity "$state/tone.id" --send-tone "$secs" \
  --metrics-file "$state/tone.jsonl" >"$state/sender.log" 2>&1 &
pids+=($!)

echo
echo "demo: two clients are in room \"demo\" through 10 % packet loss (wzp-netem on 127.0.0.1:$netem_port)."
echo "demo: join them from a browser:  http://127.0.0.1:$web_port/demo"
echo "demo: relay metrics: http://127.0.0.1:$metrics_port/metrics   bridge metrics: http://127.0.0.1:$web_port/metrics"
echo "demo: in ${secs} s the recorder reports what it heard, then the network report is written."
# Every 10 s: what the listener's last metrics line says (one line a second in listener.jsonl).
start=$SECONDS
while kill -0 "$listener" 2>/dev/null; do
  for _ in $(seq 20); do kill -0 "$listener" 2>/dev/null && sleep 0.5; done
  kill -0 "$listener" 2>/dev/null || break
  last=$(tail -n 1 "$state/listener.jsonl" 2>/dev/null || true)
  field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$last"; }
  printf 'demo: %3d/%d s  listener: %s, %s, loss %s %%, playout delay %s ms, concealed %s %%\n' \
    $((SECONDS - start)) "$secs" "$(field state)" "$(field codec)" "$(field loss_percent)" \
    "$(field buffer_delay_ms)" "$(field concealment_percent)"
done
wait "$listener" || true
grep "wzp-client: recorded" "$state/listener.log" || tail -3 "$state/listener.log"
tail -1 "$state/netem.log"
echo "demo: the recording is $state/demo.wav (play it: play $state/demo.wav)"

[ "${WZP_DEMO_REPORT:-1}" = 0 ] && [ "${WZP_DEMO_STAY:-1}" = 0 ] && exit 0
if [ "${WZP_DEMO_REPORT:-1}" != 0 ]; then
echo "demo: measuring every hostile profile for the network report (about four minutes; each call's"
echo "demo: result as it finishes, the full log in $state/network.log)..."
if "$bin/wzp-bench" network --seconds 12 --html "$state/network-report.html" 2>&1 >"$state/network.txt" |
  tee "$state/network.log" | grep --line-buffered -E '^ +\[[0-9]+/[0-9]+\] .*fidelity' | sed -u 's/^ */demo: /'; then
  echo "demo: network report: $state/network-report.html"
else
  echo "demo: the network report failed, see $state/network.log"
fi
fi
[ "${WZP_DEMO_STAY:-1}" = 0 ] && exit 0
echo "demo: the relay and the bridge stay up for your own clients and browsers; Ctrl-C stops."
wait "${pids[0]}"

#!/usr/bin/env bash
# The local call demo behind `make run`: a relay on 127.0.0.1:4433, a wzp-netem path with 10 %
# loss in front of it, and two clients in room "demo" — one sends a 440 Hz tone, the other
# records and measures it. The relay keeps running afterwards for your own clients; Ctrl-C
# stops everything.
set -euo pipefail
bin=${1:-build/bin}
state=${2:-build/demo}
mkdir -p "$state"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

"$bin/wzp-relay" --listen 127.0.0.1:4433 --state-dir "$state/relay" >"$state/relay.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q "listening on" "$state/relay.log" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on" "$state/relay.log" || { cat "$state/relay.log"; exit 1; }
cat "$state/relay.log"

"$bin/wzp-netem" --listen 127.0.0.1:4500 --upstream 127.0.0.1:4433 --loss 10 --seed 1 \
  >"$state/netem.log" 2>&1 &
pids+=($!)

echo "demo: a 10-second call through 10 % packet loss (wzp-netem on 127.0.0.1:4500)"
client=("$bin/wzp-client" 127.0.0.1:4500 --room demo --known-relays "$state/known_relays")
"${client[@]}" --name listener --identity "$state/listener.id" --record "$state/demo.wav" \
  --duration 14 &
listener=$!
sleep 1
"${client[@]}" --name tone --identity "$state/tone.id" --send-tone 10 >"$state/sender.log" 2>&1
wait "$listener"
tail -1 "$state/netem.log"
echo
echo "demo: the recording is $state/demo.wav (play it: play $state/demo.wav)"
echo "demo: the relay is still up on 127.0.0.1:4433 (metrics: http://127.0.0.1:9464/metrics)."
echo "demo: join it, e.g.  $bin/wzp-client 127.0.0.1:4433 --room demo --send-tone 5"
echo "demo: Ctrl-C stops."
wait "${pids[0]}"

#!/usr/bin/env bash
# `make run`'s demo (scripts/demo.sh) as a smoke test: an 11 s call on ports of its own, no
# network report, everything stopped after the call. It must start the relay (and say where it
# listens), show the listener's progress, and record the tone.
#   demo_test.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$1
bin=$2
state=$(mktemp -d /tmp/wzp-demo-test.XXXXXX)
trap 'rm -rf "$state"' EXIT
# Below the kernel's ephemeral range (32768 and up), so no outgoing socket holds one of them.
base=$((20000 + ($$ % 700) * 16))
out=$(DEMO_SECONDS=11 WZP_DEMO_REPORT=0 WZP_DEMO_STAY=0 WZP_DEMO_RELAY_PORT=$base \
      WZP_DEMO_NETEM_PORT=$((base + 1)) WZP_DEMO_WEB_PORT=$((base + 2)) WZP_DEMO_METRICS_PORT=$((base + 3)) \
      timeout 60 "$src/scripts/demo.sh" "$bin" "$state" 2>&1) || { status=$?; echo "$out"; echo "FAIL: the demo exited $status"; exit 1; }
echo "$out"
fail=0
expect() {
  if grep -qE "$1" <<<"$out"; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi
}
expect "^wzp-relay: listening on 127\.0\.0\.1:$base " "the relay listens on the port asked for, and says so"
expect "^demo: join them from a browser:  http://127\.0\.0\.1:$((base + 2))/demo" "the page's address on the web port asked for"
expect "^demo: +[0-9]+/11 s  listener: connected, opus" "the listener's progress while the call runs"
expect "^wzp-client: recorded .*loudest second: 44[0-9]\.[0-9] Hz" "the recorder heard the 440 Hz tone"
exit $fail

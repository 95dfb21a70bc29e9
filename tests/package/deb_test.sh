#!/usr/bin/env bash
# The operator's package: cpack builds the .deb from this build; dpkg installs it into a
# scratch root; the files an operator expects are there (binaries, page, man pages, hardened
# systemd units, the commented /etc/wzp/relay.toml with every setting), the units pass
# systemd-analyze, apt would resolve its dependencies on this Debian, and the relay and the
# bridge start from the scratch root with the shipped configuration, keeping their state in
# the directory systemd would give them.
# Usage: deb_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d /tmp/wzp-deb-test.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== cpack -G DEB"
cpack -G DEB -B "$work/pkg" --config "$build/CPackConfig.cmake" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/pkg/wzp_*.deb)
echo "$deb"

echo "== apt would install it here (its dependencies are Debian 12 packages)"
apt-get install -s "$deb" 2>&1 | grep -q "^Inst wzp " || fail "apt-get install -s $deb"

echo "== dpkg --root into a scratch root"
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
# The scratch root holds none of the shared libraries: the binaries run on the host's.
dpkg --root="$root" --force-depends --force-not-root --log=/dev/null -i "$deb" >"$work/dpkg.log" 2>&1 ||
  { cat "$work/dpkg.log"; fail "dpkg -i"; }
dpkg --root="$root" -s wzp | grep -q "^Status: install ok installed" || fail "dpkg does not list wzp as installed"
for f in usr/bin/wzp-relay usr/bin/wzp-client usr/bin/wzp-web usr/bin/wzp-netem usr/bin/wzp-bench \
         usr/share/wzp/web/index.html etc/wzp/relay.toml etc/wzp/web.env \
         lib/systemd/system/wzp-relay.service lib/systemd/system/wzp-web.service \
         usr/lib/sysctl.d/60-wzp-relay.conf \
         usr/share/man/man1/wzp-relay.1.gz usr/share/man/man1/wzp-client.1.gz \
         usr/share/man/man1/wzp-web.1.gz usr/share/doc/wzp/OPERATIONS.md; do
  [ -e "$root/$f" ] || fail "/$f is not in the package"
done
dpkg-deb -I "$deb" conffiles | grep -qx "/etc/wzp/relay.toml" || fail "relay.toml is not a conffile"
for app in wzp-relay wzp-client wzp-web; do
  MANWIDTH=80 man -l "$root/usr/share/man/man1/$app.1.gz" 2>/dev/null | grep -q -- "--version" ||
    fail "man $app does not render its options"
done

echo "== every setting the relay reads is in the shipped relay.toml"
keys=$(grep -o 'key == "[a-z_]*"' "$src/src/relay/relay_config.cpp" | cut -d'"' -f2)
for k in $keys; do
  grep -Eq "^#?\[?$k( =|\])" "$root/etc/wzp/relay.toml" || fail "relay.toml does not show '$k'"
done

echo "== the units: hardened, and systemd-analyze verify passes"
for u in wzp-relay wzp-web; do
  unit=$root/lib/systemd/system/$u.service
  for d in DynamicUser=yes StateDirectory=$u ProtectSystem=strict ProtectHome=yes NoNewPrivileges=yes; do
    grep -qx "$d" "$unit" || fail "$u.service lacks $d"
  done
  # Pointed at the scratch root's binaries (the host has none installed).
  sed "s#/usr/bin/#$root/usr/bin/#" "$unit" >"$work/$u.service"
done
MANPATH=$root/usr/share/man systemd-analyze verify "$work/wzp-relay.service" "$work/wzp-web.service" ||
  fail "systemd-analyze verify"

echo "== the relay starts from the scratch root with the shipped config"
mkdir -p "$work/state"
STATE_DIRECTORY=$work/state "$root/usr/bin/wzp-relay" --config "$root/etc/wzp/relay.toml" \
  --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 >"$work/relay.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "metrics on" "$work/relay.log" && break; sleep 0.1; done
grep -q "listening on 127.0.0.1:" "$work/relay.log" || { cat "$work/relay.log"; fail "the relay did not start"; }
relay=$(grep -o "listening on 127.0.0.1:[0-9]*" "$work/relay.log" | cut -d' ' -f3)
metrics=$(grep -o "metrics on http://127.0.0.1:[0-9]*" "$work/relay.log" | cut -d/ -f3)
curl -sf "http://$metrics/healthz" | grep -q '"status":"ok"' || fail "relay /healthz"
[ -f "$work/state/cert.pem" ] && [ -f "$work/state/identity" ] ||
  fail "the relay did not keep its state in \$STATE_DIRECTORY"

echo "== the bridge serves the installed page"
echo "<!-- installed copy -->" >>"$root/usr/share/wzp/web/index.html"
mkdir -p "$work/web-state"
STATE_DIRECTORY=$work/web-state "$root/usr/bin/wzp-web" --port 0 --relay "$relay" >"$work/web.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "serving" "$work/web.log" && break; sleep 0.1; done
web=$(grep -o "serving http://127.0.0.1:[0-9]*" "$work/web.log" | cut -d/ -f3) ||
  { cat "$work/web.log"; fail "the bridge did not start"; }
curl -sf "http://$web/lobby" | grep -q "installed copy" || fail "the bridge did not serve PREFIX/share/wzp/web"
curl -sf "http://$web/healthz" | grep -q '"status":"ok"' || fail "bridge /healthz"
echo "PASS"

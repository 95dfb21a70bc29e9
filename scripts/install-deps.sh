#!/usr/bin/env bash
# Installs everything WarzonePhone needs to build, run and test, on Debian 12.
# Idempotent and non-interactive: installs only what is missing, so a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # toolchain and build
  build-essential cmake ninja-build ccache pkg-config git
  clang-14 libclang-rt-14-dev clang-format
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # libraries, one line per layer that uses them
  nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libspdlog-dev   # proto, apps
  libsodium-dev                                                       # crypto
  libopus-dev libcodec2-dev libsoxr-dev libspeexdsp-dev               # codec
  libwebrtc-audio-processing-dev portaudio19-dev                      # codec, client
  libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev           # transport
  libboost1.74-dev libssl-dev                                         # transport, relay, web
  # independent implementations and tools the tests use
  nodejs npm sox espeak-ng opus-tools
  help2man dpkg-dev man-db systemd                                    # man pages, the .deb (cpack), its test
  prometheus curl                                                     # promtool checks our /metrics
  redis-server                                                        # the cluster directory's tests
  chromium                                                            # the page's end-to-end tests
  emscripten                                                          # the protocol in WebAssembly (wasm/)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's nodejs carries npm inside it on some machines; do not fight that.
if command -v npm >/dev/null 2>&1; then
  tmp=(); for p in "${missing[@]}"; do [ "$p" = npm ] || tmp+=("$p"); done; missing=("${tmp[@]}")
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi

# npm packages the tests use, pinned in package.json and package-lock.json.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "install-deps: npm ci"
  npm ci --no-audit --no-fund
else
  echo "install-deps: npm packages present"
fi

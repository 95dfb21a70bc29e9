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

# Debian's sources of libraries the codec layer links, for its WebAssembly build (wasm/): Debian
# ships none of them built for WebAssembly, and the page should encode and conceal with the same
# library as the native client. Each is the release its -dev package is built from, checked
# against the SHA-256 in Debian's source index, unpacked into .deps/. (Codec2's, which the page
# needs next, is not served by this machine's Debian mirror: wasm/codec2_absent.cpp.)
debian_source() {  # pool-path file sha256 directory
  local dir=".deps/$4"
  if [ -f "$dir/.complete" ]; then
    echo "install-deps: $4 source present"
    return
  fi
  echo "install-deps: Debian's $2 into $dir"
  mkdir -p .deps
  curl -fsSL -o ".deps/$2" "http://deb.debian.org/debian/pool/main/$1/$2"
  echo "$3  .deps/$2" | sha256sum -c --quiet
  rm -rf "$dir"
  tar xzf ".deps/$2" -C .deps
  rm ".deps/$2"
  touch "$dir/.complete"
}
debian_source o/opus opus_1.3.1.orig.tar.gz \
  65b58e1e25b2a114157014736a3d9dfeaad8d41be1c8179866f144a2fb44ff9d opus-1.3.1

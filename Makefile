# The two commands of the quick start are `make run` and `make test`; both install what is
# missing first (scripts/install-deps.sh).
BUILD        ?= build
BUILD_ASAN   ?= build-asan
BUILD_TSAN   ?= build-tsan
BUILD_FUZZ   ?= build-fuzz
BUILD_WASM   ?= build-wasm
FUZZ_SECONDS ?= 30
CMAKE_GEN    := -G Ninja

.PHONY: all deps build run test test-fast wasm sanitize tsan soak fuzz ci bench format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD)

# The main job: a relay on 127.0.0.1:4433 with a local call through 10 % loss that you can
# measure (scripts/demo.sh); the relay stays up until Ctrl-C.
run: build
	scripts/demo.sh $(BUILD)/bin $(BUILD)/demo

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j 2
	$(MAKE) wasm

# The protocol layers built to WebAssembly by Debian's emscripten from the same sources (the
# engine in the page, issue 20), and their unit tests run under node (wasm/CMakeLists.txt).
wasm: deps
	NODE_PATH=/usr/share/nodejs emcmake cmake -S wasm -B $(BUILD_WASM) $(CMAKE_GEN)
	cmake --build $(BUILD_WASM)
	ctest --test-dir $(BUILD_WASM) --output-on-failure

# The fast suite only: no real processes, no browser.
test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j 2 -L unit

# Under AddressSanitizer + UndefinedBehaviorSanitizer: the unit tests, and the process-level
# tests (relay, client, web, integration, the browser) against sanitized binaries. Not built:
# wzp-bench and the package (the soak's memory bounds mean nothing with the sanitizer's
# quarantine). Left out: the Prometheus dashboard and the RaptorQ failure-rate trials (no code
# of ours that the others do not run, at many times the cost) and the echo test (its later
# windows need a client that keeps real time, which a sanitized debug build does not: issue 14
# tracks the echo room's playout delay growing from the third window even in the release build).
sanitize: deps
	cmake -S . -B $(BUILD_ASAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DWZP_SANITIZE=ON -DWZP_BUILD_BENCH=OFF
	cmake --build $(BUILD_ASAN)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(BUILD_ASAN) --output-on-failure -j 2 -L 'unit|slow' \
	    -E '^(telemetry\.Prometheus|fec\.RaptorQFailureRate|integration\.ClientProcess\.EchoTest)'

# Under ThreadSanitizer, where threads meet (tests/CMakeLists.txt: thread_tests): the lock-free
# ring between the audio device's thread and the call's, the impairment proxy, and the bridge
# and relay on their own thread while tests talk to them.
tsan: deps
	cmake -S . -B $(BUILD_TSAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DWZP_SANITIZE_THREAD=ON -DWZP_BUILD_APPS=OFF
	cmake --build $(BUILD_TSAN) --target thread_tests
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir $(BUILD_TSAN) --output-on-failure -j 2 -L tsan

# The two-minute soak with its bounds (docs/BENCHMARKS.md has the hour-long one).
soak: build
	$(BUILD)/bin/wzp-bench soak --minutes 2 --pages 6 --check --html $(BUILD)/soak.html

# Every fuzz target for FUZZ_SECONDS, starting from its committed seed corpus.
fuzz: deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(BUILD_FUZZ) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWZP_FUZZ=ON
	cmake --build $(BUILD_FUZZ) --target fuzzers
	scripts/run-fuzzers.sh $(BUILD_FUZZ)/bin $(FUZZ_SECONDS)

ci: test sanitize tsan fuzz

bench: build
	$(BUILD)/bin/wzp-bench all

format:
	find src apps bench tests -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) $(BUILD_FUZZ)

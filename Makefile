# The two commands of the quick start are `make run` and `make test`; both install what is
# missing first (scripts/install-deps.sh).
BUILD        ?= build
BUILD_ASAN   ?= build-asan
BUILD_FUZZ   ?= build-fuzz
FUZZ_SECONDS ?= 30
CMAKE_GEN    := -G Ninja

.PHONY: all deps build run test test-fast sanitize fuzz ci bench format clean

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

# The fast suite only: no real processes, no browser.
test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j 2 -L unit

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer.
sanitize: deps
	cmake -S . -B $(BUILD_ASAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DWZP_SANITIZE=ON -DWZP_BUILD_APPS=OFF
	cmake --build $(BUILD_ASAN)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(BUILD_ASAN) --output-on-failure -j 2 -L unit

# Every fuzz target for FUZZ_SECONDS, starting from its committed seed corpus.
fuzz: deps
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(BUILD_FUZZ) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWZP_FUZZ=ON
	cmake --build $(BUILD_FUZZ) --target fuzzers
	scripts/run-fuzzers.sh $(BUILD_FUZZ)/bin $(FUZZ_SECONDS)

ci: test sanitize fuzz

bench: build
	$(BUILD)/bin/wzp-bench all

format:
	find src apps bench tests -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)

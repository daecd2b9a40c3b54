# make test      build every test in every configuration and run it
#                (gcc + clang with ASan/UBSan, the labels backend, TSan for
#                threaded tests, valgrind, freestanding and C++ builds,
#                the -O0..-O3 / 32-bit / aarch64 / s390x / musl matrix,
#                libFuzzer on mini_redis, the examples under valgrind)
# make test-quick  the edit loop: every test under gcc + ASan/UBSan
# make fuzz      the fuzzers for longer: FUZZ_SECONDS (600) per libFuzzer
#                harness, FUZZ_SEEDS (200000) schedule-fuzzer seeds
# make coverage  line and branch coverage per header
# make bench     build and run the benchmarks (installs hyperfine if root)
# make examples  build examples/*.c into build/NAME
# make clean
CC      ?= gcc
CFLAGS  ?= -O2 -g
WARN     = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror
BUILD    = build
EXAMPLES = $(patsubst examples/%.c,$(BUILD)/%,$(wildcard examples/*.c))
HEADERS  = $(wildcard *.h)

.PHONY: all test test-quick fuzz coverage bench bench-quick examples clean

all: examples

examples: $(EXAMPLES)

$(BUILD)/%: examples/%.c $(HEADERS) | $(BUILD)
	$(CC) $(WARN) $(CFLAGS) $< -o $@ -lpthread

$(BUILD):
	mkdir -p $(BUILD)

test:
	@bash tests/run.sh

test-quick:
	@QUICK=1 bash tests/run.sh

FUZZ_SECONDS ?= 600
FUZZ_SEEDS ?= 200000
fuzz: | $(BUILD)
	gcc $(WARN) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	    tests/test_fuzz_sched.c -o $(BUILD)/fuzz_sched -lpthread
	$(BUILD)/fuzz_sched --seeds $(FUZZ_SEEDS)
	bash tests/fuzz_redis.sh $(FUZZ_SECONDS)

coverage:
	@bash tests/coverage.sh

bench: examples
	@bash bench/run.sh

bench-quick: examples
	@bash bench/run.sh --quick

clean:
	rm -rf $(BUILD)

# make test      build every test in every configuration and run it
#                (gcc + clang with ASan/UBSan, the labels backend, TSan for
#                threaded tests, valgrind, freestanding and C++ builds)
# make bench     build and run the benchmarks (installs hyperfine if root)
# make examples  build examples/*.c into build/NAME
# make clean
CC      ?= gcc
CFLAGS  ?= -O2 -g
WARN     = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror
BUILD    = build
EXAMPLES = $(patsubst examples/%.c,$(BUILD)/%,$(wildcard examples/*.c))
HEADERS  = $(wildcard *.h)

.PHONY: all test bench bench-quick examples clean

all: examples

examples: $(EXAMPLES)

$(BUILD)/%: examples/%.c $(HEADERS) | $(BUILD)
	$(CC) $(WARN) $(CFLAGS) $< -o $@ -lpthread

$(BUILD):
	mkdir -p $(BUILD)

test:
	@bash tests/run.sh

bench: examples
	@bash bench/run.sh

bench-quick: examples
	@bash bench/run.sh --quick

clean:
	rm -rf $(BUILD)

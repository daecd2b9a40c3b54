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
# make dist      dist/weft.h: the headers amalgamated into one (tools/amalgamate.py)
# make install   PREFIX=/usr/local (and DESTDIR): the headers as
#                PREFIX/include/weft/*.h, the single header PREFIX/include/weft.h,
#                PREFIX/lib/pkgconfig/weft.pc, PREFIX/lib/cmake/weft/ (weft::weft)
# make uninstall the same PREFIX / DESTDIR: removes what install put there
# make test-packaging  tests/packaging.sh: install, build a consumer with
#                pkg-config, CMake (find_package, add_subdirectory, FetchContent)
#                and Meson, uninstall; the test suite against dist/weft.h
# make print-headers   the library's headers in layering order, one a line

# The library's headers in layering order: the one list, tools/headers.txt,
# which CMakeLists.txt, meson.build and the scripts read too. A listed header
# that does not exist yet is skipped.
LIB_HEADERS := $(shell sed 's/\#.*//' tools/headers.txt)
LIB_PRESENT  = $(foreach h,$(LIB_HEADERS),$(wildcard $(h)))
WEFT_VERSION := $(shell cat tools/version.txt)
CC      ?= gcc
CFLAGS  ?= -O2 -g
# The line that catches async C's easy mistakes (coro.h, "Mistakes it
# reports"): -Wall at -Og or higher for gcc (-Wmaybe-uninitialized needs
# the optimiser: a local assigned before an AWAIT and read after it), and
# gcc's -Wjump-misses-init (a local declared with an initializer before a
# suspension). clang -Wall sees the first at every level.
WARN     = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror \
           $(if $(findstring clang,$(CC)),,-Wjump-misses-init)
BUILD    = build
EXAMPLES = $(patsubst examples/%.c,$(BUILD)/%,$(wildcard examples/*.c))
HEADERS  = $(wildcard *.h)

.PHONY: all test test-quick fuzz coverage bench bench-quick examples clean \
        dist install uninstall print-headers test-packaging

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

bench: $(BUILD)/seq_vs_join $(BUILD)/mini_redis
	@bash bench/run.sh

bench-quick: $(BUILD)/seq_vs_join $(BUILD)/mini_redis
	@bash bench/run.sh --quick

clean:
	rm -rf $(BUILD)

# ---- packaging --------------------------------------------------------------
PREFIX     ?= /usr/local
INCLUDEDIR ?= $(PREFIX)/include
LIBDIR     ?= $(PREFIX)/lib
PYTHON     ?= python3
INC_ABS     = $(abspath $(INCLUDEDIR))
PREFIX_ABS  = $(abspath $(PREFIX))
CMAKEDIR    = $(abspath $(LIBDIR))/cmake/weft
PCDIR       = $(abspath $(LIBDIR))/pkgconfig
# the .pc says ${prefix}/include when it can (pkg-config --define-prefix)
PC_INCLUDEDIR = $(patsubst $(PREFIX_ABS)/%,$${prefix}/%,$(INC_ABS))

print-headers:
	@for h in $(LIB_PRESENT); do echo $$h; done

dist: dist/weft.h

dist/weft.h: tools/amalgamate.py tools/headers.txt tools/version.txt $(LIB_PRESENT)
	$(PYTHON) tools/amalgamate.py -o $@

# dist/weft.h is built first when python3 is there, and installed if it exists
install: $(if $(shell command -v $(PYTHON)),dist/weft.h)
	install -d '$(DESTDIR)$(INC_ABS)/weft' '$(DESTDIR)$(PCDIR)' '$(DESTDIR)$(CMAKEDIR)'
	install -m 644 $(LIB_PRESENT) '$(DESTDIR)$(INC_ABS)/weft/'
	if [ -f dist/weft.h ]; then install -m 644 dist/weft.h '$(DESTDIR)$(INC_ABS)/weft.h'; \
	else echo "install: no dist/weft.h (python3 missing): the single header is left out"; fi
	sed -e 's|@PREFIX@|$(PREFIX_ABS)|g' -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(WEFT_VERSION)|g' weft.pc.in >'$(DESTDIR)$(PCDIR)/weft.pc'
	sed -e "s|@WEFT_INCLUDE_REL@|$$(realpath -m --relative-to='$(CMAKEDIR)' '$(INC_ABS)')|g" \
	    cmake/weftConfig.cmake.in >'$(DESTDIR)$(CMAKEDIR)/weftConfig.cmake'
	sed -e 's|@WEFT_VERSION@|$(WEFT_VERSION)|g' \
	    cmake/weftConfigVersion.cmake.in >'$(DESTDIR)$(CMAKEDIR)/weftConfigVersion.cmake'
	chmod 644 '$(DESTDIR)$(PCDIR)/weft.pc' '$(DESTDIR)$(CMAKEDIR)/weftConfig.cmake' \
	    '$(DESTDIR)$(CMAKEDIR)/weftConfigVersion.cmake'

# Every header ever listed is removed, present here or not; then weft's own
# directories, and the generic ones install may have created if now empty.
uninstall:
	rm -f $(foreach h,$(LIB_HEADERS),'$(DESTDIR)$(INC_ABS)/weft/$(h)') \
	    '$(DESTDIR)$(INC_ABS)/weft.h' '$(DESTDIR)$(PCDIR)/weft.pc' \
	    '$(DESTDIR)$(CMAKEDIR)/weftConfig.cmake' '$(DESTDIR)$(CMAKEDIR)/weftConfigVersion.cmake'
	@for d in '$(DESTDIR)$(INC_ABS)/weft' '$(DESTDIR)$(CMAKEDIR)'; do \
	    [ ! -d "$$d" ] || rmdir "$$d" || { echo "uninstall: $$d still holds:"; ls -A "$$d"; exit 1; }; \
	done
	@for d in '$(DESTDIR)$(PCDIR)' '$(DESTDIR)$(abspath $(LIBDIR))/cmake'; do \
	    rmdir "$$d" 2>/dev/null || true; done

test-packaging:
	@bash tests/packaging.sh

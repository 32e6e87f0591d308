# kbackup: one build for the runner, the operator, tests, fuzzing, demo and benchmarks.
#
#   make                 bin/kbackup-runner
#   make operator        bin/kbackup-operator
#   make check           every test (unit, integration); SANITIZE=1 for ASan+UBSan
#   make demo            throwaway PostgreSQL backed up to a directory and restored
#   make install         PREFIX=/usr/local DESTDIR=
#   make fuzz            builds the libFuzzer targets (clang)
#   make bench           benchmarks against peer tools (not part of check)
#
# Objects go to $(O), binaries to $(BINDIR); several trees can be built side by side
# with different O= and BINDIR=.

PREFIX	?= /usr/local
DESTDIR	?=
SANITIZE ?=
ifeq ($(SANITIZE),1)
O	?= build-san
BINDIR	?= build-san/bin
else
O	?= build
BINDIR	?= bin
endif

# mk/ holds a .pc for iniparser, which Debian ships without one.
PKG_CONFIG	= PKG_CONFIG_PATH=$(CURDIR)/mk$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH)) pkg-config

RUNNER_PKGS	= libcurl openssl iniparser libbsd-overlay libzstd jansson libxml-2.0 \
		  libmicrohttpd libarchive libpq
OPERATOR_PKGS	= libcurl openssl iniparser libbsd-overlay jansson yaml-0.1
TEST_PKGS	= cmocka

PKG_CFLAGS	:= $(shell $(PKG_CONFIG) --cflags $(sort $(RUNNER_PKGS) $(OPERATOR_PKGS)) 2>/dev/null)
RUNNER_LIBS	:= $(shell $(PKG_CONFIG) --libs $(RUNNER_PKGS) 2>/dev/null)
OPERATOR_LIBS	:= $(shell $(PKG_CONFIG) --libs $(OPERATOR_PKGS) 2>/dev/null)
TEST_LIBS	:= $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

CC	?= cc
CFLAGS	?= -O2 -g
CFLAGS	+= -std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
	   -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith \
	   -Wno-unused-parameter -fno-strict-aliasing -pthread -I. $(PKG_CFLAGS) \
	   -ffunction-sections -fdata-sections
LDFLAGS	+= -pthread
ifeq ($(SANITIZE),1)
CFLAGS	+= -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS	+= -fsanitize=address,undefined
# ASan's instrumented globals keep every table they point into, so the
# sanitized operator is linked with the runner's libraries too.
OPERATOR_LIBS	+= $(RUNNER_LIBS)
endif

# Every .c of a folder and its subfolders (runner/stream/, storage/s3/, ...).
sources		= $(wildcard $(1)/*.c $(1)/*/*.c)
COMMON_SRC	:= $(sort $(call sources,common))
RUNNER_SRC	:= $(sort $(filter-out runner/main.c,$(call sources,runner)) \
		   $(call sources,engines) $(call sources,storage))
OPERATOR_SRC	:= $(sort $(filter-out operator/main.c,$(call sources,operator)))
UNIT_SRC	:= $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC	:= $(sort $(wildcard tests/fuzz/fuzz_*.c))

COMMON_OBJ	:= $(COMMON_SRC:%.c=$(O)/%.o)
RUNNER_OBJ	:= $(RUNNER_SRC:%.c=$(O)/%.o)
OPERATOR_OBJ	:= $(OPERATOR_SRC:%.c=$(O)/%.o)
UNIT_BIN	:= $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
# What the unit tests (and fuzz targets) share: tests/unit/testutil.h.
TESTUTIL_OBJ	:= $(O)/tests/unit/testutil.o

LIBCOMMON	:= $(O)/libkbcommon.a
LIBRUNNER	:= $(O)/libkbrunner.a
LIBOPERATOR	:= $(O)/libkboperator.a
RUNNER		:= $(BINDIR)/kbackup-runner
OPERATOR	:= $(BINDIR)/kbackup-operator

.PHONY: all operator check unit integration demo install deps fuzz bench lint clean
all: $(RUNNER)
operator: $(OPERATOR)

# Sets up what is missing on a fresh Debian 12 machine (idempotent, quick when all is there).
deps:
	@scripts/install-deps

$(O)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJ)
	@rm -f $@; $(AR) rcs $@ $^
$(LIBRUNNER): $(RUNNER_OBJ)
	@rm -f $@; $(AR) rcs $@ $^
$(LIBOPERATOR): $(OPERATOR_OBJ)
	@rm -f $@; $(AR) rcs $@ $^

$(RUNNER): $(O)/runner/main.o $(LIBRUNNER) $(LIBCOMMON)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(RUNNER_LIBS) -lm

# The operator takes from the runner's library only the config schema and what
# engines and storage types say of themselves (engine_descs, storage_descs):
# --gc-sections drops the rest, so it links none of the runner's own libraries.
$(OPERATOR): $(O)/operator/main.o $(LIBOPERATOR) $(LIBRUNNER) $(LIBCOMMON)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -Wl,--gc-sections -Wl,--as-needed -o $@ $^ $(OPERATOR_LIBS) -lm

# Every unit test links every library: the archives contribute only what a test uses.
$(UNIT_BIN): $(O)/tests/%: tests/unit/%.c $(TESTUTIL_OBJ) $(LIBOPERATOR) $(LIBRUNNER) $(LIBCOMMON)
	@mkdir -p $(@D)
	@echo "  CCLD    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TESTUTIL_OBJ) $(LIBOPERATOR) $(LIBRUNNER) $(LIBCOMMON) \
		$(TEST_LIBS) $(OPERATOR_LIBS) $(RUNNER_LIBS) -lm

check: deps
	@$(MAKE) --no-print-directory all units $(if $(wildcard operator/main.c),operator)
	@KBACKUP_RUNNER=$(abspath $(RUNNER)) KBACKUP_OPERATOR=$(abspath $(OPERATOR)) \
		KBACKUP_UNIT_DIR=$(abspath $(O)/tests) SANITIZE=$(SANITIZE) tests/run $(TESTS)

units: $(UNIT_BIN)

demo: deps
	@$(MAKE) --no-print-directory all
	@KBACKUP_RUNNER=$(abspath $(RUNNER)) scripts/demo

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/doc/kbackup/examples
	install -m 0755 $(RUNNER) $(DESTDIR)$(PREFIX)/bin/
	if [ -x $(OPERATOR) ]; then install -m 0755 $(OPERATOR) $(DESTDIR)$(PREFIX)/bin/; fi
	install -m 0644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 examples/*.conf $(DESTDIR)$(PREFIX)/share/doc/kbackup/examples/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	for u in systemd/*.service systemd/*.timer; do \
		sed 's|/usr/local/bin/|$(PREFIX)/bin/|' $$u >$(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u); \
	done

# libFuzzer targets: each tests/fuzz/fuzz_X.c links the sources it needs through the libraries.
# The sources are compiled once (instrumented, without libFuzzer's main) for every target.
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	      -std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE -I. $(PKG_CFLAGS)
FUZZ_OBJ	:= $(patsubst $(O)/%,$(O)/fuzz/obj/%,$(COMMON_OBJ) $(RUNNER_OBJ) $(OPERATOR_OBJ) \
		   $(TESTUTIL_OBJ))
FUZZ_BIN	:= $(FUZZ_SRC:tests/fuzz/%.c=$(O)/fuzz/%)

fuzz: $(FUZZ_BIN)

$(O)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CLANG   $<"
	@clang $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_BIN): $(O)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@echo "  CLANG   $@"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) \
		$(TEST_LIBS) $(OPERATOR_LIBS) $(RUNNER_LIBS) -lm

bench: all
	@KBACKUP_RUNNER=$(abspath $(RUNNER)) bench/run
	@KBACKUP_RUNNER=$(abspath $(RUNNER)) bench/pitr
	@KBACKUP_RUNNER=$(abspath $(RUNNER)) bench/binlog

lint:
	@for m in man/*.[58]; do mandoc -Tlint -Wwarning $$m || exit 1; done

clean:
	rm -rf build build-san bin

-include $(COMMON_OBJ:.o=.d) $(RUNNER_OBJ:.o=.d) $(OPERATOR_OBJ:.o=.d) $(O)/runner/main.d $(O)/operator/main.d \
	 $(TESTUTIL_OBJ:.o=.d) $(FUZZ_OBJ:.o=.d)

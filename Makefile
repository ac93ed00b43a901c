# bt: BitTorrent as a family of Unix filters.
#   make            build every program into bin/
#   make check      install what is missing, build, run every test
#   make check SANITIZE=1   the same under ASan + UBSan (build/san/)
#   make demo       a local tracker and seeder, and a download through the pipeline
#   make bench      benchmarks against other clients (bench/RESULTS.md)
#   make install PREFIX=/usr/local DESTDIR=

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
CC	?= cc
PKGS	 = openssl libcurl

CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Ilib -Icmd/common \
	$(shell pkg-config --cflags $(PKGS))
LDLIBS	= $(shell pkg-config --libs $(PKGS)) -pthread

ifeq ($(SANITIZE),1)
BUILD	?= build/san
BIN	?= build/san/bin
OPT	= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=undefined
LDSAN	= -fsanitize=address,undefined
else
BUILD	?= build/rel
BIN	?= bin
OPT	= -O2 -g
LDSAN	=
endif
CFLAGS	?=
FUZZ_SECONDS ?= 60
ALL_CFLAGS = $(CFLAGS_BASE) $(OPT) $(CFLAGS)

LIB_SRC	= $(wildcard lib/*.c)
LIB_OBJ	= $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC	= $(wildcard cmd/common/*.c)
CLI_OBJ	= $(CLI_SRC:%.c=$(BUILD)/%.o)
PROG_C	= $(wildcard cmd/bt-*.c)
PROG_SH	= $(wildcard cmd/bt-*.sh)
PROGS	= $(PROG_C:cmd/%.c=$(BIN)/%) $(PROG_SH:cmd/%.sh=$(BIN)/%)
UNIT_C	= $(wildcard tests/unit/test_*.c)
UNITS	= $(UNIT_C:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_C	= $(wildcard tests/tools/*.c)
TOOLS	= $(TOOL_C:tests/tools/%.c=$(BUILD)/tools/%)
MANS	= $(wildcard man/*.1 man/*.7)
LIBBT	= $(BUILD)/libbt.a
HDRS	= $(wildcard lib/*.h cmd/common/*.h tests/unit/*.h)

.PHONY: all deps check test demo bench fuzz install uninstall clean lint
all: $(PROGS) $(UNITS) $(TOOLS)

$(BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBBT): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/%: $(BUILD)/cmd/%.o $(CLI_OBJ) $(LIBBT)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

$(BIN)/%: cmd/%.sh
	@mkdir -p $(@D)
	cp $< $@ && chmod +x $@

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBBT)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) -o $@ $^ $(LDLIBS)

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(LIBBT)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) -o $@ $^ $(LDLIBS) -lm

deps:
	@sh scripts/install-deps

test: all
	@BT_BIN=$(CURDIR)/$(BIN) BT_BUILD=$(CURDIR)/$(BUILD) sh tests/run

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory test

demo: deps all
	@BT_BIN=$(CURDIR)/$(BIN) sh examples/demo.sh

bench: deps all
	@BT_BIN=$(CURDIR)/$(BIN) sh bench/run

fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run

lint:
	mandoc -T lint -W warning $(MANS)

install: $(PROGS)
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man7
	for p in $(PROGS); do install -m 755 $$p $(DESTDIR)$(BINDIR)/; done
	for m in $(wildcard man/*.1); do \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in $(wildcard man/*.7); do \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man7/; done

uninstall:
	for p in $(notdir $(PROGS)); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for m in $(notdir $(wildcard man/*.1)); do \
	    rm -f $(DESTDIR)$(MANDIR)/man1/$$m; done
	for m in $(notdir $(wildcard man/*.7)); do \
	    rm -f $(DESTDIR)$(MANDIR)/man7/$$m; done

clean:
	rm -rf build bin

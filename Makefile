# persist: primary build.  `make run` and `make test` are the two commands;
# the mkfile mirrors the build part for mk users.

PREFIX	?= /usr/local
DESTDIR	?=
STORE	?= /var/lib/persist
MNT	?= /persist

CC	= gcc
CFLAGS	= -O2 -g -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE
FUSECFLAGS	= $(shell pkg-config --cflags fuse3 2>/dev/null)
FUSELIBS	= $(shell pkg-config --libs fuse3 2>/dev/null)

# the restorer runs in place of a process: no libc, no relocations, no TLS
RCFLAGS	= -O2 -g -Wall -Wextra -Wno-unused-parameter -std=gnu11 -ffreestanding \
	-fno-stack-protector -fno-stack-clash-protection -fcf-protection=none \
	-fPIE -fvisibility=hidden -fno-plt -fno-builtin -fno-asynchronous-unwind-tables \
	-fno-jump-tables -mno-red-zone -mgeneral-regs-only -Ikernel
RLDFLAGS	= -nostdlib -static-pie -Wl,--no-dynamic-linker -Wl,-z,noexecstack \
	-Wl,--build-id=none -Wl,-T,kernel/restorer/rst.ld -Wl,--no-warn-rwx-segments

KOBJ	= $(patsubst %.c,%.o,$(wildcard kernel/*.c)) kernel/rblob.o
ROBJ	= $(patsubst %.c,%.o,$(wildcard kernel/restorer/*.c)) \
	$(patsubst %.S,%.o,$(wildcard kernel/restorer/*.S))
FOBJ	= $(patsubst %.c,%.o,$(wildcard fs/*.c))
PROGS	= $(patsubst %.c,%,$(wildcard tests/prog/*.c))
BENCH	= $(patsubst %.c,%,$(wildcard bench/*.c))

all: kernel/restorer/restorer kernel/libpersist.a fs/persistfs $(PROGS) $(BENCH)

kernel/restorer/%.o: kernel/restorer/%.c kernel/image.h kernel/cpuid.h $(wildcard kernel/restorer/*.h)
	$(CC) $(RCFLAGS) -c -o $@ $<
kernel/restorer/%.o: kernel/restorer/%.S
	$(CC) $(RCFLAGS) -c -o $@ $<
kernel/restorer/restorer: $(ROBJ) kernel/restorer/rst.ld
	$(CC) $(RCFLAGS) $(RLDFLAGS) -o $@ $(ROBJ) -lgcc
	@if readelf -r $@ | grep -q 'R_X86_64'; then echo "$@: has relocations" >&2; rm -f $@; exit 1; fi

kernel/restorer/restorer.bin: kernel/restorer/restorer
	objcopy --strip-all $< $@
kernel/rblob.o: kernel/rblob.S kernel/restorer/restorer.bin
	$(CC) -c -o $@ kernel/rblob.S
kernel/%.o: kernel/%.c kernel/persist.h kernel/image.h $(wildcard kernel/*.h)
	$(CC) $(CFLAGS) -c -o $@ $<
kernel/libpersist.a: $(KOBJ)
	ar rcs $@ $(KOBJ)

fs/%.o: fs/%.c kernel/persist.h $(wildcard fs/*.h)
	$(CC) $(CFLAGS) $(FUSECFLAGS) -Ikernel -c -o $@ $<
fs/persistfs: $(FOBJ) kernel/libpersist.a
	$(CC) -o $@ $(FOBJ) kernel/libpersist.a $(FUSELIBS)

tests/prog/%: tests/prog/%.c kernel/image.h
	$(CC) $(CFLAGS) $(shell sed -n 's,^/\* cflags: \(.*\) \*/$$,\1,p' $<) -o $@ $< -lpthread
bench/%: bench/%.c kernel/libpersist.a
	$(CC) $(CFLAGS) -Ikernel -o $@ $< kernel/libpersist.a -lpthread

clean:
	rm -f kernel/*.o kernel/*.a kernel/restorer/*.o kernel/restorer/restorer kernel/restorer/restorer.bin fs/*.o fs/persistfs $(PROGS) $(BENCH)

.PHONY: all clean deps run test install bench

# ---- deps, run, test, install, bench

deps:
	sh tests/deps.sh

# $(MAKE) again after deps: FUSECFLAGS is read when make starts, perhaps
# before libfuse3-dev was there
run: deps
	$(MAKE) all
	@if mountpoint -q $(MNT); then echo "$(MNT) is already mounted"; \
	else mkdir -p $(MNT) && fs/persistfs $(MNT); fi

test: deps
	$(MAKE) all
	sh tests/run

install: fs/persistfs
	mkdir -p $(DESTDIR)$(PREFIX)/bin
	install -m 755 fs/persistfs $(DESTDIR)$(PREFIX)/bin/
	for f in cmd/*; do [ ! -f "$$f" ] || install -m 755 "$$f" $(DESTDIR)$(PREFIX)/bin/ || exit 1; done
	mkdir -p $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|@PREFIX@|$(PREFIX)|' etc/persistfs.service >$(DESTDIR)$(PREFIX)/lib/systemd/system/persistfs.service
	for s in 1 4 5; do \
		for f in man/man$$s/*.$$s; do \
			[ -f "$$f" ] || continue; \
			mkdir -p $(DESTDIR)$(PREFIX)/share/man/man$$s && \
			install -m 644 "$$f" $(DESTDIR)$(PREFIX)/share/man/man$$s/ || exit 1; \
		done; \
	done

bench: deps
	$(MAKE) all
	@if [ -x bench/run ]; then bench/run; \
	elif [ -f bench/run ]; then sh bench/run; \
	else echo "no bench/run"; fi

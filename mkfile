# mkfile: the build rules of the Makefile, for 9base mk.
#	PATH=/usr/lib/plan9/bin:$PATH mk
# The Makefile is primary (deps, run, test live there); keep the two in step.
# 9base mk compares times in whole seconds and redoes a target made in the
# same second as its prerequisite, so a second mk may relink a few things.

CC=gcc
CFLAGS=-O2 -g -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE
FUSECFLAGS=`{pkg-config --cflags fuse3}
FUSELIBS=`{pkg-config --libs fuse3}

# the restorer runs in place of a process: no libc, no relocations, no TLS
RCFLAGS=-O2 -g -Wall -Wextra -Wno-unused-parameter -std=gnu11 -ffreestanding \
	-fno-stack-protector -fno-stack-clash-protection -fcf-protection=none \
	-fPIE -fvisibility=hidden -fno-plt -fno-builtin -fno-asynchronous-unwind-tables \
	-fno-jump-tables -mno-red-zone -mgeneral-regs-only -Ikernel
RLDFLAGS=-nostdlib -static-pie -Wl,--no-dynamic-linker -Wl,-z,noexecstack \
	-Wl,--build-id=none -Wl,-T,kernel/restorer/rst.ld -Wl,--no-warn-rwx-segments

KSRC=`{ls kernel/*.c}
RCSRC=`{ls kernel/restorer/*.c}
RSSRC=`{ls kernel/restorer/*.S}
FSRC=`{ls fs/*.c}
PSRC=`{ls tests/prog/*.c}
BSRC=`{ls bench/*.c}
KHDR=`{ls kernel/*.h}
RHDR=`{ls kernel/restorer/*.h}
FHDR=`{ls fs/*.h}

KOBJ=${KSRC:%.c=%.o} kernel/rblob.o
ROBJ=${RCSRC:%.c=%.o} ${RSSRC:%.S=%.o}
FOBJ=${FSRC:%.c=%.o}
PROGS=${PSRC:%.c=%}
BENCH=${BSRC:%.c=%}

all:V: kernel/restorer/restorer kernel/libpersist.a fs/persistfs $PROGS $BENCH

kernel/restorer/&.o: kernel/restorer/&.c kernel/image.h kernel/cpuid.h $RHDR
	$CC $RCFLAGS -c -o $target kernel/restorer/$stem.c

# the .S files get plain rules: beside the .c metarule mk finds a .S metarule ambiguous
<|for f in kernel/restorer/*.S; do echo '${f%.S}.o:' '$f'; echo '"	\$CC \$RCFLAGS -c -o \$target \$prereq"'; done

kernel/restorer/restorer: $ROBJ kernel/restorer/rst.ld
	$CC $RCFLAGS $RLDFLAGS -o $target $ROBJ -lgcc
	if readelf -r $target | grep -q R_X86_64; then
		echo "$target: has relocations" >&2; rm -f $target; exit 1
	fi

kernel/restorer/restorer.bin: kernel/restorer/restorer
	objcopy --strip-all $prereq $target

kernel/rblob.o: kernel/rblob.S kernel/restorer/restorer.bin
	$CC -c -o $target kernel/rblob.S

kernel/&.o: kernel/&.c kernel/persist.h kernel/image.h $KHDR
	$CC $CFLAGS -c -o $target kernel/$stem.c

kernel/libpersist.a: $KOBJ
	ar rcs $target $prereq

fs/&.o: fs/&.c kernel/persist.h $FHDR
	$CC $CFLAGS $FUSECFLAGS -Ikernel -c -o $target fs/$stem.c

fs/persistfs: $FOBJ kernel/libpersist.a
	$CC -o $target $prereq $FUSELIBS

# a line /* cflags: ... */ adds flags (awk: the same in Plan 9's and Unix's)
tests/prog/&: tests/prog/&.c kernel/image.h
	$CC $CFLAGS `awk '/^\/\* cflags: .* \*\/$/ { print substr($0, 12, length($0) - 14) }' tests/prog/$stem.c` \
		-o $target tests/prog/$stem.c -lpthread

bench/&: bench/&.c kernel/libpersist.a
	$CC $CFLAGS -Ikernel -o $target bench/$stem.c kernel/libpersist.a -lpthread

clean:V:
	rm -f kernel/*.o kernel/*.a kernel/restorer/*.o kernel/restorer/restorer \
		kernel/restorer/restorer.bin fs/*.o fs/persistfs $PROGS $BENCH

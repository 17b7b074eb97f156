#!/bin/sh
# deps.sh: install the Debian packages persist needs to build and test.
# When all are installed it does nothing, so a warm machine starts at once
# (no apt-get update); otherwise one update, then one install of what is
# missing.
#
#	build-essential	gcc, make, libc headers: all of persist is C
#	pkg-config	finds libfuse3's flags for the Makefile
#	libfuse3-dev	persistfs is a low-level FUSE server
#	fuse3		fusermount3, to unmount; /dev/fuse helpers
#	9base		mk for the mkfile, rc for the scripts in cmd/
#	bats		the test runner (tests/*.bats)
#	linux-libc-dev	kernel headers: ptrace, rseq, xsave, mman flags
#	tmux		a real terminal for tests of terminal fds
#	python3		tests: an interpreter loop must resume exactly
#	perl		tests: a second interpreter; byte edits of images
#	gdb		gcore, the baseline the benchmarks compare with
#	vim		tests: vim in tmux frozen and cloned (seed 003's experiment)
#	groff-base	tests: the man pages render without warnings
#	bsdextrautils	col, to read a rendered man page in a test
#	sqlite3		tests: a database frozen mid-transaction commits after resume

pkgs='build-essential pkg-config libfuse3-dev fuse3 9base bats linux-libc-dev
	tmux python3 perl gdb vim groff-base bsdextrautils sqlite3'

missing=
for p in $pkgs; do
	case $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) in
	*' ok installed')
		;;
	*)
		missing="$missing $p"
		;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing; run make deps as root" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
apt-get update </dev/null || exit 1
DEBIAN_FRONTEND=noninteractive apt-get install -y $missing </dev/null || exit 1

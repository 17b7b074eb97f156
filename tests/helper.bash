# tests/helper.bash: loaded by every suite with `load helper`.
#
# Each suite mounts its own persistfs on $BATS_FILE_TMPDIR/mnt with the
# store $BATS_FILE_TMPDIR/store, so a running /persist is never touched.
# Everything a test starts is recorded (pid and start time) and killed by
# pid in teardown; nothing is ever killed by name.

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
PROG=$ROOT/tests/prog
PERSISTFS=${PERSISTFS:-$ROOT/fs/persistfs}
PIDS=$BATS_FILE_TMPDIR/pids	# "pid starttime", one a line
PFSPID=$BATS_FILE_TMPDIR/pfs.pid

fail() {
	printf '%s\n' "$*" >&2
	return 1
}

# not CMD...: succeed if CMD fails.  A bare `! CMD` never fails a test:
# set -e ignores negated commands.
not() {
	! "$@"
}

# eq GOT WANT: fail showing both when they differ
eq() {
	[ "$1" = "$2" ] || fail "got \"$1\", want \"$2\""
}

requires_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

# requires CMD...: skip unless every CMD is on $PATH
requires() {
	local c

	for c; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

# pstate PID: the one-letter state from /proc/PID/stat (R S D T t Z ...);
# fails if the process is gone
pstate() {
	local s

	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	echo "${s%% *}"
}

# pstart PID: start time in clock ticks, tells a reused pid apart
pstart() {
	local s

	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- $s
	echo "${20}"
}

alive() {
	local s

	s=$(pstate "$1") && [ "$s" != Z ] && [ "$s" != X ]
}

# puid PID: real, effective, saved and fs uid of PID
puid() {
	awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status"
}

# track PID: kill -9 PID in teardown (if it is still the same process)
track() {
	local t

	t=$(pstart "$1") || return 0
	echo "$1 $t" >>"$PIDS"
}

# kill -9 everything tracked, wait until it is gone, reap our children
# wait_reaped PID...: wait (up to 10 s each) until no process, not even
# a zombie, holds PID: an orphan's zombie waits for init to reap it
wait_reaped() {
	local p i

	for p; do
		for ((i = 0; i < 100; i++)); do
			[ -e "/proc/$p" ] || break
			sleep 0.1
		done
		[ ! -e "/proc/$p" ] || fail "process $p not reaped: $(pstate "$p")"
	done
}

# descendants PID: the pids of PID's children, their children, ...
descendants() {
	local c

	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

teardown_procs() {
	local pid t i left

	[ -f "$PIDS" ] || return 0
	while read -r pid t; do
		if [ "$(pstart "$pid")" = "$t" ]; then
			# a tree's children too: a frozen tree's would stay stopped
			kill -9 $(descendants "$pid") 2>/dev/null || true
			kill -9 "$pid" 2>/dev/null || true
		fi
	done <"$PIDS"
	for ((i = 0; i < 50; i++)); do
		left=0
		while read -r pid t; do
			if [ "$(pstart "$pid")" = "$t" ]; then
				wait "$pid" 2>/dev/null || true
				if alive "$pid"; then
					left=1
				fi
			fi
		done <"$PIDS"
		if [ $left = 0 ]; then
			break
		fi
		sleep 0.1
	done
	: >"$PIDS"
}

# closefds: close every fd above 2 in this (sub)shell; bats keeps pipes
# open that a program under test must not inherit (a frozen process's
# stray pipe is an error, rightly)
closefds() {
	local f n

	for f in "/proc/$BASHPID/fd/"*; do
		n=${f##*/}
		if [ "$n" -gt 2 ]; then
			eval "exec $n>&-"
		fi
	done
}

# detach CMD...: run CMD in the background in a new session with only fds
# 0-2, disowned: bash still reaps it but never reports "Killed" into the
# TAP stream.  Sets DETACH_PID.
detach() {
	(closefds; exec setsid "$@") &
	DETACH_PID=$!
	disown "$DETACH_PID"
}

# spawn CMD...: run CMD in the background in a new session; the caller
# redirects (spawn prog >out 2>&1).  Exports SPAWN_PID.
spawn() {
	detach "$@"
	SPAWN_PID=$DETACH_PID
	export SPAWN_PID
	track "$SPAWN_PID"
}

# spawn_piped OUT CMD...: like spawn, but CMD's stdout and stderr are a
# pipe into `cat >OUT` (an image then takes the runner's fds 1 and 2, so
# every copy resumed writes where its runner says).  Exports CAT_PID: it
# exits when CMD's end of the pipe is closed.
spawn_piped() {
	local out=$1 w

	shift
	exec {w}> >(exec cat >"$out" 3>&-)
	CAT_PID=$!
	export CAT_PID
	spawn "$@" </dev/null >&$w 2>&1
	exec {w}>&-
}

# resume_image IMG OUT: run the image in the background in a new session,
# stdout and stderr to OUT.  Exports RESUME_PID (the image runs in place:
# the restorer is the exec'd program, so the resumed pid is the runner's).
resume_image() {
	resume_cmd "$2" "$1"
}

# resume_cmd OUT CMD...: the same for a command that ends by exec'ing an image
resume_cmd() {
	local out=$1

	shift
	detach "$@" </dev/null >"$out" 2>&1
	RESUME_PID=$DETACH_PID
	RESUME_OUT=$out
	export RESUME_PID RESUME_OUT
	track "$RESUME_PID"
}

# run_image IMG: run the image in the foreground, as a user would, for at
# most 5 s; sets IMG_STATUS and leaves its stdout and stderr in
# $BATS_TEST_TMPDIR/img.out and img.err
run_image() {
	IMG_STATUS=0
	timeout -k 1 5 "$1" </dev/null >"$BATS_TEST_TMPDIR/img.out" \
	    2>"$BATS_TEST_TMPDIR/img.err" 3>&- || IMG_STATUS=$?
}

# lines FILE: number of complete lines
lines() {
	if [ -f "$1" ]; then
		wc -l <"$1"
	else
		echo 0
	fi
}

# wait_for_lines FILE N [timeout]: until FILE has N lines
wait_for_lines() {
	local f=$1 n=$2 t=${3:-10} i

	for ((i = 0; i < t * 10; i++)); do
		[ "$(lines "$f")" -ge "$n" ] && return 0
		sleep 0.1
	done
	fail "$f: $(lines "$f") lines after ${t}s, wanted $n; it ends:" \
	    "$(tail -5 "$f" 2>/dev/null)"
}

# wait_for REGEX FILE [timeout]: until a line of FILE matches
wait_for() {
	local re=$1 f=$2 t=${3:-10} i

	for ((i = 0; i < t * 10; i++)); do
		grep -Eq -- "$re" "$f" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "$f: no line matching /$re/ after ${t}s; it ends:" \
	    "$(tail -5 "$f" 2>/dev/null)"
}

# wait_resumed FILE N [timeout]: wait_for_lines for the output of a
# resumed copy; fails at once, with what the copy said, if $RESUME_PID dies
wait_resumed() {
	local f=$1 n=$2 t=${3:-20} i

	for ((i = 0; i < t * 10; i++)); do
		[ "$(lines "$f")" -ge "$n" ] && return 0
		if ! alive "$RESUME_PID"; then
			fail "resumed copy $RESUME_PID died:" "$(cat "$RESUME_OUT" 2>/dev/null)"
			return 1
		fi
		sleep 0.1
	done
	fail "$f: $(lines "$f") lines ${t}s after the resume, wanted $n; it ends:" \
	    "$(tail -5 "$f" 2>/dev/null)" "the copy said:" "$(cat "$RESUME_OUT" 2>/dev/null)"
}

# wait_gone PID [timeout]: until PID is gone or a zombie
wait_gone() {
	local pid=$1 t=${2:-5} i

	for ((i = 0; i < t * 10; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	fail "pid $pid still there after ${t}s (state $(pstate "$pid"))"
}

# wait_state PID REGEX [timeout]: until PID's state letter matches
wait_state() {
	local pid=$1 re=$2 t=${3:-5} i s

	for ((i = 0; i < t * 10; i++)); do
		s=$(pstate "$pid") || s=gone
		[[ $s =~ ^($re)$ ]] && return 0
		sleep 0.1
	done
	fail "pid $pid: state $s after ${t}s, wanted $re"
}

# growing FILE: FILE gains lines within 3 s
growing() {
	local n

	n=$(lines "$1")
	wait_for_lines "$1" $((n + 2)) 3
}

# the persistfs of this suite

mounted() {
	awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}

start_persistfs() {
	local mnt=$BATS_FILE_TMPDIR/mnt store=$BATS_FILE_TMPDIR/store i

	[ -x "$PERSISTFS" ] || fail "no $PERSISTFS: run make"
	mkdir -p "$mnt" "$store"
	detach "$PERSISTFS" -f -s "$store" "$mnt" </dev/null \
	    >>"$BATS_FILE_TMPDIR/persistfs.log" 2>&1
	PFS_PID=$DETACH_PID
	echo "$PFS_PID" >"$PFSPID"
	for ((i = 0; i < 50; i++)); do
		mountpoint -q "$mnt" && break
		if ! alive "$PFS_PID"; then
			wait "$PFS_PID" 2>/dev/null || true
			fail "persistfs exited at start:" \
			    "$(tail -5 "$BATS_FILE_TMPDIR/persistfs.log")"
			return 1
		fi
		sleep 0.1
	done
	if ! mountpoint -q "$mnt"; then
		fail "persistfs did not mount $mnt in 5 s:" \
		    "$(tail -5 "$BATS_FILE_TMPDIR/persistfs.log")"
		return 1
	fi
	PERSIST=$mnt
	PERSIST_STORE=$store
	export PERSIST PERSIST_STORE PFS_PID
}

stop_persistfs() {
	local mnt=$BATS_FILE_TMPDIR/mnt pid i

	pid=$(cat "$PFSPID" 2>/dev/null) || pid=
	if mounted "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" || true
	fi
	if [ -n "$pid" ]; then
		for ((i = 0; i < 30; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -f "$PFSPID"
	return 0
}

# ensure_persistfs: start it again if a test killed it
ensure_persistfs() {
	PFS_PID=$(cat "$PFSPID" 2>/dev/null) || PFS_PID=
	if [ -n "$PFS_PID" ] && alive "$PFS_PID" && mountpoint -q "$BATS_FILE_TMPDIR/mnt"; then
		PERSIST=$BATS_FILE_TMPDIR/mnt
		PERSIST_STORE=$BATS_FILE_TMPDIR/store
		export PERSIST PERSIST_STORE PFS_PID
		return 0
	fi
	stop_persistfs
	start_persistfs
}

restart_persistfs() {
	stop_persistfs
	start_persistfs
}

# ctl PID MSG: write MSG to PID's ctl file with bash's echo (its errors
# name the errno, dash's do not), as a user would; at most
# 60 s, so an engine that hangs fails the test instead of the run
ctl() {
	timeout -k 5 60 bash -c 'echo "$1" >"$2"' bash "$2" "$PERSIST/$1/ctl" 3>&-
}

# freeze_image PID IMG [MSG]: freeze (or MSG) PID and copy its image to IMG
freeze_image() {
	local pid=$1 img=$2 msg=${3:-freeze}

	ctl "$pid" "$msg" || fail "$msg of $pid failed: $(cat "$PERSIST/$pid/err" 2>/dev/null)"
	cp "$PERSIST/$pid/image" "$img"
}

# kill9 PID: kill and wait until it is gone (reaped if it is ours)
kill9() {
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	wait_gone "$1"
}

# kill9tree PID: kill PID and all its descendants (a frozen tree's, which
# hold the pids its image asks for again) and wait until they are gone
kill9tree() {
	local p all

	all="$1 $(descendants "$1")"
	for p in $all; do
		kill -9 "$p" 2>/dev/null || true
	done
	for p in $all; do
		wait "$p" 2>/dev/null || true
		wait_gone "$p"
	done
}

# check_image IMG: an ELF file ending in a well formed trailer (Itrail:
# magic, hdroff, size, sum; the magic as kernel/image.h spells it)
check_image() {
	local img=$1 size magic want tsize

	[ "$(head -c4 "$img" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
	    fail "$img: not an ELF file"
	want=$(sed -n 's/^#define[ \t]*Tmagic[ \t]*"\([^"]*\)".*/\1/p' "$ROOT/kernel/image.h")
	want=$(printf '%b' "$want" | od -An -tx1 | tr -d ' \n')
	size=$(stat -c %s "$img")
	magic=$(tail -c 32 "$img" | head -c 8 | od -An -tx1 | tr -d ' \n')
	[ "$magic" = "$want" ] || fail "$img: trailer magic $magic, want $want"
	tsize=$(tail -c 16 "$img" | head -c 8 | od -An -tu8 | tr -d ' ')
	[ "$tsize" = "$size" ] || fail "$img: trailer says $tsize bytes, file has $size"
}

# check_primes FILE [MIN]: FILE is exactly 2, 3, 5, 7 ... (MIN lines at least)
check_primes() {
	awk -v min="${2:-1}" '
	function isprime(n, d) {
		if(n < 2)
			return 0
		for(d = 2; d*d <= n; d++)
			if(n % d == 0)
				return 0
		return 1
	}
	BEGIN { p = 1 }
	{
		do p++; while(!isprime(p))
		if($0 != p){
			printf "%s: line %d is \"%s\", want %d\n", FILENAME, NR, $0, p
			bad = 1
			exit 1
		}
	}
	END {
		if(!bad && NR < min){
			printf "%s: %d lines, want %d at least\n", FILENAME, NR, min
			exit 1
		}
	}' "$1" >&2
}

# check_seq FILE [FIRST [MIN]]: the lines are exactly FIRST, FIRST+1, ...
check_seq() {
	awk -v first="${2:-0}" -v min="${3:-1}" '
	$0 !~ /^[0-9]+$/ || $0 != first + NR - 1 {
		printf "%s: line %d is \"%s\", want %d\n", FILENAME, NR, $0, first + NR - 1
		bad = 1
		exit 1
	}
	END {
		if(!bad && NR < min){
			printf "%s: %d lines, want %d at least\n", FILENAME, NR, min
			exit 1
		}
	}' "$1" >&2
}

# check_counter FILE [FIRST [MIN]]: counter's lines "n n n n", n = FIRST, FIRST+1 ...
check_counter() {
	awk -v first="${2:-0}" -v min="${3:-1}" '
	{ n = first + NR - 1 }
	NF != 4 || $1 != n || $2 != n || $3 != n || $4 != n {
		printf "%s: line %d is \"%s\", want \"%d %d %d %d\"\n", FILENAME, NR, $0, n, n, n, n
		bad = 1
		exit 1
	}
	END {
		if(!bad && NR < min){
			printf "%s: %d lines, want %d at least\n", FILENAME, NR, min
			exit 1
		}
	}' "$1" >&2
}

# lastline FILE
lastline() {
	tail -n 1 "$1"
}

# the usual suite: its own persistfs, everything started killed after
# each test.  A suite that needs more defines these again after `load`.
setup_file() {
	start_persistfs
}

teardown_file() {
	teardown_procs
	stop_persistfs
}

testsetup() {
	requires_root
	ensure_persistfs
	T=$BATS_TEST_TMPDIR
}

setup() {
	testsetup
}

teardown() {
	teardown_procs
}

# roundtrip OUT WAIT MORE CMD...: run CMD, its output in OUT, until OUT
# has WAIT lines; freeze it, kill it and its children, resume its image and wait until
# OUT has MORE lines more.  Sets N0 (the lines when frozen); the resumed
# copy, RESUME_PID, is left running.
roundtrip() {
	local out=$1 want=$2 more=$3

	shift 3
	spawn "$@" >"$out"
	wait_for_lines "$out" "$want"
	sleep "${ROUNDTRIP_SLEEP:-0}"
	freeze_image "$SPAWN_PID" "$T/img"
	N0=$(lines "$out")
	kill9tree "$SPAWN_PID"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$out" $((N0 + more))
}

# roundtrip_anytime OUT WAIT MORE CMD...: roundtrip, frozen at a random
# moment up to 0.4 s after OUT has WAIT lines
roundtrip_anytime() {
	ROUNDTRIP_SLEEP=0.$((RANDOM % 5)) roundtrip "$@"
}

# refuses PID MSG OUT: a freeze of PID fails, err reads MSG, and PID runs
# on (OUT grows)
refuses() {
	run ctl "$1" freeze
	[ "$status" -ne 0 ] || fail "freeze of $1 succeeded"
	eq "$(cat "$PERSIST/$1/err")" "$2"
	[ "$(pstate "$1")" != T ] || fail "$1 left stopped"
	growing "$3"
}

# spawn_connected OUT: a python3 program holding a TCP connection to
# itself (which no image can carry), counting into OUT; 3 lines waited for
spawn_connected() {
	local port=$((20000 + RANDOM % 20000))

	spawn python3 -u -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
i = 0
while True:
    print(i); i += 1; time.sleep(0.1)
' "$port" >"$1"
	wait_for_lines "$1" 3
}

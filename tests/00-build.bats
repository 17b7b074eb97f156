#!/usr/bin/env bats
# The build: what make produced, the test programs on their own (no
# persistfs, no engine), and the harness's own helpers.

load helper

setup() {
	T=$BATS_TEST_TMPDIR
}

teardown() {
	teardown_procs
}

@test "restorer: a static PIE with no interpreter and no relocations" {
	r=$ROOT/kernel/restorer/restorer
	[ -x "$r" ]
	run readelf -h "$r"
	[[ $output == *"DYN (Position-Independent Executable file)"* || $output == *"DYN (Shared object file)"* ]]
	run readelf -l "$r"
	[[ $output != *INTERP* ]]
	run readelf -r "$r"
	[[ $output != *R_X86_64* ]]
}

@test "libpersist.a carries the restorer and the engine entry points" {
	run nm "$ROOT/kernel/libpersist.a"
	for s in restorer_start restorer_end pfreeze presume pcheck errstr errnum; do
		[[ $output == *" $s"* ]] || fail "libpersist.a lacks $s"
	done
}

@test "persistfs is built and prints a usage line" {
	[ -x "$PERSISTFS" ]
	run timeout 5 "$PERSISTFS" -h </dev/null 3>&-
	[[ ${output,,} == *usage* ]]
}

@test "test programs are built" {
	for p in primes counter sleeper sighandler static pidcheck bigheap imgcpu churn forkmaps; do
		[ -x "$PROG/$p" ] || fail "no $PROG/$p"
	done
	run readelf -l "$PROG/static"
	[[ $output != *INTERP* ]]
}

@test "primes writes exactly the primes" {
	timeout 0.5 "$PROG/primes" "$T/p" 1000 || true
	check_primes "$T/p" 50
}

@test "counter keeps heap, stack and static data in step" {
	timeout 0.5 "$PROG/counter" 10000 >"$T/c" || true
	check_counter "$T/c" 0 10
}

@test "sleeper nanosleep ticks once a second" {
	timeout 1.5 "$PROG/sleeper" nanosleep "$T/s" || true
	eq "$(cat "$T/s")" "$(printf '0\n1')"
}

@test "sleeper pipe echoes what comes down a fifo" {
	mkfifo "$T/fifo"
	spawn "$PROG/sleeper" pipe "$T/out" "$T/fifo"
	wait_for '^waiting 0$' "$T/out"
	timeout 5 sh -c 'echo one >"$1"; echo two >"$1"' sh "$T/fifo"
	wait_for '^waiting 2$' "$T/out"
	eq "$(cat "$T/out")" "$(printf 'waiting 0\ngot: one\nwaiting 1\ngot: two\nwaiting 2')"
}

@test "sighandler counts SIGUSR1" {
	spawn "$PROG/sighandler" >"$T/out"
	wait_for '^tick 1 usr1 0$' "$T/out"
	kill -USR1 "$SPAWN_PID"
	wait_for 'usr1 1$' "$T/out"
	kill -USR1 "$SPAWN_PID"
	wait_for 'usr1 2$' "$T/out"
	awk '$1 != "tick" || $2 != NR-1 { exit 1 }' "$T/out"
}

@test "static counts into its file" {
	timeout 0.5 "$PROG/static" "$T/s" 10000 || true
	check_seq "$T/s" 0 10
}

@test "pidcheck passes in a process that was never frozen" {
	spawn "$PROG/pidcheck" 100000 >"$T/out"
	wait_for_lines "$T/out" 6
	not grep FAIL "$T/out"
	grep -qx "ok $SPAWN_PID" "$T/out"
	grep -qx "raise ok" "$T/out"
}

@test "bigheap fills its heap and verifies it" {
	spawn "$PROG/bigheap" 64 10000 >"$T/out"
	wait_for '^alive 8$' "$T/out"
	eq "$(head -1 "$T/out")" ready
	not grep FAIL "$T/out"
}

@test "imgcpu refuses a file that is not an image" {
	run "$PROG/imgcpu" /etc/passwd
	[ "$status" -ne 0 ]
	eq "$output" "imgcpu: no image trailer"
}

@test "mkfile: mk knows how to build the restorer and the test programs" {
	[ -x /usr/lib/plan9/bin/mk ] || skip "needs 9base mk"
	cd "$ROOT"
	run env PATH="/usr/lib/plan9/bin:$PATH" mk -n -a tests/prog/counter
	[ "$status" -eq 0 ]
	[[ $output == *"gcc"*"-o tests/prog/counter tests/prog/counter.c"* ]]
	run env PATH="/usr/lib/plan9/bin:$PATH" mk -n -a kernel/restorer/restorer
	[ "$status" -eq 0 ]
	[[ $output == *"-nostdlib -static-pie"*"-o kernel/restorer/restorer"* ]]
}

@test "mkfile: mk builds a test program with its cflags line" {
	[ -x /usr/lib/plan9/bin/mk ] || skip "needs 9base mk"
	mkdir -p "$T/m/tests/prog" "$T/m/kernel"
	cp "$ROOT/mkfile" "$T/m/"
	cp "$ROOT/kernel/image.h" "$T/m/kernel/"	# a prerequisite of every test program
	cp "$PROG/static.c" "$T/m/tests/prog/"
	cd "$T/m"
	run env PATH="/usr/lib/plan9/bin:$PATH" mk tests/prog/static
	[ "$status" -eq 0 ]
	[ -x tests/prog/static ]
	run readelf -l tests/prog/static
	[[ $output != *INTERP* ]]
}

@test "deps.sh does nothing on a machine that has everything" {
	run sh "$ROOT/tests/deps.sh"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

# the harness itself

@test "harness: spawn records the program's own pid and teardown kills it" {
	spawn sleep 100
	wait_state "$SPAWN_PID" S
	eq "$(cat /proc/$SPAWN_PID/comm)" sleep
	eq "$(awk '{ print $1 }' "$PIDS")" "$SPAWN_PID"
	pid=$SPAWN_PID
	teardown_procs
	not alive "$pid"
	[ ! -s "$PIDS" ]
}

@test "harness: spawn_piped writes through a pipe and its cat ends with it" {
	spawn_piped "$T/out" "$PROG/counter" 10000
	wait_for_lines "$T/out" 5
	[[ $(readlink "/proc/$SPAWN_PID/fd/1") == pipe:* ]]
	kill9 "$SPAWN_PID"
	wait "$CAT_PID" || true
	not alive "$CAT_PID"
	check_counter "$T/out" 0 5
}

@test "harness: check_primes and check_seq catch a gap and a repeat" {
	printf '2\n3\n5\n7\n' >"$T/ok"
	check_primes "$T/ok" 4
	printf '2\n3\n7\n' >"$T/gap"
	not check_primes "$T/gap" 2>/dev/null
	printf '2\n3\n3\n5\n' >"$T/rep"
	not check_primes "$T/rep" 2>/dev/null
	not check_primes "$T/ok" 5 2>/dev/null
	printf '0\n1\n2\n' >"$T/s"
	check_seq "$T/s" 0 3
	printf '0\n1\n3\n' >"$T/s"
	not check_seq "$T/s" 2>/dev/null
	printf '4 4 4 4\n5 5 5 5\n' >"$T/c"
	check_counter "$T/c" 4 2
	printf '4 4 4 4\n5 5 6 5\n' >"$T/c"
	not check_counter "$T/c" 4 2>/dev/null
}

@test "harness: wait_for_lines fails, naming the file, when output stops" {
	printf 'a\n' >"$T/f"
	run wait_for_lines "$T/f" 3 1
	[ "$status" -ne 0 ]
	[[ $output == *"$T/f: 1 lines after 1s, wanted 3"* ]]
}

@test "harness: pstate reads a stopped process as T" {
	spawn sleep 100
	wait_state "$SPAWN_PID" S
	kill -STOP "$SPAWN_PID"
	wait_state "$SPAWN_PID" T
	kill -CONT "$SPAWN_PID"
	wait_state "$SPAWN_PID" S
}

@test "harness: not fails a test when its command succeeds" {
	run bash -c "set -e; $(declare -f not); not true; echo reached"
	[ "$status" -ne 0 ]
	eq "$output" ""
}

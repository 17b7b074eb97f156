#!/usr/bin/env bats
# Images are self-executing: freeze, kill the original, run the image,
# and the program goes on exactly where it was, under a new pid.

load helper

teardown() {
	teardown_procs
	if [ -S "$T/tmux" ]; then
		tmux -S "$T/tmux" kill-server 2>/dev/null || true
	fi
}

# frozen OUT N: freeze the spawned program once OUT has N lines,
# copy its image to $T/img, kill the original; sets N0, the lines then
frozen() {
	local out=$1 n=$2 pid=$SPAWN_PID

	wait_for_lines "$out" "$n" 20
	freeze_image "$pid" "$T/img"
	eq "$(pstate "$pid")" T
	N0=$(lines "$out")
	kill9 "$pid"
	[ "$(lines "$out")" -eq "$N0" ]
}

# resumed OUT N: run $T/img; OUT must reach N lines; then kill the copy
resumed() {
	local out=$1 n=$2

	resume_image "$T/img" "$T/resumed.out"
	[ "$RESUME_PID" != "$OLD_PID" ]
	wait_resumed "$out" "$n"
	alive "$RESUME_PID" || fail "resumed copy died: $(cat "$T/resumed.out")"
	kill9 "$RESUME_PID"
}

@test "primes: frozen, killed, persistfs restarted, image run: next prime, no gap, no repeat" {
	spawn "$PROG/primes" "$T/primes"
	OLD_PID=$SPAWN_PID
	frozen "$T/primes" 30
	check_primes "$T/primes" 30
	last=$(lastline "$T/primes")
	restart_persistfs
	resumed "$T/primes" $((N0 + 30))
	check_primes "$T/primes" $((N0 + 30))
	# the line after the last one the original wrote is the next prime
	awk -v n="$N0" -v last="$last" 'NR == n && $0 != last { exit 1 }' "$T/primes"
}

@test "two runs of one image are two independent copies" {
	spawn_piped "$T/orig" "$PROG/counter"
	OLD_PID=$SPAWN_PID
	wait_for_lines "$T/orig" 10
	freeze_image "$OLD_PID" "$T/img"
	kill9 "$OLD_PID"
	wait "$CAT_PID" || true
	n=$(lines "$T/orig")
	check_counter "$T/orig" 0 10
	resume_image "$T/img" "$T/one"
	one=$RESUME_PID
	resume_image "$T/img" "$T/two"
	two=$RESUME_PID
	[ "$one" != "$two" ]
	RESUME_PID=$one RESUME_OUT=$T/one wait_resumed "$T/one" 10
	RESUME_PID=$two RESUME_OUT=$T/two wait_resumed "$T/two" 10
	alive "$one"
	alive "$two"
	# each starts at the line after the last the original printed
	check_counter "$T/one" "$n" 10
	check_counter "$T/two" "$n" 10
	# independent: killing one leaves the other counting
	kill9 "$one"
	growing "$T/two"
	kill9 "$two"
	check_counter "$T/two" "$n" 12
}

@test "a busy writer: the copy starts at the very line after the original's last" {
	# no sleep: the freeze lands in or around write(2) to the pipe, and
	# the original must not print a line the image does not know about
	spawn_piped "$T/orig" "$PROG/counter" 0
	OLD_PID=$SPAWN_PID
	wait_for_lines "$T/orig" 2000
	freeze_image "$OLD_PID" "$T/img"
	kill9 "$OLD_PID"
	wait "$CAT_PID" || true
	n=$(lines "$T/orig")
	check_counter "$T/orig" 0 "$n"
	resume_image "$T/img" "$T/one"
	wait_resumed "$T/one" 2000
	kill9 "$RESUME_PID"
	check_counter "$T/one" "$n" 2000
}

@test "counter: heap, stack and static data come back" {
	spawn "$PROG/counter" >"$T/out"
	OLD_PID=$SPAWN_PID
	frozen "$T/out" 20
	resumed "$T/out" $((N0 + 20))
	check_counter "$T/out" 0 $((N0 + 20))
	not grep -q FAIL "$T/out"
}

@test "sleeper frozen inside nanosleep wakes and keeps ticking" {
	spawn "$PROG/sleeper" nanosleep "$T/out"
	OLD_PID=$SPAWN_PID
	wait_for_lines "$T/out" 2
	sleep 0.3	# well inside the next one-second nanosleep
	frozen "$T/out" 2
	resumed "$T/out" $((N0 + 3))
	check_seq "$T/out" 0 $((N0 + 3))
}

@test "sleeper blocked in read of a fifo gets a line written after the resume" {
	mkfifo "$T/fifo"
	spawn "$PROG/sleeper" pipe "$T/out" "$T/fifo"
	OLD_PID=$SPAWN_PID
	wait_for '^waiting 0$' "$T/out"
	timeout 5 sh -c 'echo before >"$1"' sh "$T/fifo"
	wait_for '^waiting 1$' "$T/out"
	sleep 0.2
	freeze_image "$OLD_PID" "$T/img"
	kill9 "$OLD_PID"
	resume_image "$T/img" "$T/resumed.out"
	timeout 5 sh -c 'echo after >"$1"' sh "$T/fifo" ||
	    fail "nobody reads the fifo: $(cat "$T/resumed.out")"
	wait_for '^waiting 2$' "$T/out" || fail "resumed: $(cat "$T/resumed.out")"
	eq "$(cat "$T/out")" "$(printf 'waiting 0\ngot: before\nwaiting 1\ngot: after\nwaiting 2')"
}

@test "sighandler: the resumed copy still handles SIGUSR1" {
	spawn "$PROG/sighandler" >"$T/out"
	OLD_PID=$SPAWN_PID
	wait_for_lines "$T/out" 3
	kill -USR1 "$OLD_PID"
	wait_for 'usr1 1$' "$T/out"
	frozen "$T/out" 5
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((N0 + 3))
	kill -USR1 "$RESUME_PID"
	wait_for 'usr1 2$' "$T/out"
	kill -USR1 "$RESUME_PID"
	wait_for 'usr1 3$' "$T/out"
	alive "$RESUME_PID"
	kill9 "$RESUME_PID"
	awk '$1 != "tick" || $2 != NR-1 || $3 != "usr1" { exit 1 }' "$T/out" ||
	    fail "ticks not continuous: $(cat "$T/out")"
	# before the freeze the count was 1, after it never went back
	awk -v n="$N0" 'NR > n && $4 < 1 { exit 1 }' "$T/out"
}

@test "signals caught, ignored and left default keep their dispositions" {
	# USR2 ignored from before the exec, USR1 caught by sighandler itself
	spawn bash -c 'trap "" USR2; exec "$0"' "$PROG/sighandler" >"$T/out"
	OLD_PID=$SPAWN_PID
	wait_for_lines "$T/out" 3
	want=$(grep -E '^Sig(Cgt|Ign)' /proc/$OLD_PID/status)
	ign=$(awk '/^SigIgn/ { print $2 }' /proc/$OLD_PID/status)
	(( 0x$ign & 1 << 11 )) || fail "USR2 not ignored: $want"
	frozen "$T/out" 5
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((N0 + 3))
	eq "$(grep -E '^Sig(Cgt|Ign)' /proc/$RESUME_PID/status)" "$want"
	kill -USR2 "$RESUME_PID"
	kill -USR1 "$RESUME_PID"
	wait_for 'usr1 1$' "$T/out"
	alive "$RESUME_PID"
	kill9 "$RESUME_PID"
}

@test "a static binary resumes" {
	spawn "$PROG/static" "$T/out"
	OLD_PID=$SPAWN_PID
	frozen "$T/out" 10
	resumed "$T/out" $((N0 + 10))
	check_seq "$T/out" 0 $((N0 + 10))
}

@test "bash loop: numbers continue exactly" {
	spawn bash -c 'i=0; while :; do echo $((i++)); sleep 0.1; done' >"$T/out"
	OLD_PID=$SPAWN_PID
	frozen "$T/out" 10
	resumed "$T/out" $((N0 + 10))
	check_seq "$T/out" 0 $((N0 + 10))
}

@test "python loop: numbers continue exactly" {
	requires python3
	spawn python3 -u -c 'import time
i = 0
while True:
    print(i)
    i += 1
    time.sleep(0.1)' >"$T/out"
	OLD_PID=$SPAWN_PID
	frozen "$T/out" 10
	resumed "$T/out" $((N0 + 10))
	check_seq "$T/out" 0 $((N0 + 10))
}

@test "perl loop: numbers continue exactly" {
	requires perl
	spawn perl -e '$| = 1; for(my $i = 0;; $i++){ print "$i\n"; select(undef, undef, undef, 0.1) }' >"$T/out"
	OLD_PID=$SPAWN_PID
	frozen "$T/out" 10
	resumed "$T/out" $((N0 + 10))
	check_seq "$T/out" 0 $((N0 + 10))
}

@test "pidcheck: under its new pid libc agrees with the kernel" {
	spawn "$PROG/pidcheck" 200000 >"$T/out"
	OLD_PID=$SPAWN_PID
	wait_for_lines "$T/out" 4
	grep -qx "ok $OLD_PID" "$T/out"
	frozen "$T/out" 4
	resume_image "$T/img" "$T/resumed.out"
	[ "$RESUME_PID" != "$OLD_PID" ]
	wait_for "^ok $RESUME_PID\$" "$T/out" 20 ||
	    fail "resumed: $(cat "$T/resumed.out")"
	wait_for_lines "$T/out" $((N0 + 6))
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out"
	sed -n "$((N0 + 1)),\$p" "$T/out" >"$T/after"
	grep -qx "raise ok" "$T/after"
	not grep -q "^ok $OLD_PID\$" "$T/after"
}

@test "terminal fds take the runner's terminal" {
	requires tmux
	tm() { tmux -S "$T/tmux" "$@"; }
	# a session that outlives the others keeps the server up, and dead
	# panes stay to be read
	tm new-session -d -s keep "exec sleep 3600" 3>&-
	tm set-option -g remain-on-exit on
	# the counter is the pane shell's child, not tmux's: tmux continues
	# a stopped child of its own, which would undo the freeze
	tm new-session -d -s orig -x 80 -y 25 "$PROG/counter; exit"
	sh=$(tm display -p -t orig '#{pane_pid}')
	track "$sh"
	for i in $(seq 50); do
		pid=$(cat "/proc/$sh/task/$sh/children" 2>/dev/null) || pid=
		[ -n "$pid" ] && [ "$(cat "/proc/${pid% }/comm")" = counter ] && break
		sleep 0.1
	done
	pid=${pid% }
	track "$pid"
	eq "$(cat /proc/$pid/comm)" counter
	[[ $(readlink "/proc/$pid/fd/1") == /dev/pts/* ]]
	for i in $(seq 50); do
		tm capture-pane -p -t orig | grep -q '^5 5 5 5$' && break
		sleep 0.1
	done
	freeze_image "$pid" "$T/img"
	last=$(tm capture-pane -p -t orig | grep -E '^[0-9]+ ' | tail -1 | cut -d' ' -f1)
	kill9 "$pid"
	tm new-session -d -s again -x 80 -y 25 "exec $T/img"
	npid=$(tm display -p -t again '#{pane_pid}')
	track "$npid"
	tty=$(tm display -p -t again '#{pane_tty}')
	for i in $(seq 50); do
		tm capture-pane -p -t again | grep -q "^$((last + 5)) " && break
		sleep 0.1
	done
	tm capture-pane -p -t again >"$T/screen"
	alive "$npid" || fail "resumed copy died: $(cat "$T/screen")"
	eq "$(readlink "/proc/$npid/fd/1")" "$tty"
	eq "$(readlink "/proc/$npid/fd/2")" "$tty"
	# the new terminal shows the count going on from the frozen one
	grep -E '^[0-9]+ ' "$T/screen" >"$T/counts"
	check_counter "$T/counts" $((last + 1)) 5
}

@test "a terminal in cbreak mode: the runner's terminal gets the modes back" {
	requires tmux python3
	tmux -S "$T/tmux" -f /dev/null new-session -d -s k -x 80 -y 24 "sh -c 'exec python3 -c \"
import sys, tty
tty.setcbreak(0)
out = open(sys.argv[1], \\\"a\\\")
while True:
    out.write(repr(sys.stdin.read(1)) + chr(10)); out.flush()
\" $T/keys'"
	for ((i = 0; i < 50; i++)); do
		k=$(tmux -S "$T/tmux" list-panes -t k -F '#{pane_pid}' 2>/dev/null) && [ -n "$k" ] && break
		sleep 0.1
	done
	track "$k"
	sleep 0.7
	tmux -S "$T/tmux" send-keys -t k a
	wait_for "'a'" "$T/keys" 5
	ctl "$k" snap
	cp "$PERSIST/$k/image" "$T/img"
	tmux -S "$T/tmux" new-window -d -t k:1 "$T/img; sleep 30"
	kill9 "$k"
	sleep 1
	# a single key, no newline: only a terminal in cbreak mode passes it on
	tmux -S "$T/tmux" send-keys -t k:1 b
	wait_for "'b'" "$T/keys" 5
}

@test "freeze -lazy: the resume maps the image's pages instead of copying them, and they are exact" {
	spawn "$PROG/bigheap" 128 >"$T/out"
	pid=$SPAWN_PID
	wait_for ready "$T/out" 60
	freeze_image "$pid" "$T/img" "freeze -lazy"
	n=$(lines "$T/out")
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	# bigheap goes round its whole heap checking every word: 8 regions of 16 MiB
	wait_resumed "$T/out" $((n + 12)) 60
	not grep FAIL "$T/out"
	# most of the heap is the image's pages, mapped
	bytes=0
	while read -r range _ _ _ _ path; do
		[ "$path" = "$T/img" ] || continue
		bytes=$((bytes + 0x${range#*-} - 0x${range%-*}))
	done </proc/$RESUME_PID/maps
	[ "$bytes" -ge $((128 << 20)) ] || fail "only $bytes bytes of the image mapped"
	kill9 "$RESUME_PID"
	# PERSIST_PAGES=copy at resume copies them after all
	resume_cmd "$T/copied.out" env PERSIST_PAGES=copy "$T/img"
	wait_resumed "$T/out" $((n + 14)) 60
	not grep -q "$T/img" /proc/$RESUME_PID/maps
	not grep FAIL "$T/out"
}

@test "freeze -lazy of a process that uses jemalloc is refused by name; a plain freeze is not" {
	# any library will do for the name: jemalloc is only looked for in the maps
	cp "$(ldconfig -p | awk '/libm\.so\.6 .*x86-64/ { print $NF; exit }')" "$T/libjemalloc.so.2"
	spawn env LD_PRELOAD="$T/libjemalloc.so.2" "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	run ctl "$pid" "freeze -lazy"
	[ "$status" -ne 0 ]
	eq "$(cat "$PERSIST/$pid/err")" "unsupported: -lazy: process $pid uses jemalloc, which counts on MADV_DONTNEED giving zeros"
	growing "$T/out"
	ctl "$pid" snap
}

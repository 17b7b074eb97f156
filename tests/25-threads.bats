#!/usr/bin/env bats
# Multithreaded processes: every thread stopped at a safe point, saved
# and brought back with its own registers, TLS, name, mask and futexes.

load helper

# check_steps FILE MIN: "ok 0", "ok 1" ... with no gap, no repeat, no FAIL
check_steps() {
	awk -v min="$2" '
	$0 != "ok " NR - 1 { printf "%s: line %d is \"%s\"\n", FILENAME, NR, $0; bad = 1; exit 1 }
	END { if(!bad && NR < min) { printf "%s: %d lines, want %d\n", FILENAME, NR, min; exit 1 } }
	' "$1" >&2
}

# freeze_threads N: threads N frozen at a random moment, killed, resumed
freeze_threads() {
	spawn "$PROG/threads" "$1" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	sleep 0.$((RANDOM % 10))
	freeze_image "$pid" "$T/img"
	eq "$(awk '/^threads/ { print $2 }' "$PERSIST/$pid/stats")" $(($1 + 1))
	n=$(lines "$T/out")
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 10))
	eq "$(awk '/^Threads/ { print $2 }' /proc/$RESUME_PID/status)" $(($1 + 1))
}

@test "threads: 8 threads frozen at a random moment resume, every one going on" {
	freeze_threads 8
	eq "$(cat /proc/$RESUME_PID/task/*/comm | sort | tr '\n' ' ')" "threads w0 w1 w2 w3 w4 w5 w6 w7 "
	kill9 "$RESUME_PID"
	check_steps "$T/out" $((n + 10))
}

@test "threads: 32 threads, a Go-like program" {
	freeze_threads 32
	kill9 "$RESUME_PID"
	check_steps "$T/out" $((n + 10))
}

@test "threads: snap leaves all threads running, and the image resumes too" {
	spawn "$PROG/threads" 4 >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	ctl "$pid" snap
	cp "$PERSIST/$pid/image" "$T/img"
	growing "$T/out"
	kill9 "$pid"
	n=$(lines "$T/out")
	check_steps "$T/out" "$n"
	resume_image "$T/img" "$T/resumed.out"
	sleep 1
	alive "$RESUME_PID"
	eq "$(awk '/^Threads/ { print $2 }' /proc/$RESUME_PID/status)" 5
	kill9 "$RESUME_PID"
	not grep -q FAIL "$T/out" || fail "$(grep FAIL "$T/out" | head -3)"
}

@test "threads: a python3 program with threads resumes" {
	requires python3
	spawn python3 -u -c '
import threading, time
c = [0, 0]
def w(i):
    while True:
        c[i] += 1
        time.sleep(0.01)
for i in range(2):
    threading.Thread(target=w, args=(i,), daemon=True).start()
n = 0
last = [0, 0]
while True:
    time.sleep(0.1)
    print(n, "ok" if c[0] > last[0] and c[1] > last[1] else "stuck", flush=True)
    last = list(c)
    n += 1
' >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	freeze_image "$pid" "$T/img"
	n=$(lines "$T/out")
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 10))
	kill9 "$RESUME_PID"
	# counts go on; after the first step back, both threads move every step
	awk -v n="$n" '$1 != NR - 1 { exit 1 } NR > n + 1 && $2 != "ok" { exit 1 }' "$T/out" ||
	    fail "$(tail -15 "$T/out")"
}

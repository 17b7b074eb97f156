#!/usr/bin/env bats
# Images travel: they need neither the program's binary nor its
# libraries where they resume.  Lean images do, and say so when the file
# is not the one they were made from.

load helper

setup_file() {
	start_persistfs
}

teardown_file() {
	teardown_procs
	stop_persistfs
}

setup() {
	requires_root
	ensure_persistfs
	T=$BATS_TEST_TMPDIR
	mkdir -p "$T/bin"
	cp "$PROG/counter" "$T/bin/counter"
}

teardown() {
	teardown_procs
}

@test "the program's binary deleted before the resume: it still resumes" {
	spawn "$T/bin/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	freeze_image "$pid" "$T/img"
	n=$(lines "$T/out")
	kill9 "$pid"
	rm "$T/bin/counter"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 10))
	kill9 "$RESUME_PID"
	check_counter "$T/out" 0 $((n + 10))
}

@test "the library directory hidden at resume: the image is self-contained" {
	requires unshare
	libdir=$(dirname "$(readlink -f "$(ldd "$PROG/counter" | awk '/libc\.so/ { print $3 }')")")
	[ -d "$libdir" ]
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	freeze_image "$pid" "$T/img"
	n=$(lines "$T/out")
	kill9 "$pid"
	# a private mount namespace: the tmpfs never shows outside it
	resume_cmd "$T/resumed.out" unshare -m --propagation private \
	    sh -c 'mount -t tmpfs none "$1" && exec "$2"' sh "$libdir" "$T/img"
	wait_resumed "$T/out" $((n + 10))
	alive "$RESUME_PID"
	# it really ran without them: its libdir is the empty tmpfs
	[ -z "$(ls "/proc/$RESUME_PID/root$libdir")" ]
	[ -n "$(ls "$libdir")" ]
	kill9 "$RESUME_PID"
	check_counter "$T/out" 0 $((n + 10))
}

@test "freeze -lean: smaller, resumes while the binary is unchanged" {
	spawn "$T/bin/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	ctl "$pid" snap
	full=$(stat -c %s "$PERSIST/$pid/image")
	freeze_image "$pid" "$T/lean" "freeze -lean"
	[ "$(stat -c %s "$T/lean")" -lt "$full" ]
	n=$(lines "$T/out")
	kill9 "$pid"
	resume_image "$T/lean" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 5))
	kill9 "$RESUME_PID"
	check_counter "$T/out" 0 $((n + 5))
}

@test "freeze -lean, then the binary changes: refused, naming the file" {
	spawn "$T/bin/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	freeze_image "$pid" "$T/lean" "freeze -lean"
	n=$(lines "$T/out")
	kill9 "$pid"
	printf x >>"$T/bin/counter"
	run_image "$T/lean"
	[ "$IMG_STATUS" -ne 0 ]
	[ "$IMG_STATUS" -ne 124 ] || fail "the lean image resumed with a changed binary"
	[ "$(wc -l <"$T/img.err")" -eq 1 ] || fail "stderr: $(cat "$T/img.err")"
	grep -qF "$T/bin/counter" "$T/img.err" || fail "stderr: $(cat "$T/img.err")"
	[ "$(lines "$T/out")" -eq "$n" ]
}

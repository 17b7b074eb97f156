#!/usr/bin/env bats
# Images travel: they need neither the program's binary nor its
# libraries where they resume.  Lean images do, and say so when the file
# is not the one they were made from.

load helper

setup() {
	testsetup
	mkdir -p "$T/bin"
	cp "$PROG/counter" "$T/bin/counter"
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

@test "another kernel's vdso (forced by PERSIST_VDSO=redirect): clock calls go through to this one" {
	spawn "$PROG/clock" "$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	freeze_image "$pid" "$T/img"
	n=$(lines "$T/out")
	last=$(tail -1 "$T/out")
	vdso=$(awk '/\[vdso\]/ { print $1 }' /proc/$pid/maps)
	kill9 "$pid"
	PERSIST_VDSO=redirect resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 5))
	# the saved vdso's place holds the old code now; the kernel's is elsewhere
	now=$(awk '/\[vdso\]/ { print $1 }' /proc/$RESUME_PID/maps)
	[ -n "$now" ] && [ "$now" != "$vdso" ] || fail "vdso at $now, saved at $vdso"
	grep -q "^${vdso%%-*}-.* r-xp " /proc/$RESUME_PID/maps || fail "no code at the saved vdso ${vdso%%-*}"
	kill9 "$RESUME_PID"
	# the count goes on; the times are now's: realtime within 2 s, monotonic never back
	awk -v n="$n" -v now="$(date +%s)" -v last="$last" '
		BEGIN { split(last, l, " ") }
		NR != $1 + 1 { print "line " NR " counts " $1; exit 1 }
		NR > n {
			if($2 < now - 2 || $2 > now + 2) { print "realtime " $2 ", now " now; exit 1 }
			if($3 < l[3]) { print "monotonic went back: " $3 " < " l[3]; exit 1 }
		}' "$T/out"
}

#!/usr/bin/env bats
# File locks: flock, POSIX and OFD locks held on regular files are taken
# again on resume, by the new pid; a lock someone else took meanwhile
# refuses the resume.

load helper

@test "locks: flock, POSIX and OFD locks come back, held by the resumed pid" {
	mkdir "$T/d"
	spawn "$PROG/locks" "$T/d" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	eq "$("$PROG/locks" probe "$T/d" | tr '\n' ' ')" "flock held posix $pid ofd held "
	sleep 0.$((RANDOM % 5))
	freeze_image "$pid" "$T/img"
	n=$(lines "$T/out")
	kill9 "$pid"
	eq "$("$PROG/locks" probe "$T/d" | tr '\n' ' ')" "flock free posix free ofd free "
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 3))
	eq "$("$PROG/locks" probe "$T/d" | tr '\n' ' ')" "flock held posix $RESUME_PID ofd held "
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out"
}

@test "locks: a lock someone else took meanwhile refuses the resume, naming the file" {
	requires flock
	mkdir "$T/d"
	spawn "$PROG/locks" "$T/d" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	freeze_image "$pid" "$T/img"
	kill9 "$pid"
	spawn flock "$T/d/flock" sleep 100
	for ((i = 0; i < 50; i++)); do
		[ "$("$PROG/locks" probe "$T/d" | head -1)" = "flock held" ] && break
		sleep 0.1
	done
	run_image "$T/img"
	[ "$IMG_STATUS" -ne 0 ]
	eq "$(cat "$T/img.err")" "img: file is locked by another process: $T/d/flock"
}

@test "locks: a locked open file on two fds comes back as one, still locked" {
	requires flock
	spawn bash -c 'exec 5>>"$1"; flock 5; exec 6>&5; exec "$2"' bash "$T/f" "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 3
	freeze_image "$SPAWN_PID" "$T/img"
	n=$(lines "$T/out")
	kill9 "$SPAWN_PID"
	flock -n "$T/f" true || fail "the lock outlived its holder"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 3))
	not flock -n "$T/f" true
	grep -q FLOCK "/proc/$RESUME_PID/fdinfo/5"
	grep -q FLOCK "/proc/$RESUME_PID/fdinfo/6"
}

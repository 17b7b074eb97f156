#!/usr/bin/env bats
# A process checkpoints itself through its own ctl file; persistfs
# refuses to freeze itself.

load helper

@test "a script snaps itself, goes on, and its image resumes just after the snap" {
	spawn bash -c 'i=0; while :; do echo $i; i=$((i+1)); if [ $i = 20 ]; then echo snap > $PERSIST/$$/ctl; echo snapped; fi; sleep 0.05; done' >"$T/out" 2>&1
	pid=$SPAWN_PID
	wait_for '^snapped$' "$T/out" 60
	# the write returned and the script went on past 20
	wait_for_lines "$T/out" 30
	cp "$PERSIST/$pid/image" "$T/img"
	kill9 "$pid"
	{ seq 0 19; echo snapped; } >"$T/want"
	head -21 "$T/out" | cmp - "$T/want"
	tail -n +22 "$T/out" | check_seq /dev/stdin 20 8
	# cut the file where the snap was: all that follows is the copy's
	off=$(head -20 "$T/out" | wc -c)
	truncate -s "$off" "$T/out"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" 30
	kill9 "$RESUME_PID"
	head -21 "$T/out" | cmp - "$T/want"
	tail -n +22 "$T/out" | check_seq /dev/stdin 20 9
}

@test "freezing persistfs itself fails with a clear error, and it serves on" {
	run ctl "$PFS_PID" freeze
	[ "$status" -ne 0 ]
	[[ $(cat "$PERSIST/$PFS_PID/err") == *persistfs* ]]
	[[ $(pstate "$PFS_PID") != [Tt] ]]
	eq "$(awk '/^TracerPid:/ { print $2 }' "/proc/$PFS_PID/status")" 0
	run ls "$PERSIST"
	[ "$status" -eq 0 ]
	grep -qx "$PFS_PID" <<<"$output"
}

@test "snap of persistfs fails too" {
	run ctl "$PFS_PID" snap
	[ "$status" -ne 0 ]
	[[ $(cat "$PERSIST/$PFS_PID/err") == *persistfs* ]]
	ls "$PERSIST" >/dev/null
}

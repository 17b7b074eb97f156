#!/usr/bin/env bats
# ctl: freeze, thaw, kill, snap, stop, start, on a live process.

load helper

@test "freeze returns with the image complete and the process stopped" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	ctl "$pid" freeze
	# returned: the process is stopped, the image whole
	eq "$(pstate "$pid")" T
	check_image "$PERSIST/$pid/image"
	eq "$(stat -c %a "$PERSIST/$pid/image")" 700
	eq "$(stat -c %u "$PERSIST/$pid/image")" "$(stat -c %u /proc/$pid)"
	[ "$(stat -c %s "$PERSIST/$pid/image")" -gt 4096 ]
	# and it stays stopped: no more output
	n=$(lines "$T/out")
	sleep 0.5
	[ "$(lines "$T/out")" -eq "$n" ]
	eq "$(pstate "$pid")" T
	check_counter "$T/out" 0 5
}

@test "an image reads as an ELF executable" {
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 2
	ctl "$SPAWN_PID" freeze
	eq "$(head -c4 "$PERSIST/$SPAWN_PID/image" | od -An -tx1 | tr -d ' ')" 7f454c46
	run readelf -h "$PERSIST/$SPAWN_PID/image"
	[ "$status" -eq 0 ]
	[[ $output == *"Advanced Micro Devices X86-64"* ]]
}

@test "thaw: the frozen original goes on counting where it stopped" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	ctl "$pid" freeze
	n=$(lines "$T/out")
	sleep 0.3
	[ "$(lines "$T/out")" -eq "$n" ]
	ctl "$pid" thaw
	wait_for_lines "$T/out" $((n + 10))
	[[ $(pstate "$pid") != [Tt] ]]
	kill9 "$pid"
	check_counter "$T/out" 0 $((n + 10))
}

@test "kill ends a frozen process" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	ctl "$pid" freeze
	ctl "$pid" kill
	# it is our child: dead means a zombie until we reap it
	wait_state "$pid" 'Z|gone' 1
	n=$(lines "$T/out")
	wait "$pid" || true
	sleep 0.3
	[ "$(lines "$T/out")" -eq "$n" ]
	[ ! -e "$PERSIST/$pid" ]
}

@test "kill ends a running process" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	ctl "$pid" kill
	wait_state "$pid" 'Z|gone' 1
	wait "$pid" || true
	not alive "$pid"
}

@test "snap makes the image and leaves the process running" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	ctl "$pid" snap
	check_image "$PERSIST/$pid/image"
	[[ $(pstate "$pid") != [Tt] ]]
	growing "$T/out"
	kill9 "$pid"
	check_counter "$T/out" 0 5
}

@test "stats reports pages and times after a freeze" {
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 3
	ctl "$SPAWN_PID" freeze
	run cat "$PERSIST/$SPAWN_PID/stats"
	[ "$status" -eq 0 ]
	[[ $output == *pages* ]]
	[[ $output == *ms* ]]
	[[ $output =~ [1-9] ]]
}

@test "stop and start: plain stop, no image, then go on" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	ctl "$pid" stop
	wait_state "$pid" T 1
	n=$(lines "$T/out")
	sleep 0.3
	[ "$(lines "$T/out")" -eq "$n" ]
	ctl "$pid" start
	wait_for_lines "$T/out" $((n + 5))
	kill9 "$pid"
	check_counter "$T/out" 0 $((n + 5))
}

@test "ctl takes a message with or without newline and O_TRUNC" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	# echo adds the newline; > opens with O_TRUNC
	ctl "$pid" stop
	wait_state "$pid" T 1
	printf start | timeout 10 dd of="$PERSIST/$pid/ctl" conv=notrunc status=none
	wait_state "$pid" 'R|S' 2
	growing "$T/out"
}

@test "freeze NAME also keeps the image in saved/NAME" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	ctl "$pid" "freeze keep1"
	run ls "$PERSIST/saved"
	grep -qx keep1 <<<"$output"
	run ls "$PERSIST/saved/keep1"
	for f in image status cmdline maps fds when; do
		grep -qx "$f" <<<"$output" || fail "no $f in saved/keep1: $output"
	done
	cmp "$PERSIST/saved/keep1/image" "$PERSIST/$pid/image"
	grep -q counter "$PERSIST/saved/keep1/cmdline"
	grep -q "$PROG/counter" "$PERSIST/saved/keep1/maps"
}

@test "stats shows the progress of a long freeze while it runs, and the server serves on" {
	spawn "$PROG/bigheap" 1024 >"$T/out"
	pid=$SPAWN_PID
	wait_for ready "$T/out" 60
	( ctl "$pid" freeze ) &
	req=$!
	seen=
	for ((i = 0; i < 400; i++)); do
		# other requests are answered meanwhile
		ls "$PERSIST" >/dev/null
		read -r done total < <(awk '/^pagesdone/ { d = $2 } /^pagestotal/ { t = $2 } END { print d+0, t+0 }' "$PERSIST/$pid/stats")
		if [ "$done" -gt 0 ] && [ "$done" -lt "$total" ]; then
			seen="$done of $total"
			break
		fi
		sleep 0.01
	done
	wait "$req"
	[ -n "$seen" ] || fail "never saw a freeze half done"
	eq "$(pstate "$pid")" T
	awk '/^pagesdone/ { d = $2 } /^pagestotal/ { t = $2 } END { exit !(d == t && t > 262144) }' "$PERSIST/$pid/stats"
}

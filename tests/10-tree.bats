#!/usr/bin/env bats
# The tree: a directory per live process, and what is in it.

load helper

@test "ls lists a directory per live process, and run and saved" {
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 2
	run ls "$PERSIST"
	[ "$status" -eq 0 ]
	grep -qx "$SPAWN_PID" <<<"$output"
	grep -qx 1 <<<"$output"
	grep -qx run <<<"$output"
	grep -qx saved <<<"$output"
}

@test "a process directory holds ctl status image err stats" {
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 2
	run ls "$PERSIST/$SPAWN_PID"
	[ "$status" -eq 0 ]
	for f in ctl status image err stats; do
		grep -qx "$f" <<<"$output" || fail "no $f in $PERSIST/$SPAWN_PID: $output"
	done
	[ -d "$PERSIST/$SPAWN_PID" ]
	[ -f "$PERSIST/$SPAWN_PID/status" ]
}

@test "status is one line: name user state" {
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 2
	run cat "$PERSIST/$SPAWN_PID/status"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	read -r name user state rest <<<"$output"
	eq "$name" counter
	eq "$name" "$(cat /proc/$SPAWN_PID/comm)"
	eq "$user" root
	[ -n "$state" ]
}

@test "status follows the process: a stopped process reads as stopped" {
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 2
	read -r name user before rest <"$PERSIST/$SPAWN_PID/status"
	kill -STOP "$SPAWN_PID"
	wait_state "$SPAWN_PID" T
	read -r name user after rest <"$PERSIST/$SPAWN_PID/status"
	kill -CONT "$SPAWN_PID"
	[ "$before" != "$after" ]
	[[ ${after,,} == stop* ]]
}

@test "err of a process that never failed is empty" {
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 2
	run cat "$PERSIST/$SPAWN_PID/err"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "a process's directory goes away when it exits" {
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 2
	[ -d "$PERSIST/$SPAWN_PID" ]
	kill9 "$SPAWN_PID"
	[ ! -e "$PERSIST/$SPAWN_PID" ]
	run ls "$PERSIST"
	not grep -qx "$SPAWN_PID" <<<"$output"
}

@test "ls -l shows text files with times" {
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 2
	now=$(date +%s)
	t=$(stat -c %Y "$PERSIST/$SPAWN_PID/status")
	[ $((now - t)) -lt 3600 ] || fail "status mtime $t is an hour from now ($now)"
	[ "$(stat -c %F "$PERSIST/$SPAWN_PID/ctl")" = "regular file" ] ||
	    [ "$(stat -c %F "$PERSIST/$SPAWN_PID/ctl")" = "regular empty file" ]
}

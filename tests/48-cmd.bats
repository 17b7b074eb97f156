#!/usr/bin/env bats
# The rc tools in cmd/, each over the file tree.

load helper

@test "cmd: freeze stops and images, thaw lets go, snap leaves running" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	run "$ROOT/cmd/freeze" "$pid"
	[ "$status" -eq 0 ]
	eq "$(pstate "$pid")" T
	check_image "$PERSIST/$pid/image"
	run "$ROOT/cmd/thaw" "$pid"
	[ "$status" -eq 0 ]
	growing "$T/out"
	run "$ROOT/cmd/snap" -lean "$pid"
	[ "$status" -eq 0 ]
	check_image "$PERSIST/$pid/image"
	growing "$T/out"
}

@test "cmd: usage lines and errors, one line each, non-zero" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	for c in freeze snap thaw resume; do
		run "$ROOT/cmd/$c"
		[ "$status" -ne 0 ]
		[[ $output == "usage: $c "* ]] || fail "$c: $output"
	done
	run "$ROOT/cmd/freeze" 99999999
	[ "$status" -ne 0 ]
	eq "$output" "freeze: 99999999: no such process"
	run "$ROOT/cmd/thaw" 99999999 "$pid"
	[ "$status" -ne 0 ]
	eq "$output" "thaw: 99999999: no such process"
	run "$ROOT/cmd/resume" /etc/hostname
	[ "$status" -ne 0 ]
	[[ $output == "resume: error: not an image"* ]] || fail "$output"
	eq "$(ls "$PERSIST/run")" ""
}

@test "cmd: resume starts an image through run/ and prints its pid" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	"$ROOT/cmd/freeze" "$pid"
	cp "$PERSIST/$pid/image" "$T/img"
	n=$(lines "$T/out")
	kill9 "$pid"
	run "$ROOT/cmd/resume" "$T/img" c1
	[ "$status" -eq 0 ]
	[[ $output =~ ^[0-9]+$ ]] || fail "$output"
	track "$output"
	eq "$output" "$(cat "$PERSIST/run/c1")"
	wait_for_lines "$T/out" $((n + 3))
	check_counter "$T/out" 0 $((n + 3))
}

@test "cmd: lsp lists saved processes with when and status" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	"$ROOT/cmd/snap" "$pid" lsp1
	run "$ROOT/cmd/lsp"
	[ "$status" -eq 0 ]
	line=$(grep '^lsp1 ' <<<"$output") || fail "no lsp1 in: $output"
	[[ $line == *"$(cat "$PERSIST/saved/lsp1/when")"* ]] || fail "$line"
	[[ $line == *counter*root* ]] || fail "$line"
}

@test "cmd: freeze draws a progress bar on a terminal, and nothing without one" {
	requires script
	spawn "$PROG/bigheap" 1024 >"$T/out"
	pid=$SPAWN_PID
	wait_for ready "$T/out" 60
	script -qc "$ROOT/cmd/snap $pid" "$T/tty" >/dev/null </dev/null
	grep -aqE '\[#+ +\] +[0-9]+%' "$T/tty" || fail "no bar in: $(tr '\r' '\n' <"$T/tty" | tail -3)"
	run "$ROOT/cmd/snap" "$pid"
	[ "$status" -eq 0 ]
	eq "$output" ""
}

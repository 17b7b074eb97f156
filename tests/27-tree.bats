#!/usr/bin/env bats
# Process trees: freeze takes a process and all its descendants, and
# the image makes the tree again, links, groups, sessions and all.

load helper

# procs PID: how many processes the last freeze of PID took
procs() {
	awk '$1 == "procs" { print $2 }' "$PERSIST/$1/stats"
}

# treetrip PID OUT MORE: freeze the tree of PID (image $T/img.PID), kill
# it, wait till its pids are free (reaped, not only dead), resume it and
# wait for MORE lines more in OUT; OLD is the tree's children as they were
treetrip() {
	local n

	OLD=$(descendants "$1" | sort -n | tr '\n' ' ')
	freeze_image "$1" "$T/img.$1"
	n=$(lines "$2")
	ctl "$1" kill
	wait_gone "$1"
	wait_reaped $OLD
	resume_image "$T/img.$1" "$T/resumed.$1.out"
	wait_resumed "$2" $((n + $3))
}

@test "tree: children, a grandchild, a zombie, a pipe, a socket pair, shared memory and one file offset come back" {
	spawn "$PROG/tree" "$T/log" "$T/go" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	sleep 0.$((RANDOM % 5))
	freeze_image "$pid" "$T/img"
	eq "$(procs "$pid")" 5
	for c in $pid $(descendants "$pid"); do
		[ "$(pstate "$c")" = T ] || [ "$(pstate "$c")" = Z ] || fail "process $c not stopped"
	done
	n=$(lines "$T/out")
	ctl "$pid" kill
	wait_gone "$pid"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 12))
	# the same shape: three children (one a zombie), a grandchild under the first
	kids=$(cat /proc/$RESUME_PID/task/*/children)
	eq "$(echo $kids | wc -w)" 3
	eq "$(descendants "$RESUME_PID" | wc -l)" 4
	touch "$T/go"
	wait_for '^zombie ' "$T/out"
	wait_resumed "$T/out" $((n + 16))
	not grep FAIL "$T/out"
	grep -qx 'zombie 7' "$T/out"
	# ticks go on from where they were, one by one
	grep '^tick' "$T/out" | awk '$2 != NR - 1 { print "tick " $2 " at line " NR; exit 1 }'
	# parent and child wrote through one offset: no line lost or overwritten
	awk '!/^[ap] [0-9]+$/ { print "bad line " NR ": " $0; exit 1 }' "$T/log"
	last=$(grep -c '^p ' "$T/log")
	[ "$(grep -c '^a ' "$T/log")" -ge $((last - 1)) ]
}

@test "tree: freeze -single takes the process alone and leaves its children running" {
	spawn "$PROG/tree" "$T/log" "$T/go" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	run ctl "$pid" "freeze -single"
	# its pipe and socket pair lead to its child: refused, all run on
	[ "$status" -ne 0 ]
	eq "$(cat "$PERSIST/$pid/err")" "unsupported: fd 5 is a pipe to another process"
	growing "$T/out"
}

@test "tree: a shell pipeline under bash comes back connected" {
	spawn bash -c 'i=0; while :; do echo $i; i=$((i+1)); sleep 0.05; done | while read -r l; do echo "got $l"; done' >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 10
	freeze_image "$pid" "$T/img"
	[ "$(procs "$pid")" -ge 3 ]
	n=$(lines "$T/out")
	ctl "$pid" kill
	wait_gone "$pid"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 10))
	# every number once, in order, across the freeze
	awk '$1 != "got" || $2 != NR - 1 { print "line " NR ": " $0; exit 1 }' "$T/out"
}

@test "tree: thaw and kill act on the whole tree" {
	spawn "$PROG/tree" "$T/log" "$T/go" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	kids=$(descendants "$pid")
	ctl "$pid" stop
	for c in $kids; do
		[ "$(pstate "$c")" = T ] || [ "$(pstate "$c")" = Z ] || fail "process $c not stopped"
	done
	ctl "$pid" thaw
	growing "$T/out"
	not grep FAIL "$T/out"
	ctl "$pid" kill
	wait_gone "$pid"
	for c in $kids; do
		wait_gone "$c"
	done
}

@test "tree: a shell forking without pause is frozen every time: a child caught as it ends is seized again" {
	spawn bash -c 'i=0; while :; do i=$((i + $(echo 1))); done'
	pid=$SPAWN_PID
	sleep 0.2
	for ((k = 0; k < 50; k++)); do
		ctl "$pid" freeze || fail "freeze $k: $(cat "$PERSIST/$pid/err")"
		ctl "$pid" thaw
	done
}

@test "tree: resumed by root, the children get their old pids back" {
	requires_root
	spawn "$PROG/tree" "$T/log" "$T/go" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	treetrip "$pid" "$T/out" 5
	eq "$(descendants "$RESUME_PID" | sort -n | tr '\n' ' ')" "$OLD"
	not grep FAIL "$T/out"
}

@test "tree: snap leaves the tree running, and its image runs beside it under new pids" {
	spawn "$PROG/tree" "$T/log" "$T/go" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	freeze_image "$pid" "$T/img" snap
	eq "$(procs "$pid")" 5
	# every process was found before the stop and read ahead: more pages than the root's
	ahead=$(awk '$1 == "pagesahead" { print $2 }' "$PERSIST/$pid/stats")
	[ "$ahead" -gt 0 ] || fail "nothing read ahead"
	growing "$T/out"
	# the image writes its own log: the original's is in use
	resume_cmd "$T/resumed.out" "$T/img"
	sleep 1
	alive "$RESUME_PID" || fail "resumed tree died: $(cat "$T/resumed.out")"
	eq "$(descendants "$RESUME_PID" | wc -l)" 4
	alive "$pid"
	not grep FAIL "$T/out"
}

@test "tree: script(1) and the shell on its pty come back on a new pty, its terminal again" {
	requires script
	spawn script -qfc 'i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done' /dev/null >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	freeze_image "$pid" "$T/img"
	grep -q '^fdkinds .*ptm 1' "$PERSIST/$pid/stats"
	n=$(lines "$T/out")
	ctl "$pid" kill
	wait_gone "$pid"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 10))
	# the shell leads its session on the new pty, and it is its terminal
	sh=$(cat /proc/$RESUME_PID/task/*/children | awk '{ print $1 }')
	[ -n "$sh" ]
	tty=$(awk '{ sub(/.*\) /, ""); print $5 }' /proc/$sh/stat)
	[ "$tty" != 0 ] || fail "the shell has no controlling terminal"
	[[ $(readlink /proc/$sh/fd/0) == /dev/pts/* ]]
	# every number once, in order, across the freeze
	tr -d '\r' <"$T/out" | awk '$0 != NR - 1 { print "line " NR ": " $0; exit 1 }'
}

@test "tree: make -j2 (a jobserver pipe, widowed pipes, shells) finishes every target once" {
	requires make
	mkdir -p "$T/mk"
	printf 'all: $(patsubst %%,t%%,$(shell seq 1 40))\nt%%:\n\t@sleep 0.1; echo $@\n' >"$T/mk/Makefile"
	cd "$T/mk"
	# not the make that runs the tests: no MAKEFLAGS, no "Entering directory"
	spawn env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -j2 >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 8
	old=$(descendants "$pid")
	freeze_image "$pid" "$T/img"
	ctl "$pid" kill
	wait_gone "$pid"
	# make waits for its children by pid: they must get theirs back
	wait_reaped $old
	resume_image "$T/img" "$T/resumed.out"
	for ((i = 0; i < 200 && $(alive "$RESUME_PID" && echo 1 || echo 0); i++)); do
		sleep 0.1
	done
	not alive "$RESUME_PID" || fail "make still running: $(tail -3 "$T/out")"
	eq "$(sort "$T/out" | uniq | wc -l)" 40 || fail "$(sort "$T/out" | uniq -c | sort -n | tail -5; grep -v "^t[0-9]" "$T/out")"
	eq "$(wc -l <"$T/out")" 40
	not grep -q 'make:' "$T/resumed.out"
}

@test "tree: a child stopped by job control comes back stopped, and goes on when continued" {
	spawn bash -c 'sleep 1000 & child=$!; kill -STOP $child; i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done' >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	treetrip "$pid" "$T/out" 5
	# the sleep (the one child that is not the loop's current sleep) is stopped
	stopped=0
	for c in $(descendants "$RESUME_PID"); do
		[ "$(pstate "$c")" = T ] && stopped=$c
	done
	[ "$stopped" != 0 ] || fail "no child came back stopped"
	kill -CONT "$stopped"
	sleep 0.2
	[ "$(pstate "$stopped")" != T ]
	check_seq "$T/out" 0 5
}

@test "tree: a descendant running as another user is refused, and all run on" {
	requires_root
	requires setpriv
	spawn bash -c 'setpriv --reuid=65534 --regid=65534 --clear-groups sleep 1000 & i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done' >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	run ctl "$pid" freeze
	[ "$status" -ne 0 ]
	[[ $(cat "$PERSIST/$pid/err") == "permission denied: process "*" of the tree runs as another user" ]]
	[ "$(pstate "$pid")" != T ]
	growing "$T/out"
	# alone it is fine
	ctl "$pid" "snap -single"
}

@test "tree: processes that share memory (clone CLONE_VM) are refused by name, and run on" {
	spawn "$PROG/clonevm" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	child=$(cat /proc/$pid/task/*/children | tr -d ' ')
	run ctl "$pid" freeze
	[ "$status" -ne 0 ]
	eq "$(cat "$PERSIST/$pid/err")" "unsupported: processes $pid and $child share memory"
	growing "$T/out"
}

@test "tree: a child that cannot be made again fails the whole resume, and none is left running" {
	echo data >"$T/f"
	# only the child holds the file
	spawn bash -c 'bash -c "exec 7<\"\$1\"; exec sleep 1000" sh "$1" & i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done' sh "$T/f" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	freeze_image "$pid" "$T/img"
	ctl "$pid" kill
	wait_gone "$pid"
	rm "$T/f"
	before=$(ps -eo pid= | sort)
	run_image "$T/img"
	[ "$IMG_STATUS" -ne 0 ]
	grep -q "cannot reopen: $T/f: no such file" "$BATS_TEST_TMPDIR/img.err"
	grep -q "cannot restore the process tree" "$BATS_TEST_TMPDIR/img.err"
	sleep 0.3
	# nothing of the tree runs on
	for p in $(comm -13 <(echo "$before") <(ps -eo pid= | sort)); do
		[ "$(readlink /proc/$p/exe 2>/dev/null)" != "$T/img" ] || fail "process $p of the image left: $(pstate $p)"
	done
}

@test "tree: python3 subprocess pipes to a child cat, and bash background jobs with wait, go on exactly" {
	requires python3
	spawn python3 -c '
import subprocess, time
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
i = 0
while True:
    p.stdin.write(b"%d\n" % i)
    print(p.stdout.readline().decode().strip(), flush=True)
    i += 1
    time.sleep(0.05)' >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	treetrip "$pid" "$T/out" 10
	check_seq "$T/out" 0 10
	spawn bash -c 'i=0; while :; do sleep 0.2 & sleep 0.1 & wait; echo $i; i=$((i+1)); done' >"$T/jobs"
	pid=$SPAWN_PID
	wait_for_lines "$T/jobs" 3
	treetrip "$pid" "$T/jobs" 5
	check_seq "$T/jobs" 0 5
}

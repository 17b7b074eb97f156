#!/usr/bin/env bats
# What else a process is: nice, cpu affinity, no_new_privs, dumpable,
# child subreaper, umask, capabilities and other prctl state, seccomp.

load helper

@test "misc: nice, affinity, no_new_privs, dumpable, subreaper, umask and rlimits come back" {
	roundtrip "$T/out" 3 3 "$PROG/misc"
	kill9 "$RESUME_PID"
	awk '$0 != (NR - 1) " nice=7 cpus=1 nnp=1 dumpable=0 subreaper=1 umask=027 nofile=777" {
		print FILENAME ": line " NR ": " $0; exit 1 }' "$T/out" >&2
}

@test "misc: capabilities given up stay given up; pdeathsig, keepcaps, timer slack, THP-disable come back" {
	requires_root
	roundtrip "$T/out" 3 3 "$PROG/caps"
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out"
	grep '^tick' "$T/out" | awk '$2 != NR - 1 { print "tick " $2 " at line " NR; exit 1 }'
}

@test "misc: seccomp strict mode comes back" {
	roundtrip "$T/out" 2 2 "$PROG/seccomp" strict
	eq "$(awk '/^Seccomp:/ { print $2 }' /proc/$RESUME_PID/status)" 1
	kill9 "$RESUME_PID"
	awk '$0 != "strict " (NR - 1) { print "line " NR ": " $0; exit 1 }' "$T/out"
}

@test "misc: seccomp filters come back, stacked in order, and hold" {
	roundtrip "$T/out" 3 3 "$PROG/seccomp" filter
	eq "$(awk '/^Seccomp:/ { print $2 }' /proc/$RESUME_PID/status)" 2
	eq "$(awk '/^Seccomp_filters:/ { print $2 }' /proc/$RESUME_PID/status)" 2
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out"
	awk '$0 != "filter " (NR - 1) { print "line " NR ": " $0; exit 1 }' "$T/out"
}

@test "misc: POSIX timers come back under their ids, signal and thread ones" {
	roundtrip "$T/out" 3 8 "$PROG/ptimer"
	n=$N0
	eq "$(grep '^ID:' /proc/$RESUME_PID/timers | sort | tr '\n' ' ')" "ID: 1 ID: 2 "
	kill9 "$RESUME_PID"
	# the step across the freeze may miss a tick; every later one has both
	awk -v n="$n" 'NR <= n + 1 { next } $0 != "ok " NR - 1 { print FILENAME ": " $0; exit 1 }' "$T/out" >&2
	eq "$(head -n "$n" "$T/out" | grep -c FAIL)" 0
}

@test "misc: a pending alarm() (the real interval timer) rings after resume, with the time it had left" {
	spawn "$PROG/alarm" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	sleep 0.$((RANDOM % 10))
	freeze_image "$pid" "$T/img"
	kill9 "$pid"
	# long enough that an alarm counting the time frozen would ring at once
	sleep 2
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" 40
	# the first rings with the time it had left, the second (armed after the resume) too
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c '^alarm at' "$T/out")" = 2 ] && break
		sleep 0.1
	done
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out"
	eq "$(grep -c '^ok$' "$T/out")" 2
}

@test "misc: a process in namespaces of its own is refused by name and runs on" {
	requires unshare
	spawn unshare --uts "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	run ctl "$pid" freeze
	[ "$status" -ne 0 ]
	eq "$(cat "$PERSIST/$pid/err")" "unsupported: process $pid is in a uts namespace of its own"
	[ "$(pstate "$pid")" != T ]
	growing "$T/out"
}

@test "misc: a chrooted process comes back in its root" {
	requires_root
	mkdir -p "$T/root"
	cp "$PROG/static" "$T/root/static"
	spawn chroot "$T/root" /static /out
	pid=$SPAWN_PID
	wait_for_lines "$T/root/out" 5
	freeze_image "$pid" "$T/img"
	n=$(lines "$T/root/out")
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/root/out" $((n + 5))
	eq "$(readlink /proc/$RESUME_PID/root)" "$T/root"
	kill9 "$RESUME_PID"
	awk '$0 != NR - 1 { print "line " NR ": " $0; exit 1 }' "$T/root/out"
}

@test "misc: supplementary groups come back where the runner may set them" {
	requires_root
	requires setpriv
	spawn setpriv --groups=5,7,1234 "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	eq "$(awk '/^Groups:/ { $1 = ""; print substr($0, 2) }' /proc/$pid/status)" "5 7 1234"
	freeze_image "$pid" "$T/img"
	n=$(lines "$T/out")
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 3))
	eq "$(awk '/^Groups:/ { $1 = ""; print substr($0, 2) }' /proc/$RESUME_PID/status)" "5 7 1234"
	check_counter "$T/out" 0 $((n + 3))
}

@test "misc: what madvise, mlock and mseal said of a mapping is said again" {
	roundtrip "$T/out" 3 3 "$PROG/madv"
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out" || fail "$(grep FAIL "$T/out" | head -3)"
	awk '$0 != "ok " (NR - 1) { print "line " NR ": " $0; exit 1 }' "$T/out"
}

@test "misc: a working directory removed under the process is a removed one again" {
	mkdir "$T/wd"
	roundtrip "$T/out" 3 3 bash -c 'cd "$1" && rmdir "$1" && i=0; while :; do echo "$i $(pwd -P 2>&1 >/dev/null | wc -l) $(touch x 2>/dev/null && echo made || echo none)"; i=$((i+1)); sleep 0.1; done' sh "$T/wd"
	[[ $(readlink /proc/$RESUME_PID/cwd) == *" (deleted)" ]]
	kill9 "$RESUME_PID"
	not grep -q warning "$T/resumed.out"
	# before and after: pwd fails, nothing can be made there
	awk '$0 != (NR - 1) " 1 none" { print "line " NR ": " $0; exit 1 }' "$T/out"
}

@test "misc: a file with blanks in its name, and the process's own /proc files, are reopened right" {
	echo "hello there" >"$T/a file"
	roundtrip "$T/out" 3 3 bash -c 'exec 5<"$1" 6</proc/$$/status; i=0; while :; do echo "$i $(head -c 5 /proc/self/fd/5) $(grep -c ^Pid: /proc/self/fd/6)"; i=$((i+1)); sleep 0.1; done' sh "$T/a file"
	eq "$(readlink /proc/$RESUME_PID/fd/5)" "$T/a file"
	eq "$(readlink /proc/$RESUME_PID/fd/6)" "/proc/$RESUME_PID/status"
	kill9 "$RESUME_PID"
	awk '$0 != (NR - 1) " hello 1" { print "line " NR ": " $0; exit 1 }' "$T/out"
}

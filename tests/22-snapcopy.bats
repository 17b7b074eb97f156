#!/usr/bin/env bats
# snap: its memory is read ahead while the process runs, and in the stop
# only what it wrote since (by tracking) or, when that is much, from a copy
# it forks; the copy never runs and leaves nothing behind.  -copy takes
# all from a copy.

load helper

# sfield NAME: a line of the stats of $pid
sfield() {
	awk -v k="$1" '$1 == k { print $2 }' "$PERSIST/$pid/stats"
}

# nochild: the process has no child left, not even a zombie
nochild() {
	eq "$(cat /proc/$pid/task/*/children)" ""
}

# snap_resume THREADS CMD...: CMD (THREADS threads), its output in out,
# snapped by a copy (snap -copy) once it has 3 lines, runs on and is
# killed; its image resumes, output in resumed.out, until 5 lines
# (RESUME_PID is left running)
snap_resume() {
	local n=$1

	shift
	spawn_piped "$T/out" "$@"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	ctl "$pid" "snap -copy"
	cp "$PERSIST/$pid/image" "$T/img"
	eq "$(sfield fromcopy)" 1
	eq "$(sfield threads)" "$n"
	nochild
	growing "$T/out"
	kill9 "$pid"
	not grep FAIL "$T/out" || fail "$(grep FAIL "$T/out")"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/resumed.out" 5
}

@test "snap of 256 MiB: a short stop, the process runs on, the image resumes with memory exact" {
	spawn_piped "$T/out" "$PROG/churn" 256
	pid=$SPAWN_PID
	wait_for '^pass 1$' "$T/out" 60
	ctl "$pid" "snap -copy"
	cp "$PERSIST/$pid/image" "$T/img"
	eq "$(sfield fromcopy)" 1
	# the stop is over before the memory is read, not after: it lasts a
	# fraction of the read (speed itself is bench/'s to say, not a test's)
	awk -v s="$(sfield stoppedms)" -v m="$(sfield memms)" 'BEGIN { exit !(2 * s < m) }' ||
	    fail "stopped $(sfield stoppedms) ms of a $(sfield memms) ms memory read"
	[ -n "$(sfield reapms)" ]
	[ "$(sfield pageswritten)" -gt 65536 ]
	nochild
	# churn checks every page before it writes it: FAIL if the copy's pages were not its own
	n=$(grep -c '^pass' "$T/out")
	wait_for "^pass $((n + 2))\$" "$T/out" 60
	kill9 "$pid"
	not grep FAIL "$T/out" || fail "$(grep FAIL "$T/out")"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/resumed.out" 2 60
	kill9 "$RESUME_PID"
	not grep FAIL "$T/resumed.out" || fail "$(grep FAIL "$T/resumed.out")"
	grep -q '^pass' "$T/resumed.out"
}

@test "snap: MADV_DONTFORK and MADV_WIPEONFORK maps are taken from the process" {
	snap_resume 1 "$PROG/forkmaps"
	kill9 "$RESUME_PID"
	not grep FAIL "$T/resumed.out" || fail "$(cat "$T/resumed.out")"
	grep -q '^ok' "$T/resumed.out"
}

@test "snap by a copy of a multithreaded process: all threads run on, the image resumes them" {
	snap_resume 5 "$PROG/threads" 4
	eq "$(awk '/^Threads/ { print $2 }' /proc/$RESUME_PID/status)" 5
	kill9 "$RESUME_PID"
	not grep FAIL "$T/resumed.out" || fail "$(grep FAIL "$T/resumed.out")"
}

@test "snap of a process that cannot fork reads its memory in the stop" {
	# one process is all uid 65534 may have: the injected fork fails
	spawn prlimit --nproc=1 setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	eq "$(stat -c %u /proc/$pid)" 65534
	ctl "$pid" "snap -copy"
	eq "$(sfield fromcopy)" 0
	check_image "$PERSIST/$pid/image"
	nochild
	growing "$T/out"
	kill9 "$pid"
	check_counter "$T/out" 0 3
}

@test "persistfs killed in a snap: the process runs on unchanged, the copy dies" {
	spawn_piped "$T/out" "$PROG/churn" 256
	pid=$SPAWN_PID
	wait_for '^pass 1$' "$T/out" 60
	(ctl "$pid" "snap -copy" 2>/dev/null) &
	req=$!
	kids=
	for ((i = 0; i < 1000; i++)); do
		kids=$(cat /proc/$pid/task/*/children)
		[ -z "$kids" ] || break
		sleep 0.005
	done
	[ -n "$kids" ] || fail "no copy seen"
	kill -9 "$PFS_PID"
	wait "$req" || true
	for ((i = 0; i < 50; i++)); do
		[ "$(awk '/^TracerPid/ { print $2 }' /proc/$pid/status)" = 0 ] && break
		sleep 0.1
	done
	eq "$(awk '/^TracerPid/ { print $2 }' /proc/$pid/status)" 0
	# the copy: a zombie only, held by the process (its exit signal is 0),
	# once it has run its way out (killed, or through the exit after its clone)
	for k in $kids; do
		for ((i = 0; i < 50; i++)); do
			s=$(pstate "$k") || s=gone
			[[ $s == Z || $s == gone ]] && break
			sleep 0.05
		done
		[[ $s == Z || $s == gone ]] || fail "copy $k is $s"
	done
	n=$(grep -c '^pass' "$T/out")
	wait_for "^pass $((n + 2))\$" "$T/out" 60
	not grep FAIL "$T/out" || fail "$(grep FAIL "$T/out")"
	# which goes when the process does
	kill9 "$pid"
	for k in $kids; do
		for ((i = 0; i < 50; i++)); do
			[ -e "/proc/$k" ] || break
			sleep 0.1
		done
		[ ! -e "/proc/$k" ] || fail "copy $k left: $(pstate "$k")"
	done
}

# checked RESUMED: RESUMED (a scribble) checks all its memory and says ok
checked() {
	local i

	# not before its handler is back: SIGUSR1 would kill the restorer
	for ((i = 0; i < 100; i++)); do
		alive "$1" || fail "resumed $1 died: $(cat "$RESUME_OUT")"
		(( 0x$(awk '/^SigCgt/ { print $2 }' "/proc/$1/status") & 0x200 )) && break
		sleep 0.05
	done
	kill -USR1 "$1"
	wait_for "^ok" "$RESUME_OUT" 10
	not grep FAIL "$RESUME_OUT" || fail "$(grep FAIL "$RESUME_OUT")"
}

# all_checked: the process $pid (writing $T/out) and then each of its
# images $T/img.1 to 3, resumed, check all their memory and say ok
all_checked() {
	local i

	kill -USR1 "$pid"
	wait_for '^ok' "$T/out" 10
	kill9 "$pid"
	not grep FAIL "$T/out" || fail "$(grep FAIL "$T/out")"
	for i in 1 2 3; do
		resume_image "$T/img.$i" "$T/resumed.$i"
		checked "$RESUME_PID"
		kill9 "$RESUME_PID"
	done
}

# snap_scribble N US: a scribble of 64 MiB writing N pages a round, a
# round each US microseconds, snapped three times as it runs, the first
# while its stack grows, each image resumed and checked (sets pid, and
# copyI and againI: each snap's fromcopy and pagesagain)
snap_scribble() {
	local i

	spawn_piped "$T/out" "$PROG/scribble" 64 "$1" "$2"
	pid=$SPAWN_PID
	wait_for '^ready$' "$T/out" 30
	for i in 1 2 3; do
		[ "$i" = 1 ] || wait_for '^steady$' "$T/out" 60
		ctl "$pid" snap
		cp "$PERSIST/$pid/image" "$T/img.$i"
		# all of it read ahead: 64 MiB, and the image holds each page once
		[ "$(sfield pagesahead)" -ge 12000 ]
		[ "$(sfield imagesize)" -lt $((80 << 20)) ] || fail "image of $(sfield imagesize) bytes"
		eval "copy$i=$(sfield fromcopy) again$i=$(sfield pagesagain)"
	done
	all_checked
}

@test "snap reads ahead as the process runs, then only what it wrote since: memory exact" {
	# a page a round, 500 rounds a second: once its stack is grown, a few
	# hundred pages written during the read ahead, read again in the stop
	# with no copy
	snap_scribble 1 2000
	[[ $copy2$copy3 == *0* ]] || fail "a copy each time"
}

@test "snap of a process that writes much as it is read ahead: what it wrote is read again before the stop, no copy" {
	# 16 pages a millisecond: a few thousand written during the read
	# ahead, more than the stop should read (665 of 64 MiB), far fewer
	# during the second pass
	snap_scribble 16 1000
	[[ $copy1$copy2$copy3 == *0* ]] || fail "a copy each time"
	(( again1 + again2 + again3 > 0 )) || fail "nothing read again"
}

@test "snap -lean of a process writing its private file map as it is read ahead: pages it zeroed come back zero" {
	# 128 MiB of 'Z', half of it written before: 64 MiB read ahead while
	# 16 pages a millisecond are written, half with zeros; a page written
	# is the process's own (a zero page is not a hole)
	head -c $((128 << 20)) /dev/zero | tr '\0' Z >"$T/file"
	spawn_piped "$T/out" "$PROG/cowfile" "$T/file" 16 1000
	pid=$SPAWN_PID
	wait_for '^ready$' "$T/out" 30
	again=0
	for i in 1 2 3; do
		ctl "$pid" "snap -lean"
		cp "$PERSIST/$pid/image" "$T/img.$i"
		again=$((again + $(sfield pagesagain)))
	done
	all_checked
	[ "$again" -gt 0 ] || fail "nothing read again"
}

@test "snap of a process that writes faster than it is read: what it wrote comes from a copy" {
	snap_scribble 256 100
	eq "$copy1$copy2$copy3" 111
}

@test "snap read ahead of a multithreaded process: all threads run on, the image resumes them" {
	spawn_piped "$T/out" "$PROG/threads" 4
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	ctl "$pid" snap
	cp "$PERSIST/$pid/image" "$T/img"
	[ "$(sfield pagesahead)" -gt 0 ]
	eq "$(sfield threads)" 5
	growing "$T/out"
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/resumed.out" 5
	eq "$(awk '/^Threads/ { print $2 }' /proc/$RESUME_PID/status)" 5
	not grep FAIL "$T/resumed.out" || fail "$(grep FAIL "$T/resumed.out")"
}

# uffdmaps PID: how many of PID's maps are registered with a userfaultfd
uffdmaps() {
	grep -c '^VmFlags:.* uw' "/proc/$1/smaps" || true
}

@test "persistfs killed while a snap reads ahead: the process runs on, its maps unregistered" {
	spawn_piped "$T/out" "$PROG/churn" 512
	pid=$SPAWN_PID
	wait_for '^pass 1$' "$T/out" 60
	eq "$(uffdmaps "$pid")" 0
	(ctl "$pid" snap 2>/dev/null) &
	req=$!
	for ((i = 0; i < 1000; i++)); do
		[ "$(uffdmaps "$pid")" -gt 0 ] && break
		sleep 0.005
	done
	[ "$(uffdmaps "$pid")" -gt 0 ] || fail "no registered map seen"
	kill -9 "$PFS_PID"
	wait "$req" || true
	for ((i = 0; i < 50; i++)); do
		[ "$(uffdmaps "$pid")" = 0 ] && break
		sleep 0.1
	done
	eq "$(uffdmaps "$pid")" 0
	eq "$(awk '/^TracerPid/ { print $2 }' /proc/$pid/status)" 0
	n=$(grep -c '^pass' "$T/out")
	wait_for "^pass $((n + 2))\$" "$T/out" 60
	not grep FAIL "$T/out" || fail "$(grep FAIL "$T/out")"
}

@test "snap of a sparse process: its holes get no page tables (a fork would walk them ever after)" {
	# 1 GiB allocated, 8 MiB of it touched
	spawn_piped "$T/out" "$PROG/bigheap" 1024 100000 8
	pid=$SPAWN_PID
	wait_for '^ready$' "$T/out" 30
	before=$(awk '/^VmPTE/ { print $2 }' /proc/$pid/status)
	ctl "$pid" snap
	eq "$(sfield fromcopy)" 0
	[ "$(sfield pagesahead)" -ge 2048 ]
	after=$(awk '/^VmPTE/ { print $2 }' /proc/$pid/status)
	[ "$after" -le $((before + 256)) ] || fail "page tables grew from $before to $after kB"
	growing "$T/out"
	not grep FAIL "$T/out"
}

@test "snap of a process with a reservation far beyond its use: the reservation is not protected, no page tables grow" {
	# 16 GiB allocated, 8 MiB of it touched
	spawn_piped "$T/out" "$PROG/bigheap" 16384 100000 8
	pid=$SPAWN_PID
	wait_for '^ready$' "$T/out" 30
	ctl "$pid" snap
	cp "$PERSIST/$pid/image" "$T/img"
	[ "$(sfield pagesahead)" -gt 0 ]
	# protecting its holes would have cost 32 MiB of page tables
	pte=$(awk '/^VmPTE/ { print $2 }' /proc/$pid/status)
	[ "$pte" -lt 4096 ] || fail "page tables grew to $pte kB"
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/resumed.out" 3
	not grep FAIL "$T/resumed.out"
}

@test "snap reads ahead a process in seccomp strict mode: the injected userfaultfd passes its filter suspended" {
	spawn_piped "$T/out" "$PROG/seccomp" strict
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	ctl "$pid" snap
	[ "$(sfield pagesahead)" -gt 0 ]
	eq "$(awk '/^Seccomp:/ { print $2 }' /proc/$pid/status)" 1
	growing "$T/out"
	not grep FAIL "$T/out"
}

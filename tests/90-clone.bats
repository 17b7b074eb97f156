#!/usr/bin/env bats
# clone: a detached copy of a running process, made at its next system call.

load helper

U=persist_c1

setup_file() {
	start_persistfs
	if command -v useradd >/dev/null && ! id "$U" >/dev/null 2>&1; then
		useradd -M -U -s /bin/sh "$U" >/dev/null 2>&1 || true
	fi
}

teardown_file() {
	teardown_procs
	stop_persistfs
	userdel "$U" >/dev/null 2>&1 || true
}

teardown() {
	[ -z "${SOCK:-}" ] || tmux -L "$SOCK" kill-server 2>/dev/null || true
	teardown_procs
}

# newest COPY of PID from its clones file, tracked for teardown
lastclone() {
	local c

	c=$(tail -n 1 "$PERSIST/$1/clones")
	[[ $c =~ ^[0-9]+$ ]] || fail "clones of $1: \"$c\""
	track "$c"
	echo "$c"
}

# ppid PID
ppid() {
	awk '{ print $4 }' "/proc/$1/stat"
}

@test "clone: the copy continues from the same point as the original" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	ctl "$pid" "clone stdout=$T/copy"
	c=$(lastclone "$pid")
	[ "$c" != "$pid" ]
	wait_for_lines "$T/copy" 3
	# the copy's first count is one the original also prints next: same point
	first=$(head -1 "$T/copy" | awk '{ print $1 }')
	wait_for "^$first " "$T/out"
	not grep -q FAIL "$T/copy" "$T/out"
	# both go on
	growing "$T/out"
	growing "$T/copy"
}

@test "clone: the copy is detached, not the target's child, and nothing stays traced" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	ctl "$pid" "clone stdout=$T/copy"
	c=$(lastclone "$pid")
	eq "$(ppid "$c")" "$(ppid "$pid")"
	[ "$(ppid "$c")" != "$pid" ]
	eq "$(awk '/^TracerPid/ { print $2 }' /proc/$c/status)" 0
	eq "$(awk '/^TracerPid/ { print $2 }' /proc/$pid/status)" 0
	# the copy's exit is no concern of the target: no zombie, target unharmed
	kill -9 "$c"
	growing "$T/out"
	[ "$(pstate "$pid")" != T ]
}

@test "clone: the target receives no SIGCHLD for its copy" {
	spawn "$PROG/sighandler" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	ctl "$pid" "clone stdout=$T/copy"
	c=$(lastclone "$pid")
	wait_for_lines "$T/copy" 2
	kill -9 "$c"
	sleep 0.3
	eq "$(awk '/^SigPnd|^ShdPnd/ { print $2 }' /proc/$pid/status | sort -u)" 0000000000000000
	growing "$T/out"
}

@test "clone: a process asleep in nanosleep is copied at once, both wake" {
	spawn "$PROG/sleeper" nanosleep "$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	sleep 0.2
	t0=$(date +%s%N)
	ctl "$pid" clone
	t1=$(date +%s%N)
	c=$(lastclone "$pid")
	# it did not wait out the one-second sleep
	[ $(( (t1 - t0) / 1000000 )) -lt 900 ]
	# both write the same sequence into the shared file: numbers appear twice
	n=$(tail -1 "$T/out")
	wait_for_lines "$T/out" $(( $(lines "$T/out") + 4 )) 6
	eq "$(grep -c "^$((n + 1))\$" "$T/out")" 2
	alive "$c"
}

@test "clone: a process blocked in read on a fifo is copied at once, both read" {
	mkfifo "$T/fifo"
	spawn "$PROG/sleeper" pipe "$T/out" "$T/fifo"
	pid=$SPAWN_PID
	wait_for waiting "$T/out"
	sleep 0.2
	# read(2) blocks for ever: the clone returning at all shows it did not wait
	ctl "$pid" clone
	c=$(lastclone "$pid")
	for ((i = 0; i < 20; i++)); do
		[ "$(cut -d' ' -f1 /proc/$c/syscall)" = 0 ] && break
		sleep 0.05
	done
	eq "$(cut -d' ' -f1 /proc/$c/syscall)" 0	# the copy waits in read too
	exec 5<>"$T/fifo"
	for ((i = 0; i < 40; i++)); do
		echo "line $i" >&5
		sleep 0.05
	done
	exec 5>&-
	sleep 0.3
	# both read (a byte at a time, so lines may be split between them),
	# every newline reached exactly one of them, and each counted its own:
	# the count after the clone shows up twice
	eq "$(grep -c '^got: ' "$T/out")" 40
	[ "$(grep '^waiting' "$T/out" | sort | uniq -d | wc -l)" -gt 0 ]
	alive "$pid"
	alive "$c"
}

@test "clone: a process spinning in user space is copied where it is" {
	spawn "$PROG/spin" "$T/out" user 31
	pid=$SPAWN_PID
	sleep 0.3
	ctl "$pid" clone
	c=$(lastclone "$pid")
	alive "$c"
	# the copy runs: its cpu time grows
	u0=$(awk '{ print $14 }' /proc/$c/stat)
	sleep 0.5
	u1=$(awk '{ print $14 }' /proc/$c/stat)
	[ "$u1" -gt "$u0" ]
	[ "$(pstate "$pid")" = R ]
}

@test "clone: a process looping on the vdso is copied and keeps running" {
	spawn "$PROG/spin" "$T/out" vdso 30
	pid=$SPAWN_PID
	sleep 0.3
	ctl "$pid" clone
	c=$(lastclone "$pid")
	u0=$(awk '{ print $14 }' /proc/$c/stat)
	sleep 0.5
	u1=$(awk '{ print $14 }' /proc/$c/stat)
	[ "$u1" -gt "$u0" ]
	# in time both append their own lines
	wait_for "spin [0-9]+ $c\$" "$T/out" 20
}

@test "clone: a multithreaded process is copied as fork(2) copies it" {
	requires python3
	spawn python3 -u -c '
import threading, time
threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()
i = 0
while True:
    print(i, flush=True); i += 1; time.sleep(0.1)
' >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	eq "$(awk '/^Threads/ { print $2 }' /proc/$pid/status)" 2
	ctl "$pid" "clone stdout=$T/copy"
	c=$(lastclone "$pid")
	eq "$(awk '/^Threads/ { print $2 }' /proc/$c/status)" 1
	wait_for_lines "$T/copy" 3
	first=$(head -1 "$T/copy")
	wait_for "^$first\$" "$T/out"
	growing "$T/out"
}

@test "clone: vim in tmux while keys are sent: the copy is a working vim with the buffer" {
	requires tmux vim
	SOCK=persist-test-$$
	sock=$SOCK
	mkfifo "$T/keys"
	tmux -L "$sock" -f /dev/null new-session -d -s v -x 80 -y 24 \
	    "vim -u NONE -N -n $T/file.txt"
	for ((i = 0; i < 50; i++)); do
		v=$(tmux -L "$sock" list-panes -F '#{pane_pid}' 2>/dev/null) && [ -n "$v" ] && break
		sleep 0.1
	done
	track "$v"
	sleep 0.5
	tmux -L "$sock" send-keys -t v 'ihello from vim' Escape
	sleep 0.3
	( for ((i = 0; i < 30; i++)); do tmux -L "$sock" send-keys -t v 'h'; sleep 0.01; done ) &
	keys=$!
	# the copy reads its keys from a fifo, writes its screen to a file
	exec 5<>"$T/keys"
	ctl "$v" "clone stdin=$T/keys stdout=$T/screen"
	wait $keys
	c=$(lastclone "$v")
	printf '\033:w! %s\r' "$T/copy.txt" >&5
	tmux -L "$sock" send-keys -t v Escape ":w! $T/orig.txt" Enter
	wait_for 'hello from vim' "$T/copy.txt" 5
	wait_for 'hello from vim' "$T/orig.txt" 5
	printf ':q!\r' >&5
	exec 5>&-
	wait_gone "$c"
	alive "$v"
}

@test "clone: unknown option is refused with EINVAL and the target is untouched" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	run ctl "$pid" "clone color=red"
	[ "$status" -ne 0 ]
	[[ $output == *"Invalid argument"* ]]
	eq "$(cat "$PERSIST/$pid/err")" 'bad clone option "color=red"'
	eq "$(cat "$PERSIST/$pid/clones")" ""
	growing "$T/out"
}

@test "clone: of an exited process fails with ESRCH" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	exec 5>"$PERSIST/$pid/ctl"
	kill9 "$pid"
	run bash -c 'echo clone >&5' 5>&5
	exec 5>&-
	[ "$status" -ne 0 ]
	[[ $output == *"No such process"* || $output == *"No such file"* ]]
}

@test "clone: of another user's process is refused with EACCES" {
	requires setpriv
	id "$U" >/dev/null 2>&1 || skip "no user $U (useradd failed)"
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	run setpriv --reuid="$U" --regid="$U" --init-groups \
	    bash -c 'echo clone >"$1"' bash "$PERSIST/$pid/ctl"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
	eq "$(cat "$PERSIST/$pid/clones")" ""
}

@test "clone: persistfs killed mid-clone leaves the target running, no stray stopped process" {
	spawn "$PROG/spin" "$T/out" user 31
	pid=$SPAWN_PID
	sleep 0.3
	before=$(ps -eo pid= | sort)
	# the clone waits for a system call that does not come: kill persistfs then
	( ctl "$pid" clone ) &
	req=$!
	sleep 0.2
	kill -9 "$PFS_PID"
	wait $req || true
	stop_persistfs
	sleep 0.3
	eq "$(pstate "$pid")" R
	eq "$(awk '/^TracerPid/ { print $2 }' /proc/$pid/status)" 0
	# no new process is left stopped or traced: a copy would be the target's
	# parent's child (other suites' processes may come and go meanwhile)
	ppid=$(awk '/^PPid/ { print $2 }' /proc/$pid/status)
	for p in $(comm -13 <(echo "$before") <(ps -eo pid= | sort)); do
		s=$(pstate "$p") || continue
		[ "$(awk '/^PPid/ { print $2 }' /proc/$p/status 2>/dev/null)" = "$ppid" ] || continue
		[ "$s" != T ] && [ "$s" != t ] || fail "pid $p left in state $s"
	done
}

@test "clone: cmd/clone prints the copy's pid" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	run "$ROOT/cmd/clone" "$pid" "stdout=$T/copy"
	[ "$status" -eq 0 ]
	[[ $output =~ ^[0-9]+$ ]]
	track "$output"
	eq "$output" "$(tail -1 "$PERSIST/$pid/clones")"
	wait_for_lines "$T/copy" 2
	run "$ROOT/cmd/clone" "$pid" bogus=1
	[ "$status" -ne 0 ]
	eq "$output" 'clone: bad clone option "bogus=1"'
	run "$ROOT/cmd/clone"
	[ "$status" -ne 0 ]
	[[ $output == usage:* ]]
}

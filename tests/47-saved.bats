#!/usr/bin/env bats
# saved/: every freeze and snap lands there as a named entry.

load helper

@test "without a name an entry is comm.pid.n, n counting up" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	ctl "$pid" snap
	ctl "$pid" snap
	run ls "$PERSIST/saved"
	grep -qx "counter.$pid.1" <<<"$output" || fail "no counter.$pid.1: $output"
	grep -qx "counter.$pid.2" <<<"$output" || fail "no counter.$pid.2: $output"
	cmp "$PERSIST/saved/counter.$pid.2/image" "$PERSIST/$pid/image"
	growing "$T/out"
}

@test "ls -l shows the image's size, mode and owner" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	ctl "$pid" "freeze sz"
	read -r mode _ user _ size _ <<<"$(ls -l "$PERSIST/saved/sz/image")"
	eq "$mode" -rwx------
	eq "$user" "$(stat -c %U /proc/$pid)"
	eq "$size" "$(stat -c %s "$PERSIST/$pid/image")"
	eq "$(stat -c %a "$PERSIST/saved/sz")" 755
	eq "$(stat -c %a "$PERSIST/saved/sz/when")" 444
	grep -qx '[0-9-]*T[0-9:]*Z' "$PERSIST/saved/sz/when"
	grep -q '^0 ' "$PERSIST/saved/sz/fds"
	# the state may have moved on since; name and user may not
	eq "$(cut -c1-29 "$PERSIST/saved/sz/status")" "$(cut -c1-29 "$PERSIST/$pid/status")"
	eq "$(wc -l <"$PERSIST/saved/sz/status")" 1
}

@test "mv renames an entry" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	ctl "$pid" "freeze old"
	mv "$PERSIST/saved/old" "$PERSIST/saved/new"
	run ls "$PERSIST/saved"
	not grep -qx old <<<"$output"
	grep -qx new <<<"$output" || fail "no new: $output"
	[ ! -e "$PERSIST_STORE/saved/old" ]
	cmp "$PERSIST/saved/new/image" "$PERSIST/$pid/image"
}

@test "rm -r removes an entry, from the store too" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	ctl "$pid" "freeze gone"
	[ -d "$PERSIST_STORE/saved/gone" ]
	rm -r "$PERSIST/saved/gone"
	run ls "$PERSIST/saved"
	not grep -qx gone <<<"$output"
	[ ! -e "$PERSIST_STORE/saved/gone" ]
	not cat "$PERSIST/$pid/image" >/dev/null 2>&1
}

@test "a bad name is refused and makes no entry" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	before=$(ls -a "$PERSIST_STORE/saved")
	run ctl "$pid" "freeze a/b"
	[ "$status" -ne 0 ]
	[[ $output == *"Invalid argument"* ]] || fail "not EINVAL: $output"
	eq "$(cat "$PERSIST/$pid/err")" "bad name"
	eq "$(ls -a "$PERSIST_STORE/saved")" "$before"
	growing "$T/out"
}

@test "a failed freeze leaves nothing in saved/, not even a dot-directory" {
	requires python3
	spawn_connected "$T/out"
	pid=$SPAWN_PID
	before=$(ls "$PERSIST/saved")
	run ctl "$pid" "freeze sock"
	[ "$status" -ne 0 ]
	[[ $(cat "$PERSIST/$pid/err") == "unsupported: "* ]]
	eq "$(ls "$PERSIST/saved")" "$before"
	eq "$(ls -A "$PERSIST_STORE/saved" | grep -c '^\.' || true)" 0
	[ ! -e "$PERSIST_STORE/saved/sock" ]
	growing "$T/out"
}

@test "saved: a full disk refuses the freeze with ENOSPC, the target runs on, nothing partial is left" {
	mkdir -p "$T/small" "$T/mnt2"
	mount -t tmpfs -o size=8m none "$T/small" || skip "cannot mount tmpfs"
	detach "$PERSISTFS" -f -s "$T/small" "$T/mnt2" </dev/null >"$T/pfs2.log" 2>&1
	pfs2=$DETACH_PID
	for ((i = 0; i < 50; i++)); do
		mountpoint -q "$T/mnt2" && break
		sleep 0.1
	done
	spawn "$PROG/bigheap" 64 >"$T/out"
	pid=$SPAWN_PID
	wait_for ready "$T/out" 20
	run timeout 60 bash -c 'echo freeze >"$1"' bash "$T/mnt2/$pid/ctl"
	err=$(cat "$T/mnt2/$pid/err")
	list=$(ls -A "$T/small/saved" 2>/dev/null)
	fusermount3 -u "$T/mnt2"
	wait "$pfs2" 2>/dev/null || true
	umount "$T/small"
	[ "$status" -ne 0 ]
	[[ $output == *"No space left on device"* ]] || fail "$output"
	[[ $err == *"no space"* ]] || fail "err: $err"
	eq "$list" ""
	[[ $(pstate "$pid") != [Tt] ]]
	growing "$T/out"
}

#!/usr/bin/env bats
# run/: write an image into a new file there and it resumes; read the
# file back for the new pid.

load helper

U=persist_t1

teardown_file() {
	teardown_procs
	stop_persistfs
	if id "$U" >/dev/null 2>&1; then
		userdel "$U" 2>/dev/null || true
	fi
	rm -rf "$BATS_FILE_TMPDIR/u"
}

# runpid NAME: the pid run/NAME reads, which must be a live process
runpid() {
	local p

	p=$(cat "$PERSIST/run/$1") || return 1
	[[ $p =~ ^[0-9]+$ ]] || fail "run/$1 reads \"$p\", not a pid"
	alive "$p" || fail "run/$1: pid $p is not alive"
	track "$p"
	echo "$p"
}

# a counter whose output is a regular file, frozen to $T/img and killed
counter_image() {
	spawn "$PROG/counter" >"$T/out"
	OLD_PID=$SPAWN_PID
	wait_for_lines "$T/out" 5
	freeze_image "$OLD_PID" "$T/img"
	N0=$(lines "$T/out")
	kill9 "$OLD_PID"
}

# the test user, and a directory it owns for its output
mkuser() {
	requires useradd userdel setpriv
	if ! id "$U" >/dev/null 2>&1; then
		useradd -M -U -s /bin/sh "$U" || fail "useradd $U failed"
	fi
	UID_=$(id -u "$U")
	UD=$BATS_FILE_TMPDIR/u
	mkdir -p "$UD"
	chmod 755 "$BATS_FILE_TMPDIR" "$UD"
	chown "$U:" "$UD"
	# the user must reach $UD: every directory above must be searchable
	d=$BATS_FILE_TMPDIR
	while [ "$d" != / ]; do
		setpriv --reuid="$U" --regid="$U" --init-groups test -x "$d" ||
		    chmod o+x "$d"
		d=$(dirname "$d")
	done
}

asuser() {
	setpriv --reuid="$U" --regid="$U" --init-groups "$@"
}

@test "cp into run/ resumes the image under its old pid, free again; run/NAME reads it" {
	counter_image
	cp "$T/img" "$PERSIST/run/p1"
	pid=$(runpid p1)
	# persistfs may choose pids (clone3 set_tid), the original is gone
	eq "$pid" "$OLD_PID"
	eq "$(cat /proc/$pid/comm)" counter
	wait_for_lines "$T/out" $((N0 + 10))
	kill9 "$pid"
	check_counter "$T/out" 0 $((N0 + 10))
}

@test "a resumed process never stays a zombie: killed, it is gone within 1 s" {
	counter_image
	cp "$T/img" "$PERSIST/run/z1"
	pid=$(runpid z1)
	wait_for_lines "$T/out" $((N0 + 2))
	kill -9 "$pid"
	wait_state "$pid" gone 1
	[ ! -e "/proc/$pid" ]
}

@test "one image into run/ twice: two copies, two pids" {
	counter_image
	cp "$T/img" "$PERSIST/run/a"
	cp "$T/img" "$PERSIST/run/b"
	a=$(runpid a)
	b=$(runpid b)
	[ "$a" != "$b" ]
	eq "$(cat /proc/$a/comm)" counter
	eq "$(cat /proc/$b/comm)" counter
}

@test "an unprivileged user's image, copied into run/ by that user, resumes as the user" {
	mkuser
	spawn setpriv --reuid="$U" --regid="$U" --init-groups \
	    sh -c 'exec "$1" >"$2" 2>&1' sh "$PROG/counter" "$UD/out"
	OLD_PID=$SPAWN_PID
	wait_for_lines "$UD/out" 5
	eq "$(puid "$OLD_PID")" "$UID_ $UID_ $UID_ $UID_"
	read -r name user state rest <"$PERSIST/$OLD_PID/status"
	eq "$user" "$U"
	ctl "$OLD_PID" freeze
	eq "$(stat -c %u "$PERSIST/$OLD_PID/image")" "$UID_"
	eq "$(stat -c %a "$PERSIST/$OLD_PID/image")" 700
	# the user reads its own image and copies it into run/ itself
	asuser cp "$PERSIST/$OLD_PID/image" "$UD/img"
	N0=$(lines "$UD/out")
	kill9 "$OLD_PID"
	asuser cp "$UD/img" "$PERSIST/run/u1"
	pid=$(runpid u1)
	eq "$(puid "$pid")" "$UID_ $UID_ $UID_ $UID_"
	# a pid is root's to choose, never a user's: a new one, though the old is free
	[ "$pid" != "$OLD_PID" ]
	wait_for_lines "$UD/out" $((N0 + 5))
	kill9 "$pid"
	check_counter "$UD/out" 0 $((N0 + 5))
}

@test "root copying a user's image into run/ resumes it as the user, not as root" {
	mkuser
	spawn setpriv --reuid="$U" --regid="$U" --init-groups \
	    sh -c 'exec "$1" >"$2" 2>&1' sh "$PROG/counter" "$UD/out2"
	OLD_PID=$SPAWN_PID
	wait_for_lines "$UD/out2" 5
	freeze_image "$OLD_PID" "$T/img"
	N0=$(lines "$UD/out2")
	kill9 "$OLD_PID"
	cp "$T/img" "$PERSIST/run/r1"
	pid=$(runpid r1)
	eq "$(puid "$pid")" "$UID_ $UID_ $UID_ $UID_"
	eq "$(awk '/^Gid:/ { print $2 }' /proc/$pid/status)" "$(id -g "$U")"
	wait_for_lines "$UD/out2" $((N0 + 5))
	kill9 "$pid"
	check_counter "$UD/out2" 0 $((N0 + 5))
}

@test "a user cannot freeze another user's process" {
	mkuser
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 3
	run asuser bash -c 'echo freeze >"$1"' bash "$PERSIST/$SPAWN_PID/ctl"
	[ "$status" -ne 0 ]
	[[ $output == *"ermission denied"* ]]
	[[ $(pstate "$SPAWN_PID") != [Tt] ]]
	growing "$T/out"
}

@test "saved/ survives a restart of persistfs and resumes from run/" {
	spawn "$PROG/primes" "$T/primes"
	OLD_PID=$SPAWN_PID
	wait_for_lines "$T/primes" 20
	ctl "$OLD_PID" "freeze keep2"
	N0=$(lines "$T/primes")
	kill9 "$OLD_PID"
	restart_persistfs
	run ls "$PERSIST/saved"
	grep -qx keep2 <<<"$output"
	cp "$PERSIST/saved/keep2/image" "$PERSIST/run/k2"
	pid=$(runpid k2)
	wait_for_lines "$T/primes" $((N0 + 20))
	kill9 "$pid"
	check_primes "$T/primes" $((N0 + 20))
}

#!/usr/bin/env bats
# Permissions between two unprivileged users: each sees every process,
# controls and reads only its own.

load helper

U1=persist_p1
U2=persist_p2

setup_file() {
	start_persistfs
	if command -v useradd >/dev/null; then
		for u in $U1 $U2; do
			id "$u" >/dev/null 2>&1 || useradd -M -U -s /bin/sh "$u" >/dev/null 2>&1 || true
		done
	fi
	# both users must reach the test directories
	d=$BATS_FILE_TMPDIR
	while [ "$d" != / ]; do
		chmod o+x "$d"
		d=$(dirname "$d")
	done
}

teardown_file() {
	teardown_procs
	stop_persistfs
	userdel "$U1" >/dev/null 2>&1 || true
	userdel "$U2" >/dev/null 2>&1 || true
}

setup() {
	testsetup
	requires setpriv
	id "$U1" >/dev/null 2>&1 && id "$U2" >/dev/null 2>&1 || skip "useradd failed"
	chmod 777 "$T"
}

as() {
	local u=$1

	shift
	setpriv --reuid="$u" --regid="$u" --init-groups "$@"
}

# a counter run by U1, frozen, with its image saved as NAME; sets P1
u1frozen() {
	spawn setpriv --reuid="$U1" --regid="$U1" --init-groups \
	    sh -c 'exec "$1" >"$2" 2>&1' sh "$PROG/counter" "$T/out1"
	P1=$SPAWN_PID
	wait_for_lines "$T/out1" 3
	as "$U1" sh -c 'echo "snap $1" >"$2"' sh "$1" "$PERSIST/$P1/ctl"
}

@test "perm: another user sees the process and its status, nothing more" {
	u1frozen p1a
	run as "$U2" ls "$PERSIST"
	grep -qx "$P1" <<<"$output"
	run as "$U2" cat "$PERSIST/$P1/status"
	[ "$status" -eq 0 ]
	[[ $output == counter*"$U1"* ]] || fail "$output"
	for f in image stats; do
		run as "$U2" cat "$PERSIST/$P1/$f"
		[ "$status" -ne 0 ]
		[[ $output == *"Permission denied"* ]] || fail "$f: $output"
	done
	for m in freeze snap thaw kill stop clone; do
		run as "$U2" sh -c 'echo "$1" >"$2"' sh "$m" "$PERSIST/$P1/ctl"
		[ "$status" -ne 0 ]
		[[ $output == *"Permission denied"* ]] || fail "$m: $output"
	done
	# and the owner may
	run as "$U1" cat "$PERSIST/$P1/stats"
	[ "$status" -eq 0 ]
	growing "$T/out1"
}

@test "perm: another user cannot read, remove or rename a saved entry" {
	u1frozen p1b
	eq "$(stat -c %U "$PERSIST/saved/p1b")" "$U1"
	eq "$(stat -c '%a %U' "$PERSIST/saved/p1b/image")" "700 $U1"
	run as "$U2" cat "$PERSIST/saved/p1b/image"
	[ "$status" -ne 0 ]
	run as "$U2" rm -rf "$PERSIST/saved/p1b"
	[ -d "$PERSIST/saved/p1b" ] || fail "$U2 removed $U1's entry"
	run as "$U2" mv "$PERSIST/saved/p1b" "$PERSIST/saved/stolen"
	[ "$status" -ne 0 ]
	[ -d "$PERSIST/saved/p1b" ]
	# the owner can
	run as "$U1" mv "$PERSIST/saved/p1b" "$PERSIST/saved/p1c"
	[ "$status" -eq 0 ]
	run as "$U1" rm -r "$PERSIST/saved/p1c"
	[ "$status" -eq 0 ]
	[ ! -e "$PERSIST/saved/p1c" ]
}

@test "perm: a user's image copied into run/ by another user is refused" {
	u1frozen p1d
	cp "$PERSIST/saved/p1d/image" "$T/img"
	chmod 755 "$T/img"
	run as "$U2" cp "$T/img" "$PERSIST/run/x2"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]] || fail "$output"
	run cat "$PERSIST/run/x2"
	[[ $output == "error: permission denied: the image is uid $(id -u "$U1")'s" ]] || fail "$output"
	# its owner may; it runs as the owner
	run as "$U1" cp "$T/img" "$PERSIST/run/x1"
	[ "$status" -eq 0 ]
	r=$(cat "$PERSIST/run/x1")
	track "$r"
	eq "$(awk '/^Uid:/ { print $2 }' /proc/$r/status)" "$(id -u "$U1")"
}

@test "perm: a process that made itself not dumpable is refused, even to root: its image would be its user's" {
	spawn setpriv --reuid="$U1" --regid="$U1" --init-groups \
	    sh -c 'exec "$1" >"$2" 2>&1' sh "$PROG/misc" "$T/out1"
	pid=$SPAWN_PID
	wait_for_lines "$T/out1" 2
	run ctl "$pid" freeze
	[ "$status" -ne 0 ]
	eq "$(cat "$PERSIST/$pid/err")" "permission denied: process $pid is not dumpable"
	run ctl "$pid" clone
	[ "$status" -ne 0 ]
	growing "$T/out1"
}

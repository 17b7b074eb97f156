#!/usr/bin/env bats
# persistfs with no mount point serves /persist.  If a /persist is
# already mounted it is only read, never stopped or written.

load helper

setup() {
	requires_root
	T=$BATS_TEST_TMPDIR
	OURS=$BATS_FILE_TMPDIR/default.pid
}

teardown() {
	teardown_procs
	if [ -f "$OURS" ]; then
		pid=$(cat "$OURS")
		if mounted /persist; then
			fusermount3 -u /persist 2>/dev/null || fusermount3 -uz /persist || true
		fi
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rm -f "$OURS"
	fi
}

@test "/persist: lists processes; when we start it, a freeze works there" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	if mountpoint -q /persist; then
		# someone's /persist: read only
		run ls /persist
		[ "$status" -eq 0 ]
		grep -qx "$pid" <<<"$output"
		grep -qx run <<<"$output"
		read -r name user state rest <"/persist/$pid/status"
		eq "$name" counter
		eq "$user" root
		return 0
	fi
	mounted /persist && fusermount3 -uz /persist	# a dead one
	detach "$PERSISTFS" -f </dev/null >"$T/persistfs.log" 2>&1
	echo "$DETACH_PID" >"$OURS"
	for i in $(seq 50); do
		mountpoint -q /persist && break
		sleep 0.1
	done
	mountpoint -q /persist || fail "persistfs did not mount /persist: $(cat "$T/persistfs.log")"
	run ls /persist
	grep -qx "$pid" <<<"$output"
	grep -qx run <<<"$output"
	grep -qx saved <<<"$output"
	read -r name user state rest <"/persist/$pid/status"
	eq "$name" counter
	# named: a run leaves one image in the default store, not one a run
	timeout 120 bash -c 'echo freeze bats80 >"$1"' bash "/persist/$pid/ctl"
	eq "$(pstate "$pid")" T
	check_image "/persist/$pid/image"
	timeout 10 bash -c 'echo thaw >"$1"' bash "/persist/$pid/ctl"
	growing "$T/out"
	fusermount3 -u /persist
	wait_gone "$(cat "$OURS")" 5
	rm -f "$OURS"
	not mountpoint -q /persist
}

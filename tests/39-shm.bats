#!/usr/bin/env bats
# Shared memory that outlives the process: files mapped shared (POSIX
# shm among them) are mapped again from the file; SysV segments are
# attached again, or made again under their key from the saved pages.

load helper

setup() {
	testsetup
	KEY=$(printf '%x' $((0x5e000000 + RANDOM * 32768 + RANDOM)))
	NAME=persist-test-$$-$RANDOM
}

teardown() {
	teardown_procs
	ipcrm -M "0x$KEY" 2>/dev/null || true
	rm -f "/dev/shm/$NAME"
}

# privates: how many SysV segments with no key there are
privates() {
	ipcs -m | awk '$1 == "0x00000000"' | wc -l
}

# counter FILE: the shm program's counter in its file, as the file holds it
counter() {
	od -An -td8 -j $((2 * 4096 + 8)) -N 8 "$1" | tr -d ' '
}

@test "shm: a file and a POSIX shm object mapped shared, SysV segments with and without a key, shared anonymous memory: all come back" {
	private0=$(privates)
	spawn "$PROG/shm" "$T" "$NAME" "$KEY" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	sleep 0.$((RANDOM % 5))
	freeze_image "$pid" "$T/img"
	shmid=$(ipcs -m | awk -v k="0x$KEY" '$1 == k { print $2 }')
	n=$(lines "$T/out")
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 3))
	# the same segment, attached again; the file is what the process maps
	eq "$(ipcs -m | awk -v k="0x$KEY" '$1 == k { print $2, $6 }')" "$shmid 1"
	grep -q "$T/shared\$" /proc/$RESUME_PID/maps
	grep -q "/dev/shm/$NAME\$" /proc/$RESUME_PID/maps
	c=$(counter "$T/shared")
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out"
	[ "$c" -gt "$n" ] || fail "the file holds $c, the program printed $n lines when frozen"
	# the segment with no key was removed while attached: gone with its last user
	eq "$(privates)" "$private0"
}

@test "shm: a SysV segment removed before the resume is made again under its key with its pages, others' too" {
	spawn "$PROG/shm" "$T" "$NAME" "$KEY" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	# a page the process never touched
	"$PROG/shm" put "$KEY" "written by $$"
	freeze_image "$pid" "$T/img"
	shmid=$(ipcs -m | awk -v k="0x$KEY" '$1 == k { print $2 }')
	n=$(lines "$T/out")
	kill9 "$pid"
	ipcrm -M "0x$KEY"
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 3))
	# root: under its old id too, which the program knows it by
	eq "$(ipcs -m | awk -v k="0x$KEY" '$1 == k { print $2, $4, $5, $6 }')" "$shmid 600 16384 1"
	touch "$T/go"
	wait_for '^other: ' "$T/out"
	kill9 "$RESUME_PID"
	grep -qx "other: written by $$" "$T/out"
	not grep FAIL "$T/out"
}

@test "shm: a deleted file mapped shared and writable is refused by name and the target runs on" {
	requires python3
	spawn python3 -u -c '
import mmap, os, sys, time
f = open(sys.argv[1], "w+b"); f.truncate(4096)
m = mmap.mmap(f.fileno(), 4096, mmap.MAP_SHARED)
f.close(); os.unlink(sys.argv[1])
i = 0
while True:
    print(i); i += 1; time.sleep(0.1)
' "$T/gone" >"$T/out"
	wait_for_lines "$T/out" 3
	refuses "$SPAWN_PID" "unsupported: shared writable mapping of $T/gone (deleted)" "$T/out"
}

#!/usr/bin/env bats
# Bad input: every failure is a non-zero exit and one clear line, and
# leaves no process stopped behind.

load helper

# a counter image in $T/img, its output in $T/out, the original killed
counter_image() {
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 3
	freeze_image "$SPAWN_PID" "$T/img"
	kill9 "$SPAWN_PID"
}

# refused: run_image failed with one line on stderr matching $1
refused() {
	local n

	[ "$IMG_STATUS" -ne 0 ] || fail "the image ran"
	[ "$IMG_STATUS" -ne 124 ] || fail "the image resumed (killed by timeout)"
	n=$(wc -l <"$BATS_TEST_TMPDIR/img.err")
	[ "$n" -eq 1 ] || fail "$n lines on stderr, want 1: $(cat "$BATS_TEST_TMPDIR/img.err")"
	grep -Eq -- "$1" "$BATS_TEST_TMPDIR/img.err" ||
	    fail "stderr \"$(cat "$BATS_TEST_TMPDIR/img.err")\" lacks /$1/"
}

# byteflip FILE OFFSET: invert one byte
byteflip() {
	perl -e 'open(F, "+<", $ARGV[0]) or die; seek(F, $ARGV[1], 0);
	    read(F, $c, 1) == 1 or die; seek(F, $ARGV[1], 0);
	    print F chr(ord($c) ^ 0xff); close(F) or die' "$1" "$2"
}

@test "an unknown ctl message fails; err says so" {
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 2
	run ctl "$SPAWN_PID" xyz
	[ "$status" -ne 0 ]
	[[ $output == *"Invalid argument"* ]]
	eq "$(cat "$PERSIST/$SPAWN_PID/err")" 'unknown control message "xyz"'
	[[ $(pstate "$SPAWN_PID") != [Tt] ]]
	growing "$T/out"
}

@test "a ctl message with the wrong number of words fails: wrong #args" {
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 2
	run ctl "$SPAWN_PID" "thaw now please"
	[ "$status" -ne 0 ]
	[[ $output == *"Invalid argument"* ]]
	eq "$(cat "$PERSIST/$SPAWN_PID/err")" "wrong #args"
}

@test "freeze of a process that exited after ctl was opened fails" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	exec {fd}>"$PERSIST/$pid/ctl"
	kill9 "$pid"
	run bash -c 'echo freeze >&'"$fd"
	exec {fd}>&-
	[ "$status" -ne 0 ]
	[[ $output == *"No such process"* || $output == *"No such file"* ]]
}

@test "freeze of a vanished pid fails" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	kill9 "$pid"
	run ctl "$pid" freeze
	[ "$status" -ne 0 ]
	[[ $output == *"No such process"* || $output == *"No such file"* ]]
}

@test "a truncated image refuses to run: one line naming the image" {
	counter_image
	size=$(stat -c %s "$T/img")
	head -c $((size / 2)) "$T/img" >"$T/half"
	chmod 700 "$T/half"
	n=$(lines "$T/out")
	run_image "$T/half"
	refused image
	[ "$(lines "$T/out")" -eq "$n" ]
}

@test "an image with a byte changed in the middle refuses to run" {
	counter_image
	size=$(stat -c %s "$T/img")
	byteflip "$T/img" $((size / 2))
	n=$(lines "$T/out")
	run_image "$T/img"
	refused image
	[ "$(lines "$T/out")" -eq "$n" ]
}

@test "an image with a byte changed in its header refuses to run" {
	counter_image
	hdr=$(tail -c 24 "$T/img" | head -c 8 | od -An -t u8 | tr -d ' ')
	byteflip "$T/img" $((hdr + 40))
	run_image "$T/img"
	refused image
}

@test "a bad image copied into run/: cp fails and run/NAME reads the error" {
	counter_image
	size=$(stat -c %s "$T/img")
	head -c $((size / 2)) "$T/img" >"$T/half"
	run cp "$T/half" "$PERSIST/run/x"
	[ "$status" -ne 0 ]
	run cat "$PERSIST/run/x"
	[[ $output == "error: "* ]]
	[[ $output == *image* ]]
	[ "${#lines[@]}" -eq 1 ]
}

@test "an image needing a cpu feature this machine lacks is refused: cpu lacks" {
	flags=$(grep -m1 '^flags' /proc/cpuinfo)
	lack=()
	for f in fma4 xop tbm avx512f avx512_fp16 amx_tile; do
		grep -qw "$f" <<<"$flags" || lack+=("$f")
	done
	[ ${#lack[@]} -gt 0 ] || skip "this cpu has every feature imgcpu can set"
	counter_image
	"$PROG/imgcpu" "$T/img" "${lack[@]}"
	check_image "$T/img"
	n=$(lines "$T/out")
	run_image "$T/img"
	refused "cpu lacks"
	[ "$(lines "$T/out")" -eq "$n" ]
	run cp "$T/img" "$PERSIST/run/cpu"
	[ "$status" -ne 0 ]
	run cat "$PERSIST/run/cpu"
	[[ $output == "error: "*"cpu lacks"* ]]
}

@test "a traced process is refused: process is traced by pid N" {
	requires python3
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	# a tracer that seizes the counter and sits there
	spawn python3 -c 'import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0x4206, int(sys.argv[1]), None, None) != 0:
    sys.exit("seize: errno %d" % ctypes.get_errno())
print("seized", flush=True)
time.sleep(600)' "$pid" >"$T/tracer"
	tracer=$SPAWN_PID
	wait_for '^seized$' "$T/tracer"
	run ctl "$pid" freeze
	[ "$status" -ne 0 ]
	eq "$(cat "$PERSIST/$pid/err")" "process is traced by pid $tracer"
	growing "$T/out"
}

@test "SIGKILL of persistfs in the middle of a freeze leaves the target running" {
	spawn "$PROG/bigheap" 1024 >"$T/out"
	pid=$SPAWN_PID
	wait_for '^alive 1$' "$T/out" 60
	saved0=$(ls "$PERSIST/saved")
	ctl "$pid" freeze >"$T/ctl.out" 2>&1 3>&- &
	writer=$!
	# wait until the engine has hold of the target
	for i in $(seq 200); do
		tracer=$(awk '/^TracerPid:/ { print $2 }' "/proc/$pid/status")
		[ "$tracer" != 0 ] && break
		[[ $(pstate "$pid") == [Tt] ]] && break
		sleep 0.02
	done
	sleep 0.1
	if ! kill -0 "$writer" 2>/dev/null; then
		wait "$writer" || true
		skip "freeze of 1 GiB was over before persistfs could be killed"
	fi
	kill -9 "$(cat "$PFSPID")"
	wait "$writer" && fail "the freeze write succeeded after persistfs died"
	sleep 1
	# the target runs: not stopped, not traced, output growing, heap intact
	st=$(pstate "$pid")
	[[ $st != [Tt] ]] || fail "target left in state $st"
	eq "$(awk '/^TracerPid:/ { print $2 }' "/proc/$pid/status")" 0
	growing "$T/out"
	not grep -q FAIL "$T/out"
	# no stray stopped process of ours (other suites may run beside this one)
	for p in $(descendants "$pid"); do
		[[ $(pstate "$p") != [Tt] ]] || fail "process $p left stopped"
	done
	# nothing half-written shows up after a restart
	restart_persistfs
	eq "$(ls "$PERSIST/saved")" "$saved0"
	eq "$(ls -A "$PERSIST_STORE/saved" | grep '^\.' || true)" ""
}

@test "bad names: '..', a newline, a dot name and 256 bytes are refused; 255 bytes is fine" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	long=$(printf 'n%.0s' $(seq 256))
	for name in .. .hidden "$long"; do
		run ctl "$pid" "snap $name"
		[ "$status" -ne 0 ] || fail "snap \"${name:0:20}\" was taken"
		eq "$(cat "$PERSIST/$pid/err")" "bad name"
	done
	# a newline inside the message: the name would span lines
	run timeout 10 bash -c 'printf "snap a\nb" >"$1"' bash "$PERSIST/$pid/ctl"
	[ "$status" -ne 0 ]
	ctl "$pid" "snap ${long:1}"
	[ -d "$PERSIST/saved/${long:1}" ]
}

@test "status cannot be written, ctl cannot be read, a huge ctl write is EINVAL" {
	spawn "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	run bash -c 'echo x >"$1"' bash "$PERSIST/$pid/status"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]] || fail "$output"
	run cat "$PERSIST/$pid/ctl"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]] || fail "$output"
	run bash -c 'head -c 5000 /dev/zero | tr "\0" x >"$1"' bash "$PERSIST/$pid/ctl"
	[ "$status" -ne 0 ]
	[[ $output == *"Invalid argument"* ]] || fail "$output"
	eq "$(cat "$PERSIST/$pid/err")" "message too long"
	growing "$T/out"
}

@test "persistfs -d logs each operation" {
	grep -q "ctl $$\|lookup\|getattr" "$BATS_FILE_TMPDIR/persistfs.log" && skip "suite server already logs"
	mkdir -p "$T/mnt3" "$T/store3"
	detach "$PERSISTFS" -d -s "$T/store3" "$T/mnt3" </dev/null >"$T/log3" 2>&1
	p3=$DETACH_PID
	for ((i = 0; i < 50; i++)); do
		mountpoint -q "$T/mnt3" && break
		sleep 0.1
	done
	spawn "$PROG/counter" >"$T/out"
	wait_for_lines "$T/out" 2
	echo snap >"$T/mnt3/$SPAWN_PID/ctl"
	fusermount3 -u "$T/mnt3"
	wait "$p3" 2>/dev/null || true
	grep -q "ctl $SPAWN_PID snap" "$T/log3" || fail "$(tail -5 "$T/log3")"
}

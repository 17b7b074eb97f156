#!/usr/bin/env bats
# Real programs frozen and resumed.

load helper

teardown() {
	[ -z "${SOCK:-}" ] || tmux -L "$SOCK" kill-server 2>/dev/null || true
	teardown_procs
}

@test "vim in tmux: its image, run in another window, is a working vim with the buffer" {
	requires tmux vim
	SOCK=persist-vim-$$
	tmux -L "$SOCK" -f /dev/null new-session -d -s v -x 80 -y 24 "vim -u NONE -N -n $T/file.txt"
	for ((i = 0; i < 50; i++)); do
		v=$(tmux -L "$SOCK" list-panes -t v -F '#{pane_pid}' 2>/dev/null) && [ -n "$v" ] && break
		sleep 0.1
	done
	track "$v"
	sleep 0.5
	tmux -L "$SOCK" send-keys -t v 'ihello from a frozen vim' Escape
	sleep 0.3
	# vim has a timer thread: two threads and a POSIX timer come along
	eq "$(awk '/^Threads/ { print $2 }' /proc/$v/status)" 2
	ctl "$v" snap
	cp "$PERSIST/$v/image" "$T/vim.img"
	tmux -L "$SOCK" new-window -d -t v:1 "$T/vim.img 2>$T/err; sleep 30"
	kill9 "$v"
	# the resumed vim has vim's command line; its exe is the image
	for ((i = 0; i < 50; i++)); do
		for p in $(pgrep -x vim); do
			[ "$(readlink /proc/$p/exe)" = "$T/vim.img" ] && r=$p
		done
		[ -n "${r:-}" ] && break
		sleep 0.1
	done
	[ -n "${r:-}" ] || fail "no resumed vim: $(cat "$T/err")"
	track "$r"
	sleep 0.5
	tmux -L "$SOCK" send-keys -t v:1 Escape ":w! $T/copy.txt" Enter
	wait_for 'hello from a frozen vim' "$T/copy.txt" 5
	tmux -L "$SOCK" send-keys -t v:1 ':q!' Enter
	wait_gone "$r"
}

# get PORT PATH: the body's last line of an HTTP/1.0 GET on loopback
get() {
	timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1 && printf "GET %s HTTP/1.0\r\n\r\n" "$2" >&3 && tail -1 <&3' bash "$1" "$2"
}

@test "a python3 http server on loopback keeps serving after resume (listening socket)" {
	requires python3
	port=$((20000 + RANDOM % 20000))
	mkdir "$T/www"
	echo "served by persist $port" >"$T/www/index.html"
	(cd "$T/www" && spawn python3 -m http.server "$port" --bind 127.0.0.1 >"$T/log" 2>&1)
	pid=$(tail -1 "$BATS_FILE_TMPDIR/pids" | cut -d' ' -f1)
	for ((i = 0; i < 50; i++)); do
		get "$port" /index.html >"$T/got" 2>/dev/null && break
		sleep 0.1
	done
	eq "$(cat "$T/got")" "served by persist $port"
	freeze_image "$pid" "$T/img"
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	sleep 0.3
	eq "$(get "$port" /index.html)" "served by persist $port"
	eq "$(get "$port" /index.html)" "served by persist $port"
	alive "$RESUME_PID"
}

@test "a connected socket is refused by name and the process runs on" {
	requires python3
	spawn_connected "$T/out"
	pid=$SPAWN_PID
	run ctl "$pid" freeze
	[ "$status" -ne 0 ]
	[[ $(cat "$PERSIST/$pid/err") == "unsupported: fd "*" is a connected socket" ]]
	growing "$T/out"
}

@test "sort of a large file, frozen mid-run (threads, temporary files), finishes right after resume" {
	requires sort shuf
	mkdir "$T/tmp"
	seq 2000000 | shuf --random-source=<(yes) >"$T/big"
	spawn sort -n -S 2M -T "$T/tmp" "$T/big" -o "$T/sorted"
	pid=$SPAWN_PID
	sleep 0.$((2 + RANDOM % 5))
	alive "$pid" || skip "sort finished before the freeze"
	freeze_image "$pid" "$T/img"
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	wait_gone "$RESUME_PID" 60
	eq "$(cat "$T/resumed.out")" ""
	seq 2000000 | cmp - "$T/sorted"
}

@test "sqlite3 frozen mid-transaction (its locks, its journal) commits after resume; the database checks ok" {
	requires sqlite3
	sqlite3 "$T/t.db" "CREATE TABLE t(x INTEGER)"
	spawn sqlite3 "$T/t.db" "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<2000000) INSERT INTO t SELECT i FROM c; CREATE INDEX tx ON t(x); UPDATE t SET x = x + 1; COMMIT;"
	pid=$SPAWN_PID
	sleep 0.$((3 + RANDOM % 7))
	freeze_image "$pid" "$T/img"
	grep -q "POSIX .* $pid " /proc/locks || fail "sqlite3 held no lock when frozen"
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	# its lock on the database, taken again by the new pid
	for ((i = 0; i < 50; i++)); do
		grep -q "POSIX .* $RESUME_PID " /proc/locks && break
		sleep 0.1
	done
	grep -q "POSIX .* $RESUME_PID " /proc/locks || fail "the resumed sqlite3 holds no lock"
	wait_gone "$RESUME_PID" 60
	eq "$(cat "$T/resumed.out")" ""
	eq "$(sqlite3 "$T/t.db" "PRAGMA integrity_check; SELECT count(*), sum(x) FROM t" | tr '\n' ' ')" "ok 2000000|2000003000000 "
}

@test "python3 multiprocessing: a pool (workers, pipes, semaphores in /dev/shm) comes back and goes on" {
	requires python3
	spawn python3 -c '
import multiprocessing as mp, time
def work(x):
    time.sleep(0.02)
    return x * x
if __name__ == "__main__":
    with mp.Pool(3) as p:
        i = 0
        while True:
            print(i, sum(p.map(work, range(i, i + 4))), flush=True)
            i += 1' >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 5
	old=$(descendants "$pid")
	freeze_image "$pid" "$T/img"
	[ "$(awk '$1 == "procs" { print $2 }' "$PERSIST/$pid/stats")" -ge 4 ]
	n=$(lines "$T/out")
	ctl "$pid" kill
	wait_gone "$pid"
	wait_reaped $old
	resume_image "$T/img" "$T/resumed.out"
	wait_resumed "$T/out" $((n + 10))
	kill9 "$RESUME_PID"
	# each line: i and the sum of the squares of i .. i+3, every i once
	awk '$1 != NR - 1 || $2 != $1*$1 + ($1+1)*($1+1) + ($1+2)*($1+2) + ($1+3)*($1+3) { print "line " NR ": " $0; exit 1 }' "$T/out"
}

#!/usr/bin/env bats
# Kernel objects a process holds alone: timerfd, signalfd, eventfd, a
# pipe to itself with bytes in it, an epoll set over them.

load helper

@test "kobjs: timerfd, signalfd, eventfd, a self pipe with data and epoll come back" {
	spawn "$PROG/kobjs" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	sleep 0.$((RANDOM % 5))
	freeze_image "$pid" "$T/img"
	eq "$(awk '$1 == "fdkinds" { $1 = ""; print substr($0, 2) }' "$PERSIST/$pid/stats")" \
	    "file 2 dev 1 pipe 2 eventfd 1 signalfd 1 timerfd 1 epoll 1"
	n=$(lines "$T/out")
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	# the timer ticks through the epoll set
	wait_resumed "$T/out" $((n + 3))
	kill -USR1 "$RESUME_PID"
	wait_for '^eventfd: ' "$T/out"
	kill9 "$RESUME_PID"
	grep -qx 'signal 10' "$T/out"
	grep -qx 'pipe: hello' "$T/out"
	grep -qx 'eventfd: 5' "$T/out"
	not grep -q FAIL "$T/out"
	# tick counts only grow
	grep '^tick' "$T/out" | awk '$2 <= last { exit 1 } { last = $2 }' ||
	    fail "$(grep '^tick' "$T/out" | tr '\n' ' ')"
}

@test "kobjs: a pipe to another process is refused by name and the target runs on" {
	# the cat is the counter's child: only a freeze of the counter alone leaves it out
	spawn bash -c 'exec 5> >(cat >/dev/null); exec "$0"' "$PROG/counter" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 3
	run ctl "$pid" "freeze -single"
	[ "$status" -ne 0 ]
	eq "$(cat "$PERSIST/$pid/err")" "unsupported: fd 5 is a pipe to another process"
	[ "$(pstate "$pid")" != T ]
	growing "$T/out"
}

@test "kobjs: a file deleted while open and a memfd come back with their contents" {
	roundtrip "$T/out" 3 3 "$PROG/gone" "$T"
	ls -l /proc/$RESUME_PID/fd >"$T/fds"
	kill9 "$RESUME_PID"
	awk '$0 != (NR - 1) " abc xyz" { print FILENAME ": " $0; exit 1 }' "$T/out" >&2
	grep -q 'memfd:persist-test (deleted)' "$T/fds"
	grep -q "$T/.*(deleted)" "$T/fds"
}

@test "kobjs: pending signals, standard and realtime with their values, come back" {
	roundtrip "$T/out" 3 2 "$PROG/sigpend" "$T/go"
	touch "$T/go"
	wait_for '^rt 42$' "$T/out"
	kill9 "$RESUME_PID"
	# each once, the realtime ones in the order queued
	eq "$(grep -v '^tick' "$T/out" | sort | tr '\n' ' ')" "rt 41 rt 42 usr1 "
	eq "$(grep '^rt' "$T/out" | tr '\n' ' ')" "rt 41 rt 42 "
}

@test "kobjs: inotify watches come back under their wd numbers, a freed number passed over" {
	mkdir "$T/d" "$T/d/sub"
	touch "$T/d/a" "$T/d/gone"
	roundtrip_anytime "$T/out" 2 2 "$PROG/notify" "$T/d"
	touch "$T/d/sub/x"
	wait_for '^ok create x$' "$T/out"
	echo more >>"$T/d/a"
	wait_for '^ok modify$' "$T/out"
	rm "$T/d/gone"
	wait_for '^ok delete gone$' "$T/out"
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out"
}

@test "kobjs: tail -f (inotify) frozen, killed and resumed follows its file on" {
	echo first >"$T/log"
	spawn tail -f "$T/log" >"$T/out"
	pid=$SPAWN_PID
	wait_for first "$T/out"
	freeze_image "$pid" "$T/img"
	grep -q inotify "$PERSIST/$pid/stats"
	kill9 "$pid"
	resume_image "$T/img" "$T/resumed.out"
	sleep 0.3
	echo second >>"$T/log"
	wait_for second "$T/out"
	eq "$(cat "$T/out" | tr '\n' ' ')" "first second "
}

@test "kobjs: an inotify with events waiting is refused by name and the target runs on" {
	mkdir "$T/d" "$T/d/sub"
	touch "$T/d/a"
	spawn "$PROG/notify" "$T/d" deaf >"$T/out"
	wait_for_lines "$T/out" 2
	touch "$T/d/sub/x"
	refuses "$SPAWN_PID" "unsupported: fd 3 is an inotify with events waiting" "$T/out"
}

@test "kobjs: a unix socket pair inside the process comes back with the bytes waiting in it" {
	requires python3
	roundtrip "$T/out" 3 3 python3 -u -c '
import socket, sys, time, os
a, b = socket.socketpair()
b.send(b"waiting")
n = 0
while not os.path.exists(sys.argv[1]):
    print(n, flush=True); n += 1; time.sleep(0.1)
print(a.recv(100).decode(), flush=True)
a.send(b"back")
print(b.recv(100).decode(), flush=True)
time.sleep(100)
' "$T/go"
	touch "$T/go"
	wait_for '^back$' "$T/out"
	kill9 "$RESUME_PID"
	grep -qx waiting "$T/out"
}

# spawn_holding PYTHON: python3 runs the statement PYTHON (with socket
# imported, sys.argv[1] $T/sock), then counts into $T/out
spawn_holding() {
	spawn python3 -u -c "import socket, sys, time
$1
i = 0
while True:
    print(i); i += 1; time.sleep(0.1)
" "$T/sock" >"$T/out"
	wait_for_lines "$T/out" 3
}

@test "kobjs: a packet socket is refused by name and the target runs on" {
	requires python3
	requires_root
	spawn_holding 's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)'
	refuses "$SPAWN_PID" "unsupported: fd 3 is a packet socket" "$T/out"
}

@test "kobjs: an unconnected unix stream socket is refused by name and the target runs on" {
	requires python3
	spawn_holding 's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1])'
	refuses "$SPAWN_PID" "unsupported: fd 3 is an unconnected unix socket" "$T/out"
}

# dgram PATH TEXT: send TEXT to the unix datagram socket PATH
dgram() {
	python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(sys.argv[2].encode(), sys.argv[1])' "$1" "$2"
}

@test "kobjs: unix datagram sockets by name, a server's and a client's of an outside server, are bound and connected again" {
	requires python3
	# the outside server, a log: what it gets, a line each
	spawn python3 -u -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
while True:
    print(s.recv(100).decode())' "$T/log" >"$T/logged"
	for ((i = 0; i < 50; i++)); do
		[ -S "$T/log" ] && break
		sleep 0.1
	done
	roundtrip_anytime "$T/out" 3 3 python3 -u -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.setblocking(False)
c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); c.connect(sys.argv[2])
i = 0
while True:
    c.send(b"tick %d" % i); print(i); i += 1
    try:
        print("got", s.recv(100).decode())
    except BlockingIOError:
        pass
    time.sleep(0.1)' "$T/me" "$T/log"
	dgram "$T/me" hello
	wait_for '^got hello$' "$T/out"
	n=$(lines "$T/logged")
	wait_for_lines "$T/logged" $((n + 3))
	kill9 "$RESUME_PID"
	# the client's ticks reach the log before and after, none twice
	awk '$0 != "tick " (NR - 1) { print "line " NR ": " $0; exit 1 }' "$T/logged"
}

@test "kobjs: a unix datagram socket with datagrams waiting is refused by name and the target runs on" {
	requires python3
	spawn_holding 's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])'
	dgram "$T/sock" unread
	refuses "$SPAWN_PID" "unsupported: fd 3 is a unix datagram socket with datagrams waiting" "$T/out"
}

@test "kobjs: datagram and seqpacket socket pairs come back with their messages, boundaries kept" {
	roundtrip_anytime "$T/out" 2 2 "$PROG/socks" "$T/go"
	touch "$T/go"
	wait_for '^(ok|FAIL)' "$T/out"
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out"
	grep -qx ok "$T/out"
}

@test "kobjs: UDP sockets, bound and connected, and a bound TCP socket come back with their options" {
	port=$((20000 + RANDOM % 20000))
	roundtrip "$T/out" 3 5 "$PROG/udp" "$port"
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out"
	awk '$0 != "udp " (NR - 1) { print "line " NR ": " $0; exit 1 }' "$T/out"
}

@test "kobjs: a TCP connection is refused by name and the process runs on" {
	requires python3
	port=$((20000 + RANDOM % 20000))
	spawn python3 -c 'import socket, sys, time
l = socket.create_server(("127.0.0.1", int(sys.argv[1])))
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s, _ = l.accept()
i = 0
while True:
    print(i, flush=True); i += 1; time.sleep(0.1)' "$port" >"$T/out"
	pid=$SPAWN_PID
	wait_for_lines "$T/out" 2
	run ctl "$pid" freeze
	[ "$status" -ne 0 ]
	[[ $(cat "$PERSIST/$pid/err") == "unsupported: fd "*" is a connected socket" ]]
	growing "$T/out"
}

@test "kobjs: a named fifo comes back with the bytes that were in it" {
	roundtrip "$T/out" 3 5 "$PROG/fifo" "$T/fifo"
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out"
	awk '$0 != "fifo " (NR - 1) { print "line " NR ": " $0; exit 1 }' "$T/out"
}

@test "kobjs: a memfd held as an fd and mapped shared comes back one object" {
	roundtrip "$T/out" 3 5 "$PROG/memfdmap"
	ls -l /proc/$RESUME_PID/fd >"$T/fds"
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out" || fail "$(grep FAIL "$T/out" | head -3)"
	awk '$0 != "ok " (NR - 1) { print "line " NR ": " $0; exit 1 }' "$T/out"
	grep -q 'memfd:persist-mm (deleted)' "$T/fds"
}

@test "kobjs: a netlink socket comes back with its protocol and groups, and answers" {
	roundtrip "$T/out" 3 5 "$PROG/nlsock"
	kill9 "$RESUME_PID"
	not grep FAIL "$T/out" || fail "$(grep FAIL "$T/out" | head -3)"
	awk '$0 != "ok " (NR - 1) { print "line " NR ": " $0; exit 1 }' "$T/out"
}

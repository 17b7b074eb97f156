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

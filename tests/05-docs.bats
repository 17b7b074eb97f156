#!/usr/bin/env bats
# The documentation tells the truth about the code, and installs.

load helper

setup_file() { :; }
teardown_file() { :; }
setup() { T=$BATS_TEST_TMPDIR; }

@test "docs: every ctl message in fs/ctl.c's table is in persistfs(4)" {
	words=$(sed -n 's/^	{"\([a-z]*\)",	[0-9], [0-9],.*/\1/p' "$ROOT/fs/ctl.c")
	[ "$(wc -w <<<"$words")" -ge 7 ] || fail "table not found: $words"
	page=$(groff -man -t -Tutf8 "$ROOT/man/man4/persistfs.4" 2>/dev/null | col -b)
	for w in $words; do
		grep -qw -- "$w" <<<"$page" || fail "ctl message $w is not in persistfs(4)"
	done
}

@test "docs: every man page renders without warnings" {
	requires groff
	for f in "$ROOT"/man/man*/*.[0-9]; do
		grep -q '^\.so ' "$f" && continue
		out=$(groff -man -t -ww -z "$f" 2>&1)
		[ -z "$out" ] || fail "$f: $out"
	done
}

@test "docs: every tool in cmd/ has a man page and a usage line" {
	for f in "$ROOT"/cmd/*; do
		c=${f##*/}
		[ -f "$ROOT/man/man1/$c.1" ] || fail "no man/man1/$c.1"
		grep -q "usage: " "$f" || grep -q "usage: '\^\$cmd" "$f" || fail "$c: no usage line"
	done
}

@test "docs: make install puts binaries, tools, pages and the systemd unit under DESTDIR" {
	make -C "$ROOT" -s install DESTDIR="$T/root" PREFIX=/usr >/dev/null
	for f in bin/persistfs bin/freeze bin/snap bin/thaw bin/resume bin/clone bin/lsp \
	    share/man/man4/persistfs.4 share/man/man5/persist.5 share/man/man1/freeze.1 \
	    lib/systemd/system/persistfs.service; do
		[ -e "$T/root/usr/$f" ] || fail "no $f"
	done
	grep -qx 'ExecStart=/usr/bin/persistfs -f' "$T/root/usr/lib/systemd/system/persistfs.service"
}

# the README's coverage table: "    kind | status | note | test or refusal"
coverage() {
	grep -E '^    [^|]+\| (supported|refused|in progress) +\|' "$ROOT/README" |
	    sed 's/^ *//; s/ *| */|/g; s/ *$//'
}

@test "docs: every supported kind in the README's table names a bats test that exists" {
	rows=$(coverage)
	[ "$(wc -l <<<"$rows")" -ge 40 ] || fail "README: coverage table not found"
	names=$(sed -n 's/^@test "\(.*\)" {$/\1/p' "$ROOT"/tests/*.bats)
	bad=
	while IFS='|' read -r kind status note test; do
		[ "$status" = supported ] || continue
		[ -n "$test" ] && grep -qF -- "$test" <<<"$names" || bad="$bad
$kind: no test \"$test\""
	done <<<"$rows"
	[ -z "$bad" ] || fail "README:$bad"
}

@test "docs: every refusal the engine can give is a refused row of the README's table" {
	refused=$(coverage | awk -F'|' '$2 == "refused" { print $4 }')
	bad=
	# the messages, %d and %s standing for anything
	while read -r s; do
		pat=$(sed 's/%[a-z]*/*/g' <<<"$s")
		found=
		while read -r r; do
			[[ $r == $pat ]] && found=1 && break
		done <<<"$refused"
		[ -n "$found" ] || bad="$bad
\"$s\""
	done < <(grep -ho '"unsupported: [^"]*"' "$ROOT"/kernel/*.c | tr -d '"' | sort -u)
	# and what the tables of fds we do not carry (kinds[], socknames[])
	# call them ("fd %d is %s")
	while read -r what; do
		grep -qxF "unsupported: fd N is $what" <<<"$refused" || bad="$bad
fd N is $what"
	done < <(grep -ho '"an\? [A-Za-z][^"]*"}' "$ROOT"/kernel/dumpfds.c "$ROOT"/kernel/anonfds.c |
	    sed 's/^"//; s/"}$//' | sort -u)
	[ -z "$bad" ] || fail "README: not a refused row:$bad"
}

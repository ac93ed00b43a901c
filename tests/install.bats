#!/usr/bin/env bats
# make install / uninstall, and the man pages' lint.

load helper

@test "make install puts every program and man page under DESTDIR/PREFIX" {
	d=$BATS_TEST_TMPDIR/root
	run make -s -C "$top" install DESTDIR="$d" PREFIX=/opt/bt \
	    BIN="$BT_BIN" BUILD="$BT_BUILD"
	assert_success
	for p in "$BT_BIN"/bt-*; do
		n=$(basename "$p")
		[ -x "$d/opt/bt/bin/$n" ] || fail "$n not installed"
		cmp "$p" "$d/opt/bt/bin/$n"
	done
	for m in "$top"/man/*.1; do
		[ -f "$d/opt/bt/share/man/man1/$(basename "$m")" ] ||
		    fail "$(basename "$m") not installed"
	done
	[ -f "$d/opt/bt/share/man/man7/bt.7" ]
}

@test "make uninstall removes what make install put there" {
	d=$BATS_TEST_TMPDIR/root
	make -s -C "$top" install DESTDIR="$d" PREFIX=/opt/bt \
	    BIN="$BT_BIN" BUILD="$BT_BUILD"
	run make -s -C "$top" uninstall DESTDIR="$d" PREFIX=/opt/bt \
	    BIN="$BT_BIN" BUILD="$BT_BUILD"
	assert_success
	run find "$d" -type f
	assert_output ""
}

@test "every man page is mandoc -T lint clean" {
	run mandoc -T lint -W warning "$top"/man/*.1 "$top"/man/*.7
	assert_success
	assert_output ""
}

#!/usr/bin/env bats
# Disk faults: symbolic links planted in DIR, a read-only DIR, a full disk,
# files of the wrong size, and kill -9 of bt-assemble and of bt-get at
# random moments. The swarm is this project's bt-seed on 127.0.0.1; full
# and read-only disks are small tmpfs mounts (root only: skipped else).
# The random moments come from a seed printed in the output; set
# FAULTS_SEED to replay a run.

load helper
bats_require_minimum_version 1.5.0

# set.torrent: 64 KiB pieces, 36 of them. a.bin is bytes 0-999999
# (pieces 0-15), sub/b.bin 1000000-1700000 (15-25), sub/deep/c.bin
# 1700001-1730000 (25-26), sub/empty none, z.bin 1730001-2330000 (26-35).
# one.torrent: one file of 300001 bytes, 32 KiB pieces, 10 of them.
setup_file() {
	cd "$BATS_FILE_TMPDIR"
	mkdir -p data/set/sub/deep
	rand_file data/set/a.bin 1000000
	rand_file data/set/sub/b.bin 700001
	rand_file data/set/sub/deep/c.bin 30000
	: >data/set/sub/empty
	rand_file data/set/z.bin 600000
	mktorrent -l 16 -a http://127.0.0.1:1/announce -o set.torrent \
	    data/set >/dev/null
	rand_file data/one.bin 300001
	mktorrent -l 15 -a http://127.0.0.1:1/announce -o one.torrent \
	    data/one.bin >/dev/null
	fstream set.torrent data all >set.stream
	fstream one.torrent data all >one.stream
	# One seeder at full speed, one at 4 MiB/s for the kills.
	fault_seed set.torrent data
	echo "127.0.0.1 $FSEED_PORT" >fast.peers
	fault_seed set.torrent data -r 4M
	echo "127.0.0.1 $FSEED_PORT" >slow.peers
}

teardown_file() {
	fault_seed_stop_all
}

setup() {
	cd "$BATS_FILE_TMPDIR"
	out=$BATS_TEST_TMPDIR/out
	outside=$BATS_TEST_TMPDIR/outside
	mnt=$BATS_TEST_TMPDIR/mnt
	# bt-get's own scratch folder, left behind by kill -9.
	export TMPDIR=$BATS_TEST_TMPDIR
}

teardown() {
	if [ -n "${GET_PID:-}" ]; then
		kill -9 -- "-$GET_PID" 2>/dev/null
	fi
	for p in ${ASM_PID:-} ${THR_PID:-}; do
		kill -9 "$p" 2>/dev/null
	done
	fault_umount_all
}

# Every file of set.torrent under $1, byte-identical, and no NAME.part.
set_identical() {
	for f in a.bin sub/b.bin sub/deep/c.bin sub/empty z.bin; do
		cmp "data/set/$f" "$1/set/$f" || return 1
	done
	[ -z "$(find "$1" -name '*.part')" ]
}

# A folder outside DIR with a file in it, and how it looks now.
make_outside() {
	mkdir -p "$outside"
	printf 'precious' >"$outside/keep"
	(cd "$outside" && ls -lA --time-style=+%s && cat keep) >outside.was
}

outside_unchanged() {
	(cd "$outside" && ls -lA --time-style=+%s && cat keep) |
	    cmp - outside.was
}

# --- symbolic links ---------------------------------------------------

@test "bt-assemble never follows a symbolic link planted where a file goes, to an outside file or to no file" {
	make_outside
	mkdir -p "$out"
	ln -s "$outside/keep" "$out/one.bin"
	run -74 --separate-stderr bt-assemble -C "$out" one.stream
	assert_equal "$stderr" "bt-assemble: $out: one.bin: is a symbolic link: not followed"
	outside_unchanged
	rm "$out/one.bin"
	ln -s "$outside/nothing" "$out/one.bin"
	run -74 --separate-stderr bt-assemble -C "$out" one.stream
	assert_equal "$stderr" "bt-assemble: $out: one.bin: is a symbolic link: not followed"
	outside_unchanged
	[ ! -e "$outside/nothing" ]
	[ ! -e "$out/one.bin.part" ]
}

@test "bt-assemble never follows a symbolic link planted where NAME.part goes, to an outside file or to no file" {
	make_outside
	mkdir -p "$out/set/sub/deep"
	ln -s "$outside/keep" "$out/set/a.bin.part"
	run -74 --separate-stderr bt-assemble -C "$out" set.stream
	assert_equal "$stderr" "bt-assemble: $out: set/a.bin.part: is a symbolic link: not followed"
	rm "$out/set/a.bin.part"
	ln -s "$outside/nothing" "$out/set/sub/deep/c.bin.part"
	run -74 --separate-stderr bt-assemble -C "$out" set.stream
	assert_equal "$stderr" "bt-assemble: $out: set/sub/deep/c.bin.part: is a symbolic link: not followed"
	outside_unchanged
	[ ! -e "$outside/nothing" ]
	# What came before the link is written and verified.
	run -1 bt-verify --missing set.torrent "$out"
	assert_output "25-35"
}

@test "bt-assemble never follows a symbolic link planted where a folder goes, at the top or deeper; a rerun finishes once it is gone" {
	make_outside
	mkdir -p "$out"
	ln -s "$outside" "$out/set"
	run -74 --separate-stderr bt-assemble -C "$out" set.stream
	assert_equal "$stderr" "bt-assemble: $out: set/a.bin: 'set' is a symbolic link or not a folder: not followed"
	outside_unchanged
	rm "$out/set"
	mkdir -p "$out/set/sub"
	ln -s "$outside" "$out/set/sub/deep"
	run -74 --separate-stderr bt-assemble -C "$out" set.stream
	assert_equal "$stderr" "bt-assemble: $out: set/sub/deep/c.bin: 'deep' is a symbolic link or not a folder: not followed"
	outside_unchanged
	run -1 bt-verify --missing set.torrent "$out"
	assert_output "25-35"
	rm "$out/set/sub/deep"
	fstream set.torrent data $(seq 25 35) | bt-assemble -C "$out"
	set_identical "$out"
}

@test "bt-verify never reads through a symbolic link: a correct copy behind it is missing, not good" {
	mkdir -p "$out"
	ln -s "$BATS_FILE_TMPDIR/data/one.bin" "$out/one.bin"
	run -1 --separate-stderr bt-verify --missing one.torrent "$out"
	assert_output "0-9"
	assert_equal "$stderr" ""
	rm "$out/one.bin"
	ln -s "$BATS_FILE_TMPDIR/data/one.bin" "$out/one.bin.part"
	run -1 --separate-stderr bt-verify --missing one.torrent "$out"
	assert_output "0-9"
	mkdir -p "$out/set"
	cp data/set/a.bin data/set/z.bin "$out/set/"
	ln -s "$BATS_FILE_TMPDIR/data/set/sub" "$out/set/sub"
	run -1 --separate-stderr bt-verify --missing set.torrent "$out"
	assert_output "15-26"
	assert_equal "$stderr" ""
}

@test "bt-get stops at a symbolic link planted in DIR: one line, status 74, nothing written outside; a rerun finishes once it is gone" {
	make_outside
	mkdir -p "$out/set"
	ln -s "$outside" "$out/set/sub"
	run -74 --separate-stderr bt-get -q -p fast.peers set.torrent "$out"
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" "^bt-assemble: $out: set/sub/(b\.bin|deep/c\.bin): 'sub' is a symbolic link or not a folder: not followed\$"
	assert_output ""
	outside_unchanged
	rm "$out/set/sub"
	run -0 --separate-stderr bt-get -q -p fast.peers set.torrent "$out"
	set_identical "$out"
}

# --- read-only DIR, full disk -----------------------------------------

@test "bt-get into a read-only DIR: one line, status 74; a rerun finishes once it is writable" {
	fault_mount "$mnt" ro,size=4m || skip "cannot mount a tmpfs (needs root)"
	run -74 --separate-stderr bt-get -q -p fast.peers set.torrent "$mnt/new"
	assert_equal "$stderr" "bt-get: $mnt/new: cannot make the folder: Read-only file system"
	run -74 --separate-stderr bt-get -q -p fast.peers set.torrent "$mnt"
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" "^bt-assemble: $mnt: set/[a-z/]*\.bin: cannot make a folder: Read-only file system\$"
	mount -o remount,rw "$mnt"
	run -0 --separate-stderr bt-get -q -p fast.peers set.torrent "$mnt"
	set_identical "$mnt"
}

@test "bt-assemble on a full disk: one line naming the file, status 74; the verified pieces stay, and a rerun with more space brings only the rest" {
	fault_mount "$mnt" size=1m || skip "cannot mount a tmpfs (needs root)"
	run -74 --separate-stderr bt-assemble -C "$mnt/d" set.stream
	assert_regex "$stderr" "^bt-assemble: $mnt/d: set/[a-z/]*\.bin: write: No space left on device\$"
	# The stream is in order: the pieces before the fault are good.
	run -1 bt-verify --missing set.torrent "$mnt/d"
	assert_regex "$output" '^[1-9][0-9]*-35$'
	missing=$output
	check_disk set.torrent data "$mnt/d" >good
	assert_equal "$(wc -l <good)" "${missing%-35}"
	mount -o remount,size=8m "$mnt"
	n=$(expand_list "$missing" | wc -l)
	fstream set.torrent data $(expand_list "$missing") >rest
	run -0 --separate-stderr bt-assemble -v -C "$mnt/d" rest
	assert_equal "$stderr" "bt-assemble: $n pieces written, 0 refused; 5 of 5 files complete"
	set_identical "$mnt/d"
}

@test "bt-get on a full disk: one line, status 74; the verified pieces stay, and a rerun with more space fetches only the rest" {
	fault_mount "$mnt" size=1m || skip "cannot mount a tmpfs (needs root)"
	run -74 --separate-stderr bt-get -q -p fast.peers set.torrent "$mnt/d"
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" "^bt-assemble: $mnt/d: set/[a-z/]*\.bin: write: No space left on device\$"
	assert_output ""
	check_disk set.torrent data "$mnt/d" >good
	[ -s good ]
	missing=$(bt-verify --missing set.torrent "$mnt/d" || true)
	[ -n "$missing" ]
	mount -o remount,size=8m "$mnt"
	run -0 --separate-stderr bt-get -v -p fast.peers set.torrent "$mnt/d"
	assert_equal "$stderr" "bt-get: fetching pieces $missing"
	set_identical "$mnt/d"
}

# --- files of the wrong size ------------------------------------------

@test "a file under its real name longer than the torrent says is never written, renamed or called complete: one line, status 74" {
	mkdir -p "$out"
	{ cat data/one.bin; printf 'tail'; } >"$out/one.bin"
	cp "$out/one.bin" was
	msg="$out: one.bin: longer than the torrent says (300005 bytes, not 300001)"
	run -74 --separate-stderr bt-assemble -C "$out" one.stream
	assert_equal "$stderr" "bt-assemble: $msg"
	cmp was "$out/one.bin"
	[ ! -e "$out/one.bin.part" ]
	# Its last piece is not good: the file goes on past it.
	run -1 --separate-stderr bt-verify --missing one.torrent "$out"
	assert_output "9"
	assert_equal "$stderr" "bt-verify: $msg"
	run -74 --separate-stderr bt-assemble -p -C "$out" one.torrent
	assert_equal "$stderr" "bt-assemble: $msg"
	assert_output ""
	cmp was "$out/one.bin"
	# The user cuts the extra bytes: the download is complete.
	truncate -s 300001 "$out/one.bin"
	run -0 bt-verify --missing one.torrent "$out"
	run -0 bt-assemble -p -C "$out" one.torrent
	assert_output "$out/one.bin"
	cmp data/one.bin "$out/one.bin"
}

@test "a file under NAME.part longer than the torrent says is never written or renamed: one line, status 74" {
	mkdir -p "$out"
	{ cat data/one.bin; printf 'tail'; } >"$out/one.bin.part"
	cp "$out/one.bin.part" was
	msg="$out: one.bin.part: longer than the torrent says (300005 bytes, not 300001)"
	run -74 --separate-stderr bt-assemble -C "$out" one.stream
	assert_equal "$stderr" "bt-assemble: $msg"
	run -74 --separate-stderr bt-assemble -C "$out" one.torrent
	assert_equal "$stderr" "bt-assemble: $msg"
	cmp was "$out/one.bin.part"
	[ ! -e "$out/one.bin" ]
	run -1 --separate-stderr bt-verify --missing one.torrent "$out"
	assert_output "9"
	assert_equal "$stderr" "bt-verify: $msg"
	rm "$out/one.bin.part"
	run -0 bt-assemble -C "$out" one.stream
	cmp data/one.bin "$out/one.bin"
}

@test "a file under its real name shorter than the torrent says keeps its verified pieces, and takes its temporary name until it is complete" {
	mkdir -p "$out"
	head -c 100000 data/one.bin >"$out/one.bin"
	run -1 bt-verify --missing one.torrent "$out"
	assert_output "3-9"
	fstream one.torrent data 3 4 5 6 7 8 | bt-assemble -C "$out"
	[ ! -e "$out/one.bin" ]
	run -1 bt-verify --missing one.torrent "$out"
	assert_output "9"
	run -0 bt-assemble -p -C "$out" <(fstream one.torrent data 9)
	assert_output "$out/one.bin"
	cmp data/one.bin "$out/one.bin"
	[ ! -e "$out/one.bin.part" ]
}

@test "a file under its real name with a damaged piece takes its temporary name while the piece is rewritten" {
	mkdir -p "$out"
	cp data/one.bin "$out/one.bin"
	printf 'XXXX' | dd of="$out/one.bin" bs=1 seek=140000 conv=notrunc \
	    2>/dev/null
	run -1 bt-verify --missing one.torrent "$out"
	assert_output "4"
	# Killed before the end of its stream: the file is not complete, so
	# it may not keep its real name.
	# The stream stays open (fd 7): bt-assemble waits for more.
	mkfifo fifo.$BATS_TEST_NUMBER
	exec 7<>fifo.$BATS_TEST_NUMBER
	bt-assemble -C "$out" <fifo.$BATS_TEST_NUMBER 3>&- 7>&- &
	ASM_PID=$!
	fstream one.torrent data 4 >&7
	wait_for 10 bt-verify one.torrent "$out"
	[ -e "$out/one.bin.part" ]
	[ ! -e "$out/one.bin" ]
	kill -9 "$ASM_PID"
	wait "$ASM_PID" || true
	ASM_PID=
	exec 7>&-
	run -0 bt-assemble -p -C "$out" one.torrent
	assert_output "$out/one.bin"
	cmp data/one.bin "$out/one.bin"
}

@test "a zero-length file of the torrent found with bytes in it is left as it is: bt-verify says so, bt-assemble and bt-get stop with status 74" {
	bt-assemble -C "$out" set.stream
	printf 'x' >"$out/set/sub/empty"
	msg="$out: set/sub/empty: longer than the torrent says (1 bytes, not 0)"
	run -1 --separate-stderr bt-verify --missing set.torrent "$out"
	assert_output ""
	assert_equal "$stderr" "bt-verify: $msg"
	run -1 --separate-stderr bt-verify --json set.torrent "$out"
	assert_equal "$(jq -c '[.complete, .bad, .missing]' <<<"$output")" '[false,0,0]'
	run -74 --separate-stderr bt-assemble -C "$out" set.torrent
	assert_equal "$stderr" "bt-assemble: $msg"
	run -74 --separate-stderr bt-get -q -p fast.peers set.torrent "$out"
	assert_equal "$stderr" "bt-verify: $msg
bt-assemble: $msg"
	assert_output ""
	assert_equal "$(cat "$out/set/sub/empty")" "x"
	: >"$out/set/sub/empty"
	run -0 bt-get -q -p fast.peers set.torrent "$out"
	set_identical "$out"
}

# --- kill -9 at random moments ----------------------------------------

# A seed for $RANDOM, printed so that a failure can be replayed.
fault_seed_random() {
	seed=${FAULTS_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
	echo "# seed $seed (FAULTS_SEED=$seed bats tests/faults.bats replays it)"
	RANDOM=$seed
}

# The pieces still to fetch in $out, as numbers; a complete download is
# removed and started again, so that every kill lands in a download.
pieces_to_do() {
	local list
	list=$(bt-verify --missing set.torrent "$out")
	if [ -z "$list" ]; then
		rm -rf "$out"
		: >before
		list=0-35
	fi
	expand_list "$list"
}

# A random order of the arguments in SHUFFLED (Fisher-Yates on $RANDOM;
# not in a $(...) subshell, where bash seeds $RANDOM afresh).
shuffle() {
	local i j t
	SHUFFLED=("$@")
	for ((i = ${#SHUFFLED[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1)))
		t=${SHUFFLED[i]}
		SHUFFLED[i]=${SHUFFLED[j]}
		SHUFFLED[j]=$t
	done
}

ms() {
	printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

@test "bt-assemble killed with -9 at 20 random moments: never a piece called good that is not, never an incomplete file under its real name, never a verified piece lost; a rerun completes" {
	fault_seed_random
	rate=$((6 * 1024 * 1024))
	mkfifo fifo.$BATS_TEST_NUMBER
	: >before
	for k in $(seq 20); do
		shuffle $(pieces_to_do)
		pieces=${SHUFFLED[*]}
		dur=$((${#SHUFFLED[@]} * 65536 * 1000 / rate + 200))
		at=$(((RANDOM * 32768 + RANDOM) % dur))
		echo "# kill $k at $at of $dur ms, pieces $pieces"
		fstream -r "$rate" set.torrent data $pieces \
		    >fifo.$BATS_TEST_NUMBER 2>/dev/null 3>&- &
		THR_PID=$!
		bt-assemble -C "$out" <fifo.$BATS_TEST_NUMBER 2>/dev/null 3>&- &
		ASM_PID=$!
		sleep "$(ms "$at")"
		kill -9 "$ASM_PID" 2>/dev/null || true
		wait "$ASM_PID" || true
		ASM_PID=
		kill "$THR_PID" 2>/dev/null || true
		wait "$THR_PID" || true
		THR_PID=
		check_disk set.torrent data "$out" before >good
		mv good before
	done
	missing=$(bt-verify --missing set.torrent "$out" || true)
	n=$(expand_list "$missing" | wc -l)
	fstream set.torrent data $(expand_list "$missing") >s
	run -0 --separate-stderr bt-assemble -v -C "$out" s
	assert_equal "$stderr" "bt-assemble: $n pieces written, 0 refused; 5 of 5 files complete"
	set_identical "$out"
}

@test "bt-get killed with -9 at 20 random moments: never a piece called good that is not, never an incomplete file under its real name, never a verified piece lost; a rerun completes" {
	fault_seed_random
	rate=$((4 * 1024 * 1024))
	: >before
	for k in $(seq 20); do
		n=$(pieces_to_do | wc -l)
		dur=$((n * 65536 * 1000 / rate + 400))
		at=$(((RANDOM * 32768 + RANDOM) % dur))
		echo "# kill $k at $at of $dur ms, $n pieces to fetch"
		setsid bt-get -q -p slow.peers set.torrent "$out" \
		    >/dev/null 2>&1 3>&- &
		GET_PID=$!
		sleep "$(ms "$at")"
		kill -9 -- "-$GET_PID" 2>/dev/null || true
		wait "$GET_PID" || true
		group_gone "$GET_PID"
		GET_PID=
		check_disk set.torrent data "$out" before >good
		mv good before
	done
	missing=$(bt-verify --missing set.torrent "$out" || true)
	run -0 --separate-stderr bt-get -v -p fast.peers set.torrent "$out"
	if [ -n "$missing" ]; then
		assert_equal "$stderr" "bt-get: fetching pieces $missing"
	else
		assert_equal "$stderr" ""
	fi
	set_identical "$out"
}

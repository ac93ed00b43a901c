# Loaded by every tests/*.bats: puts the build under test first on PATH,
# loads bats-assert, and gives each file a scratch folder for fixtures.
# Helpers for real trackers and peers live in tests/helpers/*.bash, one
# file per kind of service, each loaded here.

top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
: "${BT_BIN:=$top/bin}" "${BT_BUILD:=$top/build/rel}"
export BT_BIN BT_BUILD
PATH="$BT_BIN:$PATH"
BT_TOOLS="$BT_BUILD/tools"
export BT_TOOLS

bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

for h in "$top"/tests/helpers/*.bash; do
	[ -e "$h" ] && . "$h"
done

# A file of N random bytes: rand_file PATH N
rand_file() {
	head -c "$2" /dev/urandom >"$1"
}

# A free TCP port on 127.0.0.1 (bound by the kernel, then released).
free_port() {
	/usr/bin/python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Wait (at most $1 seconds) for the command "$2 ..." to succeed.
wait_for() {
	local limit=$1 i=0
	shift
	while ! "$@" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -ge $((limit * 10)) ] && return 1
		sleep 0.1
	done
}

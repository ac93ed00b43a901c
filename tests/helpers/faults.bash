# Disk faults for tests/faults.bats: small tmpfs mounts, a bt-seed serving
# a torrent on 127.0.0.1, and a checker of what a download left on disk.
# Loaded by tests/helper.bash.

FAULT_MOUNTS=()

# fault_mount DIR OPTIONS: a tmpfs on DIR (made if missing), unmounted by
# fault_umount_all. Non-zero if it cannot be mounted (not root).
fault_mount() {
	mkdir -p "$1"
	mount -t tmpfs -o "$2" tmpfs "$1" 2>/dev/null || return 1
	FAULT_MOUNTS+=("$1")
}

fault_umount_all() {
	local m
	for m in "${FAULT_MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	FAULT_MOUNTS=()
}

# fault_seed TORRENT DIR [bt-seed options...]: a bt-seed on 127.0.0.1,
# any free port, announcing to no tracker; returns once it serves. Sets
# FSEED_PORT; its PID is added to $BATS_FILE_TMPDIR/seed.pids, which
# fault_seed_stop_all stops. Its log is $BATS_FILE_TMPDIR/seed.N.log.
fault_seed() {
	local torrent=$1 dir=$2 log pid
	shift 2
	log=$(mktemp "$BATS_FILE_TMPDIR/seed.XXXXXX")
	bt-seed -v -n -b 127.0.0.1 -p 0 "$@" "$torrent" "$dir" \
	    </dev/null >/dev/null 2>"$log" 3>&- &
	pid=$!
	echo "$pid" >>"$BATS_FILE_TMPDIR/seed.pids"
	wait_for 20 grep -q 'pieces to serve$' "$log" || {
		cat "$log" >&2
		return 1
	}
	FSEED_PORT=$(sed -n \
	    's/^bt-seed: listening on .* port \([0-9]*\)$/\1/p' "$log" |
	    head -n 1)
}

fault_seed_stop_all() {
	local p
	[ -f "$BATS_FILE_TMPDIR/seed.pids" ] || return 0
	for p in $(cat "$BATS_FILE_TMPDIR/seed.pids"); do
		kill "$p" 2>/dev/null
		timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null
		kill -9 "$p" 2>/dev/null || true
	done
	rm -f "$BATS_FILE_TMPDIR/seed.pids"
}

# Wait (at most 10 s) until no process of process group $1 is alive.
group_gone() {
	local i=0
	while ps -e -o pgid=,stat= | awk -v g="$1" \
	    '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'; do
		i=$((i + 1))
		[ "$i" -ge 200 ] && return 1
		sleep 0.05
	done
}

# The piece numbers of a LIST such as "0-9,42", one a line.
expand_list() {
	local r old=$IFS
	IFS=,
	for r in $1; do
		case $r in
		*-*) seq "${r%-*}" "${r#*-}" ;;
		*) echo "$r" ;;
		esac
	done
	IFS=$old
}

# fstream [-r RATE] TORRENT SRCROOT INDEX...: the piece stream of the
# given pieces of TORRENT (files under SRCROOT), as tests/helpers/pieces.bash
# mkstream makes it ("all": every piece), written at about RATE bytes a
# second when -r is given. Debian's python3: it starts much faster than
# the one on PATH, which counts when a test makes 20 streams.
fstream() {
	/usr/bin/python3 - "$BATS_TEST_DIRNAME/helpers" "$@" <<'EOF'
import sys; sys.path.insert(0, sys.argv.pop(1))
import os, time, torrent
args = sys.argv[1:]
rate = 0
if args[0] == '-r':
    rate, args = int(args[1]), args[2:]
tor, root, args = args[0], args[1], args[2:]
raw, info = torrent.load(tor)
n = torrent.npieces(info)
idx = list(range(n)) if args == ['all'] else [int(a) for a in args]
out = torrent.stream(raw, info, torrent.data(info, root), idx)
o = sys.stdout.buffer
if not rate:
    o.write(out)
    sys.exit(0)
try:
    t0 = time.monotonic()
    for k in range(0, len(out), 16384):
        o.write(out[k:k+16384]); o.flush()
        d = t0 + (k + 16384) / rate - time.monotonic()
        if d > 0:
            time.sleep(d)
except BrokenPipeError:
    sys.exit(1)
EOF
}

# check_disk TORRENT SRCROOT DIR [GOODBEFORE]: what a killed download left
# in DIR, against the source data (TORRENT's files under SRCROOT):
#   - every piece bt-verify calls good has the source's bytes, read from
#     NAME or NAME.part (as bt-verify reads them);
#   - every file under its real name is complete and byte-identical;
#   - nothing is in DIR but the torrent's folders, NAME and NAME.part;
#   - with GOODBEFORE (a file of piece numbers, one a line), every piece
#     in it is still good.
# Prints the good pieces, one a line, on stdout; the problems on stderr,
# with a non-zero status.
check_disk() {
	local verdict st
	verdict=$(mktemp)
	st=0
	bt-verify "$1" "$3" >"$verdict" || st=$?
	if [ "$st" -gt 1 ]; then
		echo "bt-verify failed ($st)" >&2
		rm -f "$verdict"
		return 1
	fi
	st=0
	/usr/bin/python3 - "$BATS_TEST_DIRNAME/helpers" "$verdict" "$@" \
	    <<'EOF' || st=$?
import sys; sys.path.insert(0, sys.argv.pop(1))
import os, torrent
verdict, tor, src, out = sys.argv[1:5]
before = sys.argv[5] if len(sys.argv) > 5 else None
raw, info = torrent.load(tor)
pl = info[b'piece length']
files = [(path, n) for path, n, pad in torrent.files(info)]
bad = []
# Source bytes and disk bytes (NAME, else NAME.part, never a link).
srcdata, diskdata, allowed = b'', b'', set()
for path, n in files:
    s = open(os.path.join(src, path), 'rb').read()
    assert len(s) == n
    srcdata += s
    real = os.path.join(out, path)
    part = real + '.part'
    allowed.add(real); allowed.add(part)
    d = b''
    for p in (real, part):
        if os.path.lexists(p):
            if os.path.islink(p):
                bad.append('%s: a symbolic link' % p); break
            d = open(p, 'rb').read()
            break
    if os.path.lexists(real) and not os.path.islink(real):
        if open(real, 'rb').read() != s:
            bad.append('%s: under its real name but not complete' % real)
    diskdata += (d + bytes(n))[:n]
    d = os.path.dirname(path)
    while d:
        allowed.add(os.path.join(out, d)); d = os.path.dirname(d)
for root, dirs, fs in os.walk(out):
    for x in dirs + fs:
        p = os.path.join(root, x)
        if p not in allowed:
            bad.append('%s: not a file of the torrent' % p)
good = []
for line in open(verdict).read().split('\n'):
    if not line:
        continue
    i, state = line.split()
    i = int(i)
    if state == 'good':
        good.append(i)
        if srcdata[i*pl:(i+1)*pl] != diskdata[i*pl:(i+1)*pl]:
            bad.append('piece %d: called good, differs from the source' % i)
if before:
    for l in open(before):
        if l.strip() and int(l) not in good:
            bad.append('piece %s: was good, is not any more' % l.strip())
for b in bad:
    print(b, file=sys.stderr)
for g in good:
    print(g)
sys.exit(1 if bad else 0)
EOF
	rm -f "$verdict"
	return "$st"
}

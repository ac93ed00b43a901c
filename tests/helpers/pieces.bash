# Piece streams for the tests of bt-verify and bt-assemble, built from the
# source data with Debian's python3 (no network). Loaded by tests/helper.bash.

# mkstream TORRENT DATAROOT [-c N] INDEX...: the piece stream of the given
# pieces (in that order) of TORRENT, whose files are under DATAROOT; -c N
# flips one byte of piece N. "all" is every piece.
mkstream() {
	python3 - "$BATS_TEST_DIRNAME/helpers" "$@" <<'EOF'
import sys; sys.path.insert(0, sys.argv.pop(1))
import torrent
args = sys.argv[1:]
tor, root, args = args[0], args[1], args[2:]
bad = -1
if args and args[0] == '-c':
    bad, args = int(args[1]), args[2:]
raw, info = torrent.load(tor)
n = torrent.npieces(info)
idx = list(range(n)) if args == ['all'] else [int(a) for a in args]
sys.stdout.buffer.write(torrent.stream(raw, info, torrent.data(info, root),
                                       idx, bad))
EOF
}

# BEP 6's allowed fast set of a peer at 127.0.0.x for torrent $1, as the
# BEP computes it: SHA-1 of the /24 and the info hash, and so on.
allowed_fast_of() {
	/usr/bin/python3 -c 'import hashlib, struct, sys
ih, n, k = bytes.fromhex(sys.argv[1]), int(sys.argv[2]), 10
x, a = bytes([127, 0, 0, 0]) + ih, []
while len(a) < min(k, n):
    x = hashlib.sha1(x).digest()
    for i in range(5):
        y = struct.unpack(">I", x[4 * i:4 * i + 4])[0] % n
        if len(a) < min(k, n) and y not in a:
            a.append(y)
print(" ".join(map(str, a)))' "$(info_hash_of "$1")" "$2"
}

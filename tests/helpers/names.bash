# Torrents with hostile file names, for tests/names.bats. Loaded by
# tests/helper.bash (so every name here starts with nm_).

# The bytes of a printf(1) format (\e, \xNN, \n ...) in lowercase hex:
# nm_hex 'a\eb' prints 611b62. An empty format gives an empty line.
nm_hex() {
	printf "$1" | od -An -v -tx1 | tr -d ' \n'
	echo
}

# nm_torrent OUT NAMEHEX [PATH...]: write OUT.torrent, a torrent named by
# the bytes NAMEHEX, and OUT.stream, its piece stream (the metainfo, then
# every piece). Without PATH it is a one-file torrent; else each PATH is
# a file: its components in hex joined by '/' ("61/2e2e" is a/.., "61//62"
# has an empty component). A PATH may end in "@k=v" to add the string
# key k with the bytes of the hex v to that file's dictionary (for
# path.utf-8, a list of hex components joined by '/', as in PATH), or a
# NAMEHEX in "@k=v" to the info dictionary (e.g. name.utf-8).
# File i holds 100 + 37 * i bytes, all of them the byte i + 1, so that
# files are told apart by their contents; pieces are 256 bytes with real
# SHA-1 hashes, so the torrent downloads, verifies and assembles. Nothing
# checks the names: that is left to the programs under test.
# With -f first, NAME and the components are printf(1) formats (\\ \a
# \e \n \r \t \xHH \0NNN ...) instead of hex, and "@k=v" is not read:
# nm_torrent -f t d 'a\eb/c' is the file a<ESC>b/c in the folder d.
nm_torrent() {
	/usr/bin/python3 - "$@" <<'EOF'
import hashlib, os, re, sys
SIMPLE = {b'\\': 0x5c, b'a': 7, b'b': 8, b'e': 0x1b, b'f': 12, b'n': 10,
    b'r': 13, b't': 9, b'v': 11, b'"': 0x22, b"'": 0x27}
def unfmt(s):
    out, i = bytearray(), 0
    while i < len(s):
        d = s[i + 1:i + 2]
        if s[i:i + 1] == b'\\' and d in (b'x', b'0'):
            m = re.match(rb'[0-9a-fA-F]{1,2}' if d == b'x' else rb'[0-7]{0,3}',
                s[i + 2:])
            out.append(int(m.group() or b'0', 16 if d == b'x' else 8))
            i += 2 + len(m.group())
        elif s[i:i + 1] == b'\\' and d in SIMPLE:
            out.append(SIMPLE[d])
            i += 2
        else:
            out += s[i:i + 1]
            i += 1
    return bytes(out)
fmt = sys.argv[1] == '-f'
args = [os.fsencode(a) for a in sys.argv[1 + fmt:]]
def enc(v):
    if isinstance(v, int):
        return b'i%de' % v
    if isinstance(v, bytes):
        return b'%d:' % len(v) + v
    if isinstance(v, list):
        return b'l' + b''.join(enc(x) for x in v) + b'e'
    return b'd' + b''.join(enc(k) + enc(v[k]) for k in sorted(v)) + b'e'
def comp(c):
    return unfmt(c) if fmt else bytes.fromhex(c.decode())
def extra(s):
    if fmt:
        return s, {}
    s, _, kv = s.partition(b'@')
    d = {}
    if kv:
        k, _, v = kv.partition(b'=')
        d[k] = ([comp(c) for c in v.split(b'/')]
            if k == b'path.utf-8' else comp(v))
    return s, d
out, name, paths = args[0].decode(), args[1], args[2:]
name, info = extra(name)
info[b'name'] = comp(name)
pl = 256
data = b''
if paths:
    files = []
    for i, p in enumerate(paths):
        p, f = extra(p)
        f[b'length'] = 100 + 37 * i
        f[b'path'] = [comp(c) for c in p.split(b'/')]
        files.append(f)
        data += bytes([i + 1]) * f[b'length']
    info[b'files'] = files
else:
    info[b'length'] = 1000
    data = b'\x01' * 1000
info[b'piece length'] = pl
pieces = [data[i:i + pl] for i in range(0, len(data), pl)]
info[b'pieces'] = b''.join(hashlib.sha1(p).digest() for p in pieces)
raw = enc({b'info': info, b'announce': b'http://127.0.0.1:1/announce'})
open(out + '.torrent', 'wb').write(raw)
with open(out + '.stream', 'wb') as s:
    s.write(raw)
    for i, p in enumerate(pieces):
        s.write(b'd5:indexi%de5:piece%d:' % (i, len(p)) + p + b'e')
EOF
}

# nm_find DIR: every path under DIR (DIR itself excluded), relative to
# it, sorted bytewise, one a line, each byte outside printable ASCII and
# the backslash written \xNN (printf %q would do, but its quoting
# differs between bash versions).
nm_find() {
	(cd "$1" && find . -mindepth 1 -print0) |
	    LC_ALL=C sort -z |
	    /usr/bin/python3 -c '
import sys
for p in sys.stdin.buffer.read().split(b"\0")[:-1]:
    p = p[2:]
    print("".join(chr(b) if 0x20 <= b < 0x7f and b != 0x5c
        else "\\x%02x" % b for b in p))'
}

# nm_no_raw TEXT: fail (naming it) if TEXT holds a byte that drives a
# terminal: ESC, CR, BEL, backspace, C1 CSI (\xc2\x9b), or the
# bidirectional overrides U+202E and U+202D.
nm_no_raw() {
	local what
	case $1 in
	*$'\e'*) what=ESC ;;
	*$'\r'*) what=CR ;;
	*$'\a'*) what=BEL ;;
	*$'\b'*) what=BS ;;
	*$'\xc2\x9b'*) what=CSI ;;
	*$'\xe2\x80\xae'*) what=U+202E ;;
	*$'\xe2\x80\xad'*) what=U+202D ;;
	*) return 0 ;;
	esac
	# %q: the report itself must not drive the terminal.
	printf 'raw %s reaches the terminal in: %q\n' "$what" "$1" >&2
	return 1
}

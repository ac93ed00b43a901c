# Piece streams for the tests of bt-verify and bt-assemble, built from the
# source data with Debian's python3 (no network). Loaded by tests/helper.bash.

# mkstream TORRENT DATAROOT [-c N] INDEX...: the piece stream of the given
# pieces (in that order) of TORRENT, whose files are under DATAROOT; -c N
# flips one byte of piece N. "all" is every piece.
mkstream() {
	python3 - "$@" <<'EOF'
import sys, os
def dec(b, i=0):
    c = b[i:i+1]
    if c == b'i':
        j = b.index(b'e', i); return int(b[i+1:j]), j + 1
    if c in (b'l', b'd'):
        out, i = [], i + 1
        while b[i:i+1] != b'e':
            v, i = dec(b, i); out.append(v)
        return (dict(zip(out[::2], out[1::2])) if c == b'd' else out), i + 1
    j = b.index(b':', i); n = int(b[i:j])
    return b[j+1:j+1+n], j + 1 + n
args = sys.argv[1:]
tor, root, args = args[0], args[1], args[2:]
bad = -1
if args and args[0] == '-c':
    bad, args = int(args[1]), args[2:]
raw = open(tor, 'rb').read()
info = dec(raw)[0][b'info']
name = info[b'name'].decode()
data = b''
if b'files' in info:
    for f in info[b'files']:
        if b'p' in f.get(b'attr', b''):
            data += bytes(f[b'length'])  # BEP 47 pad file: zeros
        else:
            data += open(os.path.join(root, name, *[p.decode()
                                        for p in f[b'path']]), 'rb').read()
else:
    data = open(os.path.join(root, name), 'rb').read()
pl = info[b'piece length']
n = len(info[b'pieces']) // 20
idx = list(range(n)) if args == ['all'] else [int(a) for a in args]
out = sys.stdout.buffer
out.write(raw)
for i in idx:
    p = bytearray(data[i*pl:(i+1)*pl])
    if i == bad:
        p[len(p) // 2] ^= 0xff
    out.write(b'd5:indexi%de5:piece%d:' % (i, len(p)) + bytes(p) + b'e')
EOF
}

# Inputs at and over bt's limits (lib/btlimits.h) for tests/limits.bats,
# written fast by Debian's python3 (the one on PATH lacks nothing here,
# but /usr/bin/python3 is the one every helper uses). Loaded by
# tests/helper.bash.

# limits_gen KIND OUT [N [M]]: write one input to OUT ("-": stdout).
#   tokens N		a list of N integers ("l" "i0e"*N "e")
#   files N		a torrent of N one-byte files
#   sized N		a torrent of exactly N bytes: 2^22 pieces of
#			16 KiB, padded by its comment (a file, not "-")
#   pieces N		a torrent of N pieces of 16 KiB (a file, not "-")
#   plen N		a one-piece torrent of piece length N
#   depth N		a torrent with one file N folders deep
#   pathbytes N		a torrent whose one file's path (name included,
#			joined with '/') is N bytes
#   component N		a torrent whose one file's name is N bytes
#   trackers N		a torrent whose announce-list has N trackers
#   answer N M [D]	a tracker answer of exactly M bytes with N
#			compact peers 127.0.X.Y:6881 (M 0: no padding),
#			then D more that repeat the first
#   failure N		a tracker answer whose failure reason is N bytes
#   answers N M		N tracker answers of M distinct peers each, all
#			different (the stream of bt(7))
limits_gen() {
	/usr/bin/python3 - "$@" <<'EOF'
import sys
kind, out = sys.argv[1], sys.argv[2]
a = [int(x) for x in sys.argv[3:]]
N = a[0] if a else 0

def s(b):
    if isinstance(b, str):
        b = b.encode()
    return b'%d:' % len(b) + b

def torrent(info, extra=b''):
    # info: already-sorted bencoded key/value bytes of the info dict
    return b'd' + extra + s('info') + b'd' + info + b'ee'

def single(name, length, plen, npieces):
    return (s('length') + b'i%de' % length + s('name') + s(name) +
            s('piece length') + b'i%de' % plen +
            s('pieces') + s(bytes(20 * npieces)))

def onefile(path):
    f = (b'd' + s('length') + b'i1e' + s('path') + b'l' +
         b''.join(s(c) for c in path) + b'ee')
    return torrent(s('files') + b'l' + f + b'e' + s('name') + s('t') +
                   s('piece length') + b'i16384e' + s('pieces') +
                   s(bytes(20)))

def compact(i):
    return bytes([127, (i >> 16) & 255, (i >> 8) & 255, i & 255, 0x1a, 0xe1])

w = sys.stdout.buffer if out == '-' else open(out, 'wb')
if kind == 'tokens':
    w.write(b'l' + b'i0e' * N + b'e')
elif kind == 'files':
    fl = b''.join(b'd6:lengthi1e4:pathl7:f%06dee' % i for i in range(N))
    w.write(torrent(s('files') + b'l' + fl + b'e' + s('name') + s('t') +
                    s('piece length') + b'i1048576e' + s('pieces') +
                    s(bytes(20 * ((N + (1 << 20) - 1) >> 20)))))
elif kind in ('sized', 'pieces'):
    # Zeros are written as holes (seek) in a file: a 100 MB torrent in a
    # moment, and reading it costs no disk.
    n = (1 << 22) if kind == 'sized' else N
    head = (s('info') + b'd' + s('length') + b'i%de' % (n * 16384) +
            s('name') + s('t') + s('piece length') + b'i16384e' +
            s('pieces') + b'%d:' % (20 * n))
    parts = [b'd', head, 20 * n, b'ee']
    if kind == 'sized':
        fixed = 1 + len(s('comment')) + len(head) + 20 * n + 2
        for d in range(1, 12):
            L = N - fixed - d - 1
            if len(str(L)) == d:
                break
        parts[1:1] = [s('comment') + b'%d:' % L, L]
    for p in parts:
        if isinstance(p, int):
            w.seek(p, 1)
        else:
            w.write(p)
    assert kind != 'sized' or w.tell() == N, (w.tell(), N)
elif kind == 'plen':
    w.write(torrent(single('t', N, N, 1)))
elif kind == 'depth':
    w.write(onefile(['d'] * N))
elif kind == 'pathbytes':
    # "t" then "/" and components: 1 + sum(1 + len) = N
    left, comps = N - 1, []
    while left > 0:
        k = min(left, 256)
        if left - k == 1:
            k -= 1
        comps.append('c' * (k - 1))
        left -= k
    w.write(onefile(comps))
elif kind == 'component':
    w.write(onefile(['n' * N]))
elif kind == 'trackers':
    al = b'l' + b''.join(b'l' + s('http://127.0.0.1:%d/announce' %
                                  (1024 + i)) + b'e' for i in range(N)) + b'e'
    w.write(torrent(single('t', 1, 16384, 1), s('announce-list') + al))
elif kind == 'answer':
    M = a[1]
    D = a[2] if len(a) > 2 else 0
    peers = b''.join(compact(i) for i in range(N)) + compact(0) * D
    t = b'd' + s('interval') + b'i1800e' + s('peers') + s(peers)
    if M:
        pad = M - len(t) - len(b'1:z') - 1
        p = pad - len(b'%d:' % pad)
        if len(b'%d:' % p) + p != pad:
            p -= 1
        t += s('z') + s(b'z' * p)
        assert len(t) + 1 == M, (len(t) + 1, M)
    w.write(t + b'e')
elif kind == 'failure':
    w.write(b'd' + s('failure reason') + s(b'F' * (N - 1) + b'!') + b'e')
elif kind == 'answers':
    M = a[1]
    for j in range(N):
        peers = b''.join(compact(j * M + i) for i in range(M))
        w.write(b'd' + s('interval') + b'i1800e' + s('peers') + s(peers) +
                b'e')
w.close()
EOF
}

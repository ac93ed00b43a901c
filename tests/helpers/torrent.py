"""What the test helpers need of a torrent, in Python with no library:
a bencode decoder, the torrent's files, its data read from a source
folder, and the piece stream (bt(7)) of some of its pieces. Imported by
the python3 snippets of tests/helpers/*.bash (sys.path has this folder).
"""
import os


def bdecode(b, i=0):
    """The value at b[i:] and the offset after it."""
    c = b[i:i+1]
    if c == b'i':
        j = b.index(b'e', i)
        return int(b[i+1:j]), j + 1
    if c in (b'l', b'd'):
        out, i = [], i + 1
        while b[i:i+1] != b'e':
            v, i = bdecode(b, i)
            out.append(v)
        return (dict(zip(out[::2], out[1::2])) if c == b'd' else out), i + 1
    j = b.index(b':', i)
    n = int(b[i:j])
    return b[j+1:j+1+n], j + 1 + n


def load(path):
    """The torrent file's bytes and its info dict."""
    raw = open(path, 'rb').read()
    return raw, bdecode(raw)[0][b'info']


def files(info):
    """(path under the folder, length, is a BEP 47 pad file) per file."""
    name = info[b'name'].decode()
    if b'files' not in info:
        return [(name, info[b'length'], False)]
    return [(os.path.join(name, *[p.decode() for p in f[b'path']]),
             f[b'length'], b'p' in f.get(b'attr', b''))
            for f in info[b'files']]


def data(info, root):
    """All the torrent's bytes, its files read under root (pads: zeros)."""
    return b''.join(bytes(n) if pad else
                    open(os.path.join(root, path), 'rb').read()
                    for path, n, pad in files(info))


def npieces(info):
    return len(info[b'pieces']) // 20


def stream(raw, info, data, idx, bad=-1):
    """The piece stream: the metainfo, then pieces idx (bad: one byte of
    that piece flipped)."""
    pl = info[b'piece length']
    out = [raw]
    for i in idx:
        p = bytearray(data[i*pl:(i+1)*pl])
        if i == bad:
            p[len(p) // 2] ^= 0xff
        out.append(b'd5:indexi%de5:piece%d:' % (i, len(p)) + bytes(p) + b'e')
    return b''.join(out)

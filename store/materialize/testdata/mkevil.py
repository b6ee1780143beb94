#!/usr/bin/python3
"""Writes hostile package archives for the materializer tests (bsdtar refuses to create them).

usage: mkevil.py SPEC.json
SPEC: {"out": path, "format": "conda" | "tar.bz2" | "whl",
       "entries": [{"name": str, "type": "file"|"dir"|"symlink"|"hardlink"|"chr"|"fifo",
                    "data": str, "mode": int, "target": str}]}
For .conda, entries under info/ go to info-*.tar.zst and the rest to pkg-*.tar.zst.
"""
import io, json, os, sys, tarfile, zipfile

spec = json.load(open(sys.argv[1]))
entries = spec["entries"]

def tar_bytes(ents, compression):
    buf = io.BytesIO()
    mode = {"bz2": "w:bz2", None: "w"}[compression]
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT) as tf:
        for e in ents:
            ti = tarfile.TarInfo(e["name"])
            ti.mode = e.get("mode", 0o644)
            t = e.get("type", "file")
            data = e.get("data", "").encode()
            if t == "file":
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
                continue
            ti.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                       "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE,
                       "fifo": tarfile.FIFOTYPE}[t]
            ti.linkname = e.get("target", "")
            tf.addfile(ti)
    return buf.getvalue()

fmt = spec["format"]
out = spec["out"]
if fmt == "tar.bz2":
    open(out, "wb").write(tar_bytes(entries, "bz2"))
elif fmt == "conda":
    import zstandard
    base = os.path.basename(out)[: -len(".conda")]
    info = [e for e in entries if e["name"].startswith("info/")]
    pkg = [e for e in entries if not e["name"].startswith("info/")]
    cctx = zstandard.ZstdCompressor(level=3)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("metadata.json", '{"conda_pkg_format_version": 2}')
        z.writestr("pkg-%s.tar.zst" % base, cctx.compress(tar_bytes(pkg, None)))
        z.writestr("info-%s.tar.zst" % base, cctx.compress(tar_bytes(info, None)))
elif fmt == "whl":
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for e in entries:
            zi = zipfile.ZipInfo(e["name"])
            t = e.get("type", "file")
            if t == "symlink":
                zi.external_attr = (0o120777 << 16)
                z.writestr(zi, e["target"])
            else:
                zi.external_attr = (0o100000 | e.get("mode", 0o644)) << 16
                z.writestr(zi, e.get("data", ""))
else:
    sys.exit("unknown format " + fmt)

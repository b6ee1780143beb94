#!/usr/bin/python3
"""Writes N pure-Python wheels of F files each (bench/fetch_bench.sh): a >=20k-file environment.
usage: fetch_bench_wheels.py OUT_DIR [N=20] [F=1000]"""
import base64, hashlib, os, sys, zipfile

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
f = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
os.makedirs(out, exist_ok=True)
for i in range(n):
    dist, ver = "benchpkg%02d" % i, "1.0.0"
    di = "%s-%s.dist-info" % (dist, ver)
    files = {}
    for j in range(f):
        files["%s/sub%02d/mod%04d.py" % (dist, j // 50, j)] = (
            "# bench module %d/%d\nVALUE = %d\n\ndef value():\n    return VALUE\n" % (i, j, j) + "#" * (j % 400))
    for d in range((f + 49) // 50):
        files["%s/sub%02d/__init__.py" % (dist, d)] = ""
    files[dist + "/__init__.py"] = "from .sub00 import mod0000\n"
    files[di + "/METADATA"] = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (dist, ver)
    files[di + "/WHEEL"] = "Wheel-Version: 1.0\nGenerator: ferry-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[di + "/entry_points.txt"] = "[console_scripts]\n%s = %s:mod0000\n" % (dist, dist)
    rec = []
    with zipfile.ZipFile(os.path.join(out, "%s-%s-py3-none-any.whl" % (dist, ver)), "w", zipfile.ZIP_DEFLATED) as z:
        for p, c in sorted(files.items()):
            b = c.encode()
            z.writestr(p, b)
            rec.append("%s,sha256=%s,%d" % (p, base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode(), len(b)))
        rec.append(di + "/RECORD,,")
        z.writestr(di + "/RECORD", "\n".join(rec) + "\n")

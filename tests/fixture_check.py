#!/usr/bin/python3
"""Independent checks of the generated fixture universe (no ferry code involved).

  fixture_check.py repodata CHANNEL_DIR [--shallow]
      every repodata record: file exists, md5/sha256/size match, filename matches
      name-version-build, info/index.json inside the archive agrees with the record,
      repodata.json.zst decompresses to repodata.json, .conda layout (stored zip, member order),
      and (unless --shallow) every paths.json entry matches the payload (sha256, size, type).
  fixture_check.py wheels PYPI_DIR
      every wheel: RECORD covers every member with a correct urlsafe-b64 sha256 and size,
      METADATA/WHEEL present and consistent with the filename; every index.json / index.html file
      entry has the right sha256; every .metadata file equals the wheel's METADATA and its
      advertised hash.
  fixture_check.py install CHANNEL_DIR PREFIX FILENAME...
      a small reference installer (tarfile + zstandard): extracts the given package files into
      PREFIX, relocates placeholders (text: replace; binary: replace + NUL padding, as conda does),
      installs noarch: python packages into lib/python3.11/site-packages with entry points.

Exit status 0 when everything holds, 1 with one line per problem on stderr otherwise.
Run with Debian's /usr/bin/python3 (needs zstandard).
"""

import base64
import csv
import hashlib
import io
import json
import os
import re
import stat
import sys
import tarfile
import zipfile

import zstandard

PROBLEMS = []


def problem(msg):
    PROBLEMS.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def digests(data):
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest(), len(data)


def conda_tars(path):
    """Return (info_tar, pkg_tar) as TarFile objects for a .conda or .tar.bz2 file."""
    if path.endswith(".conda"):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            base = os.path.basename(path)[:-len(".conda")]
            want = ["metadata.json", "pkg-%s.tar.zst" % base, "info-%s.tar.zst" % base]
            if names != want:
                problem("%s: zip members %s, expected %s" % (path, names, want))
            for zi in z.infolist():
                if zi.compress_type != zipfile.ZIP_STORED:
                    problem("%s: member %s is not ZIP_STORED" % (path, zi.filename))
            meta = json.loads(z.read("metadata.json"))
            if meta.get("conda_pkg_format_version") != 2:
                problem("%s: metadata.json %s" % (path, meta))
            dctx = zstandard.ZstdDecompressor()

            def tar(name):
                raw = dctx.stream_reader(io.BytesIO(z.read(name))).read()
                return tarfile.open(fileobj=io.BytesIO(raw))
            return tar(want[2]), tar(want[1])
    t = tarfile.open(path, "r:bz2")
    return t, t


def check_channel(chan, shallow):
    n = 0
    for sd in sorted(os.listdir(chan)):
        d = os.path.join(chan, sd)
        rp = os.path.join(d, "repodata.json")
        if not os.path.isfile(rp):
            continue
        raw = open(rp, "rb").read()
        zst = rp + ".zst"
        if not os.path.isfile(zst):
            problem("%s missing" % zst)
        elif zstandard.ZstdDecompressor().stream_reader(open(zst, "rb")).read() != raw:
            problem("%s does not decompress to repodata.json" % zst)
        rd = json.loads(raw)
        if rd.get("info", {}).get("subdir") != sd:
            problem("%s: info.subdir %r" % (rp, rd.get("info")))
        for key, ext in (("packages", ".tar.bz2"), ("packages.conda", ".conda")):
            for fn, rec in rd.get(key, {}).items():
                n += 1
                where = "%s/%s" % (sd, fn)
                if not fn.endswith(ext):
                    problem("%s listed under %s" % (where, key))
                path = os.path.join(d, fn)
                if not os.path.isfile(path):
                    problem("%s: file missing" % where)
                    continue
                data = open(path, "rb").read()
                md5, sha, size = digests(data)
                if (rec.get("md5"), rec.get("sha256"), rec.get("size")) != (md5, sha, size):
                    problem("%s: record md5/sha256/size %s/%s/%s != file %s/%s/%s" % (
                        where, rec.get("md5"), rec.get("sha256"), rec.get("size"), md5, sha,
                        size))
                if fn[:-len(ext)] != "%s-%s-%s" % (rec["name"], rec["version"], rec["build"]):
                    problem("%s: filename does not match name-version-build" % where)
                if rec.get("subdir") != sd:
                    problem("%s: subdir %r" % (where, rec.get("subdir")))
                info_tar, pkg_tar = conda_tars(path)
                index = json.load(info_tar.extractfile("info/index.json"))
                for k in ("name", "version", "build", "build_number", "depends", "subdir",
                          "constrains", "track_features", "noarch", "timestamp", "license"):
                    if index.get(k) != rec.get(k):
                        problem("%s: index.json %s=%r but repodata has %r" % (
                            where, k, index.get(k), rec.get(k)))
                if shallow:
                    continue
                paths = json.load(info_tar.extractfile("info/paths.json"))["paths"]
                members = {m.name: m for m in pkg_tar.getmembers()
                           if not m.name.startswith("info/")}
                listed = {e["_path"] for e in paths}
                if set(members) != listed:
                    problem("%s: payload %s vs paths.json %s" % (
                        where, sorted(set(members) ^ listed)[:5], "(symmetric difference)"))
                files = info_tar.extractfile("info/files").read().decode().split()
                if sorted(files) != sorted(listed):
                    problem("%s: info/files disagrees with paths.json" % where)
                for e in paths:
                    m = members.get(e["_path"])
                    if m is None:
                        continue
                    if e["path_type"] == "softlink":
                        if not m.issym():
                            problem("%s: %s should be a symlink" % (where, e["_path"]))
                        continue
                    if not m.isfile():
                        problem("%s: %s is not a regular file" % (where, e["_path"]))
                        continue
                    body = pkg_tar.extractfile(m).read()
                    if hashlib.sha256(body).hexdigest() != e["sha256"] or \
                            len(body) != e["size_in_bytes"]:
                        problem("%s: %s sha256/size disagree with paths.json" % (where,
                                                                                 e["_path"]))
                    ph = e.get("prefix_placeholder")
                    if ph and ph.encode() not in body:
                        problem("%s: %s lacks its placeholder" % (where, e["_path"]))
    print("checked %d records in %s" % (n, chan))
    if n == 0:
        problem("%s: no records" % chan)


# ------------------------------------------------------------------------------------ wheels
def b64(digest):
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_wheel(path):
    fn = os.path.basename(path)
    parts = fn[:-4].split("-")
    name, version = parts[0], parts[1]
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        di = "%s-%s.dist-info" % (name, version)
        for req in ("METADATA", "WHEEL", "RECORD"):
            if di + "/" + req not in names:
                problem("%s: missing %s/%s" % (fn, di, req))
                return None
        rows = list(csv.reader(io.StringIO(z.read(di + "/RECORD").decode())))
        recorded = {}
        for row in rows:
            if len(row) != 3:
                problem("%s: bad RECORD row %r" % (fn, row))
                continue
            recorded[row[0]] = row
        for n in names:
            if n.endswith("/"):
                continue
            row = recorded.pop(n, None)
            if row is None:
                problem("%s: %s not in RECORD" % (fn, n))
                continue
            if n == di + "/RECORD":
                if row[1] or row[2]:
                    problem("%s: RECORD's own row must have empty hash/size" % fn)
                continue
            data = z.read(n)
            if row[1] != "sha256=" + b64(hashlib.sha256(data).digest()) or \
                    row[2] != str(len(data)):
                problem("%s: RECORD hash/size wrong for %s" % (fn, n))
        for n in recorded:
            problem("%s: RECORD lists missing member %s" % (fn, n))
        meta = z.read(di + "/METADATA")
        text = meta.decode()
        mname = re.search(r"^Name: (.+)$", text, re.M).group(1)
        mver = re.search(r"^Version: (.+)$", text, re.M).group(1)
        norm = re.sub(r"[-_.]+", "_", mname).lower()
        if norm != name.lower() or mver != version:
            problem("%s: METADATA says %s %s" % (fn, mname, mver))
        wheel = z.read(di + "/WHEEL").decode()
        if "Wheel-Version: 1.0" not in wheel:
            problem("%s: WHEEL lacks Wheel-Version" % fn)
        tags = parts[-3:]
        for py in tags[0].split("."):
            for abi in tags[1].split("."):
                for plat in tags[2].split("."):
                    if "Tag: %s-%s-%s" % (py, abi, plat) not in wheel:
                        problem("%s: WHEEL lacks Tag %s-%s-%s" % (fn, py, abi, plat))
        return meta


def check_pypi(root):
    simple = os.path.join(root, "simple")
    files_dir = os.path.join(root, "files")
    nwheels = 0
    top = json.load(open(os.path.join(simple, "index.json")))
    for proj in top["projects"]:
        pdir = os.path.join(simple, proj["name"])
        page = json.load(open(os.path.join(pdir, "index.json")))
        html = open(os.path.join(pdir, "index.html")).read()
        for f in page["files"]:
            fn = f["filename"]
            path = os.path.join(files_dir, fn)
            if not os.path.isfile(path):
                problem("%s: %s missing" % (proj["name"], fn))
                continue
            data = open(path, "rb").read()
            sha = hashlib.sha256(data).hexdigest()
            if f["hashes"].get("sha256") != sha:
                problem("%s: index.json sha256 wrong" % fn)
            if ("#sha256=" + sha) not in html:
                problem("%s: index.html lacks #sha256=%s" % (fn, sha))
            if f.get("size") is not None and f["size"] != len(data):
                problem("%s: size %s != %d" % (fn, f["size"], len(data)))
            if fn.endswith(".whl"):
                nwheels += 1
                meta = check_wheel(path)
                cm = f.get("core-metadata", f.get("data-dist-info-metadata"))
                if cm:
                    mpath = path + ".metadata"
                    if not os.path.isfile(mpath):
                        problem("%s: advertises core-metadata but no .metadata file" % fn)
                    else:
                        mdata = open(mpath, "rb").read()
                        if mdata != meta:
                            problem("%s.metadata differs from the wheel's METADATA" % fn)
                        if cm.get("sha256") != hashlib.sha256(mdata).hexdigest():
                            problem("%s.metadata hash differs from core-metadata" % fn)
    print("checked %d wheels in %s" % (nwheels, root))
    if nwheels == 0:
        problem("no wheels under %s" % root)


# ------------------------------------------------------------------------- reference install
def binary_replace(data, placeholder, new):
    """conda's binary relocation: replace within NUL-terminated strings, pad with NULs."""
    ph, nw = placeholder.encode(), new.encode()
    if len(nw) > len(ph):
        raise SystemExit("prefix %s longer than placeholder (%d)" % (new, len(ph)))
    pat = re.compile(re.escape(ph) + b"([^\0]*?)\0")

    def repl(m):
        rest = m.group(1)
        s = nw + rest
        return s + b"\0" * (len(m.group(0)) - len(s))
    out = pat.sub(repl, data)
    assert len(out) == len(data)
    return out


def install(chan, prefix, filenames):
    pyver = "3.11"
    sp = "lib/python%s/site-packages" % pyver
    os.makedirs(prefix, exist_ok=True)
    for fn in filenames:
        path = None
        for sd in ("linux-64", "noarch"):
            if os.path.isfile(os.path.join(chan, sd, fn)):
                path = os.path.join(chan, sd, fn)
        if path is None:
            raise SystemExit("no %s in %s" % (fn, chan))
        info_tar, pkg_tar = conda_tars(path)
        index = json.load(info_tar.extractfile("info/index.json"))
        paths = {e["_path"]: e for e in
                 json.load(info_tar.extractfile("info/paths.json"))["paths"]}
        noarch_py = index.get("noarch") == "python"
        for m in pkg_tar.getmembers():
            if m.name.startswith("info/"):
                continue
            rel = m.name
            if noarch_py:
                if rel.startswith("site-packages/"):
                    rel = sp + rel[len("site-packages"):]
                elif rel.startswith("python-scripts/"):
                    rel = "bin/" + rel[len("python-scripts/"):]
            dst = os.path.join(prefix, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if m.issym():
                os.symlink(m.linkname, dst)
                continue
            data = pkg_tar.extractfile(m).read()
            e = paths.get(m.name, {})
            ph = e.get("prefix_placeholder")
            if ph:
                if e.get("file_mode") == "binary":
                    data = binary_replace(data, ph, prefix)
                else:
                    data = data.replace(ph.encode(), prefix.encode())
            with open(dst, "wb") as fh:
                fh.write(data)
            os.chmod(dst, m.mode & 0o777)
        if noarch_py:
            try:
                link = json.load(info_tar.extractfile("info/link.json"))
            except KeyError:
                link = {}
            for ep in link.get("noarch", {}).get("entry_points", []):
                name, _, target = (x.strip() for x in ep.partition("="))
                mod, _, func = target.partition(":")
                script = os.path.join(prefix, "bin", name)
                with open(script, "w") as fh:
                    fh.write("#!%s/bin/python3\nimport sys\nfrom %s import %s\n"
                             "sys.exit(%s())\n" % (prefix, mod, func, func))
                os.chmod(script, 0o755)
    print("installed %d packages into %s" % (len(filenames), prefix))


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    cmd = sys.argv[1]
    if cmd == "repodata":
        check_channel(sys.argv[2], "--shallow" in sys.argv[3:])
    elif cmd == "wheels":
        check_pypi(sys.argv[2])
    elif cmd == "install":
        install(sys.argv[2], os.path.abspath(sys.argv[3]), sys.argv[4:])
    else:
        raise SystemExit(__doc__)
    if PROBLEMS:
        print("%d problem(s)" % len(PROBLEMS), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Writes a `ferry resolve --json`-shaped lock of hand-picked fixture packages (no resolver), so
the materializer's integration tests do not depend on the solver.

usage: materialize_mklock.py OUT.json CHANNEL_DIR [PYPI_FILES_DIR] FILE...
FILE is a package file name in CHANNEL_DIR/<subdir>/ (conda) or PYPI_FILES_DIR (wheel).
"""
import hashlib, json, os, sys

out, channel, *rest = sys.argv[1:]
pypi_dir = None
if rest and os.path.isdir(rest[0]):
    pypi_dir, rest = rest[0], rest[1:]

repodata = {}
for sub in ("linux-64", "noarch"):
    p = os.path.join(channel, sub, "repodata.json")
    if os.path.exists(p):
        rd = json.load(open(p))
        for key in ("packages", "packages.conda"):
            for fn, rec in rd.get(key, {}).items():
                repodata[fn] = (sub, rec)

pkgs = []
for fn in rest:
    if fn.endswith(".whl"):
        path = os.path.join(pypi_dir, fn)
        data = open(path, "rb").read()
        name, version = fn.split("-")[0], fn.split("-")[1]
        pkgs.append({"kind": "pypi", "name": name.lower().replace("_", "-"), "version": version,
                     "build": None, "filename": fn, "url": "file://" + os.path.abspath(path),
                     "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
        continue
    sub, rec = repodata[fn]
    path = os.path.join(channel, sub, fn)
    pkgs.append({"kind": "conda", "name": rec["name"], "version": rec["version"],
                 "build": rec["build"], "build_number": rec.get("build_number", 0),
                 "subdir": sub, "noarch": rec.get("noarch", ""), "filename": fn,
                 "url": "file://" + os.path.abspath(path), "sha256": rec["sha256"],
                 "md5": rec.get("md5", ""), "size": rec["size"],
                 "depends": rec.get("depends", []), "constrains": rec.get("constrains", []),
                 "channel": "file://" + os.path.abspath(channel)})
pkgs.sort(key=lambda p: (p["kind"], p["name"], p["filename"]))
lines = sorted("linux-64\t%s\t%s\n" % (p["kind"], p["sha256"]) for p in pkgs)
env_id = hashlib.sha256("".join(lines).encode()).hexdigest()
doc = {"lock_version": 1, "environments": [{
    "req_id": hashlib.sha256(("test:" + env_id).encode()).hexdigest(), "env_id": env_id,
    "platform": "linux-64", "steps": [], "name": None, "packages": pkgs}]}
json.dump(doc, open(out, "w"), indent=1)
print(env_id)

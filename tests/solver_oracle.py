#!/usr/bin/env python3
"""Differential test of ferry's conda solver against rattler (resolvo, WASM) on fixtures/cases.json.

usage: solver_oracle.py FERRY FIXTURES_DIR [--update-expected]

For every case both solvers resolve the same request against the fixture channel served over HTTP
on 127.0.0.1 (python -m http.server). rattler-wasm's simpleSolve takes no virtual packages, so the
served copy of the channel carries the target's virtual packages (the defaults of
src/specs/platform.h plus the case's overrides) as records; ferry gets the same overrides with
--virtual-package and ignores channel records named __*.

Checks:
- solvable cases: both solve; ferry picks the versions cases.json expects and the same versions
  as rattler for the requested names; ferry's whole solution is valid, which rattler verifies:
  solving ferry's packages pinned exactly ("name ==version build") must give back exactly that
  set (every dependency satisfied, constrains respected, one record per name);
- unsolvable cases: both fail; ferry's explanation equals tests/oracle/expected/<id>.txt.
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.path.join(HERE, "oracle", "rattler_solve.mjs")
EXPECTED = os.path.join(HERE, "oracle", "expected")

# src/specs/platform.h defaults (version, build).
DEFAULT_VIRTUAL = {
    "linux-64": {"__unix": ("0", "0"), "__linux": ("5.10", "0"), "__glibc": ("2.28", "0"),
                 "__archspec": ("1", "x86_64")},
    "osx-arm64": {"__unix": ("0", "0"), "__osx": ("11.0", "0"), "__archspec": ("1", "arm64")},
    "osx-64": {"__unix": ("0", "0"), "__osx": ("10.15", "0"), "__archspec": ("1", "x86_64")},
    "win-64": {"__win": ("0", "0"), "__archspec": ("1", "x86_64")},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_channel(src, dst, platform, virtual):
    """Copies the repodata of `src` to `dst`, adding virtual packages to the platform subdir."""
    for subdir in sorted(os.listdir(src)):
        rd = os.path.join(src, subdir, "repodata.json")
        if not os.path.isfile(rd):
            continue
        with open(rd) as f:
            doc = json.load(f)
        if subdir == platform:
            for name, (version, build) in sorted(virtual.items()):
                fn = f"{name}-{version}-{build}.tar.bz2"
                doc.setdefault("packages", {})[fn] = {
                    "name": name, "version": version, "build": build, "build_number": 0,
                    "depends": [], "subdir": subdir, "md5": "0" * 32, "sha256": "0" * 64, "size": 1}
        os.makedirs(os.path.join(dst, subdir), exist_ok=True)
        with open(os.path.join(dst, subdir, "repodata.json"), "w") as f:
            json.dump(doc, f)


def run_ferry(ferry, home, channel, case):
    args = [ferry, "--json", "resolve", "--channel", channel, "--platform", case["platform"],
            "-o", os.path.join(home, "ferry.lock")]
    for s in case["specs"]:
        args += ["--conda", s]
    for k, v in sorted(case.get("virtual", {}).items()):
        args += ["--virtual-package", f"{k}={v}"]
    env = dict(os.environ, FERRY_HOME=home)
    for k in list(env):
        if k.startswith("CONDA_OVERRIDE_"):
            del env[k]
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    return r.returncode, r.stdout, r.stderr


def run_rattler(channel, platform, specs):
    r = subprocess.run(["node", ORACLE, "--channel", channel, "--platform", platform] + specs,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"oracle failed: {r.stderr}")
    return json.loads(r.stdout)


def main():
    ferry, fixtures = sys.argv[1], sys.argv[2]
    update = "--update-expected" in sys.argv
    with open(os.path.join(fixtures, "cases.json")) as f:
        cases = json.load(f)
    src = os.path.join(fixtures, cases.get("channel", "channel"))
    tmp = tempfile.mkdtemp(prefix="ferry-oracle-")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", tmp],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failures = []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        for case in cases["cases"]:
            cid = case["id"]
            platform = case["platform"]
            virtual = dict(DEFAULT_VIRTUAL.get(platform, {}))
            for k, v in case.get("virtual", {}).items():
                virtual[k] = (v, "0")
            tag = hashlib.sha256(json.dumps([platform, sorted(virtual.items())]).encode()).hexdigest()[:12]
            chan_dir = os.path.join(tmp, "ch-" + tag)
            if not os.path.isdir(chan_dir):
                make_channel(src, chan_dir, platform, virtual)
            url = f"http://127.0.0.1:{port}/ch-{tag}"
            home = tempfile.mkdtemp(prefix="home-", dir=tmp)
            rc, out, err = run_ferry(ferry, home, url, case)
            ratt = run_rattler(url, platform, case["specs"])

            def fail(msg):
                failures.append(f"{cid}: {msg}")
                print(f"FAIL {cid}: {msg}", flush=True)

            if case["outcome"] == "solvable":
                if rc != 0:
                    fail(f"ferry exit {rc}: {err.strip()}")
                    continue
                pkgs = {p["name"]: p for p in json.loads(out)["environments"][0]["packages"]}
                for name, want in case.get("expect", {}).items():
                    got = f'{pkgs[name]["version"]} {pkgs[name]["build"]}' if name in pkgs else "(missing)"
                    if not (got == want or got.startswith(want + " ")):
                        fail(f"{name}: ferry chose {got}, cases.json expects {want}")
                if not ratt["solved"]:
                    fail(f"rattler could not solve: {ratt['message']}")
                    continue
                rp = {p["name"]: p for p in ratt["packages"] if not p["name"].startswith("__")}
                requested = [s.split()[0].split("=")[0].split("<")[0].split(">")[0] for s in case["specs"]]
                for name in requested:
                    if name in pkgs and name in rp and pkgs[name]["version"] != rp[name]["version"]:
                        fail(f"{name}: ferry {pkgs[name]['version']} vs rattler {rp[name]['version']}")
                pins = [f'{p["name"]} =={p["version"]} {p["build"]}' for p in pkgs.values()]
                check = run_rattler(url, platform, pins)
                if not check["solved"]:
                    fail(f"ferry's solution is not valid for rattler: {check['message']}")
                    continue
                back = {p["filename"] for p in check["packages"] if not p["name"].startswith("__")}
                mine = {p["filename"] for p in pkgs.values()}
                if back != mine:
                    fail(f"ferry's solution is incomplete: rattler adds {sorted(back - mine)}, "
                         f"drops {sorted(mine - back)}")
                print(f"ok   {cid}: {len(pkgs)} packages, same as rattler for {requested}", flush=True)
            else:
                if rc != 1:
                    fail(f"ferry exit {rc}, expected 1 (unsolvable)")
                    continue
                doc = json.loads(out)
                if doc.get("error") != "unsolvable":
                    fail(f"--json error kind {doc.get('error')}")
                if ratt["solved"]:
                    fail("rattler solved a case that ferry says is unsolvable")
                message = doc.get("message", "")
                for name in case.get("conflict", []):
                    if name not in message:
                        fail(f"explanation does not mention {name}")
                path = os.path.join(EXPECTED, cid + ".txt")
                if update:
                    os.makedirs(EXPECTED, exist_ok=True)
                    with open(path, "w") as f:
                        f.write(message + "\n")
                with open(path) as f:
                    want = f.read().rstrip("\n")
                if message != want:
                    fail(f"explanation differs from {path}:\n--- got\n{message}\n--- expected\n{want}")
                else:
                    print(f"ok   {cid}: unsolvable in both; explanation matches", flush=True)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("all cases agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())

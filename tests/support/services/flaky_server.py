#!/usr/bin/python3
"""flaky_server.py start DIR | stop DIR | serve DIR — a fault-injecting HTTP/1.1 test server.

start: launches `serve DIR` in the background (setsid, output in DIR/flaky.out), waits until it
       answers /health and prints its URL. stop: terminates it (only if its command line names
       DIR). serve: runs in the foreground on 127.0.0.1 and a kernel-chosen free port, writing
       DIR/port and DIR/url once listening; every request is logged to DIR/flaky.log.

Endpoints (keep-alive, every response has a Content-Length; request bodies are always read):
  /health                      200 "ok"
  /echo                        200, JSON of the request: method, path, headers (lower-cased
                               names), body_size, body_sha256
  /fail/<key>?n=N&mode=M&size=S&retry_after=R&hang=H
                               The first N requests (default 1) to this path misbehave:
                                 mode=503      503 with a small body (default)
                                 mode=429      429 with "Retry-After: R" (default 1)
                                 mode=close    close the connection without answering
                                 mode=partial  announce S bytes, send half, close
                                 mode=hang     sleep H seconds (default 5), then 503
                               Later requests succeed: GET/HEAD serve Content(key, S) (S default
                               1024), PUT/POST store the body under <key> and answer JSON
                               {"size", "sha256", "content_type"}.
  /stored/<key>                GET the body last stored under <key> (404 if none)
  /count/<key>                 JSON {"requests": number of requests seen on /fail/<key>}
  /content/<key>?size=S        Content(key, S) without failures
  /status/<code>               answers with that status and a small body
Content(key, S) = the first S bytes of sha256_hex(key) repeated (64 ASCII hex characters).
"""
import hashlib
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

LOCK = threading.Lock()
COUNTS = {}
STORED = {}


def content(key: str, size: int) -> bytes:
    unit = hashlib.sha256(key.encode()).hexdigest().encode()
    reps = size // len(unit) + 1
    return (unit * reps)[:size]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "flaky/1"

    def log_message(self, fmt, *args):  # to DIR/flaky.log
        self.server.log.write("%s %s\n" % (self.log_date_time_string(), fmt % args))
        self.server.log.flush()

    def read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        data = b""
        while len(data) < n:
            chunk = self.rfile.read(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def reply(self, code, body=b"", headers=None, head=False):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        body = self.read_body()
        head = self.command == "HEAD"
        parts = url.path.split("/", 2)
        kind = parts[1] if len(parts) > 1 else ""
        key = parts[2] if len(parts) > 2 else ""
        if url.path == "/health":
            return self.reply(200, b"ok\n", head=head)
        if url.path == "/echo":
            doc = {"method": self.command, "path": self.path,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body_size": len(body), "body_sha256": hashlib.sha256(body).hexdigest()}
            return self.reply(200, json.dumps(doc, sort_keys=True).encode(),
                              {"Content-Type": "application/json"}, head)
        if kind == "status":
            return self.reply(int(key), b"status %s\n" % key.encode(), head=head)
        if kind == "count":
            with LOCK:
                n = COUNTS.get(key, 0)
            return self.reply(200, json.dumps({"requests": n}).encode(),
                              {"Content-Type": "application/json"}, head)
        if kind == "stored":
            with LOCK:
                data = STORED.get(key)
            if data is None:
                return self.reply(404, b"not stored\n", head=head)
            return self.reply(200, data, {"Content-Type": "application/octet-stream"}, head)
        if kind == "content":
            return self.reply(200, content(key, int(q.get("size", 1024))), {}, head)
        if kind != "fail":
            return self.reply(404, b"no such endpoint\n", head=head)

        with LOCK:
            seen = COUNTS.get(key, 0)
            COUNTS[key] = seen + 1
        size = int(q.get("size", 1024))
        if seen < int(q.get("n", 1)):
            mode = q.get("mode", "503")
            if mode == "429":
                return self.reply(429, b"slow down\n", {"Retry-After": q.get("retry_after", "1")},
                                  head)
            if mode == "close":
                self.close_connection = True
                return
            if mode == "partial":
                data = content(key, size)
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self.wfile.write(data[: size // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            if mode == "hang":
                time.sleep(float(q.get("hang", 5)))
            return self.reply(503, b"injected failure\n", {"Retry-After": q.get("retry_after", "0")}
                              if "retry_after" in q else {}, head)
        if self.command in ("PUT", "POST"):
            with LOCK:
                STORED[key] = body
            doc = {"size": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                   "content_type": self.headers.get("Content-Type", "")}
            return self.reply(200, json.dumps(doc, sort_keys=True).encode(),
                              {"Content-Type": "application/json"}, head)
        return self.reply(200, content(key, size), {"Content-Type": "application/octet-stream"},
                          head)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = handle_any


def serve(d: str) -> int:
    os.makedirs(d, exist_ok=True)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.log = open(os.path.join(d, "flaky.log"), "a", buffering=1)
    port = srv.server_address[1]
    for name, value in (("port", str(port)), ("url", "http://127.0.0.1:%d" % port)):
        tmp = os.path.join(d, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(value + "\n")
        os.replace(tmp, os.path.join(d, name))
    with open(os.path.join(d, "flaky.pid"), "w") as f:
        f.write(str(os.getpid()) + "\n")
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever()
    return 0


def ours(d: str):
    try:
        pid = int(open(os.path.join(d, "flaky.pid")).read())
        cmdline = open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if os.fsencode(d) in cmdline else None


def stop(d: str) -> int:
    pid = ours(d)
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not ours(d):
                break
            time.sleep(0.1)
        if ours(d):
            os.kill(pid, signal.SIGKILL)
    for name in ("flaky.pid", "port", "url"):
        try:
            os.unlink(os.path.join(d, name))
        except OSError:
            pass
    return 0


def start(d: str) -> int:
    os.makedirs(d, exist_ok=True)
    stop(d)
    for name in ("flaky.log", "flaky.out"):
        try:
            os.unlink(os.path.join(d, name))
        except OSError:
            pass
    out = open(os.path.join(d, "flaky.out"), "w")
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", d],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                            start_new_session=True)
    for _ in range(100):
        if proc.poll() is not None:
            break
        try:
            url = open(os.path.join(d, "url")).read().strip()
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                    url + "/health", timeout=2) as r:
                if r.status == 200:
                    print("flaky_server.py: serving on %s (log %s/flaky.log)" % (url, d))
                    return 0
        except OSError:
            pass
        time.sleep(0.05)
    sys.stderr.write("flaky_server.py: did not become healthy; %s/flaky.out:\n" % d)
    sys.stderr.write(open(os.path.join(d, "flaky.out")).read()[-2000:])
    stop(d)
    return 1


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop", "serve"):
        sys.stderr.write("usage: flaky_server.py start|stop|serve DIR\n")
        return 2
    d = os.path.abspath(sys.argv[2])
    return {"start": start, "stop": stop, "serve": serve}[sys.argv[1]](d)


if __name__ == "__main__":
    sys.exit(main())

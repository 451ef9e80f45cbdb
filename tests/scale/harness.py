"""What the scale suite's Python tests share: counting checks, psql, and
starting the real service binaries (stopped at the end of the run)."""
import os
import signal
import socket
import subprocess
import sys
import time

import requests

BIN = os.environ["MLPIPE_BIN"]
TOKEN = "scale-token"
AUTH = {"Authorization": "Bearer " + TOKEN}
counts = {"passed": 0, "failed": 0}
procs = []


def check(cond, what, detail=""):
    counts["passed" if cond else "failed"] += 1
    print(("ok   " if cond else "FAIL ") + what + ("  -- " + str(detail)[:600] if detail and not cond else ""))


def psql(db, sql, host=None, port=None, ok=True, args=()):
    """psql's unaligned output; with ok=False the CompletedProcess, errors included."""
    cmd = ["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", db, *args]
    if port:
        cmd += ["-h", host or "127.0.0.1", "-p", port]
    r = subprocess.run(cmd + (["-c", sql] if sql else []), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    if not ok:
        return r
    if r.returncode != 0:
        raise RuntimeError("psql %s: %s" % (db, r.stderr))
    return r.stdout.strip()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(kind, **env):
    """Starts mlpipe-KIND on a free port with env added; returns its base URL."""
    port = free_port()
    e = dict(os.environ, HOST="127.0.0.1", PORT=str(port), MLPIPE_API_TOKEN=TOKEN, PGCONNECT_TIMEOUT="2", **env)
    p = subprocess.Popen([os.path.join(BIN, "mlpipe-" + kind)], env=e, stderr=subprocess.DEVNULL)
    procs.append(p)
    url = "http://127.0.0.1:%d" % port
    for _ in range(100):
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return url
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(kind + " did not start")


def run(name, body):
    """Runs body(); a crash of the test itself is a failure.  Stops the services."""
    try:
        body()
    except Exception as e:
        check(False, "test run raised %r" % (e,))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait()
    print("%s: %d passed, %d failed" % (name, counts["passed"], counts["failed"]))
    sys.exit(1 if counts["failed"] else 0)

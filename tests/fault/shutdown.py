#!/usr/bin/python3
"""SIGTERM under keep-alive load (run by fault.py; also on its own:
tests/fault/shutdown.py build/bin [runs]).

The inference service is started with its database unreachable, so that
every /predict fails fast and eight keep-alive clients keep requests
coming as quickly as they can; SIGTERM comes one second later.  Requests
that arrived after the dispatchers had stopped used to be queued with
nobody to run them, their connections suspended, and libmicrohttpd then
aborted the process in MHD_stop_daemon ("called while we have suspended
connections"): SIGABRT in about half of the runs.  Each run must exit 0,
and every request must get an answer or see its connection closed.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

CLIENTS = 8
BODY = json.dumps({"model_name": "m", "purchase_data": {
    "customer_id": 1, "purchase_date": "2024-01-01", "purchase_amount": 1.0,
    "annual_income": 1.0, "age": 30, "gender": "Male"}})


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _wait_listening(port, proc):
    deadline = time.time() + 15
    while time.time() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class _Client(threading.Thread):
    """POSTs /predict on one keep-alive connection until told to stop."""

    def __init__(self, port, stop):
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        self.answers = self.timeouts = self.closed_after_signal = 0
        self.signalled = False

    def run(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", "/predict", BODY, {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                self.answers += 1
                if r.getheader("Connection", "").lower() == "close":
                    if self.signalled:
                        self.closed_after_signal += 1
                    conn.close()
                    conn = None
            except socket.timeout:
                self.timeouts += 1			# neither answered nor closed
                conn = None
            except (OSError, http.client.HTTPException):
                conn = None					# closed: what shutdown may do
                time.sleep(0.01)
        if conn is not None:
            conn.close()


def one_run(bin_dir, log_path, track=lambda proc: None):
    """One start, load, SIGTERM; returns a dict of what happened."""
    port = _free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port),
               DATABASE_URL="host=127.0.0.1 port=%d dbname=none user=none connect_timeout=2"
               % _free_port())
    for k in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD"):
        env.pop(k, None)
    with open(log_path, "w") as log:
        proc = subprocess.Popen([os.path.join(bin_dir, "mlpipe-inference")], env=env,
                                stdout=log, stderr=log)
    track(proc)
    out = {"started": _wait_listening(port, proc), "rc": None, "seconds": None}
    stop = threading.Event()
    clients = [_Client(port, stop) for _ in range(CLIENTS)]
    try:
        if out["started"]:
            for c in clients:
                c.start()
            time.sleep(1)
            for c in clients:
                c.signalled = True
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                out["rc"] = proc.wait(timeout=40)
                out["seconds"] = time.monotonic() - t0
            except subprocess.TimeoutExpired:
                out["rc"] = "no exit within 40 s"
    finally:
        stop.set()
        for c in clients:
            if c.is_alive():
                c.join(timeout=15)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with open(log_path, errors="replace") as log:
        out["fatal"] = [line.strip() for line in log if "Fatal error" in line]
    out["answers"] = sum(c.answers for c in clients)
    out["timeouts"] = sum(c.timeouts for c in clients)
    out["closed_after_signal"] = sum(c.closed_after_signal for c in clients)
    return out


def test_sigterm_keepalive(check, note, bin_dir, logdir, runs=6, track=lambda proc: None):
    results = [one_run(bin_dir, os.path.join(logdir, "shutdown.%d.log" % i), track)
               for i in range(runs)]
    check(all(r["started"] for r in results), "shutdown: inference starts with its database unreachable")
    rcs = [r["rc"] for r in results]
    check(all(rc == 0 for rc in rcs),
          "shutdown: SIGTERM under %d keep-alive /predict clients exits 0 in %d of %d runs"
          % (CLIENTS, sum(rc == 0 for rc in rcs), runs),
          "exit statuses %s (-6: SIGABRT); %s" % (rcs, [f for r in results for f in r["fatal"]][:2]))
    check(sum(r["timeouts"] for r in results) == 0,
          "shutdown: every request answered or its connection closed (none left hanging)",
          [r["timeouts"] for r in results])
    check(sum(r["closed_after_signal"] for r in results) > 0,
          "shutdown: answers after SIGTERM say Connection: close",
          [r["closed_after_signal"] for r in results])
    secs = [r["seconds"] for r in results if r["seconds"] is not None]
    if secs:
        note("shutdown: seconds from SIGTERM to exit, max of %d runs" % len(secs), "%.2f" % max(secs))
    note("shutdown: requests answered per run", [r["answers"] for r in results])


if __name__ == "__main__":
    passed = failed = 0

    def _check(cond, what, detail=""):
        global passed, failed
        passed, failed = passed + bool(cond), failed + (not cond)
        print(("ok   " if cond else "FAIL ") + what + ("" if cond else "  -- " + str(detail)), flush=True)

    def _note(what, value):
        print("     %s: %s" % (what, value), flush=True)

    import tempfile
    with tempfile.TemporaryDirectory() as d:
        test_sigterm_keepalive(_check, _note, sys.argv[1], d,
                               int(sys.argv[2]) if len(sys.argv) > 2 else 6)
    print("shutdown: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)

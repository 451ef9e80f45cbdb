#!/usr/bin/python3
"""Fault and abuse tests of the mlpipe services (run by tests/fault/run.sh).

Environment (set by run.sh): FAULT_TOP (repository), FAULT_BIN (binaries),
FAULT_LOGDIR (service logs, pid file), PG* (a superuser session on the
throwaway cluster), MLPIPE_PG_NAME / MLPIPE_PGPORT (for scripts/pg.sh).

Every loop is bounded in count and time; everything talks to 127.0.0.1.
The services run as their own roles (sql/roles.sql), two worker threads each.
"""
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import requests

import shutdown

TOP = os.environ["FAULT_TOP"]
BIN = os.environ["FAULT_BIN"]
LOGDIR = os.environ["FAULT_LOGDIR"]
PG_SH = os.path.join(TOP, "scripts", "pg.sh")
TOKEN = "fault-token-%d" % os.getpid()
AUTH = {"Authorization": "Bearer " + TOKEN}
RUN = str(os.getpid())
MAX_UPLOAD = 8 * 1024 * 1024
MAX_BODY = 1024 * 1024			# the services' default MLPIPE_MAX_BODY
CONN_TIMEOUT = 60				# MHD_OPTION_CONNECTION_TIMEOUT in services/common/server.c
HTTP_TIMEOUT = 30				# seconds a test client waits for any answer

passed = 0
failed = 0
numbers = []					# (what, value) measured, printed at the end


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + what, flush=True)
    else:
        failed += 1
        print("FAIL " + what + ("  -- " + str(detail)[:1500] if detail else ""), flush=True)
    return cond


def note(what, value):
    numbers.append((what, value))
    print("     %s: %s" % (what, value), flush=True)


def psql(sql):
    r = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError("psql failed: %s: %s" % (sql, r.stderr))
    return r.stdout.strip()


def pg(cmd):
    r = subprocess.run([PG_SH, cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, timeout=120)
    return r.returncode, r.stdout


def free_port(start):
    p = start
    while p < start + 2000:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            return p
        except OSError:
            p += 1
        finally:
            s.close()
    raise RuntimeError("no free port")


# ---- the services ---------------------------------------------------------

class Service:
    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.proc = None
        self.starts = 0

    def start(self):
        env = dict(os.environ, PGUSER="mlpipe_" + self.name, MLPIPE_API_TOKEN=TOKEN,
                   MLPIPE_MAX_UPLOAD=str(MAX_UPLOAD), MLPIPE_THREADS="2",
                   HOST="127.0.0.1", PORT=str(self.port))
        self.starts += 1
        log = open(os.path.join(LOGDIR, "%s.%d.log" % (self.name, self.starts)), "w")
        self.proc = subprocess.Popen([os.path.join(BIN, "mlpipe-" + self.name)], env=env,
                                     stdout=log, stderr=log)
        log.close()
        write_pids()
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                self.kill9()

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1


SERVICES = {}
EXTRA_PROCS = []				# started by a test on its own (shutdown.py)


def write_pids():
    with open(os.path.join(LOGDIR, "pids"), "w") as f:
        for s in SERVICES.values():
            if s.proc is not None and s.proc.poll() is None:
                f.write("%d\n" % s.proc.pid)
        for proc in EXTRA_PROCS:
            if proc.poll() is None:
                f.write("%d\n" % proc.pid)


def track_proc(proc):
    EXTRA_PROCS.append(proc)
    write_pids()


def reg():
    return SERVICES["registry"]


def inf():
    return SERVICES["inference"]


def pre():
    return SERVICES["preprocessing"]


# ---- models and requests ----------------------------------------------------

STD = {"params": {
    "purchase_amount": {"mean": 250.0, "std": 120.0},
    "annual_income": {"mean": 70000.0, "std": 20000.0},
    "clv": {"mean": 900.0, "std": 600.0},
    "age_income_interaction": {"mean": 2800000.0, "std": 1500000.0},
}}


def train(rounds, depth, rows, path):
    import numpy as np
    import xgboost as xgb
    rng = np.random.RandomState(11)
    X = rng.rand(rows, 19)
    y = X[:, 15] * 200 + X[:, 0] * 50 + rng.rand(rows)
    booster = xgb.train({"max_depth": depth, "objective": "reg:squarederror", "nthread": 1,
                         "eta": 0.1}, xgb.DMatrix(X, label=y), num_boost_round=rounds)
    booster.save_model(path)
    with open(path, "rb") as f:
        return f.read()


def form(name, version):
    return {"model_name": name, "version": version,
            "standardization_params": json.dumps(STD),
            "model_params": json.dumps({"max_depth": 3}),
            "additional_metadata": json.dumps({"suite": "fault"})}


def register(name, version, data, timeout=HTTP_TIMEOUT):
    """The old pipeline's client call (requests multipart), a new connection each time."""
    return requests.post(reg().url + "/register_model", data=form(name, version),
                         files={"model_file": ("model.json", data)}, headers=AUTH, timeout=timeout)


def purchase(cid=42, **kw):
    p = {"customer_id": cid, "purchase_date": "2024-03-05T10:20:30+02:00",
         "purchase_amount": 180.5, "annual_income": 64000, "age": 37, "gender": "Female"}
    p.update(kw)
    return p


def rows_of(name):
    out = psql("SELECT version || ' ' || sha256 || ' ' || encode(sha256(artifact), 'hex') || ' ' "
               "|| length(artifact) FROM mlpipe.models WHERE model_name = '%s'" % name)
    rows = {}
    for line in out.splitlines():
        v, sha_col, sha_art, n = line.split(" ")
        rows[v] = (sha_col, sha_art, int(n))
    return rows


def is_error_json(r):
    try:
        return r.headers.get("Content-Type", "").startswith("application/json") and "detail" in r.json()
    except ValueError:
        return False


# ---- 1. database outage under load ----------------------------------------

def test_outage(small_model, base_name):
    print("== 1. database outage under load", flush=True)
    name = "fault_outage_" + RUN
    stop_flag = threading.Event()
    lock = threading.Lock()
    results = []			# (kind, detail, t_sent, t_done, status or exception text)
    counter = [0]

    def record(kind, detail, t0, outcome):
        with lock:
            results.append((kind, detail, t0, time.monotonic(), outcome))

    def predict_loop():
        body = {"model_name": base_name, "model_version": "1.0", "purchase_data": purchase(42)}
        for _ in range(5000):
            if stop_flag.is_set():
                return
            t0 = time.monotonic()
            try:
                r = requests.post(inf().url + "/predict", json=body, timeout=HTTP_TIMEOUT)
                record("predict", None, t0, r.status_code)
            except requests.RequestException as e:
                record("predict", None, t0, "%s: %s" % (type(e).__name__, e))
            time.sleep(0.02)

    def register_loop():
        for _ in range(5000):
            if stop_flag.is_set():
                return
            with lock:
                counter[0] += 1
                version = "o.%d" % counter[0]
            t0 = time.monotonic()
            try:
                r = register(name, version, small_model)
                record("register", version, t0, r.status_code)
            except requests.RequestException as e:
                record("register", version, t0, "%s: %s" % (type(e).__name__, e))
            time.sleep(0.02)

    threads = [threading.Thread(target=predict_loop) for _ in range(2)] + \
        [threading.Thread(target=register_loop) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        t_stop = time.monotonic()
        rc, out = pg("stop")
        t_stopped = time.monotonic()
        check(rc == 0, "database stopped under load", out)
        time.sleep(3.0)
        t_start_called = time.monotonic()
        rc, out = pg("start")
        t_started = time.monotonic()
        check(rc == 0, "database started again", out)
        # keep sending until both services answered 2xx after the start (bounded)
        deadline = t_started + 30
        while time.monotonic() < deadline:
            with lock:
                kinds = {k for k, _, t0, _, o in results if t0 >= t_started and o == 200}
            if kinds >= {"predict", "register"}:
                break
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        stop_flag.set()
        for t in threads:
            t.join(timeout=60)
        if pg("status")[0] != 0:
            pg("start")

    note("outage: requests sent", len(results))
    note("outage: database down for (s)", "%.2f" % (t_started - t_stopped))
    dropped = [r for r in results if not isinstance(r[4], int)]
    check(not dropped, "no connection refused/reset/timeout during the outage (%d requests)" % len(results),
          dropped[:5])
    bad = [r for r in results if isinstance(r[4], int) and not (200 <= r[4] < 300 or r[4] == 503)]
    check(not bad, "only 2xx or 503 answers, never another status", bad[:5])
    # sent after the stop returned, answered before the start began (pg.sh start
    # returns a little after the server accepts connections again)
    during = [r for r in results if r[2] >= t_stopped and r[3] <= t_start_called]
    during_503 = [r for r in during if r[4] == 503]
    note("outage: requests sent and answered while the database was down", len(during))
    check(during and len(during_503) == len(during),
          "every request sent while the database was down got 503 (%d)" % len(during),
          [r for r in during if r[4] != 503][:5])
    before = [r for r in results if r[3] < t_stop]
    check(before and all(r[4] == 200 for r in before), "requests before the outage got 200 (%d)" % len(before),
          [r for r in before if r[4] != 200][:5])
    for kind in ("predict", "register"):
        first = [r[3] for r in results if r[0] == kind and r[2] >= t_started and r[4] == 200]
        if check(first, "%s answers 2xx after the database is back" % kind):
            secs = min(first) - t_started
            note("outage: %s first 2xx after start returned (s)" % kind, "%.3f" % secs)
            check(secs <= 5.0, "%s recovered within 5 s of the database start" % kind, "%.3f s" % secs)
        late503 = [r for r in results if r[0] == kind and r[2] >= t_started + 5 and r[4] != 200]
        check(not late503, "%s: no failures more than 5 s after the database is back" % kind, late503[:5])
    for svc in ("inference", "registry"):
        check(SERVICES[svc].alive(), "%s process survived the outage" % svc)

    ok_versions = {r[1] for r in results if r[0] == "register" and r[4] == 200}
    failed_versions = {r[1] for r in results if r[0] == "register" and r[4] != 200}
    note("outage: registrations 200 / failed", "%d / %d" % (len(ok_versions), len(failed_versions)))
    rows = rows_of(name)
    check(ok_versions <= set(rows), "every registration that got 200 is in mlpipe.models",
          sorted(ok_versions - set(rows))[:10])
    check(not (failed_versions & set(rows)), "no registration that failed is in mlpipe.models",
          sorted(failed_versions & set(rows))[:10])
    check(set(rows) <= ok_versions | failed_versions, "no unexpected rows", sorted(set(rows))[:10])
    listed = requests.get(reg().url + "/list_models", timeout=HTTP_TIMEOUT)
    names = set()
    if listed.status_code == 200:	# [{"model_name": .., "versions": [..]}]
        for m in listed.json():
            names |= {(m.get("model_name"), v) for v in m.get("versions", [])}
    check({(name, v) for v in ok_versions} <= names, "/list_models lists every registration that got 200")
    psql("DELETE FROM mlpipe.models WHERE model_name = '%s'" % name)


# ---- 2. kill -9 of the registry during an upload -----------------------------

def multipart_body(name, version, data, boundary):
    parts = []
    for k, v in form(name, version).items():
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                      % (boundary, k, v)).encode())
    parts.append(("--%s\r\nContent-Disposition: form-data; name=\"model_file\"; filename=\"big.json\"\r\n"
                  "Content-Type: application/json\r\n\r\n" % boundary).encode() + data + b"\r\n")
    parts.append(("--%s--\r\n" % boundary).encode())
    return b"".join(parts)


def raw_upload_socket(name, version, data):
    boundary = "faultBoundary%s" % RUN
    body = multipart_body(name, version, data, boundary)
    head = ("POST /register_model HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (TOKEN, boundary, len(body))).encode()
    s = socket.create_connection(("127.0.0.1", reg().port), timeout=10)
    return s, head, body


def registry_backends_active():
    return int(psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mlpipe-registry' "
                    "AND state <> 'idle'"))


def wait_registry_backends_done():
    """The killed registry's backend may still be inserting: wait for it (bounded)."""
    deadline = time.time() + 30
    while time.time() < deadline:
        if registry_backends_active() == 0:
            return True
        time.sleep(0.05)
    return False


def restart_registry(what):
    ok = reg().start()
    check(ok, "registry restarts after kill -9 (%s)" % what)
    return ok


def test_kill_upload(big_model, small_model):
    print("== 2. kill -9 of the registry during uploads", flush=True)
    name = "fault_kill_" + RUN
    sha = hashlib.sha256(big_model).hexdigest()
    note("kill: upload size (bytes)", len(big_model))

    # a) half the body sent, then kill -9
    s, head, body = raw_upload_socket(name, "half", big_model)
    s.sendall(head + body[:len(body) // 2])
    time.sleep(0.3)
    reg().kill9()
    write_pids()
    try:
        got = s.recv(100)
        closed = got == b""
    except OSError:
        closed = True
    s.close()
    check(closed, "the half-sent upload's connection is closed by the kill")
    wait_registry_backends_done()
    check("half" not in rows_of(name), "no row for the upload killed half way")
    if not restart_registry("half upload"):
        return
    r = requests.get(reg().url + "/list_models", timeout=HTTP_TIMEOUT)
    check(r.status_code == 200, "registry lists models after the restart", r.status_code)
    r = register(name, "half", big_model, timeout=120)
    check(r.status_code == 200 and r.json().get("sha256") == sha,
          "the same (name, version) registers completely after the restart", (r.status_code, r.text[:300]))
    row = rows_of(name).get("half")
    check(row is not None and row[0] == sha and row[1] == sha and row[2] == len(big_model),
          "stored artifact sha256 == sha256 of the sent bytes", row)

    # b) the whole body sent, kill -9 at several moments while it is processed
    outcomes = []
    for i, delay in enumerate((0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, "db")):
        version = "full.%d" % i
        s, head, body = raw_upload_socket(name, version, big_model)
        s.sendall(head + body)
        if delay == "db":
            # wait until the registry's backend is running the statement (bounded)
            deadline = time.time() + 20
            while time.time() < deadline and registry_backends_active() == 0:
                time.sleep(0.005)
        else:
            time.sleep(delay)
        reg().kill9()
        write_pids()
        answer = b""
        try:
            s.settimeout(5)
            answer = s.recv(200)
        except OSError:
            pass
        s.close()
        wait_registry_backends_done()
        row = rows_of(name).get(version)
        if row is None:
            outcome = "absent"
        elif row[0] == sha and row[1] == sha and row[2] == len(big_model):
            outcome = "complete"
        else:
            outcome = "CORRUPT %r" % (row,)
        got200 = answer.startswith(b"HTTP/1.1 200")
        outcomes.append("%s:%s%s" % (delay, outcome, "(200 sent)" if got200 else ""))
        check(outcome in ("absent", "complete"), "kill -9 %s s after the full body: row absent or complete"
              % delay, outcome)
        if got200:
            check(outcome == "complete", "a 200 answered before the kill means the row is there")
        if not restart_registry("full body, %s" % delay):
            return
    note("kill: outcomes by delay", " ".join(outcomes))
    r = register(name, "after", small_model)
    check(r.status_code == 200, "registry registers normally after the kills", (r.status_code, r.text[:300]))
    psql("DELETE FROM mlpipe.models WHERE model_name = '%s'" % name)


# ---- 3. 100 concurrent registrations of one (name, version) -----------------

def test_concurrent_same_version(small_model):
    print("== 3. 100 concurrent registrations of the same (name, version)", flush=True)
    name = "fault_race_" + RUN
    n = 100
    barrier = threading.Barrier(n)
    statuses = [None] * n

    def one(i):
        try:
            barrier.wait(timeout=30)
            statuses[i] = register(name, "1.0", small_model, timeout=120).status_code
        except Exception as e:
            statuses[i] = "%s: %s" % (type(e).__name__, e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    counts = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    note("race: statuses", counts)
    check(counts.get(200) == 1, "exactly one 200", counts)
    check(counts.get(409) == n - 1, "99 x 409", counts)
    check(len(rows_of(name)) == 1, "one row in mlpipe.models", rows_of(name))
    psql("DELETE FROM mlpipe.models WHERE model_name = '%s'" % name)


# ---- 4. the malformed-request battery --------------------------------------

def answer_complete(raw):
    """Has a whole HTTP answer arrived?  (Keep-alive answers are not followed by EOF.)"""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        k = k.strip().lower()
        if k == b"content-length":
            return len(rest) >= int(v.strip())
        if k == b"transfer-encoding" and b"chunked" in v.lower():
            return rest.endswith(b"0\r\n\r\n")
    return False


def raw_request(port, method, path, headers, body, timeout=HTTP_TIMEOUT):
    """One request on its own connection, bytes as given.  Returns
    (status, headers dict, body bytes) or raises OSError / ValueError."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if method is None:			# the bytes as they are
            data = body
        else:
            head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (method, path)
            for k, v in headers.items():
                head += "%s: %s\r\n" % (k, v)
            if body is not None:
                head += "Content-Length: %d\r\n" % len(body)
            data = head.encode("latin-1") + b"\r\n" + (body or b"")
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass			# an early answer (413) may close before all is sent: read it
        raw = b""
        while not answer_complete(raw):
            c = s.recv(65536)
            if not c:
                break
            raw += c
    finally:
        s.close()
    if not raw:
        raise ValueError("connection closed without an answer")
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if "chunked" in hdrs.get("transfer-encoding", ""):
        out, pos = b"", 0
        while True:
            eol = rest.index(b"\r\n", pos)
            size = int(rest[pos:eol].split(b";")[0], 16)
            if size == 0:
                break
            out += rest[eol + 2:eol + 2 + size]
            pos = eol + 2 + size + 2
        rest = out
    return status, hdrs, rest


BAD = {
    # kind -> values that must be refused for that kind of field
    "cid": ["abc", None, [], {}, -1, 1.5, -0.5, 10 ** 30, "", "\u0000", {"a": 1}, [1]],
    "date": ["yesterday", "2024-13-01", "2024-02-30", "2023-02-29", "2024-01-01T25:00:00",
             "2024-01-01T10:61:00", 20240101, None, [], "", "\u0000", "2024-01-01\u0000",
             "２０２４-01-01", "2024-01-01T10:00:00+25:00", "99999-01-01"],
    "amount": ["rich", None, [], {}, -1, -0.001, -1e300, "", "\u0000", "１２"],
    "age": [0, -1, 121, 1000, 1.5, "old", None, [], {}, 10 ** 30, "", -1e300],
    "gender": ["X", "male", "FEMALE", 1, None, [], {}, "", "Female\u0000", "Männlich"],
    "name": [123, None, [], {}, True, 1.5],
    "version": [123, [], {}, True, 1.5],
}

PURCHASE_FIELDS = [("customer_id", "cid"), ("purchase_date", "date"), ("purchase_amount", "amount"),
                   ("annual_income", "amount"), ("age", "age"), ("gender", "gender")]

# raw texts that are not JSON at all
NOT_JSON = [b"", b" ", b"null x", b"{", b"}", b"[", b"{\"a\"", b"{\"a\":}", b"{'a': 1}", b"NaN",
            b"Infinity", b"-Infinity", b"{\"x\": NaN}", b"{\"x\": Infinity}", b"{\"x\": -Infinity}",
            b"{\"x\": 1e999}", b"{\"x\": -1e999}", b"{\"x\": 123456789012345678901234567890}",
            b"{\"x\": 01}", b"{\"x\": .5}", b"{\"x\": +1}", b"{\"x\": 0x10}", b"{\"x\": tru}",
            b"{\"x\": \"\\u0000\"}", b"{\"x\": \"a\x00b\"}", b"\x00", b"{\"x\": \"\xff\xfe\"}",
            b"\xef\xbb\xbf{}", b"{\"x\": \"\\ud800\"}", b"{\"x\": \"\\uZZZZ\"}", b"{}x", b"{} {}",
            b"[" * 5000, b"{\"a\":" * 3000, b"[" * 100 + b"]" * 99, b"\"unterminated",
            b"{\"x\": [1, 2,]}", b"{\"x\": 1,}", b"{,}", b"{\"\\u0000\": 1}"]

# JSON values that are valid JSON but the wrong shape for any body
WRONG_SHAPE = [None, [], {}, "string", 123, 1.5, True, [{}], [[]], {"": None},
               {"unknown": 1}, {"detail": "x"}, "\u0000", {"\u0000": 1}]


def json_endpoint_cases(name_ok):
    """(service, method, path, headers, body bytes, label) for the JSON endpoints."""
    cases = []
    good_pred = {"model_name": name_ok, "model_version": "1.0", "purchase_data": purchase(42)}
    good_batch = {"model_name": name_ok, "model_version": "1.0", "purchases": [purchase(42), purchase(43)]}
    good_pre = {"raw_data": purchase(42), "standardization_params": STD}
    good_ingest = {"purchases": [purchase(900000001)]}
    endpoints = [
        ("inference", "/predict", good_pred, "purchase_data", {}),
        ("inference", "/predict/batch", good_batch, "purchases", {}),
        ("preprocessing", "/preprocess", good_pre, "raw_data", {}),
        ("preprocessing", "/purchases", good_ingest, "purchases", AUTH),
    ]
    json_ct = {"Content-Type": "application/json"}
    for svc, path, good, pkey, auth in endpoints:
        hdr = dict(json_ct, **auth)
        # not JSON at all, under several content types
        for i, text in enumerate(NOT_JSON):
            cases.append((svc, "POST", path, hdr, text, "not-json %d" % i))
        for ct in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                   "application/xml", "", "application/json; charset=latin-1"):
            for text in (b"{", b"<a/>", b"a=1&b=2", b"", b"NaN"):
                h = dict(auth)
                if ct:
                    h["Content-Type"] = ct
                cases.append((svc, "POST", path, h, text, "content-type %r %r" % (ct, text)))
        # wrong shapes
        for i, v in enumerate(WRONG_SHAPE):
            if v == [] and path == "/purchases":
                continue	# an empty ingest is valid (201, inserted 0)
            cases.append((svc, "POST", path, hdr, json.dumps(v).encode(), "shape %d" % i))
        # truncated valid bodies at deterministic cut points
        text = json.dumps(good).encode()
        for cut in sorted(set([1, 2, 5, 10] + list(range(15, len(text) - 1, max(1, len(text) // 12))) +
                              [len(text) - 1])):
            cases.append((svc, "POST", path, hdr, text[:cut], "truncated at %d" % cut))
        # each purchase field replaced with a bad value, or missing
        def with_purchase(fn):
            b = json.loads(json.dumps(good))
            target = b[pkey]
            if isinstance(target, list):
                target = target[-1]
            fn(target)
            return b
        for field, kind in PURCHASE_FIELDS:
            for i, bad in enumerate(BAD[kind]):
                b = with_purchase(lambda p: p.__setitem__(field, bad))
                cases.append((svc, "POST", path, hdr, json.dumps(b).encode(), "%s=%r" % (field, bad)))
            b = with_purchase(lambda p: p.pop(field))
            cases.append((svc, "POST", path, hdr, json.dumps(b).encode(), "missing %s" % field))
            # an unknown field does not make up for a missing one
            b = with_purchase(lambda p: (p.pop(field), p.__setitem__("unknown_" + field, 1)))
            cases.append((svc, "POST", path, hdr, json.dumps(b).encode(), "unknown instead of %s" % field))
        # the top-level keys: missing, wrong type, nested garbage
        for key in list(good):
            b = dict(good)
            b.pop(key)
            if key != "model_version":
                cases.append((svc, "POST", path, hdr, json.dumps(b).encode(), "missing %s" % key))
            for i, bad in enumerate([123, [], {}, "x", True, [[[[[]]]]], {"a": {"b": {"c": None}}}]):
                b = dict(good)
                b[key] = bad
                if key == "model_version" and bad == "x":
                    continue		# a version that does not exist: 404, tested below
                if key == "purchases" and bad == []:
                    continue		# an empty batch is valid
                cases.append((svc, "POST", path, hdr, json.dumps(b).encode(), "%s=%r" % (key, bad)))
        if "model_name" in good:
            for bad in BAD["name"] + ["", "nosuch_" + RUN, "../../etc/passwd", "a/b", "x" * 10000,
                                      "модель", "a\u0000b", "\u0000", "名前" * 300]:
                b = dict(good, model_name=bad)
                cases.append((svc, "POST", path, hdr, json.dumps(b).encode(), "model_name=%r" % (bad,)[:40]))
            # a long multi-byte version: the 404 message is cut at 1 KiB, once
            # between characters and once inside one (whichever the name's length gives)
            for bad in BAD["version"] + ["", "9.9.9", "../x", "\u0000", "v" * 10000, "é" * 700, "xé" * 350,
                                         "é" * 700 + "x"]:
                b = dict(good, model_version=bad)
                cases.append((svc, "POST", path, hdr, json.dumps(b).encode(), "model_version=%r" % (bad,)[:40]))
        # \u0000 and unicode in every string of a valid body
        b = json.loads(json.dumps(good))
        if "standardization_params" in b:
            for bad in ({}, {"params": {}}, {"params": "x"}, {"params": {"purchase_amount": {"mean": "a"}}},
                        {"params": {"purchase_amount": {"mean": 1, "std": 0}}}, [], "x"):
                b2 = dict(b, standardization_params=bad)
                cases.append((svc, "POST", path, hdr, json.dumps(b2).encode(), "std=%r" % (bad,)))
        if pkey in ("purchases",):
            for bad in ([None], [1, 2], ["x"], [[]], [{}], "x", None, {}, [purchase(1), None]):
                b2 = dict(b, purchases=bad)
                cases.append((svc, "POST", path, hdr, json.dumps(b2).encode(), "purchases=%r" % (bad,)))
        # oversized bodies (a few: they are big)
        for extra in (MAX_BODY + 1, ) if path in ("/predict", "/preprocess") else ():
            big = dict(good, pad="x" * extra)
            cases.append((svc, "POST", path, hdr, json.dumps(big).encode(), "oversized %d" % extra))
        # no token / wrong token on the endpoint that needs one
        if auth:
            cases.append((svc, "POST", path, json_ct, json.dumps(good).encode(), "no token"))
            cases.append((svc, "POST", path, dict(json_ct, Authorization="Bearer x"),
                          json.dumps(good).encode(), "wrong token"))
            cases.append((svc, "POST", path, dict(json_ct, Authorization="Basic " + TOKEN),
                          json.dumps(good).encode(), "basic auth"))
    return cases


def multipart_cases(model):
    cases = []
    B = "fb%s" % RUN

    def mp(fields, boundary=B, closing=True):
        out = b""
        for k, v, extra in fields:
            out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"%s\r\n\r\n"
                    % (boundary, k, extra)).encode() + v + b"\r\n"
        if closing:
            out += ("--%s--\r\n" % boundary).encode()
        return out

    def fields_with(**over):
        base = [(k, v.encode(), "") for k, v in form("fault_mp_" + RUN, "1.0").items()]
        base.append(("model_file", model, "; filename=\"m.json\""))
        out = []
        for k, v, extra in base:
            if k in over:
                if over[k] is None:
                    continue
                v = over[k]
            out.append((k, v, extra))
        return out

    ct = {"Content-Type": "multipart/form-data; boundary=" + B}
    h = dict(ct, **AUTH)
    good = mp(fields_with())
    # missing parts
    for k in ("model_name", "version", "standardization_params", "model_params", "model_file"):
        cases.append(("registry", "POST", "/register_model", h, mp(fields_with(**{k: None})), "missing " + k))
    # bad names and versions
    for bad in [b"", b"a/b", b"../../etc/passwd", b"..", b".hidden", b"-x", b"x" * 129, b"x" * 100000,
                "модель".encode(), b"a\x00b", b"a b", b"a%2Fb", b"\xff\xfe", b"name\r\n", b"*", b"a;b"]:
        cases.append(("registry", "POST", "/register_model", h, mp(fields_with(model_name=bad)),
                      "model_name %r" % bad[:20]))
        cases.append(("registry", "POST", "/register_model", h, mp(fields_with(version=bad)),
                      "version %r" % bad[:20]))
    # JSON fields: not JSON, wrong shape, NaN, NUL
    for k in ("standardization_params", "model_params", "additional_metadata"):
        for bad in [b"", b"{", b"[]", b"1", b"\"x\"", b"null", b"NaN", b"{\"a\": NaN}", b"{\"a\": Infinity}",
                    b"{\"a\": \"\\u0000\"}", b"{\"a\": 1e999}", b"\xff", b"[" * 3000]:
            cases.append(("registry", "POST", "/register_model", h, mp(fields_with(**{k: bad})),
                          "%s %r" % (k, bad[:20])))
    # model files that are not XGBoost JSON models
    import pickle
    for bad in [b"", b" ", b"\x80\x04K\x01.", pickle.dumps({"m": 1}), b"PK\x03\x04x", b"\x1f\x8b\x08\x00",
                b"x\x9c", b"not json", b"[]", b"{", b"{}", b"{\"learner\": {}}", b"{\"learner\": NaN}",
                b"{\"a\": \"\\u0000\"}", b"{L\x00\x00\x00\x07learner{}}", model[:len(model) // 2],
                model.replace(b"\"", b"'", 5), model + b"x", b"{" * 4000, b"{\"version\": [1e999]}",
                b"\xef\xbb\xbf[1]"]:
        cases.append(("registry", "POST", "/register_model", h, mp(fields_with(model_file=bad)),
                      "model_file %r" % bad[:20]))
    # broken multipart framing
    cases.append(("registry", "POST", "/register_model", h, mp(fields_with(), closing=False), "no closing delimiter"))
    for cut in range(10, len(good) - 1, max(1, len(good) // 40)):
        cases.append(("registry", "POST", "/register_model", h, good[:cut], "truncated at %d" % cut))
    for boundary_hdr in ("multipart/form-data; boundary=other", "multipart/form-data; boundary=",
                         "multipart/form-data", "multipart/form-data; boundary=\"" + B,
                         "multipart/form-data; boundary=" + "b" * 200, "multipart/mixed; boundary=" + B,
                         "application/json", "text/plain", "application/x-www-form-urlencoded"):
        cases.append(("registry", "POST", "/register_model", dict(AUTH, **{"Content-Type": boundary_hdr}),
                      good.replace(b"fault_mp_", b"fault_mpX_"), "content-type %r" % boundary_hdr[:40]))
    for i, body in enumerate([b"", b"--" + B.encode(), b"--" + B.encode() + b"--\r\n", b"garbage",
                              b"--" + B.encode() + b"\r\nNo-Disposition: x\r\n\r\nv\r\n--" + B.encode() + b"--",
                              b"--" + B.encode() + b"\r\nContent-Disposition: form-data\r\n\r\nv\r\n--"
                              + B.encode() + b"--",
                              b"--" + B.encode() + b"\r\nContent-Disposition: form-data; name=\"model_name\r\n\r\n"
                              b"v\r\n--" + B.encode() + b"--",
                              b"\x00" * 100, json.dumps({"model_name": "x"}).encode()]):
        cases.append(("registry", "POST", "/register_model", h, body, "framing %d" % i))
    # tokens
    cases.append(("registry", "POST", "/register_model", ct, good, "no token"))
    cases.append(("registry", "POST", "/register_model", dict(ct, Authorization="Bearer nope"), good, "wrong token"))
    # over the upload limit (two: they are big)
    over = mp(fields_with(model_file=b"{" + b" " * (MAX_UPLOAD + 10) + b"}"))
    cases.append(("registry", "POST", "/register_model", h, over, "over the upload limit"))
    return cases


def path_cases(name_ok):
    cases = []
    long_names = ["x" * 129, "x" * 1000, "x" * 5000, "%C3%A9" * 400, "%E5%90%8D" * 300]
    names = ["nosuch_" + RUN, "x" + "%C3%A9" * 600, "..", "...", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc",
             "a%2Fb", "%00", "a%00b", "%zz", "%", "%4", "%FF", "%C3%28", "%ED%A0%80", "%C0%AF",
             "%E2%80%AE", "%F0%9F%92%A9", "%20", "a%20b", "%0D%0AX-Injected:%201", "%22%3E%3Cscript%3E",
             "'%3B%20DROP%20TABLE%20mlpipe.models%3B--", "$(id)", "*", "~root", "%5C..%5C"] + long_names
    for n in names:
        for path in ("/get_model_info/%s/1.0", "/get_model/%s/1.0", "/get_model_info/" + name_ok + "/%s",
                     "/get_model/" + name_ok + "/%s"):
            cases.append(("registry", "GET", path % n, {}, None, "path %s" % (path % n)[:60]))
        cases.append(("registry", "GET", "/get_latest_model_info/%s" % n, {}, None, "latest %s" % n[:40]))
        cases.append(("registry", "DELETE", "/remove_model/%s/1.0" % n, AUTH, None, "remove %s" % n[:40]))
    # "/" is the model console on the registry: not a bad path there
    for path in ("//", "/get_model_info", "/get_model_info/", "/get_model_info/a", "/get_model_info/a/",
                 "/get_model_info//1.0", "/get_model_info/a/b/c", "/get_model/../../etc/passwd",
                 "/list_models/x", "/list_models/../list_models/x", "/register_model/x", "/get_latest_model_info/",
                 "/get_latest_model_info/a/b", "/remove_model/a", "/%2e%2e/%2e%2e/etc/passwd", "/../../etc/passwd",
                 "/LIST_MODELS", "/list_models%00", "/list_models;x=1/x", "/healthz/x", "/metrics/x",
                 "/readyz/../x", "/x" * 2000, "/\u00e9".encode("utf-8").decode("latin-1")):
        cases.append(("registry", "GET", path, {}, None, "bad path %s" % path[:40]))
    for svc in ("inference", "preprocessing"):
        for path in ("/", "/predict/", "/predictx", "/predict/batch/", "/predict/x/y", "/preprocess/",
                     "/purchases/1", "/models/x", "/../predict", "/%70redict", "/x" * 2000, "/predict%00"):
            cases.append((svc, "POST", path, {"Content-Type": "application/json"}, b"{}", "bad path %s" % path[:40]))
    # bad methods on every route
    routes = [("registry", "/register_model"), ("registry", "/list_models"),
              ("registry", "/get_model_info/%s/1.0" % name_ok), ("registry", "/get_model/%s/1.0" % name_ok),
              ("registry", "/get_latest_model_info/%s" % name_ok), ("registry", "/remove_model/%s/1.0" % name_ok),
              ("inference", "/predict"), ("inference", "/predict/batch"), ("inference", "/models"),
              ("preprocessing", "/preprocess"), ("preprocessing", "/purchases"),
              ("inference", "/healthz"), ("preprocessing", "/readyz"), ("registry", "/metrics")]
    for svc, path in routes:
        for m in ("PUT", "PATCH", "OPTIONS", "TRACE", "FOO", "GETT", "POST", "GET", "DELETE"):
            get_ok = path in ("/list_models", "/models", "/healthz", "/readyz", "/metrics") or \
                path.startswith(("/get_model", "/get_latest"))
            if (m == "GET" and get_ok) or (m == "POST" and path in (
                    "/register_model", "/predict", "/predict/batch", "/preprocess", "/purchases")):
                continue	# the route's own method: not malformed
            if m == "DELETE" and path.startswith("/remove_model"):
                continue
            cases.append((svc, m, path, {}, b"{}" if m in ("PUT", "PATCH", "POST") else None,
                          "%s %s" % (m, path)))
    return cases


PROTOCOL = [
    b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET /list_models\r\n\r\n",
    b"GET /list_models HTTP/1.1\r\n\r\n",					# no Host
    b"GET /list_models HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
    b"GET /list_models HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n",
    b"GET /list\x00models HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /" + b"x" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",		# over MHD's 64 KiB
    b"GET /list_models HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n",
    b"POST /register_model HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
    b"POST /register_model HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
    b"POST /register_model HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n{}",
    b"POST /register_model HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    b"POST /register_model HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
]


def protocol_cases():
    return [(svc, "RAW", "-", {}, raw, "protocol %r" % raw[:50])
            for svc in ("registry", "inference", "preprocessing") for raw in PROTOCOL]


def run_case(case):
    svc, method, path, headers, body, label = case
    try:
        if method == "RAW":
            st, hdrs, text = raw_request(SERVICES[svc].port, None, None, None, body)
        else:
            st, hdrs, text = raw_request(SERVICES[svc].port, method, path, headers, body)
    except (OSError, ValueError) as e:
        return "dropped: %s: %s" % (type(e).__name__, e)
    if not (400 <= st < 500):
        return "status %d: %s" % (st, text[:200])
    if not hdrs.get("content-type", "").startswith("application/json"):
        return "status %d, content type %r: %s" % (st, hdrs.get("content-type"), text[:120])
    try:
        j = json.loads(text)
    except ValueError:
        return "status %d, body not JSON: %s" % (st, text[:120])
    if not isinstance(j, dict) or "detail" not in j:
        return "status %d, no detail: %s" % (st, text[:120])
    return None


def run_battery(cases, label):
    problems = []
    statuses = {}
    t0 = time.monotonic()
    for case in cases:
        p = run_case(case)
        if p:
            problems.append((case[0], case[1], case[2][:80], case[5], p))
        else:
            pass
    note("battery %s: %d requests in %.1f s" % (label, len(cases), time.monotonic() - t0), "%d problems" % len(problems))
    return problems, statuses


def test_battery(name_ok, model):
    print("== 4. malformed-request battery", flush=True)
    cases = json_endpoint_cases(name_ok) + multipart_cases(model) + path_cases(name_ok)
    proto = protocol_cases()
    note("battery: distinct malformed requests", len(cases) + len(proto))
    check(len(cases) >= 1000, "battery has >= 1,000 requests", len(cases))
    warm, _ = run_battery(cases, "warm-up")
    # HTTP-level garbage is answered by libmicrohttpd itself, before any
    # service code runs.  Required: never a 5xx, and an answer to every
    # request whose request line parses.  Reported, not failed (no MHD 0.9.75
    # option changes them): MHD's HTML error pages, its silent close of a
    # request line without URI or version, and what its lenient parser
    # accepts (no Host, a header with an empty name).
    hard, soft = [], []
    for _ in range(3):
        for case in proto:
            p = run_case(case)
            unparsable = case[4].split(b"\r\n")[0].count(b" ") < 2	# no URI or no version
            if p and (p.startswith("status 5") or p.startswith("dropped") and not unparsable):
                hard.append((case[0], case[5], p))
            elif p:
                soft.append((case[0], case[5], p))
    for svc, label, p in sorted(set(hard + soft))[:40]:
        print("     protocol %s %s -> %s" % (svc, label[:70], p[:160]))
    check(not hard, "HTTP-level garbage: never a 5xx, an answer to every parsable request line (%d x 3)" % len(proto),
          "%d problems" % len(hard))
    note("battery: HTTP-level garbage not answered 4xx + JSON \"detail\" (MHD's own handling)",
         "%d of %d" % (len(soft) // 3, len(proto)))
    rss_warm = {n: s.rss_kb() for n, s in SERVICES.items()}
    problems = []
    for rnd in range(2):
        p, _ = run_battery(cases, "round %d" % (rnd + 1))
        problems += p
    rss_after = {n: s.rss_kb() for n, s in SERVICES.items()}
    # group the problems by endpoint and kind, show one example of each
    seen = {}
    for svc, method, path, label, p in warm + problems:
        key = (svc, method, path.split("/")[1] if "/" in path else path, p.split(":")[0][:40])
        seen.setdefault(key, []).append((label, p))
    for key, ex in sorted(seen.items()):
        print("     problem %s x%d, e.g. %s -> %s" % (key, len(ex), " | ".join(sorted(set(
            e[0][:60] for e in ex)))[:400], ex[0][1][:200]))
    # one verdict per service and first path segment, so a failure says where
    groups = {}
    for c in cases:
        groups.setdefault((c[0], "/" + c[2].split("/")[1][:30]), 0)
        groups[(c[0], "/" + c[2].split("/")[1][:30])] += 1
    bad_groups = {}
    for svc, method, path, label, p in warm + problems:
        g = (svc, "/" + path.split("/")[1][:30])
        bad_groups.setdefault(g, []).append(label)
    for g in sorted(groups):
        if groups[g] < 5 and g not in bad_groups:
            continue		# small odd-path groups: counted in the total below
        bad = bad_groups.get(g, [])
        check(not bad, "%s %s: every malformed request got a 4xx JSON answer with \"detail\" (%d x 3)"
              % (g[0], g[1], groups[g]), "%d answers were not: %s" % (len(bad), " | ".join(sorted(set(bad)))[:600]))
    check(not warm and not problems, "all %d malformed requests x 3 rounds got a 4xx JSON answer with \"detail\""
          % len(cases), "%d problems" % (len(warm) + len(problems)))
    for n in sorted(SERVICES):
        a, b = rss_warm[n], rss_after[n]
        note("battery: %s VmRSS after warm-up / after 2 more rounds (kB)" % n, "%d / %d (%+.1f %%)"
             % (a, b, 100.0 * (b - a) / a))
        check(b <= a * 1.10, "%s RSS within 10 %% of the warm-up's" % n, (a, b))
        check(SERVICES[n].alive(), "%s survived the battery" % n)


# ---- 5. slow and idle clients -----------------------------------------------

class SlowClient(threading.Thread):
    """Connects and either sends nothing or one header byte every `gap` s;
    records when the server closes the connection (bounded by `limit` s)."""

    def __init__(self, port, gap, limit):
        super().__init__(daemon=True)
        self.port, self.gap, self.limit = port, gap, limit
        self.closed_after = None
        self.answer = b""
        self.sent = 0

    def run(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        t0 = time.monotonic()
        data = b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000
        next_send = t0
        try:
            while time.monotonic() - t0 < self.limit:
                if self.gap and time.monotonic() >= next_send and self.sent < len(data):
                    try:
                        s.send(data[self.sent:self.sent + 1])
                        self.sent += 1
                    except OSError:
                        self.closed_after = time.monotonic() - t0
                        return
                    next_send += self.gap
                s.settimeout(0.5)
                try:
                    got = s.recv(4096)
                    if not got:
                        self.closed_after = time.monotonic() - t0
                        return
                    self.answer += got
                except socket.timeout:
                    pass
                except OSError:
                    self.closed_after = time.monotonic() - t0
                    return
        finally:
            s.close()


def start_slow_clients():
    """Idle and slow-header clients on inference and preprocessing, left to
    run while the other tests go on (those show other clients are served)."""
    clients = []
    for svc in ("preprocessing", "inference"):
        port = SERVICES[svc].port
        idle = SlowClient(port, 0, CONN_TIMEOUT + 30)
        slow = SlowClient(port, 5, CONN_TIMEOUT + 40)
        idle.start()
        slow.start()
        clients.append((svc, idle, slow))
    return clients


def finish_slow_clients(clients):
    print("== 5. slow and idle clients", flush=True)
    for svc, idle, slow in clients:
        idle.join(timeout=CONN_TIMEOUT + 60)
        slow.join(timeout=CONN_TIMEOUT + 60)
        note("slow: %s idle connection closed by the server after (s)" % svc,
             "%.1f" % idle.closed_after if idle.closed_after is not None else "not within %d" % idle.limit)
        check(idle.closed_after is not None and idle.closed_after <= CONN_TIMEOUT + 15,
              "%s closes a connection that sends nothing within its timeout (%d s)" % (svc, CONN_TIMEOUT))
        note("slow: %s slow-header connection (1 byte / 5 s) closed after (s)" % svc,
             ("%.1f" % slow.closed_after if slow.closed_after is not None else "not within %d" % slow.limit)
             + ", %d header bytes sent" % slow.sent)
        check(slow.closed_after is not None and slow.closed_after <= CONN_TIMEOUT + 15,
              "%s closes a connection that sends its headers 1 byte / 5 s within its timeout (%d s)"
              % (svc, CONN_TIMEOUT), "still open after %d s: the timeout is an idle timeout only, "
              "no deadline for a whole request's headers" % slow.limit if slow.closed_after is None else "")


def test_many_idle(name_ok, count):
    print("== 5b. %d idle connections to inference" % count, flush=True)
    socks = []
    refused = 0
    for _ in range(count):
        try:
            socks.append(socket.create_connection(("127.0.0.1", inf().port), timeout=5))
        except OSError:
            refused += 1
    time.sleep(0.5)
    # how many of them did the service close at once (a clean refusal)?
    closed_early = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed_early += 1
        except BlockingIOError:
            pass
        except OSError:
            closed_early += 1
    t0 = time.monotonic()
    outcome = None
    try:
        r = requests.post(inf().url + "/predict", timeout=15,
                          json={"model_name": name_ok, "model_version": "1.0", "purchase_data": purchase(42)})
        outcome = r.status_code
    except requests.RequestException as e:
        outcome = "%s: %s" % (type(e).__name__, str(e)[:200])
    secs = time.monotonic() - t0
    for s in socks:
        s.close()
    note("idle x%d: connect refused %d, closed at once by the service %d, normal request -> %s in %.2f s"
         % (count, refused, closed_early, outcome, secs), "")
    check(outcome == 200 or outcome == 503 or (isinstance(outcome, str) and "ConnectionError" in outcome
                                               and closed_early > 0),
          "a normal request is served (or cleanly refused) while %d idle connections are open" % count, outcome)
    check(inf().alive(), "inference alive after %d idle connections" % count)
    # and it serves normally again once they are gone
    time.sleep(0.5)
    r = requests.post(inf().url + "/predict", timeout=HTTP_TIMEOUT,
                      json={"model_name": name_ok, "model_version": "1.0", "purchase_data": purchase(42)})
    check(r.status_code == 200, "inference serves normally after the idle connections close", r.status_code)
    return outcome


# ---- main -----------------------------------------------------------------

def main():
    # below the ephemeral range (32768-60999): a restarted service must get its port back
    base = 10000 + (os.getpid() % 1000) * 3
    port = base
    for name in ("registry", "preprocessing", "inference"):
        port = free_port(port)
        SERVICES[name] = Service(name, port)
        port += 1
    slow = None
    base_name = "fault_base_" + RUN
    try:
        for s in SERVICES.values():
            if not check(s.start(), "%s starts on port %d as role mlpipe_%s" % (s.name, s.port, s.name)):
                return
        # an unknown model is 404 whatever the registry holds (even nothing)
        for path in ("/get_model_info/nosuch_%s/1.0" % RUN, "/get_latest_model_info/nosuch_%s" % RUN,
                     "/get_model/nosuch_%s/1.0" % RUN):
            r = requests.get(reg().url + path, timeout=HTTP_TIMEOUT)
            check(r.status_code == 404 and is_error_json(r), "GET %s -> 404 (registry holds %s rows)"
                  % (path, psql("SELECT count(*) FROM mlpipe.models")), "%d %s" % (r.status_code, r.text[:300]))
        # ... also when the table has pages but no live row (every model
        # removed): checked in a transaction that is rolled back, so nothing
        # registered by anyone is lost
        r = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c",
                            "BEGIN; DELETE FROM mlpipe.models; "
                            "SELECT coalesce(mlpipe_model_info('nosuch', '1.0')::text, 'NULL'); ROLLBACK"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
        check(r.returncode != 0 and "not found" in r.stdout,
              "mlpipe_model_info of an unknown model raises 42704 (404) when mlpipe.models has no live row",
              r.stdout.strip()[:300])
        small = train(5, 3, 200, os.path.join(LOGDIR, "small.json"))
        big = train(400, 6, 3000, os.path.join(LOGDIR, "big.json"))
        r = register(base_name, "1.0", small)
        if not check(r.status_code == 200, "register the base model", r.text[:300]):
            return
        r = requests.post(inf().url + "/predict", timeout=HTTP_TIMEOUT,
                          json={"model_name": base_name, "model_version": "1.0", "purchase_data": purchase(42)})
        check(r.status_code == 200, "predict with the base model", r.text[:300])

        only = os.environ.get("FAULT_ONLY", "race kill outage slow idle battery shutdown").split()
        if "slow" in only:
            slow = start_slow_clients()
            t_slow = time.monotonic()
        if "race" in only:
            test_concurrent_same_version(small)
        if "kill" in only:
            test_kill_upload(big, small)
        if "outage" in only:
            test_outage(small, base_name)
        if "slow" in only:
            # the slow clients were opened before all that; wait for them
            finish_slow_clients(slow)
            note("slow: the other tests ran alongside the slow clients for (s)", "%.0f" % (time.monotonic() - t_slow))
        if "idle" in only:
            test_many_idle(base_name, 500)
            test_many_idle(base_name, 1500)
        if "battery" in only:
            test_battery(base_name, small)
        if "shutdown" in only:
            shutdown.test_sigterm_keepalive(check, note, BIN, LOGDIR, track=track_proc)
    except Exception as e:
        import traceback
        traceback.print_exc()
        check(False, "the fault suite raised %r" % (e,))
    finally:
        try:
            psql("DELETE FROM mlpipe.models WHERE model_name LIKE 'fault\\_%%\\_%s'" % RUN)
        except Exception:
            pass
        for s in SERVICES.values():
            s.stop()
        write_pids()
        if pg("status")[0] != 0:
            rc, out = pg("start")
            check(rc == 0, "database running again at the end", out)
    print("\nmeasured:")
    for what, value in numbers:
        print("  %s: %s" % (what, value))
    print("fault: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

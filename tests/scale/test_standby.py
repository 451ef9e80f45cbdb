#!/usr/bin/python3
"""Hot standby and failover checks (docs/scaling.md), run by tests/scale/run.sh.

Environment: PRIMARY_PORT, STANDBY_PORT, PRIMARY_HOST, STANDBY_HOST (socket
directories), STANDBY_NAME (the standby's pg.sh name), MLPIPE_BIN, TOP,
PGDATABASE.  The primary holds model 'scale' 1.0; the standby streams from it
with synchronous_commit remote_apply.

Services (real binaries, multi-host connection strings):
  registry       host=P,S target_session_attrs=read-write
  inference-ro   host=S,P target_session_attrs=prefer-standby, MLPIPE_MAX_REPLICA_LAG=1
  inference-any  host=P,S (first that answers: the primary until it dies)
"""
import base64
import os
import subprocess
import threading
import time

import requests

from harness import AUTH, check, psql, run, start

P, S = os.environ["PRIMARY_PORT"], os.environ["STANDBY_PORT"]
PHOST, SHOST = os.environ["PRIMARY_HOST"], os.environ["STANDBY_HOST"]
DB = os.environ["PGDATABASE"]
TOP = os.environ["TOP"]
STD = '{"purchase_amount": {"mean": 250.0, "std": 120.0}, "annual_income": {"mean": 70000.0, "std": 20000.0}, ' \
      '"clv": {"mean": 900.0, "std": 600.0}, "age_income_interaction": {"mean": 2800000.0, "std": 1500000.0}}'
PURCHASE = {"customer_id": 17, "purchase_date": "2024-03-05T10:20:30Z", "purchase_amount": 180.5,
            "annual_income": 64000, "age": 37, "gender": "Female"}


def dsn(user, ports, attrs):
    return ("host=127.0.0.1,127.0.0.1 port=%s dbname=%s user=mlpipe_%s target_session_attrs=%s"
            % (ports, DB, user, attrs))


def predict(url, model="scale", timeout=5):
    try:
        r = requests.post(url + "/predict", json={"model_name": model, "purchase_data": PURCHASE}, timeout=timeout)
        return r.status_code
    except requests.RequestException:
        return 0


def register(url, name, version, artifact):
    form = {"model_name": name, "version": version, "standardization_params": STD,
            "model_params": "{}", "additional_metadata": "{}"}
    try:
        r = requests.post(url + "/register_model", data=form, files={"model_file": ("m.json", artifact)},
                          headers=AUTH, timeout=10)
        return r.status_code
    except requests.RequestException:
        return 0


def test_readiness(inf_ro, inf_any):
    r = requests.get(inf_ro + "/readyz").json()
    check(r.get("role") == "standby" and r.get("replay_lag_seconds") == 0 and r.get("wal_receiver") == "streaming",
          "/readyz on the standby: role standby, lag 0 while streaming", r)
    r = requests.get(inf_any + "/readyz").json()
    check(r.get("role") == "primary", "/readyz on the primary: role primary", r)


def test_async_delivery(inf_ro):
    """A registration committed without waiting for the standby is served
    there within 1 s, by sessions that stay open (no restart)."""
    status = [predict(inf_ro, "async_fresh") for _ in range(4)]
    check(status == [404] * 4, "the standby does not know async_fresh yet", status)
    psql(DB, host=PHOST, port=P,
         sql="SET synchronous_commit = local; SELECT mlpipe_register_model('async_fresh', '1.0', artifact, "
                   "standardization_params) FROM mlpipe.models WHERE model_name = 'scale'")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5:
        if all(predict(inf_ro, "async_fresh") == 200 for _ in range(4)):
            break
        time.sleep(0.01)
    took = time.monotonic() - t0
    print("     registered on the primary, served by the standby after %.3f s" % took)
    check(took < 1.0, "a model registered on the primary is served from the standby within 1 s (%.3f s)" % took)


def window(events):
    """(first failure, last failure) in seconds, relative times; None when none failed."""
    bad = [t for t, code in events if code != 200]
    return (min(bad), max(bad)) if bad else None


def test_failover(reg, inf_ro, inf_any, artifact):
    stop = threading.Event()
    events = {"inference on the standby": [], "inference on the primary": [], "registrations": []}
    acked = []
    t0 = time.monotonic()

    def load_predict(url, key):
        while not stop.is_set():
            code = predict(url, timeout=5)
            events[key].append((time.monotonic() - t0, code))
            if code != 200:
                time.sleep(0.02)

    def load_register(worker):
        i = 0
        while not stop.is_set():
            version = "%d.%d" % (worker, i)
            code = register(reg, "failover", version, artifact)
            events["registrations"].append((time.monotonic() - t0, code))
            if code == 200:
                acked.append(version)
            i += 1
            if code != 200:
                time.sleep(0.02)

    threads = [threading.Thread(target=load_predict, args=(inf_ro, "inference on the standby")),
               threading.Thread(target=load_predict, args=(inf_any, "inference on the primary")),
               threading.Thread(target=load_register, args=(1,)),
               threading.Thread(target=load_register, args=(2,))]
    for t in threads:
        t.start()
    time.sleep(1.5)
    crash = time.monotonic() - t0
    # a crash, not a clean shutdown: no checkpoint, sessions cut
    subprocess.run([os.path.join(TOP, "scripts", "pg.sh"), "stop"], stdout=subprocess.DEVNULL,
                   env=dict(os.environ, MLPIPE_PG_STOP_MODE="immediate"))
    # the standby cannot vouch for its data any more: past 1 s it is not ready
    time.sleep(1.5)
    r = requests.get(inf_ro + "/readyz")
    check(r.status_code == 503 and "MLPIPE_MAX_REPLICA_LAG" in r.json().get("detail", ""),
          "the standby turns not-ready past MLPIPE_MAX_REPLICA_LAG once its primary is gone", r.text)
    promote = time.monotonic() - t0
    subprocess.run([os.path.join(TOP, "scripts", "pg.sh"), "promote"], stdout=subprocess.DEVNULL,
                   env=dict(os.environ, MLPIPE_PG_NAME=os.environ["STANDBY_NAME"], MLPIPE_PGPORT=S))
    promoted = time.monotonic() - t0
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join()
    print("     primary crashed at %.2f s, standby promoted at %.2f-%.2f s, load until %.2f s"
          % (crash, promote, promoted, time.monotonic() - t0))
    for key, ev in events.items():
        w = window(ev)
        ok = sum(1 for _, c in ev if c == 200)
        if w:
            print("     %s: %d ok, %d failed, errors from %.2f to %.2f s (%.2f s after the promotion)"
                  % (key, ok, len(ev) - ok, w[0], w[1], max(0.0, w[1] - promoted)))
        else:
            print("     %s: %d ok, no errors" % (key, ok))
        tail = [c for t, c in ev if t > promoted + 1.0]
        check(tail and all(c == 200 for c in tail), "%s recovers by itself after the promotion" % key,
              [c for c in tail if c != 200][:10])
        check(w is None or w[0] >= crash - 0.05, "%s: no errors before the crash" % key, w)
    r = requests.get(inf_ro + "/readyz").json()
    check(r.get("role") == "primary", "the standby-backed service now reports role primary", r)
    have = set(psql(DB, host=SHOST, port=S, sql="SELECT version FROM mlpipe.models WHERE model_name = 'failover'").split())
    lost = [v for v in acked if v not in have]
    check(acked and not lost, "every acknowledged registration (%d) is on the new primary" % len(acked), lost)


def main():
    artifact = base64.b64decode(psql(DB, host=PHOST, port=P, sql="SELECT encode(artifact, 'base64') "
                                     "FROM mlpipe.models WHERE model_name = 'scale'"))
    reg = start("registry", DATABASE_URL=dsn("registry", "%s,%s" % (P, S), "read-write"))
    inf_ro = start("inference", DATABASE_URL=dsn("inference", "%s,%s" % (S, P), "prefer-standby"),
                   MLPIPE_MAX_REPLICA_LAG="1")
    inf_any = start("inference", DATABASE_URL=dsn("inference", "%s,%s" % (P, S), "any"))
    test_readiness(inf_ro, inf_any)
    test_async_delivery(inf_ro)
    test_failover(reg, inf_ro, inf_any, artifact)


if __name__ == "__main__":
    run("standby", main)

#!/usr/bin/python3
"""Monitoring end to end (SPEC section 9), run by tests/e2e/run.sh.

Against an inference service whose prediction log samples every answer
(MLPIPE_PREDICTION_LOG_RATE=1):
  * predictions through /predict and /predict/batch appear in
    mlpipe.predictions within 2 s;
  * the next month's actual purchases, ingested through POST /purchases
    (when preprocessing reads from a hot standby, READ_ONLY_DB=1, the
    endpoint must refuse them with 503 and psql ingests them on the primary),
    give mlpipe_monitor (SQL and GET /models/{name}/monitor) the RMSE, MAE
    and bias this file computes itself, to 1e-9;
  * with the log table locked, or the log role's INSERT revoked, /predict
    answers every request and the drop counter rises;
  * drift: a model trained by mlpipe_train on generated purchases has PSI 0
    against those purchases, and > 0.25 on the income features (near 0 on
    the others) once every income is doubled (in a transaction rolled back);
  * the REST errors: 404, 409 (no training distribution), 422 (bad since).
psql runs as the suite's database owner (PG* of the caller).
"""
import concurrent.futures
import json
import math
import os
import random
import subprocess
import sys
import time

import requests

REG = os.environ["REGISTRY"]
PRE = os.environ["PREPROCESSING"]
INF = os.environ["INFERENCE_LOGGED"]
AUTH = {"Authorization": "Bearer " + os.environ["TOKEN"]}
RUN = os.environ["RUN_ID"]
GEN = os.environ["GENERATOR"]
READ_ONLY_DB = os.environ.get("READ_ONLY_DB") == "1"
NAME = "monitor_e2e_" + RUN
BASE_CID = 880000000 + int(RUN) % 100000 * 100

passed = 0
failed = 0


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL %s %s" % (what, str(detail)[:600]))


def psql(sql, *args):
    """Runs SQL (psql variables :'v1'... from args); returns stdout's rows as lists."""
    cmd = ["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-F", "\t"]
    for i, a in enumerate(args):
        cmd += ["-v", "v%d=%s" % (i + 1, a)]
    out = subprocess.run(cmd, input=sql, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    if out.returncode != 0:
        raise RuntimeError("psql failed: " + out.stderr)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def metric(name):
    """An unlabelled counter of the logged inference service's /metrics."""
    for line in requests.get(INF + "/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def dropped():
    total = 0.0
    for line in requests.get(INF + "/metrics").text.splitlines():
        if line.startswith("mlpipe_prediction_log_dropped_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def purchase(cid, date, amount, income=60000.0, age=40, gender="Female"):
    return {"customer_id": cid, "purchase_date": date, "purchase_amount": amount,
            "annual_income": income, "age": age, "gender": gender}


def setup_model():
    """History in Oct-Dec 2023 for 30 customers, then mlpipe_train."""
    rows = []
    rnd = random.Random(17)
    for i in range(30):
        cid = BASE_CID + i
        for month, day in ((10, 2 + i % 20), (11, 3 + i % 20), (12, 5 + i % 20)):
            rows.append("(%d, %d, '%s', %.2f, %.2f, '2023-%02d-%02dT12:00:00Z')" % (
                cid, 25 + i, "Male" if i % 2 else "Female", 40000 + 1500 * i,
                round(rnd.uniform(20, 400), 2), month, day))
    psql("INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount,"
         " purchase_date) VALUES %s;" % ", ".join(rows) +
         "SELECT mlpipe_train(:'v1', 'linear', '1.0', '{}') IS NOT NULL;", NAME)


def test_log_and_monitor():
    n_single = 24
    rnd = random.Random(5)
    predicted = {}                      # customer -> [predictions]
    for i in range(n_single):
        cid = BASE_CID + i % 30
        body = {"model_name": NAME, "model_version": "1.0",
                "purchase_data": purchase(cid, "2024-01-%02dT10:00:00Z" % (1 + i % 28),
                                          round(rnd.uniform(10, 300), 2), 40000 + 1500 * (i % 30))}
        r = requests.post(INF + "/predict", json=body)
        if r.status_code != 200:
            check(False, "/predict for the log", r.text)
            return
        predicted.setdefault(cid, []).append(r.json()["predicted_purchase_amount"])
    batch = [purchase(BASE_CID + 25 + k, "2024-01-15T08:00:00+02:00", 50.0 + k) for k in range(5)]
    r = requests.post(INF + "/predict/batch", json={"model_name": NAME, "model_version": "1.0",
                                                    "purchases": batch})
    check(r.status_code == 200, "/predict/batch for the log", r.text)
    for p, out in zip(batch, r.json()["predictions"]):
        predicted.setdefault(p["customer_id"], []).append(out["predicted_purchase_amount"])
    n = sum(len(v) for v in predicted.values())

    start = time.time()
    logged = 0
    while time.time() - start < 2.0:
        logged = int(psql("SELECT count(*) FROM mlpipe.predictions WHERE model_name = :'v1'", NAME)[0][0])
        if logged >= n:
            break
        time.sleep(0.05)
    check(logged == n, "%d predictions in mlpipe.predictions within 2 s (%.2f s)" % (n, time.time() - start),
          logged)
    rows = psql("SELECT customer_id, version, month, predicted::text FROM mlpipe.predictions"
                " WHERE model_name = :'v1' ORDER BY customer_id, predicted", NAME)
    check(all(r[1] == "1.0" and r[2] == "2024-01-01" for r in rows), "logged with version and month", rows[:3])
    check(sorted((int(r[0]), float(r[3])) for r in rows) ==
          sorted((c, v) for c, vs in predicted.items() for v in vs),
          "logged values are the answers, exactly")

    # February's actuals, through the ingest endpoint: none for some
    # customers, two purchases for others
    actual = {}
    feb = []
    for i in range(30):
        cid = BASE_CID + i
        k = i % 3
        amounts = [round(rnd.uniform(5, 500), 2) for _ in range(k)]
        for j, a in enumerate(amounts):
            feb.append(purchase(cid, "2024-02-%02dT09:30:00Z" % (3 + 7 * j + i % 5), a, 40000 + 1500 * i,
                                25 + i, "Male" if i % 2 else "Female"))
        actual[cid] = sum(amounts)
    r = requests.post(PRE + "/purchases", json={"purchases": feb}, headers=AUTH)
    if READ_ONLY_DB:
        # preprocessing reads from a hot standby (tests/scale): the endpoint
        # must refuse, and the same call goes to the primary through psql
        check(r.status_code == 503 and "read-only" in r.text,
              "February's purchases refused by the standby-backed service (503, read-only)", r.text)
        psql("SELECT mlpipe_ingest_purchases(:'v1'::jsonb)", json.dumps(feb))
    else:
        check(r.status_code == 201, "February's purchases ingested (201)", r.text)

    errors = [v - actual[c] for c, vs in predicted.items() for v in vs]
    rmse = math.sqrt(sum(e * e for e in errors) / len(errors))
    mae = sum(abs(e) for e in errors) / len(errors)
    bias = sum(errors) / len(errors)
    got = psql("SELECT month, predictions, rmse, mae, bias FROM mlpipe_monitor(:'v1', '1.0', NULL)", NAME)
    check(len(got) == 1 and got[0][0] == "2024-02-01" and int(got[0][1]) == n,
          "mlpipe_monitor: one month, February, %d predictions" % n, got)
    if got:
        check(abs(float(got[0][2]) - rmse) <= 1e-9, "mlpipe_monitor RMSE %.9f = direct %.9f" % (float(got[0][2]), rmse))
        check(abs(float(got[0][3]) - mae) <= 1e-9 and abs(float(got[0][4]) - bias) <= 1e-9,
              "mlpipe_monitor MAE and bias = direct", (got[0], mae, bias))
    r = requests.get(REG + "/models/%s/monitor" % NAME, params={"version": "1.0", "since": "2024-01-01"})
    j = r.json() if r.status_code == 200 else {}
    months = j.get("months", [])
    check(r.status_code == 200 and j.get("version") == "1.0" and len(months) == 1
          and months[0]["month"] == "2024-02-01" and months[0]["predictions"] == n
          and abs(months[0]["rmse"] - rmse) <= 1e-9,
          "GET /models/{name}/monitor gives the same RMSE", r.text)
    r = requests.get(REG + "/models/%s/monitor" % NAME)
    check(r.status_code == 200 and r.json()["version"] == "1.0" and r.json()["since"] is None,
          "monitor without version or since: the latest, everything", r.text)
    r = requests.get(REG + "/models/%s/monitor" % NAME, params={"since": "2024-03-01"})
    check(r.status_code == 200 and r.json()["months"] == [], "nothing predicted since March", r.text)


def predict_many(n, threads=16):
    body = {"model_name": NAME, "model_version": "1.0",
            "purchase_data": purchase(BASE_CID + 1, "2024-01-20T10:00:00Z", 99.5)}

    def one(_):
        r = requests.post(INF + "/predict", json=body, timeout=10)
        return r.status_code
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(n)))


def test_blocked_log():
    # the table locked: the log's inserts wait 1 s (lock_timeout) and drop
    before = dropped()
    locker = subprocess.Popen(["psql", "-XAtq", "-c",
                               "BEGIN; LOCK TABLE mlpipe.predictions IN ACCESS EXCLUSIVE MODE;"
                               " SELECT pg_sleep(3); COMMIT;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    t = time.time()
    codes = predict_many(400)
    took = time.time() - t
    check(codes == [200] * 400, "table locked: 400 /predict all answered 200 (%.2f s)" % took,
          {c: codes.count(c) for c in set(codes)})
    locker.wait()
    time.sleep(0.3)
    check(dropped() > before, "table locked: the drop counter rose (%d -> %d)" % (before, dropped()))

    # INSERT revoked from the log's role
    psql("REVOKE INSERT ON mlpipe.predictions FROM mlpipe_predlog")
    try:
        before = dropped()
        codes = predict_many(200)
        check(codes == [200] * 200, "INSERT revoked: 200 /predict all answered 200",
              {c: codes.count(c) for c in set(codes)})
        deadline = time.time() + 3
        while dropped() < before + 200 and time.time() < deadline:
            time.sleep(0.05)
        check(dropped() >= before + 200, "INSERT revoked: every sampled answer counted as dropped",
              (before, dropped()))
    finally:
        psql("GRANT INSERT ON mlpipe.predictions TO mlpipe_predlog")
    logged_before = metric("mlpipe_prediction_log_rows_total")
    codes = predict_many(20)
    deadline = time.time() + 2
    while metric("mlpipe_prediction_log_rows_total") < logged_before + 20 and time.time() < deadline:
        time.sleep(0.05)
    check(metric("mlpipe_prediction_log_rows_total") >= logged_before + 20, "granted again: logging resumes")


DRIFT_SQL = r"""
BEGIN;
DELETE FROM mlpipe.purchases;
CREATE TEMP TABLE gen (customer_id text, age text, gender text, annual_income text,
                       purchase_amount text, purchase_date text, next_month text) ON COMMIT DROP;
\set copy_cmd '\\copy gen FROM PROGRAM ' :'v1' ' WITH (FORMAT csv, HEADER true)'
:copy_cmd
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date)
SELECT customer_id::bigint, nullif(age, '')::int, nullif(gender, ''), nullif(annual_income, '')::float8,
       nullif(purchase_amount, '')::float8, purchase_date::timestamptz FROM gen;
SELECT mlpipe_train(:'v2', 'xgboost', '1.0', '{"n_estimators": 10}') IS NOT NULL;
SELECT 'same', feature, psi FROM mlpipe_drift(:'v2', '1.0', NULL);
UPDATE mlpipe.purchases SET annual_income = annual_income * 2;
SELECT 'doubled', feature, psi FROM mlpipe_drift(:'v2', '1.0', NULL);
ROLLBACK;
"""

INCOME_FEATURES = {"annual_income_standardized", "age_income_interaction_standardized", "income_group_Low",
                   "income_group_Medium", "income_group_High", "income_group_Very High"}


def test_drift():
    rows = psql(DRIFT_SQL, "%s --customers 3000 --seed 11" % GEN, "drift_e2e_" + RUN)
    same = {r[1]: float(r[2]) for r in rows if r[0] == "same"}
    doubled = {r[1]: float(r[2]) for r in rows if r[0] == "doubled"}
    check(len(same) == 19 and max(same.values()) < 1e-9, "drift: the training purchases give PSI 0", same)
    print("     PSI with incomes doubled: " + ", ".join("%s %.3f" % (k, v) for k, v in doubled.items()))
    moved = {f: doubled.get(f, 0) for f in INCOME_FEATURES}
    check(doubled.get("annual_income_standardized", 0) > 0.25
          and doubled.get("age_income_interaction_standardized", 0) > 0.25,
          "drift: incomes x2 move the standardized income features past 0.25", moved)
    groups = [f for f in INCOME_FEATURES if f.startswith("income_group")]
    check(sum(doubled.get(f, 0) > 0.25 for f in groups) >= 3,
          "drift: incomes x2 move at least three of the four income groups past 0.25", moved)
    others = {f: v for f, v in doubled.items() if f not in INCOME_FEATURES}
    check(len(others) == 13 and max(others.values()) < 0.01, "drift: the other features stay near 0", others)
    check(psql("SELECT count(*) FROM mlpipe.models WHERE model_name = :'v1'", "drift_e2e_" + RUN)[0][0] == "0",
          "drift: nothing left behind (rolled back)")


def test_rest_errors():
    r = requests.get(REG + "/models/%s/drift" % NAME, params={"version": "1.0"})
    j = r.json() if r.status_code == 200 else {}
    check(r.status_code == 200 and len(j.get("features", [])) == 19
          and all(isinstance(f["psi"], (int, float)) for f in j["features"]),
          "GET /models/{name}/drift: 19 features with a PSI", r.text[:300])
    art = requests.get(REG + "/get_model/%s/1.0" % NAME).content
    std = psql("SELECT standardization_params FROM mlpipe.models WHERE model_name = :'v1'", NAME)[0][0]
    r = requests.post(REG + "/register_model", headers=AUTH,
                      data={"model_name": NAME + "_outside", "version": "1.0", "standardization_params": std,
                            "model_params": "{}"},
                      files={"model_file": ("m.json", art)})
    check(r.status_code == 200, "a model registered from outside", r.text)
    r = requests.get(REG + "/models/%s_outside/drift" % NAME)
    check(r.status_code == 409 and "no training distribution" in r.json().get("detail", ""),
          "drift of a model without a training distribution: 409 saying so", r.text)
    requests.delete(REG + "/remove_model/%s_outside/1.0" % NAME, headers=AUTH)
    r = requests.get(REG + "/models/%s/monitor" % NAME, params={"version": "9.9"})
    check(r.status_code == 404, "monitor of an unknown version: 404", r.text)
    r = requests.get(REG + "/models/nosuch_%s/drift" % RUN)
    check(r.status_code == 404, "drift of an unknown model: 404", r.text)
    r = requests.get(REG + "/models/%s/monitor" % NAME, params={"since": "last tuesday"})
    check(r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "since"],
          "a since that is no date: 422 at query.since", r.text)


def cleanup():
    psql("DELETE FROM mlpipe.predictions WHERE model_name = :'v1';"
         "DELETE FROM mlpipe.purchases WHERE customer_id BETWEEN :v2 AND :v2 + 99;"
         "DELETE FROM mlpipe.models WHERE model_name = :'v1';", NAME, BASE_CID)


def main():
    try:
        setup_model()
        test_log_and_monitor()
        test_blocked_log()
        test_rest_errors()
        test_drift()
    except Exception as e:          # a crash is a failure, with its cause
        check(False, "test_monitor.py raised", repr(e))
    finally:
        try:
            cleanup()
        except Exception as e:
            check(False, "cleanup", repr(e))
    with open(os.environ["COUNTS"], "w") as f:
        f.write("%d %d\n" % (passed, failed))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

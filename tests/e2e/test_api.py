#!/usr/bin/python3
"""End-to-end checks of the three mlpipe services (docs/http.md).

Run by tests/e2e/run.sh, which starts the real binaries and passes:
  REGISTRY, PREPROCESSING, INFERENCE   base URLs
  TOKEN                                the MLPIPE_API_TOKEN the services run with
  MAX_UPLOAD                           the MLPIPE_MAX_UPLOAD they run with
  RUN_ID                               a suffix that keeps model names and
                                       customer ids of this run apart
  PG_STOP, PG_START                    shell commands that stop / start the
                                       database (empty: DB-down part skipped)
  LOGDIR                               where the services' stderr goes
  COUNTS                               file to write "passed failed" to
  READ_ONLY_DB                         1: preprocessing and inference run on a
                                       hot standby (tests/scale), so ingesting
                                       must get 503 saying the database is
                                       read-only

Uses the old pipeline's client library (requests), including its multipart
upload call, so what passes here works for the old clients.
"""
import json
import os
import pickle
import subprocess
import sys

import requests

import recorder

REG = os.environ["REGISTRY"]
PRE = os.environ["PREPROCESSING"]
INF = os.environ["INFERENCE"]
# every response checked against the OpenAPI documents afterwards (run.sh)
recorder.install({"registry": REG, "preprocessing": PRE, "inference": INF})
TOKEN = os.environ["TOKEN"]
MAX_UPLOAD = int(os.environ["MAX_UPLOAD"])
RUN = os.environ["RUN_ID"]
READ_ONLY_DB = os.environ.get("READ_ONLY_DB") == "1"
AUTH = {"Authorization": "Bearer " + TOKEN}
BAD_AUTH = {"Authorization": "Bearer not-the-token"}

FEATURES = [
    "age", "gender", "frequency", "days_since_last_purchase",
    "avg_days_between_purchases", "age_group_19-25", "age_group_26-35",
    "age_group_36-45", "age_group_46-55", "age_group_56-65", "age_group_65+",
    "income_group_Low", "income_group_Medium", "income_group_High",
    "income_group_Very High", "purchase_amount_standardized",
    "annual_income_standardized", "clv_standardized",
    "age_income_interaction_standardized",
]

passed = 0
failed = 0


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + ("  -- " + str(detail)[:600] if detail else ""))


def is_json(r):
    return r.headers.get("Content-Type", "").startswith("application/json")


def status(r, code, what):
    """Status code, JSON content type, and {"detail": ...} on errors."""
    ok = r.status_code == code and is_json(r)
    if ok and code >= 400:
        try:
            ok = "detail" in r.json()
        except ValueError:
            ok = False
    check(ok, what + " -> %d" % code, "%d %s %s" % (r.status_code, r.headers.get("Content-Type"), r.text))
    return ok


def has_loc(r, loc, typ=None):
    try:
        for e in r.json()["detail"]:
            if e["loc"] == loc and (typ is None or e["type"] == typ) and isinstance(e["msg"], str):
                return True
    except (ValueError, KeyError, TypeError):
        pass
    return False


def check_422(r, loc, typ, what):
    if status(r, 422, what):
        check(has_loc(r, loc, typ), what + ": loc %s type %s" % (loc, typ), r.text)


MODEL = []


def train_model():
    """A tiny XGBoost model on 19 features, as the old pipeline saved it."""
    import numpy as np
    import xgboost as xgb
    rng = np.random.RandomState(7)
    X = rng.rand(200, 19)
    y = X[:, 15] * 2 + X[:, 0]
    booster = xgb.train({"max_depth": 3, "objective": "reg:squarederror"},
                        xgb.DMatrix(X, label=y), num_boost_round=5)
    path = os.path.join(os.environ["LOGDIR"], "model.json")
    booster.save_model(path)
    with open(path, "rb") as f:
        MODEL.append(f.read())
    return MODEL[0]


STD = {"params": {
    "purchase_amount": {"mean": 250.0, "std": 120.0},
    "annual_income": {"mean": 70000.0, "std": 20000.0},
    "clv": {"mean": 900.0, "std": 600.0},
    "age_income_interaction": {"mean": 2800000.0, "std": 1500000.0},
}}


def register(name, version, data, headers=AUTH, fields=None, filename="model.json"):
    form = {
        "model_name": name,
        "version": version,
        "standardization_params": json.dumps(STD),
        "model_params": json.dumps({"max_depth": 3}),
        "additional_metadata": json.dumps({"rmse": 12.5}),
    }
    if fields is not None:
        form = fields
    # exactly the old pipeline's client call
    return requests.post(REG + "/register_model", data=form,
                         files={"model_file": (filename, data)}, headers=headers)


def purchase(cid, **kw):
    p = {"customer_id": cid, "purchase_date": "2024-03-05T10:20:30+02:00",
         "purchase_amount": 180.5, "annual_income": 64000, "age": 37, "gender": "Female"}
    p.update(kw)
    return p


def test_common():
    for name, url in (("registry", REG), ("preprocessing", PRE), ("inference", INF)):
        r = requests.get(url + "/healthz")
        status(r, 200, name + " /healthz")
        check(r.json() == {"status": "ok"}, name + " /healthz body", r.text)
        status(requests.get(url + "/readyz"), 200, name + " /readyz")
        r = requests.get(url + "/no/such/route")
        status(r, 404, name + " unknown route")
        check(r.json() == {"detail": "Not Found"}, name + " 404 body", r.text)
    r = requests.put(REG + "/list_models")
    status(r, 405, "PUT /list_models")
    check(r.json() == {"detail": "Method Not Allowed"} and "GET" in r.headers.get("Allow", ""),
          "405 body and Allow header", r.text)
    status(requests.get(INF + "/predict"), 405, "GET /predict")
    status(requests.post(REG + "/get_model_info/a/b"), 405, "POST /get_model_info")
    # headers share a 16 KB pool per connection: 8 KB (nginx's limit) fit
    status(requests.get(INF + "/healthz", headers={"X-Pad": "a" * 8192}), 200, "/healthz with an 8 KB header")
    r = requests.get(INF + "/healthz", headers={"X-Pad": "a" * 20000})
    check(r.status_code == 431, "a 20 KB header gets 431 (libmicrohttpd's own HTML body)", r.status_code)


def test_registry(model):
    name = "e2e_rf_" + RUN
    r = register(name, "1.0", model, headers={})
    status(r, 401, "register without token")
    r = register(name, "1.0", model, headers=BAD_AUTH)
    status(r, 401, "register with a wrong token")

    r = register(name, "1.0", model)
    if status(r, 200, "register_model (requests multipart)"):
        body = r.json()
        check(body.get("message") == "Model %s version 1.0 registered successfully" % name,
              "register message", body)
        check(body.get("model_name") == name and body.get("version") == "1.0"
              and body.get("algorithm") in ("xgboost", "random_forest", "linear")
              and body.get("size_bytes") == len(model) and len(body.get("sha256", "")) == 64,
              "register returns the info object", body)
    status(register(name, "1.0", model), 409, "register the same version again")

    # missing, invalid and wrong form fields
    fields = {"model_name": name, "standardization_params": "{}", "model_params": "{}"}
    check_422(register(name, "x", model, fields=fields), ["body", "version"], "missing",
              "register without version")
    r = requests.post(REG + "/register_model", headers=AUTH,
                      data={"model_name": name, "version": "3.0", "standardization_params": "{}",
                            "model_params": "{}"})
    check_422(r, ["body", "model_file"], "missing", "register without model_file")
    fields = {"model_name": name, "version": "3.0", "standardization_params": "{not json",
              "model_params": "{}"}
    check_422(register(name, "x", model, fields=fields), ["body", "standardization_params"],
              "json_invalid", "register with a field that is not JSON")
    fields = {"model_name": "bad/name", "version": "3.0", "standardization_params": "{}",
              "model_params": "{}"}
    check_422(register(name, "x", model, fields=fields), ["body", "model_name"], None,
              "register with an invalid model name")
    r = requests.post(REG + "/register_model", headers=AUTH, json={"model_name": name})
    check_422(r, ["body", "model_name"], "missing", "register with a JSON body instead of a form")
    r = requests.post(REG + "/register_model", headers=dict(AUTH, **{
        "Content-Type": "multipart/form-data; boundary=XX"}), data=b"--XX\r\nbroken")
    status(r, 400, "register with a malformed multipart body")

    # refused formats: pickle sniffed by the service, other JSON refused by the extension
    r = register(name, "2.0", pickle.dumps({"model": [1, 2, 3]}), filename="model.pkl")
    if status(r, 415, "register a pickle"):
        check("save_model" in r.json()["detail"], "415 says how to export", r.text)
    r = register(name, "2.0", b"PK\x03\x04joblib")
    if status(r, 415, "register a zip/joblib file"):
        check("save_model" in r.json()["detail"], "415 for zip says how to export", r.text)
    # UBJSON starts with '{' like JSON: the extension refuses it (0A000)
    r = register(name, "2.0", b"{L\x00\x00\x00\x00\x00\x00\x00\x07learner{}}")
    if status(r, 415, "register an XGBoost UBJSON model (refused by the extension)"):
        check("save_model" in r.json()["detail"], "415 from the extension says how to export", r.text)
    # JSON, but not an XGBoost model: a field value the extension finds invalid (22023)
    status(register(name, "2.0", b'{"not": "an xgboost model"}'), 422,
           "register JSON that is not an XGBoost model")
    r = register(name, "2.0", b"{" + b" " * (MAX_UPLOAD + 10) + b"}")
    status(r, 413, "register an upload over MLPIPE_MAX_UPLOAD")

    # versions and "latest": 1.10 > 1.9
    status(register(name, "1.9", model), 200, "register 1.9")
    status(register(name, "1.10", model), 200, "register 1.10")
    r = requests.get(REG + "/get_latest_model_info/" + name)
    if status(r, 200, "get_latest_model_info"):
        check(r.json().get("version") == "1.10", "latest is 1.10, not 1.9", r.text)
    r = requests.get(REG + "/get_model_info/%s/1.0" % name)
    if status(r, 200, "get_model_info"):
        info = r.json()
        # the extension may keep the inner {col: {mean, std}} object of {"params": ...}
        check(info.get("standardization_params") in (STD, STD["params"])
              and info.get("model_params") == {"max_depth": 3}
              and info.get("additional_metadata") == {"rmse": 12.5},
              "info keeps the JSON fields", info)
    status(requests.get(REG + "/get_model_info/%s/9.9" % name), 404, "get_model_info unknown version")
    status(requests.get(REG + "/get_model_info/nosuchmodel_%s/1.0" % RUN), 404, "get_model_info unknown model")
    status(requests.get(REG + "/get_latest_model_info/nosuchmodel_" + RUN), 404, "latest of unknown model")

    r = requests.get(REG + "/list_models")
    if status(r, 200, "list_models"):
        mine = [m for m in r.json() if m.get("model_name") == name]
        check(len(mine) == 1 and mine[0].get("versions") == ["1.0", "1.9", "1.10"],
              "list_models shape and version order", r.text)
    r = requests.get(INF + "/models")
    if status(r, 200, "inference /models"):
        check(r.json() == requests.get(REG + "/list_models").json(), "/models same as /list_models")

    r = requests.get(REG + "/get_model/%s/1.0" % name)
    check(r.status_code == 200 and r.content == model and is_json(r)
          and "attachment" in r.headers.get("Content-Disposition", "")
          and "filename=" in r.headers.get("Content-Disposition", ""),
          "get_model returns the artifact bytes", (r.status_code, r.headers))
    status(requests.get(REG + "/get_model/%s/7.7" % name), 404, "get_model unknown version")

    status(requests.delete(REG + "/remove_model/%s/1.9" % name), 401, "remove without token")
    status(requests.delete(REG + "/remove_model/%s/1.9" % name, headers=BAD_AUTH), 401,
           "remove with a wrong token")
    r = requests.delete(REG + "/remove_model/%s/1.9" % name, headers=AUTH)
    if status(r, 200, "remove_model"):
        check("removed" in r.json().get("message", ""), "remove message", r.text)
    status(requests.delete(REG + "/remove_model/%s/1.9" % name, headers=AUTH), 404, "remove again")
    status(requests.get(REG + "/get_model_info/%s/1.9" % name), 404, "removed version is gone")
    status(register(name, "1.9", model), 200, "register a removed version again")
    return name


def test_preprocessing():
    body = {"raw_data": purchase(5000001), "standardization_params": STD}
    r = requests.post(PRE + "/preprocess", json=body)
    if status(r, 200, "preprocess"):
        f = r.json().get("features", {})
        check(sorted(f) == sorted(FEATURES), "preprocess returns the 19 named features", r.text)
        check(f.get("age") == 37 and f.get("gender") == 1, "age and gender features", f)
    body2 = {"raw_data": purchase(5000001), "standardization_params": STD["params"]}
    r2 = requests.post(PRE + "/preprocess", json=body2)
    status(r2, 200, "preprocess with the inner params object")
    if r.status_code == 200 and r2.status_code == 200:
        check(r.json() == r2.json(), "both params shapes give the same features")

    r = requests.post(PRE + "/preprocess", data=b'{"raw_data": {', headers={"Content-Type": "application/json"})
    if status(r, 422, "preprocess with invalid JSON (FastAPI: 422)"):
        check(r.json()["detail"][0]["type"] == "json_invalid", "invalid JSON type json_invalid", r.text)
    check_422(requests.post(PRE + "/preprocess", json={"standardization_params": STD}),
              ["body", "raw_data"], "missing", "preprocess without raw_data")
    p = purchase(1)
    del p["age"]
    check_422(requests.post(PRE + "/preprocess", json={"raw_data": p, "standardization_params": STD}),
              ["body", "raw_data", "age"], "missing", "preprocess without age")
    check_422(requests.post(PRE + "/preprocess", json={"raw_data": purchase(1, age="old"),
                                                       "standardization_params": STD}),
              ["body", "raw_data", "age"], "int_type", "preprocess with a string age")
    check_422(requests.post(PRE + "/preprocess", json={"raw_data": purchase(1, age=150),
                                                       "standardization_params": STD}),
              ["body", "raw_data", "age"], "less_than_equal", "preprocess with age 150")
    check_422(requests.post(PRE + "/preprocess", json={"raw_data": purchase(1, purchase_amount=-3),
                                                       "standardization_params": STD}),
              ["body", "raw_data", "purchase_amount"], "greater_than_equal", "preprocess negative amount")
    check_422(requests.post(PRE + "/preprocess", json={"raw_data": purchase(1, purchase_date="yesterday"),
                                                       "standardization_params": STD}),
              ["body", "raw_data", "purchase_date"], None, "preprocess with a garbage date")
    check_422(requests.post(PRE + "/preprocess", json={"raw_data": purchase(1, gender="X"),
                                                       "standardization_params": STD}),
              ["body", "raw_data", "gender"], "literal_error", "preprocess with gender X")
    r = requests.post(PRE + "/preprocess", json={"raw_data": purchase(1), "standardization_params": {"params": {}}})
    status(r, 422, "preprocess with empty standardization params (extension 22023)")
    big = {"raw_data": purchase(1), "standardization_params": STD, "pad": "x" * (1024 * 1024 + 10)}
    status(requests.post(PRE + "/preprocess", json=big), 413, "preprocess with a body over 1 MiB")

    # ingest: all or nothing
    cid = 900000000 + int(RUN) % 100000
    rows = [purchase(cid, purchase_date="2024-01-%02dT12:00:00Z" % d, purchase_amount=100 + d)
            for d in (3, 9, 20)]
    status(requests.post(PRE + "/purchases", json=rows), 401, "ingest without token")
    bad = rows + [purchase(cid, age=0)]
    r = requests.post(PRE + "/purchases", json=bad, headers=AUTH)
    check_422(r, ["body", 3, "age"], "greater_than_equal", "ingest with one bad row")
    r = requests.post(PRE + "/purchases", json={"purchases": rows}, headers=AUTH)
    if READ_ONLY_DB:
        if status(r, 503, "ingest on a hot standby (SQLSTATE 25006)"):
            check("read-only" in r.json()["detail"], "the 503 says the database is read-only", r.text)
    elif status(r, 201, "ingest {\"purchases\": [...]}"):
        check(r.json() == {"inserted": 3}, "ingest count", r.text)
    check_422(requests.post(PRE + "/purchases", json={"purchases": [purchase(cid, gender=None)]},
                            headers=AUTH),
              ["body", "purchases", 0, "gender"], "string_type", "ingest with a null gender")
    return cid


def test_inference(name):
    p = purchase(5000002)
    r = requests.post(INF + "/predict", json={"model_name": name, "model_version": "1.0", "purchase_data": p})
    single = None
    if status(r, 200, "predict"):
        b = r.json()
        check(b.get("customer_id") == 5000002 and b.get("purchase_date") == p["purchase_date"]
              and isinstance(b.get("predicted_purchase_amount"), float),
              "predict echoes the purchase and returns a number", b)
        single = b.get("predicted_purchase_amount")
    r = requests.post(INF + "/predict", json={"model_name": name, "purchase_data": p})
    status(r, 200, "predict without model_version (latest)")
    r = requests.post(INF + "/predict", json={"model_name": name, "model_version": None, "purchase_data": p})
    status(r, 200, "predict with model_version null (latest)")
    status(requests.post(INF + "/predict", json={"model_name": "nosuch_" + RUN, "purchase_data": p}),
           404, "predict with an unknown model")
    status(requests.post(INF + "/predict", json={"model_name": name, "model_version": "8.8",
                                                 "purchase_data": p}), 404, "predict with an unknown version")
    check_422(requests.post(INF + "/predict", json={"model_version": "1.0", "purchase_data": p}),
              ["body", "model_name"], "missing", "predict without model_name")
    check_422(requests.post(INF + "/predict", json={"model_name": name}),
              ["body", "purchase_data"], "missing", "predict without purchase_data")
    check_422(requests.post(INF + "/predict", json={"model_name": name,
                                                    "purchase_data": purchase(1, customer_id="abc")}),
              ["body", "purchase_data", "customer_id"], "int_type", "predict with a string customer_id")
    check_422(requests.post(INF + "/predict", json={"model_name": name,
                                                    "purchase_data": purchase(1, annual_income="rich")}),
              ["body", "purchase_data", "annual_income"], "float_type", "predict with a string income")
    r = requests.post(INF + "/predict", data=b"not json", headers={"Content-Type": "application/json"})
    if status(r, 422, "predict with invalid JSON"):
        e = r.json()["detail"][0]
        check(e["type"] == "json_invalid" and e["loc"][0] == "body" and isinstance(e["loc"][1], int),
              "invalid JSON: loc [body, position], type json_invalid", r.text)

    batch = [purchase(5000002), purchase(5000003, age=61, gender="Male", purchase_amount=12),
             purchase(5000004, purchase_date="2024-02-29")]
    r = requests.post(INF + "/predict/batch", json={"model_name": name, "model_version": "1.0", "purchases": batch})
    if status(r, 200, "predict/batch"):
        preds = r.json().get("predictions", [])
        check(len(preds) == 3 and [x.get("customer_id") for x in preds] == [5000002, 5000003, 5000004],
              "batch predictions in input order", r.text)
        if single is not None and preds:
            check(abs(preds[0]["predicted_purchase_amount"] - single) <= 1e-9 * max(1.0, abs(single)),
                  "batch and single predict agree", (preds[0], single))
    check_422(requests.post(INF + "/predict/batch", json={"model_name": name,
                                                          "purchases": [purchase(1), purchase(2, age=-1)]}),
              ["body", "purchases", 1, "age"], "greater_than_equal", "batch with one bad purchase")
    r = requests.post(INF + "/predict/batch", json={"model_name": name,
                                                    "purchases": [purchase(i) for i in range(10001)]})
    check_422(r, ["body", "purchases"], "too_long", "batch of 10,001 purchases")
    status(requests.post(INF + "/predict/batch", json={"model_name": "nosuch_" + RUN, "purchases": batch}),
           404, "batch with an unknown model")


def db_counts():
    """The coalescer's counters from /metrics: (batches, batched requests, fallbacks)."""
    text = requests.get(INF + "/metrics").text
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith("mlpipe_db_"):
            values[parts[0]] = int(parts[1])
    return (values.get("mlpipe_db_batches_total", -1), values.get("mlpipe_db_batched_requests_total", -1),
            values.get("mlpipe_db_batch_fallbacks_total", -1))


def sql_predictions(cases):
    """{i: mlpipe_predict(...)} straight from SQL for (i, body) cases."""
    def lit(v):
        return "NULL::text" if v is None else "'" + str(v).replace("'", "''") + "'"
    rows = []
    for i, b in cases:
        p = b["purchase_data"]
        rows.append("(%d, %s, %s, %d, %s::timestamptz, %r::float8, %r::float8, %d, %s)" % (
            i, lit(b["model_name"]), lit(b.get("model_version")), p["customer_id"], lit(p["purchase_date"]),
            float(p["purchase_amount"]), float(p["annual_income"]), p["age"], lit(p["gender"])))
    out = sh("psql -XAtq -v ON_ERROR_STOP=1 -F ' ' -c \"SELECT i, mlpipe_predict(m, v, c, d, a, n, g, s) "
             "FROM (VALUES %s) t(i, m, v, c, d, a, n, g, s)\"" % ", ".join(rows))
    got = {}
    for line in out.stdout.splitlines():
        i, v = line.split()
        got[int(i)] = float(v)
    return got


def test_concurrent_predict(name):
    """Concurrent /predict requests share database calls (services/common/
    coalesce.c).  Each must still get exactly its own answer, whether it ran
    alone or in a batch, with or without a version (SQL NULLs inside the
    batch's arrays), and an unknown model among them gets its 404 without
    failing the others (the batch is re-run one request at a time)."""
    import random
    import threading
    rng = random.Random(11)
    bodies = []
    for i in range(240):
        p = purchase(rng.randint(1, 60) if i % 5 else 9000000 + i,
                     purchase_date="2024-%02d-%02dT%02d:15:00Z" % (rng.randint(1, 12), rng.randint(1, 28),
                                                                   rng.randint(0, 23)),
                     purchase_amount=round(rng.uniform(5, 900), 2), annual_income=rng.randint(0, 250000),
                     age=rng.randint(18, 80), gender=rng.choice(["Male", "Female"]))
        b = {"model_name": name if i % 11 else "nosuch_" + RUN, "purchase_data": p}
        if i % 3:
            b["model_version"] = "1.0"
        bodies.append(b)
    results = [None] * len(bodies)

    def client(k, nclients):
        with requests.Session() as s:
            for i in range(k, len(bodies), nclients):
                r = s.post(INF + "/predict", json=bodies[i])
                results[i] = (r.status_code, r.json() if is_json(r) else r.text)

    # batches form only when requests wait for a busy dispatcher: a few bursts at most
    before = db_counts()
    for _ in range(5):
        clients = [threading.Thread(target=client, args=(k, 16)) for k in range(16)]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
        after = db_counts()
        if after[1] > before[1] and after[2] > before[2]:
            break
    check(after[0] > before[0] and after[1] - before[1] >= 2 * (after[0] - before[0]),
          "concurrent predicts shared database calls", (before, after))
    check(after[2] > before[2], "a batch with an unknown model was re-run one request at a time",
          (before, after))
    expected = sql_predictions([(i, b) for i, b in enumerate(bodies) if b["model_name"] == name])
    wrong = []
    for i, b in enumerate(bodies):
        code, body = results[i]
        if b["model_name"] != name:
            want = "Model %s not found" % b["model_name"]
            if "model_version" in b:
                want = "Model %s version %s not found" % (b["model_name"], b["model_version"])
            # the old wording first, then what exists instead
            ok = code == 404 and list(body) == ["detail"] and body["detail"].startswith(want + ". ")
        else:
            ok = (code == 200 and body.get("customer_id") == b["purchase_data"]["customer_id"]
                  and body.get("purchase_date") == b["purchase_data"]["purchase_date"]
                  and body.get("predicted_purchase_amount") == expected.get(i)
                  and body.get("model_version") == b.get("model_version", "1.10"))
        if not ok:
            wrong.append((i, results[i], expected.get(i)))
    check(len(expected) == sum(1 for b in bodies if b["model_name"] == name) and not wrong,
          "each of %d concurrent predicts got its own answer, as SQL computes it" % len(bodies), wrong[:3])


def test_slow_prediction(name):
    """A very slow prediction (a customer with 400,000 purchases, about a
    third of a second) must not hold up the others queued behind it: the
    standby dispatcher takes requests that have waited 20 ms."""
    import threading
    import time
    slow_cid = 7000000 + os.getpid() % 100000
    out = sh("psql -XAtq -v ON_ERROR_STOP=1 -c \"INSERT INTO mlpipe.purchases (customer_id, purchase_date, "
             "purchase_amount, annual_income, age, gender) SELECT %d, timestamptz '1980-01-01' + i * interval "
             "'1 hour', 10, 50000, 40, 'Male' FROM generate_series(1, 400000) i\"" % slow_cid)
    check(out.returncode == 0, "a customer with 400,000 purchases", out.stdout)
    try:
        sessions = [requests.Session() for _ in range(4)]
        # keep-alive connections open first: with one connection only, the
        # slow request would run on the HTTP thread itself (run-alone path)
        for s in sessions:
            s.post(INF + "/predict", json={"model_name": name, "purchase_data": purchase(1)})
        before = requests.get(INF + "/metrics").text
        done = {}

        def post(key, s, cid):
            r = s.post(INF + "/predict", json={"model_name": name, "purchase_data": purchase(cid)})
            done[key] = (time.monotonic(), r.status_code)

        slow = threading.Thread(target=post, args=("slow", sessions[0], slow_cid))
        slow.start()
        time.sleep(0.05)		# the dispatcher is now busy with it
        fast = [threading.Thread(target=post, args=(k, sessions[k], k)) for k in (1, 2, 3)]
        for t in fast:
            t.start()
        for t in fast + [slow]:
            t.join()
        after = requests.get(INF + "/metrics").text

        def takeovers(text):
            for line in text.splitlines():
                if line.startswith("mlpipe_db_standby_takeovers_total "):
                    return int(line.split()[1])
            return -1
        check(all(done[k][1] == 200 for k in ("slow", 1, 2, 3)), "slow and fast predictions answered", done)
        check(all(done[k][0] < done["slow"][0] for k in (1, 2, 3)),
              "requests queued behind a slow prediction were answered before it", done)
        check(takeovers(after) > takeovers(before) >= 0, "by the standby dispatcher",
              (takeovers(before), takeovers(after)))
        for s in sessions:
            s.close()
    finally:
        sh("psql -XAtq -c 'DELETE FROM mlpipe.purchases WHERE customer_id = %d'" % slow_cid)


def other_model():
    """A second tiny model whose predictions differ from train_model()'s."""
    import numpy as np
    import xgboost as xgb
    rng = np.random.RandomState(8)
    X = rng.rand(200, 19)
    y = 5 - X[:, 15] * 3
    booster = xgb.train({"max_depth": 2, "objective": "reg:squarederror"},
                        xgb.DMatrix(X, label=y), num_boost_round=4)
    path = os.path.join(os.environ["LOGDIR"], "model2.json")
    booster.save_model(path)
    with open(path, "rb") as f:
        return f.read()


def test_registry_changes_reach_inference(model):
    """The inference service's database sessions outlive requests and cache
    which model a (name, version) means; a register or remove through the
    registry service (another session) must reach them at once."""
    name = "fresh_" + RUN
    p = purchase(5000003)

    def predict(version=None):
        body = {"model_name": name, "purchase_data": p}
        if version:
            body["model_version"] = version
        values = set()
        for _ in range(6):	# several requests: every worker's session
            r = requests.post(INF + "/predict", json=body)
            values.add(r.json().get("predicted_purchase_amount") if r.status_code == 200 else r.status_code)
        return values

    status(register(name, "1.0", model), 200, "register %s 1.0" % name)
    first = predict()
    check(len(first) == 1 and 404 not in first, "latest is 1.0 in every session", first)
    status(register(name, "2.0", other_model()), 200, "register %s 2.0" % name)
    second = predict()
    check(len(second) == 1 and second != first, "latest moves to 2.0 in every session at once", (first, second))
    status(requests.delete(REG + "/remove_model/%s/2.0" % name, headers=AUTH), 200, "remove 2.0")
    check(predict() == first, "after removing 2.0, latest is 1.0 again everywhere")
    check(predict("2.0") == {404}, "the removed version is 404 everywhere")
    status(requests.delete(REG + "/remove_model/%s/1.0" % name, headers=AUTH), 200, "remove 1.0")
    # a removed version leaves a tombstone: it means one artifact for ever
    r = register(name, "1.0", other_model())
    status(r, 409, "register 1.0 again, other bytes: a tombstone")
    check("was removed" in r.json().get("detail", "") and "sha256" in r.json().get("detail", ""),
          "the 409 says the version was removed and which artifact it held", r.text)
    status(register(name, "1.0", model), 200, "register 1.0 again, the same bytes")
    check(predict("1.0") == first, "1.0 registered again (a new row) predicts everywhere", predict("1.0"))
    requests.delete(REG + "/remove_model/%s/1.0" % name, headers=AUTH)


def test_metrics_and_logs():
    r = requests.get(INF + "/metrics")
    text = r.text
    check(r.status_code == 200 and r.headers.get("Content-Type", "").startswith("text/plain"),
          "/metrics is Prometheus text", r.headers)
    check('mlpipe_http_requests_total{route="/predict",status="200"}' in text
          and 'mlpipe_http_requests_total{route="/predict",status="404"}' in text,
          "request counters per route and status", text[:800])
    check('mlpipe_http_request_duration_seconds_bucket{route="/predict",le="+Inf"}' in text
          and 'mlpipe_http_request_duration_seconds_count{route="/predict"}' in text,
          "latency histogram per route", text[:800])
    lines = []
    with open(os.path.join(os.environ["LOGDIR"], "inference.log")) as f:
        for line in f:
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if "path" in j:
                lines.append(j)
    check(lines and all({"ts", "method", "path", "status", "duration_ms"} <= set(j) for j in lines)
          and any(j["path"] == "/predict" and j["status"] == 200 for j in lines),
          "one JSON log line per request", lines[:3])


def sh(cmd):
    return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)


def test_database_down(name, cid):
    stop, start = os.environ.get("PG_STOP", ""), os.environ.get("PG_START", "")
    if not stop or not start:
        print("skip database-down checks (no PG_STOP/PG_START)")
        return
    p = purchase(5000005)
    # warm every worker connection first, so the outage hits live connections
    for _ in range(4):
        requests.get(INF + "/models")
        requests.get(REG + "/list_models")
    out = sh(stop)
    check(out.returncode == 0, "database stopped", out.stdout)
    try:
        for svc, url in (("registry", REG), ("preprocessing", PRE), ("inference", INF)):
            status(requests.get(url + "/readyz"), 503, svc + " /readyz with the database down")
            status(requests.get(url + "/healthz"), 200, svc + " /healthz with the database down")
        for _ in range(3):		# every worker thread notices its dead connection
            status(requests.post(INF + "/predict", json={"model_name": name, "purchase_data": p}), 503,
                   "predict with the database down")
        status(requests.get(REG + "/list_models"), 503, "list_models with the database down")
        status(register(name, "5.0", b'{"learner": {}}'), 503, "register with the database down")
        status(requests.post(PRE + "/preprocess", json={"raw_data": p, "standardization_params": STD}),
               503, "preprocess with the database down")
    finally:
        out = sh(start)
        check(out.returncode == 0, "database started again", out.stdout)
    # same processes, no restart: the next requests reconnect
    for svc, url in (("registry", REG), ("preprocessing", PRE), ("inference", INF)):
        status(requests.get(url + "/readyz"), 200, svc + " /readyz after the database is back")
    for _ in range(3):
        status(requests.post(INF + "/predict", json={"model_name": name, "purchase_data": p}), 200,
               "predict after the database is back")
    status(requests.get(REG + "/list_models"), 200, "list_models after the database is back")
    status(requests.post(PRE + "/preprocess", json={"raw_data": p, "standardization_params": STD}),
           200, "preprocess after the database is back")

    # A restart while no request comes in leaves every worker with a dead but
    # unnoticed connection.  Changing requests are never retried (they may
    # have committed), so the dead connection must be noticed before use.
    # (first make every worker prepare the changing statements: 409, 404, 201)
    for i in range(4):
        register(name, "1.0", MODEL[0])
        requests.delete(REG + "/remove_model/%s/0.0.%d" % (name, i), headers=AUTH)
        requests.post(PRE + "/purchases", json=[purchase(cid, purchase_date="2024-05-0%dT08:00:00Z" % (i + 1))],
                      headers=AUTH)
    out = sh(stop + " && " + start)
    check(out.returncode == 0, "database restarted while idle", out.stdout)
    for i in range(4):
        status(register(name, "6.%d" % i, MODEL[0]), 200, "register after an idle restart (%d)" % i)
    for i in range(4):
        status(requests.delete(REG + "/remove_model/%s/6.%d" % (name, i), headers=AUTH), 200,
               "remove after an idle restart (%d)" % i)
    ingest = [purchase(cid, purchase_date="2024-04-0%dT08:00:00Z" % (i + 1)) for i in range(3)]
    for i in range(3):
        status(requests.post(PRE + "/purchases", json=ingest[i:i + 1], headers=AUTH), 201,
               "ingest after an idle restart (%d)" % i)


def psql(sql):
    subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


def test_trials():
    """GET /models/{name}/trials: mlpipe_tune's trial rows, newest run first."""
    name = "e2e_tune_" + RUN
    status(requests.get(REG + "/models/%s/trials" % name), 404, "trials of an unknown model")
    status(requests.get(REG + "/models/%s/trials" % ("x" * 300)), 404, "trials of an impossible name")
    status(requests.post(REG + "/models/%s/trials" % name), 405, "POST trials")
    folds = json.dumps([{"train_from": "2023-05-01", "train_to": "2023-10-01",
                         "valid_from": "2023-11-01", "valid_to": "2023-12-01",
                         "train_rows": 10, "valid_rows": 4, "rmse": 1.5}])
    try:
        psql("INSERT INTO mlpipe.tuning_trials (run_id, model_name, version, trial, params, fold_rmse, "
             "cv_rmse, seconds, folds) VALUES "
             "(-2, '%s', '1', 1, '{\"max_depth\": 3}', '{1.5}', 1.5, 0.25, '%s'), "
             "(-2, '%s', '1', 2, '{\"max_depth\": 4}', '{1.25}', 1.25, 0.5, '%s'), "
             "(-3, '%s', '0.9', 1, '{\"eta\": 0.1}', '{2}', 2, 0.125, '%s')"
             % (name, folds, name, folds, name, folds))
        r = requests.get(REG + "/models/%s/trials" % name)
        if status(r, 200, "trials of a tuned model"):
            body = r.json()
            trials = body.get("trials", [])
            check(body.get("model_name") == name and len(trials) == 3, "three trials", body)
            check([(t["run_id"], t["trial"]) for t in trials] == [(-2, 1), (-2, 2), (-3, 1)],
                  "newest run first, trials in order", trials)
            check(trials[1]["params"] == {"max_depth": 4} and trials[1]["cv_rmse"] == 1.25
                  and trials[1]["fold_rmse"] == [1.25] and trials[1]["version"] == "1"
                  and trials[1]["folds"][0]["valid_from"] == "2023-11-01",
                  "a trial's params, RMSEs and folds as stored", trials[1])
    finally:
        psql("DELETE FROM mlpipe.tuning_trials WHERE model_name = '%s'" % name)
    r = requests.get(REG + "/models/%s/trials" % name)
    status(r, 404, "trials once none are left (and no model)")


def cleanup(name, cid):
    if name:
        for v in ("1.0", "1.9", "1.10"):
            requests.delete(REG + "/remove_model/%s/%s" % (name, v), headers=AUTH)
    if cid:
        sh("psql -XAtq -c 'DELETE FROM mlpipe.purchases WHERE customer_id = %d'" % cid)


def main():
    name = cid = None
    try:
        model = train_model()
        test_common()
        name = test_registry(model)
        cid = test_preprocessing()
        test_inference(name)
        test_concurrent_predict(name)
        test_slow_prediction(name)
        test_registry_changes_reach_inference(model)
        test_metrics_and_logs()
        test_trials()
        test_database_down(name, cid)
    except Exception as e:		# a crash of the test itself is a failure, not a pass
        check(False, "test run raised %r" % (e,))
    finally:
        try:
            cleanup(name, cid)
        except Exception:
            pass
        with open(os.environ["COUNTS"], "w") as f:
            f.write("%d %d\n" % (passed, failed))
    print("api: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

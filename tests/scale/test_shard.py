#!/usr/bin/python3
"""Sharding by customer with PL/Proxy (SPEC section 10), run by tests/scale/run.sh.

Environment: PGHOST/PGPORT reach cluster A, which holds mlpipe_single (the
one-node reference), mlpipe_proxy and mlpipe_shard_0; SHARD1_PORT is cluster
B with mlpipe_shard_1 (a separate server, so that it can be stopped);
SHARD1_NAME its pg.sh name; CSV a generated data set; MLPIPE_BIN, TOP.
scripts/shard.sh has set the proxy up; nothing is loaded yet.
"""
import json
import os
import subprocess

import requests

from harness import AUTH, check, psql, run, start

TOP, CSV = os.environ["TOP"], os.environ["CSV"]
B_PORT, B_NAME = os.environ["SHARD1_PORT"], os.environ["SHARD1_NAME"]
DAY = "2024-06-01T09:30:00Z"


def rows(db, sql, port=None):
    out = psql(db, sql, port=port)
    return [line.split("|") for line in out.splitlines()] if out else []


def pg_sh(cmd):
    subprocess.run([os.path.join(TOP, "scripts", "pg.sh"), cmd], stdout=subprocess.DEVNULL, check=True,
                   env=dict(os.environ, MLPIPE_PG_NAME=B_NAME, MLPIPE_PGPORT=B_PORT))


def start_on_proxy(kind):
    return start(kind, PGDATABASE="mlpipe_proxy", PGUSER="mlpipe_" + kind)


def load():
    for db in ("mlpipe_single", "mlpipe_proxy"):
        psql(db, None, args=("-v", "csv=" + CSV, "-f", os.path.join(TOP, "sql", "load_purchases.sql")))
    single = int(psql("mlpipe_single", "SELECT count(*) FROM mlpipe.purchases"))
    s0 = int(psql("mlpipe_shard_0", "SELECT count(*) FROM mlpipe.purchases"))
    s1 = int(psql("mlpipe_shard_1", "SELECT count(*) FROM mlpipe.purchases", port=B_PORT))
    proxy = int(psql("mlpipe_proxy", "SELECT count(*) FROM mlpipe.purchases"))
    print("     %d purchases: shard 0 holds %d, shard 1 %d" % (single, s0, s1))
    check(s0 + s1 == single and s0 > 0 and s1 > 0 and proxy == 0,
          "load_purchases.sql through the proxy puts every row on a shard, none on the proxy", (single, s0, s1, proxy))
    ids = {0: psql("mlpipe_shard_0", "SELECT array_agg(DISTINCT customer_id) FROM mlpipe.purchases"),
           1: psql("mlpipe_shard_1", "SELECT array_agg(DISTINCT customer_id) FROM mlpipe.purchases", port=B_PORT)}
    for shard, arr in ids.items():
        wrong = psql("mlpipe_proxy", "SELECT count(*) FROM unnest('%s'::bigint[]) c "
                                     "WHERE mlpipe_proxy.shard_of(c) <> %d" % (arr, shard))
        check(wrong == "0", "every customer of shard %d hashes to it" % shard, wrong)
    return psql("mlpipe_single", "SELECT array_agg(DISTINCT customer_id ORDER BY customer_id) FROM mlpipe.purchases")


def test_training():
    q = "SELECT customer_id, month, features, target FROM mlpipe_training_rows() ORDER BY customer_id, month"
    one = rows("mlpipe_single", q)
    sharded = rows("mlpipe_proxy", q)
    check(len(one) == len(sharded) and len(one) > 0,
          "training rows gathered from the shards: same count (%d)" % len(one), (len(one), len(sharded)))
    worst = 0.0
    same_keys = True
    for a, b in zip(one, sharded):
        if a[0] != b[0] or a[1] != b[1] or a[3] != b[3]:
            same_keys = False
            break
        fa = [float(x) if x != "NULL" else 0.0 for x in a[2].strip("{}").split(",")]
        fb = [float(x) if x != "NULL" else 0.0 for x in b[2].strip("{}").split(",")]
        worst = max([worst] + [abs(x - y) for x, y in zip(fa, fb)])
    check(same_keys and worst <= 1e-9, "same customers, months, targets; features within 1e-9 (max diff %g)" % worst)
    sp = "SELECT mlpipe_standardization_params()"
    a, b = json.loads(psql("mlpipe_single", sp)), json.loads(psql("mlpipe_proxy", sp))
    diff = max(abs(a[k][m] - b[k][m]) for k in a for m in ("mean", "std"))
    check(set(a) == set(b) and diff <= 1e-9, "standardization fitted over all shards equals one node's (diff %g)" % diff)
    train = "SELECT mlpipe_train('sharded', 'xgboost', '1.0', '{\"n_estimators\": 60}')->>'rmse_test'"
    r1, r2 = float(psql("mlpipe_single", train)), float(psql("mlpipe_proxy", train))
    print("     test RMSE: one node %.4f, through the proxy %.4f" % (r1, r2))
    check(abs(r1 - r2) <= 0.5, "a model trained through the proxy has the one-node test RMSE within 0.5")
    sha = psql("mlpipe_proxy", "SELECT sha256 FROM mlpipe.models WHERE model_name = 'sharded'")
    on = [psql("mlpipe_shard_0", "SELECT sha256 FROM mlpipe.models WHERE model_name = 'sharded'"),
          psql("mlpipe_shard_1", "SELECT sha256 FROM mlpipe.models WHERE model_name = 'sharded'", port=B_PORT)]
    check(on == [sha, sha], "the model registered on the proxy is on every shard", (sha, on))


def test_predict(ids):
    q = ("SELECT c, mlpipe_predict('sharded', '1.0', c, '%s', 120.5, 61000, 41, 'Female') "
         "FROM unnest('%s'::bigint[]) c ORDER BY c" % (DAY, ids))
    one, sharded = psql("mlpipe_single", q), psql("mlpipe_proxy", q)
    n = len(one.splitlines())
    check(one == sharded and n > 0, "mlpipe_predict through the proxy equals one node's, bit for bit, "
                                     "for all %d customers" % n)
    q = ("SELECT customer_id, month, predicted_purchase_amount FROM mlpipe_predict_customers('sharded', '1.0') "
         "ORDER BY 1, 2")
    one, sharded = psql("mlpipe_single", q), psql("mlpipe_proxy", q)
    check(one == sharded and one, "mlpipe_predict_customers through the proxy returns the same set (%d rows)"
          % len(one.splitlines()))
    # aliases live in the proxy's registry only: the proxy resolves them
    psql("mlpipe_proxy", "SELECT mlpipe_set_alias('sharded', 'production', '1.0')")
    q = ("SELECT c, mlpipe_predict('sharded', '%s', c, '%s', 120.5, 61000, 41, 'Female') "
         "FROM unnest('%s'::bigint[]) c ORDER BY c")
    one, sharded = psql("mlpipe_single", q % ("1.0", DAY, ids)), psql("mlpipe_proxy", q % ("@production", DAY, ids))
    check(one == sharded and one, "mlpipe_predict with @production through the proxy equals one node's 1.0")
    q = ("SELECT customer_id, month, predicted_purchase_amount FROM mlpipe_predict_customers('sharded', '%s') "
         "ORDER BY 1, 2")
    one, sharded = psql("mlpipe_single", q % "1.0"), psql("mlpipe_proxy", q % "@production")
    check(one == sharded and one, "mlpipe_predict_customers with @production through the proxy too")
    psql("mlpipe_proxy", "SELECT mlpipe_delete_alias('sharded', 'production')")


def customer_on(shard):
    return int(psql("mlpipe_proxy", "SELECT min(c) FROM generate_series(1, 100) c "
                                    "WHERE mlpipe_proxy.shard_of(c) = %d" % shard))


def test_services(reg, pre, inf):
    body = lambda c: {"model_name": "sharded", "model_version": "1.0",
                      "purchase_data": {"customer_id": c, "purchase_date": DAY, "purchase_amount": 120.5,
                                        "annual_income": 61000, "age": 41, "gender": "Female"}}
    for shard in (0, 1):
        c = customer_on(shard)
        r = requests.post(inf + "/predict", json=body(c))
        want = psql("mlpipe_single", "SELECT mlpipe_predict('sharded', '1.0', %d, '%s', 120.5, 61000, 41, 'Female')"
                    % (c, DAY))
        check(r.status_code == 200 and repr(r.json()["predicted_purchase_amount"]) == repr(float(want)),
              "inference on the proxy: customer %d (shard %d) as on one node" % (c, shard), (r.text, want))
    # ingest through the proxy: rows reach their shard
    new = [900001, 900002, 900003, 900004]
    rows_ = [{"customer_id": c, "purchase_date": "2024-05-0%dT10:00:00Z" % (i + 1), "purchase_amount": 50 + i,
              "annual_income": 50000, "age": 30, "gender": "Male"} for i, c in enumerate(new)]
    r = requests.post(pre + "/purchases", json=rows_, headers=AUTH)
    check(r.status_code == 201 and r.json() == {"inserted": 4}, "POST /purchases on the proxy", r.text)
    placed = {c: (psql("mlpipe_shard_0", "SELECT count(*) FROM mlpipe.purchases WHERE customer_id = %d" % c),
                  psql("mlpipe_shard_1", "SELECT count(*) FROM mlpipe.purchases WHERE customer_id = %d" % c, port=B_PORT))
              for c in new}
    want = {c: ("1", "0") if psql("mlpipe_proxy", "SELECT mlpipe_proxy.shard_of(%d)" % c) == "0" else ("0", "1")
            for c in new}
    check(placed == want and psql("mlpipe_proxy", "SELECT count(*) FROM mlpipe.purchases") == "0",
          "each ingested row is on its customer's shard only", (placed, want))
    r = requests.post(pre + "/preprocess", json={"raw_data": rows_[0], "standardization_params": {
        "purchase_amount": {"mean": 250.0, "std": 120.0}, "annual_income": {"mean": 70000.0, "std": 20000.0},
        "clv": {"mean": 900.0, "std": 600.0}, "age_income_interaction": {"mean": 2800000.0, "std": 1500000.0}}})
    check(r.status_code == 200 and r.json()["features"]["frequency"] >= 1, "preprocess on the proxy", r.text)
    # a registration through the registry service reaches every shard
    art = psql("mlpipe_proxy", "SELECT encode(artifact, 'hex') FROM mlpipe.models WHERE model_name = 'sharded'")
    form = {"model_name": "viareg", "version": "1.0", "model_params": "{}", "additional_metadata": "{}",
            "standardization_params": psql("mlpipe_proxy", "SELECT standardization_params FROM mlpipe.models "
                                                           "WHERE model_name = 'sharded'")}
    r = requests.post(reg + "/register_model", data=form, files={"model_file": ("m.json", bytes.fromhex(art))},
                      headers=AUTH)
    check(r.status_code == 200, "register through the registry service on the proxy", r.text)
    b = body(customer_on(1))
    b["model_name"] = "viareg"
    r = requests.post(inf + "/predict", json=b)
    check(r.status_code == 200, "a model registered through the proxy is served for a shard-1 customer", r.text)


def test_shard_down(reg, inf):
    c0, c1 = customer_on(0), customer_on(1)
    pg_sh("stop")
    try:
        r = psql("mlpipe_proxy", "SELECT mlpipe_predict('sharded', '1.0', %d, '%s', 1, 1, 30, 'Male')" % (c1, DAY),
                 ok=False)
        check(r.returncode != 0 and "shard mlpipe_shard_1 cannot be reached" in r.stderr,
              "SQL: a customer of the stopped shard gets an error naming the shard", r.stderr)
        body = lambda c: {"model_name": "sharded", "purchase_data": {
            "customer_id": c, "purchase_date": DAY, "purchase_amount": 1, "annual_income": 1, "age": 30,
            "gender": "Male"}}
        codes = [requests.post(inf + "/predict", json=body(c)).status_code for c in (c0, c1, c0, c1)]
        check(codes == [200, 503, 200, 503], "HTTP: its customers get 503, the other shard's are served", codes)
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(16) as pool:
            got = list(pool.map(lambda c: (c, requests.post(inf + "/predict", json=body(c)).status_code),
                                [c0, c1] * 24))
        check(all(code == (200 if c == c0 else 503) for c, code in got),
              "48 concurrent requests (shared statements): only the stopped shard's get 503", got)
        r = requests.post(inf + "/predict/batch", json={"model_name": "sharded", "purchases": [
            body(c0)["purchase_data"]]})
        check(r.status_code == 200, "a batch of the live shard's customers is served", r.text)
        form = {"model_name": "downreg", "version": "1.0", "model_params": "{}", "additional_metadata": "{}",
                "standardization_params": psql("mlpipe_proxy", "SELECT standardization_params FROM mlpipe.models "
                                                               "WHERE model_name = 'sharded'")}
        art = bytes.fromhex(psql("mlpipe_proxy", "SELECT encode(artifact, 'hex') FROM mlpipe.models "
                                                 "WHERE model_name = 'sharded'"))
        r = requests.post(reg + "/register_model", data=form, files={"model_file": ("m.json", art)}, headers=AUTH)
        check(r.status_code == 503, "a register while a shard is down gets 503", r.text)
        check(psql("mlpipe_proxy", "SELECT count(*) FROM mlpipe.models WHERE model_name = 'downreg'") == "0",
              "... and is not in the proxy's registry")
    finally:
        pg_sh("start")
    r = requests.post(reg + "/register_model", data=form, files={"model_file": ("m.json", art)}, headers=AUTH)
    check(r.status_code == 200, "the same register once the shard is back completes the copies", r.text)
    n = psql("mlpipe_shard_1", "SELECT count(*) FROM mlpipe.models WHERE model_name = 'downreg'", port=B_PORT)
    check(n == "1", "... and the shard that was down has the model", n)
    codes = [requests.post(inf + "/predict", json=body(c)).status_code for c in (c0, c1)]
    check(codes == [200, 200], "the stopped shard's customers are served again once it is back", codes)
    check(psql("mlpipe_proxy", "SELECT mlpipe_proxy.sync_models()") == "0", "sync_models finds nothing to fix")


def main():
    ids = load()
    test_training()
    test_predict(ids)
    reg, pre, inf = start_on_proxy("registry"), start_on_proxy("preprocessing"), start_on_proxy("inference")
    test_services(reg, pre, inf)
    test_shard_down(reg, inf)


if __name__ == "__main__":
    run("shard", main)

#!/usr/bin/python3
"""The old pipeline's client calls, against the compose stack of the images
suite (tests/images/run.sh), which passes:

  REGISTRY, PREPROCESSING, INFERENCE   base URLs of the published ports
  MODELS                               the default models bootstrap trained
  WORKDIR                              a scratch directory

Prints "ok ..." / "FAIL ..." lines and, last, "N passed, M failed"; exits 1
on any failure.  The deep checks of every endpoint are the e2e suite's; this
one shows that the containers, as built and started, answer them.
"""
import json
import os
import sys

import requests

REG = os.environ["REGISTRY"]
PRE = os.environ["PREPROCESSING"]
INF = os.environ["INFERENCE"]
MODELS = os.environ["MODELS"].split()
WORK = os.environ["WORKDIR"]
NAME = "images_suite_model"
TIMEOUT = 30

passed = 0
failed = 0


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + what)
    else:
        failed += 1
        print("FAIL - " + what + ("  -- " + str(detail)[:400] if detail else ""))
    return cond


def status(r, code, what):
    return check(r.status_code == code, "%s -> %d" % (what, code), "%d %s" % (r.status_code, r.text))


def train_file():
    """A small XGBoost model on the 19 features, saved as the old pipeline's
    training step saved its models."""
    import numpy as np
    import xgboost as xgb
    rng = np.random.RandomState(3)
    X = rng.rand(300, 19)
    y = 100 + 300 * X[:, 15] + 50 * X[:, 0]
    booster = xgb.train({"max_depth": 3, "objective": "reg:squarederror", "nthread": 1},
                        xgb.DMatrix(X, label=y), num_boost_round=10)
    path = os.path.join(WORK, "model.json")
    booster.save_model(path)
    return path


STD = {"params": {
    "purchase_amount": {"mean": 250.0, "std": 120.0},
    "annual_income": {"mean": 70000.0, "std": 20000.0},
    "clv": {"mean": 900.0, "std": 600.0},
    "age_income_interaction": {"mean": 2800000.0, "std": 1500000.0},
}}
RAW = {"customer_id": 17, "purchase_date": "2024-03-05T10:20:30+02:00",
       "purchase_amount": 180.5, "annual_income": 64000, "age": 37, "gender": "Female"}


def registry():
    path = train_file()
    with open(path, "rb") as f:
        artifact = f.read()
    # the old client's upload: a multipart form with the file and JSON strings
    with open(path, "rb") as f:
        r = requests.post(REG + "/register_model", timeout=TIMEOUT, data={
            "model_name": NAME, "version": "1.0",
            "standardization_params": json.dumps(STD),
            "model_params": json.dumps({"max_depth": 3}),
            "additional_metadata": json.dumps({"rmse": 10.0}),
        }, files={"model_file": ("model.json", f)})
    status(r, 200, "register_model")
    r = requests.get("%s/get_model_info/%s/1.0" % (REG, NAME), timeout=TIMEOUT)
    if status(r, 200, "get_model_info"):
        info = r.json()
        check(info.get("model_name") == NAME and info.get("version") == "1.0"
              and info.get("standardization_params") == STD["params"],
              "model info names the model and its parameters", info)
    r = requests.get("%s/get_latest_model_info/%s" % (REG, NAME), timeout=TIMEOUT)
    if status(r, 200, "get_latest_model_info"):
        check(r.json().get("version") == "1.0", "latest is 1.0", r.text)
    r = requests.get(REG + "/list_models", timeout=TIMEOUT)
    if status(r, 200, "list_models"):
        listed = {m.get("model_name"): m.get("versions") for m in r.json()}
        check(listed.get(NAME) == ["1.0"] and all("1.0" in (listed.get(m) or []) for m in MODELS),
              "list_models has the new model and every default model", listed)
    r = requests.get("%s/get_model/%s/1.0" % (REG, NAME), timeout=TIMEOUT)
    if status(r, 200, "get_model"):
        check(r.content == artifact, "downloaded artifact equals the uploaded file",
              "%d bytes, uploaded %d" % (len(r.content), len(artifact)))
    r = requests.post(INF + "/predict", timeout=TIMEOUT,
                      json={"model_name": NAME, "model_version": "1.0", "purchase_data": RAW})
    status(r, 200, "predict with the registered model")
    r = requests.delete("%s/remove_model/%s/1.0" % (REG, NAME), timeout=TIMEOUT)
    status(r, 200, "remove_model")
    r = requests.get("%s/get_model_info/%s/1.0" % (REG, NAME), timeout=TIMEOUT)
    status(r, 404, "get_model_info after remove")


def preprocessing():
    r = requests.post(PRE + "/preprocess", timeout=TIMEOUT,
                      json={"raw_data": RAW, "standardization_params": STD})
    if status(r, 200, "preprocess"):
        features = r.json().get("features", {})
        check(len(features) == 19 and features.get("age") == 37
              and features.get("age_group_36-45") == 1,
              "preprocess returns the 19 features", features)


def inference():
    r = requests.get(INF + "/models", timeout=TIMEOUT)
    if status(r, 200, "models"):
        check(sorted(m.get("model_name") for m in r.json()) == sorted(MODELS),
              "inference lists the default models", r.text)
    for m in MODELS:
        r = requests.post(INF + "/predict", timeout=TIMEOUT,
                          json={"model_name": m, "model_version": "1.0", "purchase_data": RAW})
        if status(r, 200, "predict with %s" % m):
            b = r.json()
            amount = b.get("predicted_purchase_amount")
            check(b.get("customer_id") == 17 and b.get("purchase_date") == RAW["purchase_date"]
                  and isinstance(amount, float) and 0 < amount < 10000,
                  "%s predicts a plausible amount for the purchase" % m, b)


def main():
    try:
        for name, url in (("registry", REG), ("preprocessing", PRE), ("inference", INF)):
            r = requests.get(url + "/readyz", timeout=TIMEOUT)
            status(r, 200, "%s readyz (database reachable)" % name)
        registry()
        preprocessing()
        inference()
    except requests.RequestException as e:
        check(False, "the services answer", e)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

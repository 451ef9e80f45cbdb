#!/usr/bin/python3
"""XGBoost's side of tests/models/run.sh (Debian's python3 with python3-xgboost).

  check.py vectors ROWS OUT [N]
      ROWS: mlpipe_training_rows() exported by psql (one line per row:
      features as a PostgreSQL array, a tab, the target or \\N).
      Writes OUT, a CSV of (id, features as a PostgreSQL array literal) with at
      least N rows (default 10000): the training rows, repeated with small
      perturbations if there are too few, and about 10% of the values set
      missing (NULL), with a fixed seed.

  check.py train ROWS MODEL
      Trains a model with Python XGBoost on the rows that have a target and
      saves it with save_model(MODEL) (JSON), as any user of another binding would.

  check.py ridge ROWS MODEL LAMBDA
      ROWS: (customer_id, features, target) of mlpipe_training_rows() in
      (customer_id, month) order.  Rebuilds mlpipe_train's training split
      (per customer, the first floor(0.8 n) rows with a target), solves
      gblinear's ridge objective (lambda scaled by the row count, bias not
      penalized) with numpy, and checks that the gblinear MODEL mlpipe
      trained predicts the same in XGBoost, and that its objective is no
      worse than 1,000 rounds of XGBoost's own coordinate descent.

  check.py compare MODEL VECTORS SQL_PREDICTIONS [TOLERANCE]
      Predicts VECTORS with XGBoost's own Booster(model_file=MODEL) (through a
      DMatrix, and inplace_predict where the booster has it) and
      compares with SQL_PREDICTIONS (CSV of id, prediction).  Prints the
      maximum absolute difference; exits 1 if it exceeds TOLERANCE (1e-5).
"""
import csv
import sys

import numpy as np
import xgboost as xgb

MISSING_SHARE = 0.10


def read_rows(path):
    feats, targets = [], []
    with open(path) as f:
        for line in f:
            arr, target = line.rstrip("\n").split("\t")
            feats.append([float(v) if v != "NULL" else np.nan for v in arr.strip("{}").split(",")])
            targets.append(np.nan if target == "\\N" else float(target))
    return np.array(feats, dtype=np.float64), np.array(targets, dtype=np.float64)


def write_array(values):
    return "{" + ",".join("NULL" if np.isnan(v) else repr(float(v)) for v in values) + "}"


def read_vectors(path):
    ids, rows = [], []
    with open(path) as f:
        for rid, arr in csv.reader(f):
            ids.append(int(rid))
            rows.append([np.nan if v == "NULL" else float(v) for v in arr.strip("{}").split(",")])
    return np.array(ids), np.array(rows, dtype=np.float64)


def cmd_vectors(rows_path, out_path, n=10000):
    X, _ = read_rows(rows_path)
    if len(X) == 0:
        sys.exit("check.py: no training rows")
    rng = np.random.default_rng(11)
    parts = [X]
    while sum(len(p) for p in parts) < n:
        # a repeat, nudged: continuous columns move by up to 1%
        parts.append(X * (1 + rng.uniform(-0.01, 0.01, size=X.shape)))
    V = np.vstack(parts)
    V[rng.random(V.shape) < MISSING_SHARE] = np.nan
    with open(out_path, "w", newline="") as f:
        w = csv.writer(f)
        for i, row in enumerate(V, start=1):
            w.writerow([i, write_array(row)])
    print("vectors: %d rows of %d features, %.1f%% missing"
          % (V.shape[0], V.shape[1], 100 * np.isnan(V).mean()))


def cmd_train(rows_path, model_path):
    X, y = read_rows(rows_path)
    keep = ~np.isnan(y)
    d = xgb.DMatrix(X[keep], label=y[keep], missing=np.nan)
    booster = xgb.train({"objective": "reg:squarederror", "max_depth": 4, "eta": 0.1,
                         "subsample": 0.9, "tree_method": "hist", "nthread": 1,
                         "base_score": 0.1, "seed": 7}, d, 30)
    booster.save_model(model_path)
    print("trained %s on %d rows with xgboost %s" % (model_path, keep.sum(), xgb.__version__))


def cmd_compare(model_path, vectors_path, sql_path, tolerance=1e-5):
    ids, V = read_vectors(vectors_path)
    sql = {}
    with open(sql_path) as f:
        for rid, p in csv.reader(f):
            sql[int(rid)] = float(p)
    if len(sql) != len(ids):
        print("compare: SQL returned %d predictions for %d rows" % (len(sql), len(ids)))
        return 1
    booster = xgb.Booster(model_file=model_path)
    booster.set_param({"nthread": 1})
    ref = booster.predict(xgb.DMatrix(V, missing=np.nan)).astype(np.float64)
    # inplace_predict (XGBoosterPredictFromDense) must agree; gblinear lacks it
    try:
        ref2 = booster.inplace_predict(V, missing=np.nan).astype(np.float64)
        inplace = "inplace_predict vs DMatrix %.3g" % np.abs(ref - ref2).max()
    except xgb.core.XGBoostError:
        ref2, inplace = ref, "no inplace_predict for this booster"
    got = np.array([sql[i] for i in ids])
    diff = np.abs(got - ref)
    worst = int(np.argmax(diff))
    print("compare %s: %d rows, max |sql - xgboost| = %.3g (row %d: sql %.9g, xgboost %.9g), "
          "%s"
          % (model_path.rsplit("/", 1)[-1], len(ids), diff.max(), ids[worst], got[worst], ref[worst],
             inplace))
    if not np.all(np.isfinite(got)):
        print("compare: SQL returned non-finite predictions")
        return 1
    if len(np.unique(np.round(ref, 6))) < 2:
        print("compare: the model predicts a constant: the comparison would prove nothing")
        return 1
    return 0 if diff.max() <= tolerance and np.abs(ref - ref2).max() <= tolerance else 1


def training_split(path):
    """mlpipe_train's split: per customer, the first floor(0.8 n) rows with a target."""
    by_customer = {}
    with open(path) as f:
        for line in f:
            cid, arr, target = line.rstrip("\n").split("\t")
            if target == "\\N":
                continue
            row = [float(v) if v != "NULL" else np.nan for v in arr.strip("{}").split(",")]
            by_customer.setdefault(int(cid), []).append((row, float(target)))
    X, y = [], []
    for rows in by_customer.values():
        for row, target in rows[:int(np.floor(0.8 * len(rows)))]:
            X.append(row)
            y.append(target)
    return np.array(X, dtype=np.float32), np.array(y, dtype=np.float32)


def ridge_objective(X, y, w, b, lam):
    X0 = np.nan_to_num(X.astype(np.float64))
    r = y.astype(np.float64) - X0 @ w - b
    return 0.5 * r @ r + 0.5 * lam * len(y) * w @ w


def cmd_ridge(rows_path, model_path, lam):
    X, y = training_split(rows_path)
    X0 = np.nan_to_num(X.astype(np.float64))
    mx, my = X0.mean(axis=0), y.astype(np.float64).mean()
    Xc = X0 - mx
    w = np.linalg.solve(Xc.T @ Xc + lam * len(y) * np.eye(X.shape[1]), Xc.T @ (y - my))
    b = my - mx @ w
    booster = xgb.Booster(model_file=model_path)
    ours = booster.predict(xgb.DMatrix(X, missing=np.nan)).astype(np.float64)
    exact = X0 @ w + b
    dump = booster.save_raw("json")
    import json
    weights = np.array(json.loads(dump)["learner"]["gradient_booster"]["model"]["weights"], dtype=np.float64)
    w_ours, b_ours = weights[:-1], weights[-1] + 0.5
    cd = xgb.train({"booster": "gblinear", "updater": "coord_descent", "lambda": lam, "alpha": 0,
                    "eta": 1, "objective": "reg:squarederror", "nthread": 1},
                   xgb.DMatrix(X, label=y, missing=np.nan), 1000)
    cd_weights = np.array(json.loads(cd.save_raw("json"))["learner"]["gradient_booster"]["model"]["weights"],
                          dtype=np.float64)
    obj_ours = ridge_objective(X, y, w_ours, b_ours, lam)
    obj_cd = ridge_objective(X, y, cd_weights[:-1], cd_weights[-1] + 0.5, lam)
    scale = max(1.0, np.abs(exact).max())
    diff = np.abs(ours - exact).max()
    print("ridge on %d training rows, lambda %g: max |xgboost(model) - numpy optimum| = %.3g; "
          "objective %.6f (closed form) vs %.6f (1,000 rounds of coordinate descent)"
          % (len(y), lam, diff, obj_ours, obj_cd))
    return 0 if diff <= 1e-4 * scale and obj_ours <= obj_cd * (1 + 1e-6) else 1


def main(argv):
    if len(argv) >= 3 and argv[0] == "vectors":
        cmd_vectors(argv[1], argv[2], *(int(a) for a in argv[3:4]))
        return 0
    if len(argv) == 3 and argv[0] == "train":
        cmd_train(argv[1], argv[2])
        return 0
    if len(argv) == 4 and argv[0] == "ridge":
        return cmd_ridge(argv[1], argv[2], float(argv[3]))
    if len(argv) >= 4 and argv[0] == "compare":
        return cmd_compare(argv[1], argv[2], argv[3], *(float(a) for a in argv[4:5]))
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

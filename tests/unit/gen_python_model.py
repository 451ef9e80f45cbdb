#!/usr/bin/python3
"""Make the Python-written fixture models of test_xgb_model.c.

Run with Debian's python3 (python3-xgboost 1.7), from tests/unit:
    /usr/bin/python3 gen_python_model.py
Writes data/python_gbtree.json (exact tree method with pruning, so some
nodes are "deleted"), data/python_rf.json, data/python_gblinear.json and
data/python_expected.txt: one line per (model, row) with the prediction
Python's xgboost returned (float32, 9 significant digits) and the row
("nan" = missing).  The C reader must reproduce these values.
"""
import numpy as np
import xgboost as xgb

NFEAT = 5
rng = np.random.default_rng(20240501)
X = rng.normal(size=(400, NFEAT)).astype(np.float32)
X[rng.random(X.shape) < 0.15] = np.nan
Z = np.nan_to_num(X)
y = 3 * np.sin(Z[:, 0]) + Z[:, 1] * Z[:, 2] + (Z[:, 3] > 0.3) + rng.normal(scale=0.3, size=400)
dtrain = xgb.DMatrix(X, label=y, missing=np.nan)

models = {
    "python_gbtree.json": xgb.train(
        {"objective": "reg:squarederror", "tree_method": "exact", "max_depth": 3,
         "eta": 0.3, "gamma": 8, "base_score": 0.25, "seed": 1}, dtrain, 5),
    "python_rf.json": xgb.train(
        {"objective": "reg:squarederror", "tree_method": "hist", "max_depth": 3,
         "num_parallel_tree": 4, "subsample": 0.8, "colsample_bynode": 0.8,
         "learning_rate": 1, "seed": 2}, dtrain, 1),
    "python_gblinear.json": xgb.train(
        {"objective": "reg:squarederror", "booster": "gblinear", "lambda": 1.0,
         "updater": "coord_descent", "seed": 3}, dtrain, 20),
}

# Fixed rows: a few training-like rows, all missing, extremes.
rows = np.array([
    [0.5, -1.0, 2.0, 0.3, 0.0],
    [np.nan, np.nan, np.nan, np.nan, np.nan],
    [-2.5, 0.1, np.nan, 1.5, -0.7],
    [1e6, -1e6, 0.0, np.nan, 3.0],
    [0.2999999, 0.3, 0.3000001, 0.3, -0.0],
    [np.nan, 1.2, -0.4, np.nan, 0.9],
], dtype=np.float32)
rows = np.vstack([rows, X[:6]])

with open("data/python_expected.txt", "w") as out:
    out.write("# model expected x0 x1 x2 x3 x4 (written by gen_python_model.py, xgboost %s)\n"
              % xgb.__version__)
    for name, booster in models.items():
        booster.save_model("data/" + name)
        pred = booster.predict(xgb.DMatrix(rows, missing=np.nan))
        for r, p in zip(rows, pred):
            out.write("%s %.9g %s\n" % (name, p, " ".join("%.9g" % v for v in r)))

#!/usr/bin/python3
"""Make the model fixtures of the pg_regress suite `registry`.

Run with Debian's python3 (python3-xgboost 1.7), from anywhere:
    /usr/bin/python3 tests/regress/data/models/make_fixtures.py
It writes, next to itself:

  tiny.json, tiny2.json   hand-written 1-tree depth-1 models over 3 features
                          (see TINY below): predictions computable by hand.
  gbtree.json             trained by XGBoost: 3 boosted trees over 3 features
  rf.json                 trained by XGBoost: a random forest (num_parallel_tree 3)
  linear.json             trained by XGBoost: a gblinear model
  classifier.json         trained by XGBoost with objective binary:logistic
  truncated.json          gbtree.json cut in half
  child_out_of_range.json tiny.json whose root's right child is node 7 of 3
  cycle.json              a 3-node tree whose node 1 has the root as a child
  model.pkl               a pickle (protocol 4) of a plain dict

and checks that XGBoost itself loads the hand-written models and predicts
what the regression test expects of them, and refuses the broken ones.
"""
import copy
import json
import os
import pickle

import numpy as np
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def write_json(name, obj):
    with open(path(name), "w") as f:
        json.dump(obj, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")


# A regression model over 3 features, one tree of depth 1, base_score 0.5:
#   x1 < 0.5  -> leaf -0.25 -> prediction 0.25
#   x1 >= 0.5 -> leaf  0.75 -> prediction 1.25
#   x1 missing: default_left 0 -> right -> 1.25
# x0 and x2 are never read.
TINY = {
    "learner": {
        "attributes": {},
        "feature_names": [],
        "feature_types": [],
        "gradient_booster": {
            "model": {
                "gbtree_model_param": {"num_parallel_tree": "1", "num_trees": "1",
                                       "size_leaf_vector": "0"},
                "tree_info": [0],
                "trees": [{
                    "base_weights": [0.0, -0.25, 0.75],
                    "categories": [],
                    "categories_nodes": [],
                    "categories_segments": [],
                    "categories_sizes": [],
                    "default_left": [0, 0, 0],
                    "id": 0,
                    "left_children": [1, -1, -1],
                    "loss_changes": [1.0, 0.0, 0.0],
                    "parents": [2147483647, 0, 0],
                    "right_children": [2, -1, -1],
                    "split_conditions": [0.5, -0.25, 0.75],
                    "split_indices": [1, 0, 0],
                    "split_type": [0, 0, 0],
                    "sum_hessian": [2.0, 1.0, 1.0],
                    "tree_param": {"num_deleted": "0", "num_feature": "3",
                                   "num_nodes": "3", "size_leaf_vector": "0"},
                }],
            },
            "name": "gbtree",
        },
        "learner_model_param": {"base_score": "5E-1", "boost_from_average": "1",
                                "num_class": "0", "num_feature": "3", "num_target": "1"},
        "objective": {"name": "reg:squarederror", "reg_loss_param": {"scale_pos_weight": "1"}},
    },
    "version": [1, 7, 4],
}

# The checks the regression test relies on: (row, expected prediction).
TINY_CASES = [
    ([0.0, 0.0, 0.0], 0.25),
    ([9.0, 0.49, -9.0], 0.25),
    ([0.0, 0.5, 0.0], 1.25),
    ([np.nan, np.nan, np.nan], 1.25),
    ([1.0, np.nan, 1.0], 1.25),
    ([np.nan, 0.1, np.nan], 0.25),
]


def tiny2():
    """tiny.json with other leaves: -1.5 left and 2.5 right (predictions -1, 3)."""
    m = copy.deepcopy(TINY)
    tree = m["learner"]["gradient_booster"]["model"]["trees"][0]
    tree["split_conditions"] = [0.5, -1.5, 2.5]
    tree["base_weights"] = [0.0, -1.5, 2.5]
    return m


def child_out_of_range():
    m = copy.deepcopy(TINY)
    m["learner"]["gradient_booster"]["model"]["trees"][0]["right_children"] = [7, -1, -1]
    return m


def cycle():
    m = copy.deepcopy(TINY)
    tree = m["learner"]["gradient_booster"]["model"]["trees"][0]
    # node 1 splits too, and its left child is the root: 0 -> 1 -> 0 -> ...
    tree["left_children"] = [1, 0, -1]
    tree["right_children"] = [2, 2, -1]
    tree["split_indices"] = [1, 0, 0]
    return m


def trained():
    rng = np.random.default_rng(20240601)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    Z = np.nan_to_num(X)
    y = 2 * Z[:, 0] - Z[:, 1] + (Z[:, 2] > 0) + rng.normal(scale=0.2, size=200)
    d = xgb.DMatrix(X, label=y, missing=np.nan)
    common = {"tree_method": "hist", "nthread": 1, "seed": 5}
    xgb.train(dict(common, objective="reg:squarederror", max_depth=2, eta=0.3),
              d, 3).save_model(path("gbtree.json"))
    xgb.train(dict(common, objective="reg:squarederror", max_depth=2, eta=1,
                   num_parallel_tree=3, subsample=0.8, colsample_bynode=0.8),
              d, 1).save_model(path("rf.json"))
    xgb.train({"nthread": 1, "seed": 5, "objective": "reg:squarederror", "booster": "gblinear",
               "updater": "coord_descent", "eta": 0.5},
              d, 5).save_model(path("linear.json"))
    dc = xgb.DMatrix(X, label=(y > 0).astype(np.float32), missing=np.nan)
    xgb.train(dict(common, objective="binary:logistic", max_depth=2),
              dc, 2).save_model(path("classifier.json"))


def main():
    write_json("tiny.json", TINY)
    write_json("tiny2.json", tiny2())
    write_json("child_out_of_range.json", child_out_of_range())
    write_json("cycle.json", cycle())
    trained()
    with open(path("gbtree.json"), "rb") as f:
        data = f.read()
    with open(path("truncated.json"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(path("model.pkl"), "wb") as f:
        f.write(pickle.dumps({"model": "not really", "weights": [1.0, 2.0]}, protocol=4))

    # XGBoost agrees with the hand-computed predictions of tiny.json and tiny2.json.
    for name, scale in (("tiny.json", None), ("tiny2.json", {0.25: -1.0, 1.25: 3.0})):
        b = xgb.Booster(model_file=path(name))
        rows = np.array([r for r, _ in TINY_CASES], dtype=np.float32)
        got = b.predict(xgb.DMatrix(rows, missing=np.nan))
        want = [e if scale is None else scale[e] for _, e in TINY_CASES]
        assert np.array_equal(got, np.array(want, dtype=np.float32)), (name, got, want)

    # The trained models load back (the C reader is the one under test).
    for name in ("gbtree.json", "rf.json", "linear.json", "classifier.json"):
        xgb.Booster(model_file=path(name))
    print("fixtures written to", HERE, "with xgboost", xgb.__version__)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""End-to-end checks of the model lifecycle (SPEC section 7) over the real
services and a real LISTEN: aliases and their REST endpoints, '@alias' in
every path and body, "model_version" in inference replies, an alias flip
under concurrent load, alias changes racing removes, NOTIFY mlpipe_models,
and the registration rules that came with them.

Run by tests/e2e/run.sh after test_api.py, with the same environment; uses
test_api's helpers and counters (and psycopg2 for LISTEN and for holding
transactions open).
"""
import json
import os
import select
import sys
import threading
import time

import psycopg2
import requests

import test_api as api
from test_api import AUTH, BAD_AUTH, INF, REG, RUN, check, purchase, register, status


def aliases_url(name, alias=None, rollback=False):
    url = REG + "/models/%s/aliases" % name
    if alias is not None:
        url += "/" + alias
    return url + ("/rollback" if rollback else "")


def predict(name, version, p):
    body = {"model_name": name, "purchase_data": p}
    if version is not None:
        body["model_version"] = version
    return requests.post(INF + "/predict", json=body)


def sql(query, *args):
    """One statement on a fresh autocommit connection (the test's own role)."""
    conn = psycopg2.connect("")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def test_alias_endpoints(model, model2):
    name = "life_" + RUN
    p = purchase(5000011)
    status(register(name, "1.0", model), 200, "register %s 1.0" % name)
    status(register(name, "2.0", model2), 200, "register %s 2.0" % name)

    r = requests.get(aliases_url(name))
    if status(r, 200, "GET aliases of a model without any"):
        check(r.json() == {"model_name": name, "aliases": []}, "no aliases yet", r.text)
    status(requests.put(aliases_url(name, "production"), json={"version": "1.0"}), 401, "PUT alias without token")
    status(requests.put(aliases_url(name, "production"), json={"version": "1.0"}, headers=BAD_AUTH), 401,
           "PUT alias with a wrong token")
    r = requests.put(aliases_url(name, "production"), json={"version": "1.0"}, headers=AUTH)
    if status(r, 200, "PUT alias production -> 1.0"):
        check(r.json() == {"model_name": name, "alias": "production", "version": "1.0",
                           "previous_version": None}, "PUT answers where the alias points now and before", r.text)
    api.check_422(requests.put(aliases_url(name, "Prod"), json={"version": "1.0"}, headers=AUTH),
                  ["path", "alias"], "string_pattern_mismatch", "PUT an alias that breaks the pattern")
    api.check_422(requests.put(aliases_url(name, "production"), json={}, headers=AUTH),
                  ["body", "version"], "missing", "PUT alias without a version")
    api.check_422(requests.put(aliases_url(name, "production"), json={"version": ""}, headers=AUTH),
                  ["body", "version"], "string_pattern_mismatch", "PUT alias with an empty version")
    api.check_422(requests.put(aliases_url(name, "production"), json={"version": 2}, headers=AUTH),
                  ["body", "version"], "string_type", "PUT alias with a number")
    r = requests.put(aliases_url(name, "production"), json={"version": "9.9"}, headers=AUTH)
    status(r, 404, "PUT alias to an unknown version")
    check("1.0, 2.0" in r.json().get("detail", ""), "its 404 lists the versions that exist", r.text)
    status(requests.put(aliases_url("nosuch_" + RUN, "production"), json={"version": "1.0"}, headers=AUTH),
           404, "PUT alias of an unknown model")

    r = requests.get(aliases_url(name))
    if status(r, 200, "GET aliases"):
        a = r.json().get("aliases", [])
        check(len(a) == 1 and a[0].get("alias") == "production" and a[0].get("version") == "1.0"
              and a[0].get("updated_by") == "mlpipe_registry" and a[0].get("updated_at"),
              "the alias, who set it and when", r.text)

    # '@production' wherever a version goes
    r = requests.get(REG + "/get_model_info/%s/@production" % name)
    if status(r, 200, "/get_model_info with @production"):
        check(r.json().get("version") == "1.0", "the info is 1.0's", r.text[:300])
    r = requests.get(REG + "/get_model/%s/@production" % name)
    check(r.status_code == 200 and r.content == model
          and r.headers.get("Content-Disposition", "").endswith('_1.0.json"'),
          "/get_model with @production: 1.0's bytes, named after 1.0",
          (r.status_code, r.headers.get("Content-Disposition")))
    by_version = predict(name, "1.0", p)
    by_alias = predict(name, "@production", p)
    if status(by_alias, 200, "/predict with @production"):
        check(by_alias.json().get("model_version") == "1.0"
              and by_alias.json().get("predicted_purchase_amount")
              == by_version.json().get("predicted_purchase_amount"),
              "/predict with @production answers as 1.0 and says so", (by_alias.text, by_version.text))
    check(by_version.json().get("model_version") == "1.0", "/predict with 1.0 names 1.0", by_version.text)
    check(predict(name, None, p).json().get("model_version") == "2.0", "/predict of the latest names 2.0")
    r = requests.post(INF + "/predict/batch", json={"model_name": name, "model_version": "@production",
                                                    "purchases": [p, purchase(5000012)]})
    if status(r, 200, "/predict/batch with @production"):
        b = r.json()
        check(b.get("model_version") == "1.0" and len(b.get("predictions", [])) == 2
              and b["predictions"][0].get("predicted_purchase_amount")
              == by_version.json().get("predicted_purchase_amount"),
              "the batch answers as 1.0 and says so once", r.text)
    r = requests.post(INF + "/predict/batch", json={"model_name": name, "purchases": []})
    check(r.status_code == 200 and r.json() == {"model_version": None, "predictions": []},
          "an empty batch: no version answered", r.text)

    # the flip: the next request answers with 2.0, no restart
    r = requests.put(aliases_url(name, "production"), json={"version": "2.0"}, headers=AUTH)
    if status(r, 200, "PUT alias production -> 2.0"):
        check(r.json().get("previous_version") == "1.0", "previous_version 1.0", r.text)
    r = predict(name, "@production", p)
    check(r.status_code == 200 and r.json().get("model_version") == "2.0"
          and r.json().get("predicted_purchase_amount") != by_version.json().get("predicted_purchase_amount"),
          "after the flip /predict answers with 2.0", r.text)

    # an aliased version cannot be removed
    r = requests.delete(REG + "/remove_model/%s/2.0" % name, headers=AUTH)
    status(r, 409, "remove the version an alias points at")
    check("production" in r.json().get("detail", ""), "the 409 names the alias", r.text)
    status(requests.delete(REG + "/remove_model/%s/@production" % name, headers=AUTH), 409,
           "remove @production")

    # rollback and history
    status(requests.post(aliases_url(name, "production", rollback=True)), 401, "rollback without token")
    r = requests.post(aliases_url(name, "production", rollback=True), headers=AUTH)
    if status(r, 200, "rollback"):
        check(r.json().get("version") == "1.0" and r.json().get("previous_version") == "2.0",
              "rollback goes back to 1.0", r.text)
    check(predict(name, "@production", p).json().get("model_version") == "1.0", "/predict follows the rollback")
    r = requests.post(aliases_url(name, "production", rollback=True), headers=AUTH)
    status(r, 409, "rollback with nothing earlier to go back to")
    r = requests.get(REG + "/models/%s/history" % name)
    if status(r, 200, "GET history"):
        h = r.json().get("history", [])
        check(r.json().get("model_name") == name
              and [(e.get("event"), e.get("from_version"), e.get("to_version")) for e in h]
              == [("rollback", "2.0", "1.0"), ("set", "1.0", "2.0"), ("set", None, "1.0")]
              and all(e.get("changed_by") == "mlpipe_registry" and e.get("alias") == "production"
                      and e.get("changed_at") for e in h),
              "history newest first: events, versions, who and when", r.text)

    status(requests.delete(aliases_url(name, "production")), 401, "DELETE alias without token")
    r = requests.delete(aliases_url(name, "production"), headers=AUTH)
    if status(r, 200, "DELETE alias"):
        check(r.json().get("version") is None and r.json().get("previous_version") == "1.0",
              "DELETE answers where it pointed", r.text)
    status(requests.delete(aliases_url(name, "production"), headers=AUTH), 404, "DELETE it again")
    status(requests.post(aliases_url(name, "production", rollback=True), headers=AUTH), 404,
           "rollback of a deleted alias")
    r = predict(name, "@production", p)
    status(r, 404, "/predict with a deleted alias")
    status(requests.get(REG + "/get_model_info/%s/@production" % name), 404, "/get_model_info with it")
    status(requests.get(REG + "/models/nosuch_%s/aliases" % RUN), 404, "aliases of an unknown model")
    status(requests.get(REG + "/models/nosuch_%s/history" % RUN), 404, "history of an unknown model")
    status(requests.delete(aliases_url(name, "Bad!"), headers=AUTH), 404, "DELETE an impossible alias")

    # versions: '' and bad references are 422; unknown ones say what exists
    api.check_422(predict(name, "", p), ["body", "model_version"], "string_pattern_mismatch",
                  "/predict with an empty version")
    api.check_422(predict(name, "@Prod", p), ["body", "model_version"], "string_pattern_mismatch",
                  "/predict with a bad alias")
    r = requests.get(REG + "/get_model_info/%s/7.7" % name)
    status(r, 404, "/get_model_info of an unknown version")
    check(r.json().get("detail", "").startswith("Model %s version 7.7 not found" % name)
          and "1.0, 2.0" in r.json().get("detail", ""), "the 404 keeps the old wording and lists the versions",
          r.text)
    r = predict("nosuch_" + RUN, None, p)
    check(r.status_code == 404 and name in r.json().get("detail", ""),
          "/predict of an unknown model lists the models", r.text[:300])
    for v in ("1.0", "2.0"):
        requests.delete(REG + "/remove_model/%s/%s" % (name, v), headers=AUTH)


def test_registration_rules(model):
    name = "rules_" + RUN
    form = {"model_name": name, "version": "1.0",
            "standardization_params": json.dumps(api.STD),
            "model_params": '{"eta": 0.1, "lambda": 1.10, "tiny": 1e-7, "n": 3}',
            "additional_metadata": '{"rmse_test": 389.70}'}
    status(register(name, "1.0", model, fields=form), 200, "register with numbers as text")
    rows = sql("SELECT model_params->>'eta', model_params->'lambda', model_params->>'tiny', "
               "model_params->'eta' = '0.1', metadata->>'rmse_test' FROM mlpipe.models "
               "WHERE model_name = %s", name)
    check(rows == [("0.1", 1.10, "1E-7", True, "389.70")] or
          (rows and rows[0][0] == "0.1" and rows[0][3] is True and rows[0][4] == "389.70"),
          "model_params and metadata stored as sent: 0.1 stays 0.1, 389.70 stays 389.70", rows)
    for what, std in (("{}", "{}"), ('{"params": {}}', '{"params": {}}'),
                      ("a missing column", json.dumps({k: v for k, v in api.STD["params"].items()
                                                           if k != "clv"})),
                      ("std 0", json.dumps(dict(api.STD["params"],
                                                    clv={"mean": 1.0, "std": 0})))):
        r = register(name, "2.0", model, fields=dict(form, version="2.0", standardization_params=std))
        status(r, 422, "register with standardization_params %s" % what)
    requests.delete(REG + "/remove_model/%s/1.0" % name, headers=AUTH)


def wait_notifications(conn, want, timeout=10.0):
    """Notifications on conn until there are want of them (and a little longer, for extras)."""
    got = []
    deadline = time.time() + timeout
    quiet_until = None
    while time.time() < (quiet_until or deadline):
        if select.select([conn], [], [], 0.1) != ([], [], []):
            conn.poll()
            while conn.notifies:
                n = conn.notifies.pop(0)
                got.append((n.channel, json.loads(n.payload)))
        if len(got) >= want and quiet_until is None:
            quiet_until = time.time() + 0.5
    return got


def test_notifications(model, model2):
    name = "notify_" + RUN
    listener = psycopg2.connect("")
    listener.autocommit = True
    listener.cursor().execute("LISTEN mlpipe_models")

    status(register(name, "1.0", model), 200, "register (notified)")
    status(register(name, "2.0", model2), 200, "register 2.0 (notified)")
    status(requests.put(aliases_url(name, "production"), json={"version": "1.0"}, headers=AUTH), 200, "set")
    status(requests.put(aliases_url(name, "production"), json={"version": "2.0"}, headers=AUTH), 200, "flip")
    status(requests.post(aliases_url(name, "production", rollback=True), headers=AUTH), 200, "rollback")
    # a change that is rolled back notifies nobody
    other = psycopg2.connect("")
    with other.cursor() as cur:
        cur.execute("SELECT mlpipe_set_alias(%s, 'staging', '2.0')", (name,))
        cur.execute("SELECT mlpipe_delete_alias(%s, 'production')", (name,))
    other.rollback()
    other.close()
    status(requests.delete(aliases_url(name, "production"), headers=AUTH), 200, "delete alias")
    status(requests.delete(REG + "/remove_model/%s/2.0" % name, headers=AUTH), 200, "remove (notified)")

    def n(event, version, alias=None):
        return ("mlpipe_models", {"event": event, "model_name": name, "version": version, "alias": alias})

    want = [n("register", "1.0"), n("register", "2.0"), n("alias_set", "1.0", "production"),
            n("alias_set", "2.0", "production"), n("alias_rollback", "1.0", "production"),
            n("alias_delete", "1.0", "production"), n("remove", "2.0")]
    got = wait_notifications(listener, len(want))
    check(got == want, "LISTEN mlpipe_models: one payload per change, in commit order, none for the "
          "rolled-back transaction", got)
    listener.close()
    requests.delete(REG + "/remove_model/%s/1.0" % name, headers=AUTH)


def test_alias_races_remove(model, model2):
    """An alias change and a remove of the same version, in two transactions
    at once: whichever locks the version first wins, the other fails cleanly."""
    name = "race_" + RUN
    for v, m in (("1.0", model), ("2.0", model2)):
        status(register(name, v, m), 200, "register %s %s" % (name, v))
    outcome = {}

    def run_second(key, query):
        conn = psycopg2.connect("")
        conn.autocommit = True
        try:
            conn.cursor().execute(query, (name,))
            outcome[key] = "ok"
        except psycopg2.Error as e:
            outcome[key] = e.pgcode
        conn.close()

    # the alias is set first (uncommitted): the remove waits, then refuses
    first = psycopg2.connect("")
    first.cursor().execute("SELECT mlpipe_set_alias(%s, 'production', '1.0')", (name,))
    t = threading.Thread(target=run_second, args=("remove", "SELECT mlpipe_remove_model(%s, '1.0')"))
    t.start()
    time.sleep(0.5)
    check(t.is_alive(), "the remove waits for the uncommitted alias change")
    first.commit()
    t.join(10)
    check(outcome.get("remove") == "55006", "then refuses: the version is aliased (55006)", outcome)

    # the remove comes first (uncommitted): the alias change waits, then finds no version
    first.cursor().execute("SELECT mlpipe_remove_model(%s, '2.0')", (name,))
    t = threading.Thread(target=run_second, args=("set", "SELECT mlpipe_set_alias(%s, 'staging', '2.0')"))
    t.start()
    time.sleep(0.5)
    check(t.is_alive(), "the alias change waits for the uncommitted remove")
    first.commit()
    t.join(10)
    check(outcome.get("set") == "42704", "then finds the version gone (42704)", outcome)
    first.close()
    rows = sql("SELECT alias, version FROM mlpipe.aliases WHERE model_name = %s", name)
    check(rows == [("production", "1.0")], "only the alias that won is there", rows)
    requests.delete(aliases_url(name, "production"), headers=AUTH)
    requests.delete(REG + "/remove_model/%s/1.0" % name, headers=AUTH)


def test_flip_under_load(model, model2):
    """Clients keep predicting through @production while it flips between
    1.0 and 2.0: every answer is 200, from a version the alias pointed at
    (3.0, the latest, never is), with that version's own amount; and the
    first request after each flip answers with the new version."""
    name = "flip_" + RUN
    p = purchase(5000013)
    for v, m in (("1.0", model), ("2.0", model2), ("3.0", model)):
        status(register(name, v, m), 200, "register %s %s" % (name, v))
    amount = {v: predict(name, v, p).json().get("predicted_purchase_amount") for v in ("1.0", "2.0", "3.0")}
    check(amount["1.0"] != amount["2.0"], "1.0 and 2.0 answer differently", amount)
    status(requests.put(aliases_url(name, "production"), json={"version": "1.0"}, headers=AUTH), 200,
           "production -> 1.0")

    stop = threading.Event()
    answers = []
    lock = threading.Lock()

    def client():
        s = requests.Session()
        body = {"model_name": name, "model_version": "@production", "purchase_data": p}
        while not stop.is_set():
            try:
                r = s.post(INF + "/predict", json=body, timeout=30)
                a = (r.status_code, r.json().get("model_version"), r.json().get("predicted_purchase_amount"))
            except Exception as e:
                a = ("exception", repr(e), None)
            with lock:
                answers.append(a)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    after_flip = []
    target = "1.0"
    for _ in range(12):
        time.sleep(0.15)
        target = "2.0" if target == "1.0" else "1.0"
        r = requests.put(aliases_url(name, "production"), json={"version": target}, headers=AUTH)
        after_flip.append((r.status_code, target, predict(name, "@production", p).json().get("model_version")))
    time.sleep(0.15)
    stop.set()
    for t in threads:
        t.join(30)

    bad = [a for a in answers if a[0] != 200 or a[1] not in ("1.0", "2.0") or a[2] != amount.get(a[1])]
    seen = sorted(set(a[1] for a in answers if a[0] == 200))
    check(len(answers) > 100 and not bad,
          "%d answers under 12 flips: all 200, all from 1.0 or 2.0 with that version's amount" % len(answers),
          bad[:5])
    check(seen == ["1.0", "2.0"], "both versions answered during the flips", seen)
    check(all(s == 200 and want == got for s, want, got in after_flip),
          "the first request after each flip answers with the new version", after_flip)
    requests.delete(aliases_url(name, "production"), headers=AUTH)
    for v in ("1.0", "2.0", "3.0"):
        requests.delete(REG + "/remove_model/%s/%s" % (name, v), headers=AUTH)


def main():
    try:
        model = api.train_model()
        model2 = api.other_model()
        test_alias_endpoints(model, model2)
        test_registration_rules(model)
        test_notifications(model, model2)
        test_alias_races_remove(model, model2)
        test_flip_under_load(model, model2)
    except Exception as e:		# a crash of the test itself is a failure, not a pass
        check(False, "test run raised %r" % (e,))
    finally:
        with open(os.environ["COUNTS"], "w") as f:
            f.write("%d %d\n" % (api.passed, api.failed))
    print("lifecycle: %d passed, %d failed" % (api.passed, api.failed))
    return 1 if api.failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""End-to-end checks of the interfaces of SPEC section 8 (issue 14): each
service's /openapi.json and /docs, HEAD on GET routes, paging of the model
lists, the Open Inference Protocol V2 on the inference service.

Run by tests/e2e/run.sh after test_api.py, with the same environment; the
helpers (check, status, check_422, register, ...) and counters are
test_api.py's, so the two scripts read alike.
"""
import json
import os
import sys

import requests

import test_api as t
from test_api import AUTH, INF, PRE, REG, RUN, check, check_422, status

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SERVICES = (("registry", REG), ("preprocessing", PRE), ("inference", INF))


def test_openapi_and_docs():
    for name, url in SERVICES:
        r = requests.get(url + "/openapi.json")
        if status(r, 200, name + " /openapi.json"):
            with open(os.path.join(TOP, "services", name, "openapi.json")) as f:
                check(r.json() == json.load(f), name + " serves services/%s/openapi.json" % name)
        r = requests.get(url + "/docs")
        check(r.status_code == 200 and r.headers.get("Content-Type", "").startswith("text/html")
              and 'id="swagger-ui"' in r.text and "docs/swagger-ui-bundle.js" in r.text,
              name + " /docs is the Swagger UI page", r.status_code)
        check("http" not in r.text.replace("http-equiv", ""), name + " /docs loads nothing from another host")
        r = requests.get(url + "/docs/swagger-ui-bundle.js")
        check(r.status_code == 200 and r.headers.get("Content-Type", "").startswith("text/javascript")
              and len(r.content) > 500000, name + " /docs/swagger-ui-bundle.js (embedded)",
              (r.status_code, len(r.content)))
        r = requests.get(url + "/docs/swagger-ui.css")
        check(r.status_code == 200 and r.headers.get("Content-Type", "").startswith("text/css"),
              name + " /docs/swagger-ui.css", r.status_code)
        status(requests.get(url + "/docs/nothing.js"), 404, name + " /docs/ of an unknown file")


def test_head():
    for name, url in SERVICES:
        for path in ("/healthz", "/openapi.json", "/docs"):
            g = requests.get(url + path)
            h = requests.head(url + path)
            check(h.status_code == 200 and h.content == b""
                  and h.headers.get("Content-Length") == str(len(g.content))
                  and h.headers.get("Content-Type") == g.headers.get("Content-Type"),
                  "%s HEAD %s: GET's status and headers, no body" % (name, path),
                  (h.status_code, h.headers, len(g.content)))
    h = requests.head(REG + "/get_model_info/nosuch_%s/1.0" % RUN)
    check(h.status_code == 404 and h.content == b"", "HEAD of an unknown model: 404 without a body", h.status_code)
    r = requests.put(REG + "/list_models")
    check(r.status_code == 405 and r.headers.get("Allow") == "GET, HEAD", "405 Allow lists HEAD with GET",
          r.headers.get("Allow"))


def test_paging(model):
    names = ["page%d_%s" % (i, RUN) for i in range(3)]
    for n in names:
        t.register(n, "1.0", model)
    for url, path in ((REG, "/list_models"), (INF, "/models")):
        everything = [m["model_name"] for m in requests.get(url + path).json()]
        mine = [n for n in everything if n in names]
        check(mine == sorted(names), path + " lists the three models", everything)
        start = everything.index(mine[0])
        r = requests.get(url + path, params={"offset": start, "limit": 2})
        if status(r, 200, path + "?offset&limit"):
            check([m["model_name"] for m in r.json()] == mine[:2], path + " offset/limit picks two", r.text)
        r = requests.get(url + path, params={"offset": len(everything)})
        check(r.status_code == 200 and r.json() == [], path + " offset past the end: []", r.text)
        r = requests.get(url + path, params={"limit": 0})
        check(r.status_code == 200 and r.json() == [], path + " limit 0: []", r.text)
        check_422(requests.get(url + path, params={"limit": "ten"}), ["query", "limit"], "int_parsing",
                  path + " limit not a number")
        check_422(requests.get(url + path, params={"offset": "-1"}), ["query", "offset"],
                  "greater_than_equal", path + " negative offset")
    for n in names:
        requests.delete(REG + "/remove_model/%s/1.0" % n, headers=AUTH)


def main():
    try:
        model = t.train_model()
        test_openapi_and_docs()
        test_head()
        test_paging(model)
    except Exception as e:		# a crash of the test itself is a failure, not a pass
        check(False, "test run raised %r" % (e,))
    with open(os.environ["COUNTS"], "w") as f:
        f.write("%d %d\n" % (t.passed, t.failed))
    print("interfaces: %d passed, %d failed" % (t.passed, t.failed))
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())

# The shop in headless Chromium (tests/browser/shop.test.js, playwright-core driving Debian's
# /usr/bin/chromium) against the real frontend, backend and PostgreSQL; then the trace id the page
# showed for the order is looked up in the spans the independent OTLP decoder received: one click, one
# trace, from the browser's fetch to the database. Screenshots go to artifacts/ (not committed).
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from pg import pg_cluster  # noqa: F401  (pytest fixture)
from shop_stack import REPO, request_json, running_shop, wait_for_spans

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
BROWSER_DIR = REPO / "tests/browser"
ARTIFACTS_DIR = REPO / "artifacts"
BROWSER_TIMEOUT_S = 180
JAEGER_URL = "http://jaeger.example:16686"
SPAN_KIND_SERVER = 2
SPAN_KIND_CLIENT = 3
XSS_NAME = "<img src=x onerror=window.__xss=1> Mallory"


@pytest.fixture(scope="module")
def browser_node_modules(otlp_node_modules):
    """playwright-core, installed with the other npm test tools by tests/integration/npm-deps.sh."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package 'chromium' (scripts/test does)")
    return otlp_node_modules


def test_shop_flow_in_chromium_is_one_trace_per_click(build_dir, pg_cluster, otlp_receiver,  # noqa: F811
                                                      browser_node_modules):
    # As installed: the backend's writes need the write token, which the frontend has and the browser not.
    with running_shop(build_dir, pg_cluster, otlp_receiver, jaeger_url=JAEGER_URL,
                      credentials={"write-token": "browser-" + uuid.uuid4().hex}) as shop:
        backend, frontend = shop.backend, shop.frontend
        status, _, user = request_json(frontend.port, "POST", "/api/users",
                                       {"name": XSS_NAME, "email": "mallory@example.com"})
        assert status == 201, user

        ARTIFACTS_DIR.mkdir(exist_ok=True)
        env = dict(os.environ, NODE_PATH=browser_node_modules, SHOP_URL=frontend.url,
                   ARTIFACTS_DIR=str(ARTIFACTS_DIR), XSS_USER_ID=str(user["id"]), CHROMIUM=str(CHROMIUM))
        out = subprocess.run(["node", str(BROWSER_DIR / "shop.test.js")], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=BROWSER_TIMEOUT_S)
        assert out.returncode == 0, f"browser flow failed:\n{out.stderr}\n{out.stdout}"
        seen = json.loads(out.stdout.strip().splitlines()[-1])
        assert seen["ok"] is True
        assert (ARTIFACTS_DIR / "shop-order.png").stat().st_size > 10_000
        assert (ARTIFACTS_DIR / "trace-waterfall.png").stat().st_size > 10_000
        assert (ARTIFACTS_DIR / "tracez.png").stat().st_size > 10_000
        trace_id = seen["order_trace_id"]
        assert seen["jaeger_href"] == f"{JAEGER_URL}/trace/{trace_id}"

        # The order exists, and the trace the page showed is the order's, end to end.
        status, _, order = request_json(backend.port, "GET", "/api/users/1/orders")
        assert status == 200 and seen["order_id"] in [o["id"] for o in order["items"]]

        def complete(spans):
            kinds = {(s["service"], s["kind"]) for s in spans}
            return {("oteldemo-frontend", SPAN_KIND_SERVER), ("oteldemo-frontend", SPAN_KIND_CLIENT),
                    ("oteldemo-backend", SPAN_KIND_SERVER)} <= kinds and any(
                s["attrs"].get("db.system.name") == "postgresql" for s in spans)

        spans = wait_for_spans(otlp_receiver, trace_id, complete)
        fe_server = next(s for s in spans if s["service"] == "oteldemo-frontend" and s["kind"] == SPAN_KIND_SERVER)
        be_server = next(s for s in spans if s["service"] == "oteldemo-backend" and s["kind"] == SPAN_KIND_SERVER)
        assert fe_server["attrs"]["http.request.method"] == "POST"
        assert be_server["attrs"]["http.request.method"] == "POST"
        assert be_server["attrs"].get("http.response.status_code") == 201
        # The browser's span is the root: the frontend's SERVER span has a parent nobody exported.
        ids = {s["span_id"] for s in spans}
        assert fe_server["parent"] and fe_server["parent"] not in ids
        # The frontend names its SERVER span for the real route (semantic conventions), not "/api/*".
        assert fe_server["name"] == "POST /api/orders" and fe_server["attrs"]["http.route"] == "/api/orders"

        # The page's waterfall showed the same spans the collector-side decoder received.
        shown = {r["id"] for r in seen["waterfall"]}
        assert {fe_server["span_id"], be_server["span_id"]} <= shown, shown
        wait_for_spans(otlp_receiver, trace_id, lambda got: shown <= {s["span_id"] for s in got})

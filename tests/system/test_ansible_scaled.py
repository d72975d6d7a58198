# SPDX-License-Identifier: Apache-2.0
"""ansible/inventories/scaled deployed into booted Debian 12 hosts: lb1 (HAProxy), app1 and app2
(frontend + backend), db1 (PostgreSQL + PgBouncer), obs1 (gateway Collector, Jaeger, Zipkin,
Prometheus), each its own container with its own address on the test's bridge network.

Under `oteldemo load` through HAProxy one app host's daemons are stopped: HAProxy's health checks and
retries must hide it (no failed request), the orders table must hold exactly the orders the load
generator saw succeed, and once the daemons are back HAProxy must send that host traffic again.
"""

from __future__ import annotations

import csv
import io
import json
import time

from ansible_fixtures import lab_fixtures, require_roles
from ansible_lab import cli_binary

LOAD_RATE = 25          # requests per second, open loop
LOAD_DURATION_S = 30
STOP_AFTER_S = 8        # the app host's daemons stop this far into the load


lab, deployed = lab_fixtures("scaled", 72)


def haproxy_servers(lab) -> dict:
    """server name -> (status, total sessions) from HAProxy's CSV statistics on lb1."""
    r = lab.sh("lb1", "python3 -c \"import urllib.request;"
               "print(urllib.request.urlopen('http://127.0.0.1:8404/;csv').read().decode())\"")
    rows = csv.DictReader(io.StringIO(r.stdout.lstrip("# ")))
    return {row["svname"]: (row["status"], int(row["stot"] or 0))
            for row in rows if row["pxname"] == "oteldemo_frontends" and row["svname"] not in ("FRONTEND", "BACKEND")}


def orders_in_db(lab) -> int:
    r = lab.sh("db1", "runuser -u postgres -- psql -d oteldemo -tAc 'SELECT count(*) FROM orders'")
    return int(r.stdout.strip())


def test_scaled_deploy_succeeds(lab, deployed):
    assert deployed.rc == 0, deployed.summary() + lab.diagnose()
    assert deployed.total("failures") == 0 and deployed.total("unreachable") == 0, deployed.summary()


def test_scaled_config_follows_the_inventory(lab, deployed):
    haproxy = lab.hosts["lb1"].read_file("/etc/haproxy/haproxy.cfg")
    for app in ("app1", "app2"):
        assert f"server {app} {lab.hosts[app].ip}:8080 check" in haproxy
    hba = lab.hosts["db1"].read_file("/etc/postgresql/15/main/pg_hba.conf")
    admitted = sorted(line.split()[3] for line in hba.splitlines() if line.startswith("host    oteldemo"))
    assert admitted == sorted(f"{lab.hosts[h].ip}/32" for h in ("app1", "app2", "db1"))
    pgbouncer = lab.hosts["db1"].read_file("/etc/pgbouncer/pgbouncer.ini")
    assert f"oteldemo = host={lab.hosts['db1'].ip} port=5432 dbname=oteldemo" in pgbouncer
    prom = lab.hosts["obs1"].read_file("/etc/prometheus/prometheus.yml")
    for host in lab.hosts.values():
        assert f'"{host.ip}:8888"' in prom, prom


def test_scaled_prometheus_scrapes_every_backend_over_tls(lab, deployed):
    # The backends serve HTTPS only and ask for a client certificate: Prometheus on obs1 has its own
    # from the deployment's CA, and verifies each backend's certificate by the app host's address.
    require_roles(lab, "oteldemo_backend")
    obs = lab.hosts["obs1"].ip
    wanted = {f"https://{lab.hosts[h].ip}:8081/metrics" for h in ("app1", "app2")}

    def backends_up():
        status, _, body = lab.http(f"http://{obs}:9090/api/v1/targets?state=active")
        if status != 200:
            return None
        up = {t["scrapeUrl"] for t in json.loads(body)["data"]["activeTargets"]
              if t["labels"]["job"] == "oteldemo-backend" and t["health"] == "up"}
        return up if up == wanted else None

    lab.wait_for("Prometheus to scrape both backends over TLS", backends_up, timeout=90, interval=2)


def test_scaled_load_survives_an_app_host_stopping(lab, deployed, tmp_path):
    require_roles(lab, "oteldemo_backend", "oteldemo_frontend")
    assert deployed.rc == 0, deployed.summary()
    lb = lab.hosts["lb1"].ip
    lab.wait_for("both app hosts UP in HAProxy",
                 lambda: all(s == "UP" for s, _ in haproxy_servers(lab).values()), timeout=60)
    orders_before = orders_in_db(lab)
    out = tmp_path / "load.json"
    load = lab.spawn_controller([str(cli_binary()), "--url", f"http://{lb}:80", "--output", "json", "load",
                                 "--rate", str(LOAD_RATE), "--duration", f"{LOAD_DURATION_S}s",
                                 "--concurrency", "8", "--mix", "browse=60,order=40"], out)
    try:
        time.sleep(STOP_AFTER_S)
        lab.sh("app1", "systemctl stop oteldemo-frontend oteldemo-backend")
        assert load.wait(LOAD_DURATION_S + 60) == 0, out.read_text()[-3000:]
    finally:
        if load.poll() is None:
            load.kill()
    report = json.loads(out.read_text()[out.read_text().index("{"):])
    statuses = {}
    for ep in report["endpoints"]:
        for status, count in ep["statuses"].items():
            statuses.setdefault(f"{ep['method']} {ep['route']}", {})[status] = count
    failed = {ep: {s: n for s, n in st.items() if s == "no_reply" or s.startswith("5")}
              for ep, st in statuses.items()}
    failed = {ep: st for ep, st in failed.items() if st}
    assert report["requests"] > LOAD_RATE * LOAD_DURATION_S * 0.8, report
    assert not failed, f"failed requests while app1 stopped: {failed}"
    created = statuses.get("POST /api/orders", {})
    successful_orders = created.get("201", 0) + created.get("200", 0)
    assert successful_orders > 0, statuses
    assert orders_in_db(lab) - orders_before == successful_orders, statuses
    assert haproxy_servers(lab)["app1"][0].startswith("DOWN")


def test_scaled_app_host_gets_traffic_again_when_back(lab, deployed):
    require_roles(lab, "oteldemo_backend", "oteldemo_frontend")
    lab.sh("app1", "systemctl start oteldemo-backend oteldemo-frontend")
    lab.wait_for("app1 UP again in HAProxy", lambda: haproxy_servers(lab)["app1"][0] == "UP", timeout=60)
    before = haproxy_servers(lab)["app1"][1]
    lb = lab.hosts["lb1"].ip
    for _ in range(10):
        status, _, body = lab.http(f"http://{lb}:80/api/products")
        assert status == 200, body
    assert haproxy_servers(lab)["app1"][1] >= before + 4


def test_scaled_second_run_reports_changed_0(lab, deployed):
    assert deployed.rc == 0, deployed.summary()
    again = lab.playbook(skip_tags=lab.skip_tags)
    assert again.rc == 0, again.summary()
    assert set(again.stats()) == set(lab.hosts)
    assert all(n == 0 for n in (s.get("changed", 0) for s in again.stats().values())), \
        [(name, host) for name, host, _ in again.changed()]

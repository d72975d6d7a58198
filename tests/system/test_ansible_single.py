# SPDX-License-Identifier: Apache-2.0
"""ansible/inventories/single deployed into one booted Debian 12 host: the whole system on one VM.

The playbook runs for real (over ssh, from a controller in the test's own network namespace), then
again to prove it idempotent, then in check mode after a template change. The Grafana role runs in
check mode only: its vendor repository cannot be reached from here.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from ansible_fixtures import lab_fixtures, require_roles
from ansible_lab import TRACE_ID, cli_binary, diff_lines, recap_changed, tls_files

HOST = "oteldemo"


lab, deployed = lab_fixtures("single", 71)


@pytest.fixture(scope="module")
def ip(lab):
    return lab.hosts[HOST].ip


def test_single_deploy_succeeds(lab, deployed):
    assert deployed.rc == 0, deployed.summary() + lab.diagnose()
    assert deployed.total("failures") == 0 and deployed.total("unreachable") == 0, deployed.summary()
    assert deployed.total("changed") > 0


def test_single_postgresql_admits_only_the_configured_hosts(lab, deployed):
    hba = lab.hosts[HOST].read_file("/etc/postgresql/15/main/pg_hba.conf")
    tcp = [line.split() for line in hba.splitlines() if line.startswith("host")]
    addresses = sorted({fields[3] for fields in tcp})
    assert addresses == sorted(["127.0.0.1/32", "::1/128", f"{lab.hosts[HOST].ip}/32"]), hba
    r = lab.sh(HOST, "runuser -u postgres -- psql -tAc \"SELECT rolname FROM pg_roles WHERE rolname='oteldemo'\"")
    assert r.stdout.strip() == "oteldemo"


def test_single_shop_answers_through_the_frontend(lab, deployed, ip):
    require_roles(lab, "oteldemo_backend", "oteldemo_frontend")
    status, headers, body = lab.wait_for("the shop page", lambda: (lambda r: r if r[0] == 200 else None)(
        lab.http(f"http://{ip}:8080/")), timeout=60)
    assert "<html" in body.lower(), (headers, body[:300])
    status, headers, body = lab.http(f"http://{ip}:8080/api/products")
    assert status == 200, body
    products = json.loads(body)
    items = products["items"] if isinstance(products, dict) and "items" in products else products
    assert len(items) > 0
    assert TRACE_ID.fullmatch(headers.get("traceresponse", "")), headers


def test_single_backend_password_is_a_systemd_credential(lab, deployed):
    require_roles(lab, "oteldemo_backend")
    r = lab.sh(HOST, "stat -c '%a %U' /etc/oteldemo/db-password")
    assert r.stdout.split() == ["600", "root"]
    # systemd 252 prints LoadCredential as "[unprintable]" in `systemctl show`: read the unit, then
    # what systemd delivered to the running service.
    r = lab.sh(HOST, "systemctl cat oteldemo-backend")
    assert "LoadCredential=db-password:/etc/oteldemo/db-password" in r.stdout.splitlines(), r.stdout
    r = lab.sh(HOST, "cmp /etc/oteldemo/db-password /run/credentials/oteldemo-backend.service/db-password",
               check=False)
    assert r.rc == 0, r.stdout + r.stderr


def test_single_backend_speaks_only_tls_to_holders_of_a_deployment_certificate(lab, deployed, ip):
    require_roles(lab, "oteldemo_backend")
    ca, cert, key = tls_files(HOST, "client")
    assert lab.http(f"http://{ip}:8081/healthz")[0] == 0, "plain HTTP was answered"
    status, _, err = lab.http(f"https://{ip}:8081/healthz", curl_args=("--cacert", ca))
    assert status == 0, "served without a client certificate"
    # Verified by name: the certificate holds the host's address.
    status, _, body = lab.http(f"https://{ip}:8081/healthz", curl_args=("--cacert", ca, "--cert", cert, "--key", key))
    assert status == 200, body
    # The host has the deployment's CA, and no CA key (the controller keeps it).
    assert lab.hosts[HOST].read_file("/etc/oteldemo/tls/ca.pem") == ca.read_text()
    r = lab.sh(HOST, "cd /etc/oteldemo/tls && stat -c '%n %a %U' * | sort")
    assert r.stdout.split("\n")[:-1] == ["backend.key 600 root", "backend.pem 644 root", "ca.pem 644 root",
                                         "client.key 600 root", "client.pem 644 root", "frontend.key 600 root",
                                         "frontend.pem 644 root"], r.stdout


def test_single_frontend_reaches_the_backend_over_verified_tls(lab, deployed):
    require_roles(lab, "oteldemo_backend", "oteldemo_frontend")
    conf = lab.hosts[HOST].read_file("/etc/oteldemo/frontend.conf")
    assert "url = https://127.0.0.1:8081" in conf.splitlines(), conf
    # What systemd handed the running frontend is the deployment's CA and its own certificate.
    for cred, file in (("backend-ca", "ca.pem"), ("backend-client-cert", "frontend.pem"),
                       ("backend-client-key", "frontend.key")):
        r = lab.sh(HOST, f"cmp /etc/oteldemo/tls/{file} /run/credentials/oteldemo-frontend.service/{cred}",
                   check=False)
        assert r.rc == 0, r.stdout + r.stderr
    status, _, body = lab.http(f"http://{lab.hosts[HOST].ip}:8080/api/products/3")
    assert status == 200, body


def test_single_cli_reaches_the_backend_with_the_deployment_ca(lab, deployed, ip, tmp_path):
    require_roles(lab, "oteldemo_backend")
    ca, cert, key = tls_files(HOST, "client")
    out = tmp_path / "cli.out"
    cli = lab.spawn_controller([str(cli_binary()), "--url", f"https://{ip}:8081", "--cacert", str(ca),
                                "--cert", str(cert), "--key", str(key), "--output", "json", "products", "get", "1"],
                               out)
    assert cli.wait(60) == 0, out.read_text()
    assert '"id"' in out.read_text(), out.read_text()


def test_single_package_reinstall_keeps_the_certificates(lab, deployed):
    # A reinstall runs the maintainer scripts' upgrade path (postinst configure with the old version).
    require_roles(lab, "oteldemo_backend", "oteldemo_frontend")
    digests = "cd /etc/oteldemo/tls && sha256sum *"
    before = lab.sh(HOST, digests).stdout
    lab.sh(HOST, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "
                 "/var/cache/oteldemo-deploy/oteldemo-backend_*.deb /var/cache/oteldemo-deploy/oteldemo-frontend_*.deb",
           timeout=300)
    assert lab.sh(HOST, digests).stdout == before
    assert lab.sh(HOST, "test -e /etc/oteldemo/tls/ca.key", check=False).rc != 0, "the package made a CA key"
    lab.sh(HOST, "systemctl restart oteldemo-backend oteldemo-frontend", timeout=120)
    ip = lab.hosts[HOST].ip
    lab.wait_for("the shop after the reinstall",
                 lambda: lab.http(f"http://{ip}:8080/api/products/1")[0] == 200, timeout=60)


def test_single_prometheus_scrapes_both_daemons(lab, deployed, ip):
    require_roles(lab, "oteldemo_backend", "oteldemo_frontend")

    def both_up():
        status, _, body = lab.http(f"http://{ip}:9090/api/v1/targets?state=active")
        if status != 200:
            return None
        targets = json.loads(body)["data"]["activeTargets"]
        up = {t["labels"]["job"]: t["scrapeUrl"] for t in targets if t["health"] == "up"}
        return up if {"oteldemo-backend", "oteldemo-frontend"} <= set(up) else None

    up = lab.wait_for("Prometheus to scrape both daemons", both_up, timeout=60, interval=2)
    # The backend with the deployment's CA and Prometheus's client certificate.
    assert up["oteldemo-backend"] == f"https://{ip}:8081/metrics", up
    status, _, body = lab.http(f"http://{ip}:9090/api/v1/query?query=up")
    assert status == 200


def test_single_trace_reaches_jaeger(lab, deployed, ip):
    require_roles(lab, "oteldemo_backend", "oteldemo_frontend", "otelcol", "jaeger")
    status, headers, _ = lab.http(f"http://{ip}:8080/api/products/1")
    assert status == 200
    trace_id = TRACE_ID.fullmatch(headers["traceresponse"]).group(1)

    def trace():
        status, _, body = lab.http(f"http://{ip}:16686/api/traces/{trace_id}")
        if status != 200:
            return None
        data = json.loads(body).get("data") or []
        services = {p["serviceName"] for t in data for p in t["processes"].values()}
        return services if {"oteldemo-frontend", "oteldemo-backend"} <= services else None

    lab.wait_for(f"trace {trace_id} in Jaeger", trace, timeout=60, interval=2)


def test_single_trace_reaches_zipkin(lab, deployed, ip):
    require_roles(lab, "oteldemo_backend", "oteldemo_frontend", "otelcol", "zipkin")
    status, headers, _ = lab.http(f"http://{ip}:8080/api/products/2")
    assert status == 200
    trace_id = TRACE_ID.fullmatch(headers["traceresponse"]).group(1)
    lab.wait_for(f"trace {trace_id} in Zipkin",
                 lambda: lab.http(f"http://{ip}:9411/api/v2/trace/{trace_id}")[0] == 200, timeout=90, interval=2)


def test_single_second_run_reports_changed_0(lab, deployed):
    assert deployed.rc == 0, deployed.summary()
    again = lab.playbook(skip_tags=lab.skip_tags)
    assert again.rc == 0, again.summary()
    changed = [(name, host) for name, host, _ in again.changed()]
    assert recap_changed(again) == {HOST: 0}, changed


def test_single_check_diff_shows_exactly_the_template_change(lab, deployed):
    assert deployed.rc == 0, deployed.summary()
    before = lab.hosts[HOST].read_file("/etc/prometheus/prometheus.yml")
    run = lab.playbook(check=True, diff=True, extra_vars={"prometheus_scrape_interval": "30s"},
                       skip_tags=lab.skip_tags)
    assert run.rc == 0, run.summary()
    # The one file, and the reload it would cause.
    tasks = sorted(name for name, _, _ in run.changed())
    assert tasks == ["Configure the scrape targets from the inventory", "Reload prometheus"], tasks
    (result,) = [res for name, _, res in run.changed() if name.startswith("Configure")]
    assert diff_lines(result) == ["-  scrape_interval: 15s", "+  scrape_interval: 30s"]
    assert lab.hosts[HOST].read_file("/etc/prometheus/prometheus.yml") == before, "check mode wrote"


def test_single_grafana_check_mode_renders_provisioning(lab, deployed, ip):
    run = lab.playbook(check=True, diff=True, tags=("grafana",))
    assert run.rc == 0, run.summary()
    by_task = {name: res for name, host, res in run.results() if host == HOST}
    repo = by_task["Add the vendor apt repository"]
    assert repo["changed"], repo
    assert "deb [signed-by=/etc/apt/keyrings/grafana.asc] https://apt.grafana.com stable main" in json.dumps(repo)
    # The vendor repository is not reachable here: the package is unknown, which check mode allows.
    assert by_task["Install Grafana"].get("failed"), by_task["Install Grafana"]

    def rendered(task):
        (d,) = [d for d in by_task[task]["diff"] if "after" in d]
        return yaml.safe_load(d["after"])

    datasources = {d["uid"]: d for d in rendered("Provision the data sources")["datasources"]}
    assert {uid: d["url"] for uid, d in datasources.items()} == {
        "prometheus": f"http://{ip}:9090", "jaeger": f"http://{ip}:16686", "zipkin": f"http://{ip}:9411"}
    assert {d["type"] for d in datasources.values()} == {"prometheus", "jaeger", "zipkin"}
    assert datasources["prometheus"]["isDefault"] is True
    providers = rendered("Provision the dashboard provider")["providers"]
    assert providers[0]["type"] == "file" and providers[0]["options"]["path"] == "/var/lib/grafana/dashboards"
    # Nothing was written by check mode.
    assert not lab.hosts[HOST].host_path("/etc/grafana/provisioning").exists()


def _throwaway_key(tmp_path) -> tuple:
    """An armored public key made for the test (not Grafana's) and its fingerprint."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--homedir", str(home)]
    subprocess.run(gpg + ["--passphrase", "", "--quick-gen-key", "not-grafana@example.invalid", "ed25519",
                          "sign", "never"], check=True, capture_output=True)
    key = tmp_path / "not-grafana.asc"
    subprocess.run(gpg + ["--armor", "--output", str(key), "--export", "not-grafana@example.invalid"],
                   check=True, capture_output=True)
    colons = subprocess.run(gpg + ["--with-colons", "--fingerprint"], check=True, capture_output=True,
                            text=True).stdout
    fpr = next(line.split(":")[9] for line in colons.splitlines() if line.startswith("fpr:"))
    return key, fpr


def test_single_grafana_trusts_only_the_pinned_key_fingerprint(lab, deployed, tmp_path):
    key, fpr = _throwaway_key(tmp_path)
    run = lab.playbook(tags=("grafana",), extra_vars={"grafana_gpg_key_src": str(key)})
    failed = [name for name, _, res in run.results() if res.get("failed")]
    assert run.rc != 0 and failed == ["Require the pinned fingerprint"], run.summary()
    assert not lab.hosts[HOST].host_path("/etc/apt/sources.list.d/grafana.list").exists()
    # The same key with its own fingerprint pinned passes the check; the repository itself then
    # cannot be reached from here.
    run = lab.playbook(tags=("grafana",), extra_vars={"grafana_gpg_key_src": str(key),
                                                      "grafana_gpg_fingerprint": fpr})
    failed = [name for name, _, res in run.results() if res.get("failed")]
    assert failed == ["Add the vendor apt repository"], run.summary()

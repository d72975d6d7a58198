# The configuration as shipped: promtool checks the Prometheus config and rules and runs the rule
# unit tests; the Collector and Jaeger validate their configs; the Grafana provisioning (Grafana is not
# part of this build) is checked for structure: data sources referenced exist, exemplars link to
# Jaeger, every panel has a unique id, a grid position, a Prometheus query and known variables.
import json
import re
import subprocess

import pytest
import yaml

from conftest import REPO

PROMTOOL = "/usr/bin/promtool"
GRAFANA = REPO / "etc/grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range"}


def run(*argv):
    out = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout
    return out.stdout


def test_promtool_check_config_of_the_shipped_and_the_test_config(stack):
    assert "SUCCESS" in run(PROMTOOL, "check", "config", REPO / "etc/prometheus/prometheus.yml")
    assert "SUCCESS" in run(PROMTOOL, "check", "config", stack.tmp / "prometheus/prometheus.yml")


def test_promtool_check_rules():
    assert "SUCCESS" in run(PROMTOOL, "check", "rules", *sorted((REPO / "etc/prometheus/rules").glob("*.yml")))


def test_promtool_test_rules():
    assert "SUCCESS" in run(PROMTOOL, "test", "rules", REPO / "tests/stack/rules-test.yml")


def test_a_broken_rule_fails_promtool(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(foo[5m]\n")
    out = subprocess.run([PROMTOOL, "check", "rules", str(bad)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert out.returncode != 0


def test_otelcol_validate_accepts_the_config(stack):
    run(stack.otelcol_bin, "validate", "--config", REPO / "etc/otelcol/config.yaml")


def test_otelcol_validate_rejects_an_unknown_exporter(stack, tmp_path):
    cfg = (REPO / "etc/otelcol/config.yaml").read_text().replace("exporters: [file/logs, debug]",
                                                                     "exporters: [file/logs, nosuch]")
    (tmp_path / "bad.yaml").write_text(cfg)
    out = subprocess.run([stack.otelcol_bin, "validate", "--config", str(tmp_path / "bad.yaml")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert out.returncode != 0 and "nosuch" in out.stdout


def test_otelcol_has_every_component_of_the_manifest(stack):
    out = run(stack.otelcol_bin, "components")
    for name in ("otlp", "memory_limiter", "batch", "spanmetrics", "zipkin", "prometheus",
                 "debug", "file", "health_check", "zpages"):
        assert re.search(rf"\bname: {name}\b", out), name


def datasources():
    return yaml.safe_load((GRAFANA / "provisioning/datasources/oteldemo.yaml").read_text())["datasources"]


def test_datasources_are_prometheus_jaeger_zipkin_on_the_packages_ports():
    got = {d["uid"]: (d["type"], d["url"]) for d in datasources()}
    assert got == {"prometheus": ("prometheus", "http://127.0.0.1:9090"),
                   "jaeger": ("jaeger", "http://127.0.0.1:16686"),
                   "zipkin": ("zipkin", "http://127.0.0.1:9411")}
    assert sum(bool(d.get("isDefault")) for d in datasources()) == 1


def test_prometheus_exemplars_link_to_the_jaeger_datasource():
    prom = next(d for d in datasources() if d["uid"] == "prometheus")
    dest = prom["jsonData"]["exemplarTraceIdDestinations"]
    # trace_id is the exemplar label the SDK and the spanmetrics connector write.
    assert dest == [{"name": "trace_id", "datasourceUid": "jaeger"}]


def test_dashboard_provider_points_at_the_install_path():
    prov = yaml.safe_load((GRAFANA / "provisioning/dashboards/oteldemo.yaml").read_text())["providers"]
    assert len(prov) == 1 and prov[0]["type"] == "file" and prov[0]["options"]["path"].startswith("/etc/grafana/")


def test_the_four_dashboards_exist_with_unique_uids():
    names = {p.name for p in DASHBOARDS}
    assert names == {"service-overview.json", "backend-database.json", "telemetry-pipeline.json", "host.json"}
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_structure(path):
    dash = json.loads(path.read_text())
    assert dash["title"] and dash["uid"] and isinstance(dash["schemaVersion"], int)
    known_ds = {d["uid"] for d in datasources()}
    variables = {v["name"] for v in dash.get("templating", {}).get("list", [])}
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and dash["panels"]
    cells = set()
    for panel in dash["panels"]:
        assert panel["type"] in {"timeseries", "stat", "gauge", "table", "heatmap"}, panel["title"]
        g = panel["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, panel["title"]
        cell = (g["x"], g["y"])
        assert cell not in cells, f"two panels at {cell}"
        cells.add(cell)
        assert panel["datasource"]["uid"] in known_ds
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        for t in panel["targets"]:
            assert t["datasource"]["uid"] in known_ds and t["expr"].strip()
            used = set(re.findall(r"\$(\w+)", t["expr"]))
            assert used <= variables | GRAFANA_BUILTINS, f"{panel['title']}: unknown variables {used}"
    for v in dash.get("templating", {}).get("list", []):
        assert v["datasource"]["uid"] in known_ds

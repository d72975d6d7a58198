# SPDX-License-Identifier: Apache-2.0
"""What the Ansible test modules share: starting a lab, and requiring the packages a test needs."""

from __future__ import annotations

import os

import pytest

from ansible_lab import Lab

# Never deployed for real here: the vendor repository is unreachable (see test_ansible_single.py).
ALWAYS_SKIPPED = ("grafana",)


# The one list of roles whose packages may be missing from dist/, each with its reason. A test that
# needs one of them skips with that reason; a missing package of any other role fails the run.
# scripts/test-ansible builds them (`scripts/package stack deb`) and fails its own step when it cannot.
_STACK_REASON = "not in dist/: `scripts/package stack deb` did not build it (see scripts/test-ansible's step)"
DECLARED_MISSING = {
    "otelcol": f"oteldemo-otelcol {_STACK_REASON}",
    "jaeger": f"oteldemo-jaeger {_STACK_REASON}",
    "zipkin": f"oteldemo-zipkin {_STACK_REASON}",
}


def allow_missing() -> bool:
    """OTELDEMO_ANSIBLE_ALLOW_MISSING=1 (development only): deploy the roles whose packages exist
    and skip the checks that need the others, instead of failing them."""
    return os.environ.get("OTELDEMO_ANSIBLE_ALLOW_MISSING") == "1"


def start_lab(name: str, subnet_index: int, inventory: str):
    lab = Lab(name, subnet_index, inventory)
    missing = lab.missing_roles()
    undeclared = [r for r in missing if r not in DECLARED_MISSING]
    if undeclared and not allow_missing():
        pytest.fail(f"packages missing in {lab.packages and 'dist/' or 'dist/ (empty)'}: roles {undeclared} "
                    "cannot deploy; build them with scripts/package deb", pytrace=False)
    lab.skip_tags = ALWAYS_SKIPPED + tuple(missing)
    try:
        lab.start()
    except BaseException:  # a host that did not boot, or SIGTERM/Ctrl-C while booting
        lab.stop()
        raise
    return lab


def lab_fixtures(inventory: str, subnet_index: int):
    """The module-scoped `lab` (booted hosts of one inventory, stopped afterwards) and `deployed` (the
    playbook's first run) fixtures; a test module binds both: `lab, deployed = lab_fixtures(...)`."""

    @pytest.fixture(scope="module")
    def lab():
        booted = start_lab(inventory, subnet_index, inventory)
        try:
            yield booted
        finally:
            booted.stop()

    @pytest.fixture(scope="module")
    def deployed(lab):  # noqa: F811  (pytest resolves the argument to the fixture above)
        return lab.playbook(skip_tags=lab.skip_tags)

    return lab, deployed


def require_roles(lab: Lab, *roles) -> None:
    missing = [r for r in roles if r in lab.missing_roles()]
    if missing:
        reasons = "; ".join(DECLARED_MISSING.get(r, f"{r}: not in dist/ (development run)") for r in missing)
        pytest.skip(f"needs the packages of roles {missing}: {reasons}")

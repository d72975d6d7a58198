# SPDX-License-Identifier: Apache-2.0
"""What the Ansible test modules share: starting a lab, and requiring the packages a test needs."""

from __future__ import annotations

import os

import pytest

from ansible_lab import Lab

# Never deployed for real here: the vendor repository is unreachable (see test_ansible_single.py).
ALWAYS_SKIPPED = ("grafana",)


def allow_missing() -> bool:
    """OTELDEMO_ANSIBLE_ALLOW_MISSING=1 (development only): deploy the roles whose packages exist
    and skip the checks that need the others, instead of failing them."""
    return os.environ.get("OTELDEMO_ANSIBLE_ALLOW_MISSING") == "1"


def start_lab(name: str, subnet_index: int, inventory: str):
    lab = Lab(name, subnet_index, inventory)
    missing = lab.missing_roles()
    if missing and not allow_missing():
        pytest.fail(f"packages missing in {lab.packages and 'dist/' or 'dist/ (empty)'}: roles {missing} "
                    "cannot deploy; build them with scripts/package deb", pytrace=False)
    lab.skip_tags = ALWAYS_SKIPPED + tuple(missing)
    lab.start()
    return lab


def require_roles(lab: Lab, *roles) -> None:
    missing = [r for r in roles if r in lab.missing_roles()]
    if missing:
        pytest.skip(f"needs the packages of roles {missing} (not in dist/)")

# SPDX-License-Identifier: Apache-2.0
"""SIGTERM (scripts/test-ansible stopping, a cancelled CI job) ends a run as Ctrl-C does: pytest stops
and the module fixtures' finally blocks destroy the labs' containers and networks."""

import signal


def _stop(_signum, _frame):
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _stop)

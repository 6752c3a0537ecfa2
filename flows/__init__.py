"""seqlab's orchestration: the Prefect flows, the stage graph they share with dvc.yaml, the local stack.

Prefect reads its settings once, when it is imported, so the package sets its defaults first (each
still overridable from the environment): no analytics, and minutes rather than Prefect's 20 s for a
temporary server to start, which a busy 2-core machine needs (CI timed out at 20 s).
"""

import os

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
}
for _name, _value in PREFECT_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

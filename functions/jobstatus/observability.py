"""The one Logger and the one Metrics of each function (Powertools, EMF).

Both read POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL and POWERTOOLS_METRICS_NAMESPACE,
which template.yaml sets per function. The namespace gets a default so that an invocation with a
bare environment still flushes its metrics instead of failing. No project_id dimension: its
cardinality is unbounded and every dimension value is a billed metric. Logs carry it instead.
"""

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

# Powertools takes any POWERTOOLS_LOGGER_SAMPLE_RATE text as sampling on, "0" (the template's
# default) included, and then resets the log level on every warm invocation: logging clears the
# level cache of every logger botocore made. As a number, 0 is off.
logger = Logger(sampling_rate=float(os.environ.get("POWERTOOLS_LOGGER_SAMPLE_RATE") or 0))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "EdgeJobReport")


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

"""Entry point of SilenceSweepFunction, run every minute by EventBridge Scheduler (sweep.handler.lambda_handler)."""

from jobstatus.coldstart import lambda_init

with lambda_init():
    from sweep.settings import SweepSettings
    from sweep.wiring import build_handler

    lambda_handler = build_handler(SweepSettings.from_env())

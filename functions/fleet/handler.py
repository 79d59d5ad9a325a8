"""Entry point of FleetFunction, run by EventBridge Scheduler (Handler fleet.handler.lambda_handler)."""

from jobstatus.coldstart import lambda_init

with lambda_init():
    from fleet.settings import FleetSettings
    from fleet.wiring import build_handler

    lambda_handler = build_handler(FleetSettings.from_env())

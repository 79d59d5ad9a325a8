"""Entry point of FleetFunction, run by EventBridge Scheduler (Handler fleet.app.lambda_handler)."""

from jobstatus.coldstart import quiet_init

with quiet_init():
    from fleet.handler import build_handler
    from fleet.settings import FleetSettings

    lambda_handler = build_handler(FleetSettings.from_env())

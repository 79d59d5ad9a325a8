"""Entry point of SilenceSweepFunction, run every minute by EventBridge Scheduler (Handler sweep.app.lambda_handler)."""

from jobstatus.coldstart import quiet_init

with quiet_init():
    from sweep.handler import build_handler
    from sweep.settings import SweepSettings

    lambda_handler = build_handler(SweepSettings.from_env())

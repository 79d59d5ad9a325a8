"""Entry point of JobEventsFunction, the table stream's consumer (Handler notify.handler.lambda_handler)."""

from jobstatus.coldstart import lambda_init

with lambda_init():
    from notify.settings import NotifySettings
    from notify.wiring import build_handler

    lambda_handler = build_handler(NotifySettings.from_env())

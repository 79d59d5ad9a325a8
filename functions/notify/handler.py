"""Entry point of JobEventsFunction, the table stream's consumer (Handler notify.handler.lambda_handler)."""

from jobstatus.coldstart import init_without_gc

with init_without_gc():
    from notify.settings import NotifySettings
    from notify.wiring import build_handler

    lambda_handler = build_handler(NotifySettings.from_env())

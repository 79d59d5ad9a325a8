"""Entry point of JobEventsFunction, the table stream's consumer (Handler notify.app.lambda_handler)."""

from jobstatus.coldstart import quiet_init

with quiet_init():
    from notify.handler import build_handler
    from notify.settings import NotifySettings

    lambda_handler = build_handler(NotifySettings.from_env())

"""Entry point of JobQueryFunction, the GET routes (Handler query.app.lambda_handler)."""

from jobstatus.coldstart import quiet_init

with quiet_init():
    from query.handler import build_handler
    from query.settings import QuerySettings

    lambda_handler = build_handler(QuerySettings.from_env())

"""Entry point of JobQueryFunction, the GET routes (Handler query.handler.lambda_handler)."""

from jobstatus.coldstart import lambda_init

with lambda_init():
    from query.settings import QuerySettings
    from query.wiring import build_handler

    lambda_handler = build_handler(QuerySettings.from_env())

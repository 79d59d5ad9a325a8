"""Entry point of JobReportFunction, POST /v1/{project_id}/edgesrv/job-report (report.handler.lambda_handler)."""

from jobstatus.coldstart import lambda_init

with lambda_init():
    from report.settings import ReportSettings
    from report.wiring import build_handler

    lambda_handler = build_handler(ReportSettings.from_env())

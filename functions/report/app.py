"""Entry point of JobReportFunction, POST /v1/{project_id}/edgesrv/job-report (Handler report.app.lambda_handler)."""

from jobstatus.coldstart import quiet_init

with quiet_init():
    from report.handler import build_handler
    from report.settings import ReportSettings

    lambda_handler = build_handler(ReportSettings.from_env())

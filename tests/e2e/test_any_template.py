"""The local stack serves what template.yaml declares: a function added to a copy is served, no edit to localapi/."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

from devkit.template import ROOT, TEMPLATE_PATH
from tests.support import PROJECT, SUCCESS, seed_body
from tests.support.local import Local

ECHO_HANDLER = """
import json, os


def handler(event, context):
    body = {
        "word": event["pathParameters"]["word"],
        "greeting": os.environ["GREETING"],
        "query": event.get("queryStringParameters"),
        "route": event["routeKey"],
        "function": context.function_name,
    }
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
"""

ECHO_RESOURCE = """
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {code}/
      Handler: echo.app.handler
      Environment:
        Variables:
          GREETING: !Sub "hello from ${{Stage}}"
      Events:
        Echo:
          Type: HttpApi
          Properties:
            ApiId: !Ref JobReportApi
            Method: GET
            Path: /v1/{{project_id}}/echo/{{word}}
            PayloadFormatVersion: "2.0"
"""


def template_with_echo(tmp_path: Path) -> Path:
    """template.yaml plus a throwaway EchoFunction, its code in tmp_path; the existing functions unchanged."""
    code = tmp_path / "code"
    (code / "echo").mkdir(parents=True)
    (code / "echo" / "__init__.py").write_text("")
    (code / "echo" / "app.py").write_text(textwrap.dedent(ECHO_HANDLER))
    text = TEMPLATE_PATH.read_text().replace("CodeUri: functions/", f"CodeUri: {ROOT / 'functions'}/")
    text = text.replace("\nResources:\n", "\nResources:\n" + ECHO_RESOURCE.format(code=code), 1)
    copy = tmp_path / "template.yaml"
    copy.write_text(text)
    return copy


def test_a_function_added_to_the_template_is_served_beside_the_others(tmp_path: Path, start: Callable[..., Local]):
    # Given a copy of the template with one more function and HttpApi route
    template = template_with_echo(tmp_path)
    # When the local stack starts from it
    local = start("--template", str(template), "--parameter", "Stage=prod")
    # Then the new route reaches the new function, with its environment and a payload-2.0 event
    reply = local.request("GET", f"/v1/{PROJECT}/echo/hi?lang=en&lang=fr")
    assert reply.status == 200, reply.raw
    assert reply.json == {
        "word": "hi",
        "greeting": "hello from prod",
        "query": {"lang": "en,fr"},
        "route": "GET /v1/{project_id}/echo/{word}",
        "function": "EchoFunction",
    }
    # And the routes around it are unchanged
    assert local.request("GET", f"/v1/{PROJECT}/echo").status == 404
    assert local.request("POST", f"/v1/{PROJECT}/echo/hi").status == 404
    seeded = local.post(PROJECT, seed_body())
    assert (seeded.status, json.loads(seeded.raw)) == (200, SUCCESS)
    # And the startup lines list it
    assert "/v1/{project_id}/echo/{word}  (EchoFunction)" in local.log.read_text()

"""What `make run` prints once the stack answers (localapi/__main__.py's banner): every route with its function,
and the curl lines that send the seed example and read it back (tests/e2e/test_http.py sends those requests)."""

from __future__ import annotations

import json
import shlex
from types import SimpleNamespace

from localapi.__main__ import banner
from tests.support import EVENTS, PROJECT, TEMPLATE, load_event, seed_body

URL, MOTO = "http://127.0.0.1:3100", "http://127.0.0.1:8100"


def printed() -> str:
    return banner(SimpleNamespace(template=TEMPLATE, url=URL, moto_port=8100, moto_url=MOTO))  # type: ignore[arg-type]


def after(text: str, heading: str) -> list[str]:
    """The indented lines under a heading of the banner."""
    lines = text.split(f"\n{heading}\n", 1)[1].splitlines()
    return lines[: lines.index("")] if "" in lines else lines


def test_every_route_of_the_template_is_printed_with_its_function():
    text = printed()
    for route in TEMPLATE.routes():
        assert f"  {route.method:<6} {URL}{route.path}  ({route.function})" in text


def test_the_seed_is_printed_as_one_curl_line_that_sends_its_body():
    (line,) = after(printed(), "Send the seed example:")
    command = shlex.split(line)
    assert command[:5] == ["curl", "-sS", "-X", "POST", f"{URL}/v1/{PROJECT}/edgesrv/job-report"]
    assert json.loads(command[command.index("-d") + 1]) == seed_body()


def test_a_read_is_printed_for_each_read_example_of_the_events_folder_the_seed_first():
    reads = [shlex.split(line)[-1].removeprefix(URL) for line in after(printed(), "Then read it back:")]
    good = [load_event(f"query/{p.name}") for p in sorted((EVENTS / "query").glob("*.json"))]
    good = [e for e in good if e["routeKey"].startswith("GET ") and not e["rawPath"].endswith("/abc")]
    good = [e for e in good if "broken" not in e["rawQueryString"]]
    assert reads == [e["rawPath"] + (f"?{e['rawQueryString']}" if e["rawQueryString"] else "") for e in good]
    assert reads[0] == f"/v1/{PROJECT}/edgesrv/jobs/99270"
    assert {e["routeKey"] for e in good} == {r.route_key for r in TEMPLATE.routes() if r.method == "GET"}

"""One source of truth for runtime dependency versions: the layer's requirements file."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

from devkit.template import ROOT

LAYER = ROOT / "layers" / "dependencies" / "requirements.txt"


def pins(path: Path) -> dict[str, str]:
    found = {}
    for text in path.read_text().splitlines():
        line = text.split("#")[0].strip()
        if line and not line.startswith("-"):
            name, _, pinned = line.partition("==")
            assert pinned, f"{path.name}: {line} is not pinned with =="
            found[re.sub(r"\[.*\]", "", name).lower()] = pinned
    return found


def test_every_runtime_dependency_is_pinned_and_installed_at_that_version():
    layer = pins(LAYER)
    assert {"aws-lambda-powertools", "pydantic"} <= layer.keys()
    drift = {name: (pinned, version(name)) for name, pinned in layer.items() if version(name) != pinned}
    assert not drift, f"the venv differs from the layer's pins (run `make install`): {drift}"


def test_development_requirements_include_the_layer_pins_and_do_not_repeat_them():
    dev = ROOT / "requirements-dev.txt"
    assert "-r layers/dependencies/requirements.txt" in dev.read_text().splitlines()
    assert not pins(LAYER).keys() & pins(dev).keys()


def test_boto3_is_left_to_the_lambda_runtime():
    assert "boto3" not in pins(LAYER)
    assert "botocore" not in pins(LAYER)

"""Translate a SAM template to the CloudFormation that would be deployed, offline: `python translate.py TEMPLATE`.

Run by the SAM tool environment's python (.tools/sam, where aws-sam-translator lives; it pins
versions that clash with the project's venv, see the Makefile): the IAM tests need the roles and
policies SAM generates (the schedule's role, for one), not only those the template spells out.
Local code locations are replaced by fake S3 ones, which is all the translator needs of them; no
credentials, no network. Prints the translated template as JSON.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform


class NoManagedPolicies(ManagedPolicyLoader):
    """The template names no AWS managed policy by name; asking for one is an error."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        raise RuntimeError("the template names an AWS managed policy; give its ARN instead")


def translated(path: Path) -> dict[str, Any]:
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"  # the translator's pseudo parameters; nothing is called
    template = yaml_parse(path.read_text())
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://bucket/{properties[key].strip('/')}.zip"
    document: dict[str, Any] = transform(template, {}, NoManagedPolicies())
    return document


if __name__ == "__main__":
    print(json.dumps(translated(Path(sys.argv[1])), indent=1, default=str))

"""`python -m onboard node` against moto's IoT: what project.yaml creates for a project (its role
alias, and its IoT policy that allows AssumeRoleWithCertificate on that alias only), then the command.

moto's IoT differs from AWS where it matters here (create_thing replaces a thing, describe_endpoint
answers a new prefix each call, create_certificate_from_csr ignores the CSR's key), so these tests
assert only what both do; `use_valid_cert` makes certificate ids AWS's (sha256 of the DER).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto import mock_aws
from moto.server import ThreadedMotoServer

from onboard.__main__ import main

REGION = "us-east-1"
PROJECT = "48cc2c48765f481480c7db940d6409d1"
STACK = "edge-project-48cc2c48"  # project.yaml names the role alias and the policy after its stack
API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/"
THING = "line-3:press_07"
ENDPOINT = re.compile(r"[a-z0-9]+\.credentials\.iot\.us-east-1\.amazonaws\.com")


@dataclass
class Aws:
    iot: Any  # for the tests' own reads
    command_iot: Any  # the client the command gets: its calls are recorded
    calls: list[str] = field(default_factory=list)


def create_project(iot: Any) -> None:
    """What project.yaml creates in IoT for the project (its agent role is IAM's, not needed here)."""
    alias = iot.create_role_alias(roleAlias=STACK, roleArn=f"arn:aws:iam::123456789012:role/{STACK}-AgentRole")
    statement = {"Effect": "Allow", "Action": "iot:AssumeRoleWithCertificate", "Resource": alias["roleAliasArn"]}
    iot.create_policy(policyName=STACK, policyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws(config={"iot": {"use_valid_cert": True}}):
        iot = boto3.client("iot", region_name=REGION)
        create_project(iot)
        found = Aws(iot, boto3.client("iot", region_name=REGION))
        found.command_iot.meta.events.register("before-call.iot", lambda model, **_: found.calls.append(model.name))
        yield found


def explicit(out: Path, thing: str = THING, *more: str, **changed: str | None) -> list[str]:
    """The command's arguments that name the project one by one (`changed`: other values, None to leave one out)."""
    given = {"project": PROJECT, "api_url": API_URL, "role_alias": STACK, "policy": STACK} | changed
    project = [
        item for name, value in given.items() if value is not None for item in (f"--{name.replace('_', '-')}", value)
    ]
    return ["node", *project, "--thing", thing, "--out", str(out), *more]


def run(aws: Aws, argv: list[str]) -> int:
    aws.calls.clear()
    return main(argv, iot=aws.command_iot)


def certificates_of(aws: Aws, thing: str = THING) -> list[str]:
    principals: list[str] = aws.iot.list_thing_principals(thingName=thing)["principals"]
    return principals


def policies_of(aws: Aws, certificate_arn: str) -> list[str]:
    return [policy["policyName"] for policy in aws.iot.list_attached_policies(target=certificate_arn)["policies"]]


def files(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file of a folder: its bytes, modification time and mode."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode & 0o777) for p in folder.iterdir()}


def csr_file(folder: Path, common_name: str) -> Path:
    """A device's CSR: its key (EC P-256) is made here and thrown away, as it would stay on the device."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    path = folder / "device.csr"
    path.write_bytes(request.public_bytes(serialization.Encoding.PEM))
    return path


def test_the_node_is_a_thing_of_the_project_whose_active_certificate_carries_the_projects_policy(aws, tmp_path):
    assert run(aws, explicit(tmp_path / "dev")) == 0

    assert aws.iot.describe_thing(thingName=THING)["attributes"] == {"project_id": PROJECT}
    (certificate_arn,) = certificates_of(aws)
    certificate_id = certificate_arn.rsplit("/", 1)[1]
    assert aws.iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]["status"] == "ACTIVE"
    assert policies_of(aws, certificate_arn) == [STACK]


def test_device_json_the_certificate_and_its_key_are_written_with_their_modes(aws, tmp_path):
    out = tmp_path / "dev"
    assert run(aws, explicit(out)) == 0

    device = json.loads((out / "device.json").read_text())
    (certificate_arn,) = certificates_of(aws)
    endpoint = device.pop("credential_provider_endpoint")
    assert ENDPOINT.fullmatch(endpoint), endpoint
    assert device == {
        "project_id": PROJECT,
        "thing_name": THING,
        "api_url": API_URL,
        "region": REGION,
        "role_alias": STACK,
        "certificate": "certificate.pem",
        "private_key": "private.key",
        "certificate_id": certificate_arn.rsplit("/", 1)[1],
    }
    described = aws.iot.describe_certificate(certificateId=device["certificate_id"])["certificateDescription"]
    assert (out / "certificate.pem").read_text() == described["certificatePem"]
    certificate = x509.load_pem_x509_certificate((out / "certificate.pem").read_bytes())
    key = serialization.load_pem_private_key((out / "private.key").read_bytes(), password=None)
    assert key.public_key() == certificate.public_key()
    assert {name: mode for name, (_, _, mode) in files(out).items()} == {
        "device.json": 0o644,
        "certificate.pem": 0o644,
        "private.key": 0o600,
    }


def test_it_prints_each_thing_it_did_and_the_next_step(aws, tmp_path, capsys):
    out = tmp_path / "dev"
    assert run(aws, explicit(out)) == 0

    certificate_id = json.loads((out / "device.json").read_text())["certificate_id"]
    assert capsys.readouterr().out.splitlines() == [
        f"created thing {THING} (project_id={PROJECT})",
        f"created certificate {certificate_id} and its key pair",
        f"wrote {out / 'private.key'} (mode 0600)",
        f"wrote {out / 'certificate.pem'}",
        f"wrote {out / 'device.json'}",
        f"attached policy {STACK} to certificate {certificate_id}",
        f"attached certificate {certificate_id} to thing {THING}",
        f"next: python -m edgeclient send --device {out} --file docs/examples/report.json",
    ]


@pytest.mark.parametrize("with_csr", [False, True], ids=["key pair", "csr"])
def test_a_second_run_with_the_same_arguments_changes_nothing(aws, tmp_path, capsys, with_csr):
    out = tmp_path / "dev"
    argv = explicit(out, THING, *(["--csr", str(csr_file(tmp_path, THING))] if with_csr else []))
    assert run(aws, argv) == 0
    before = files(out)
    capsys.readouterr()

    assert run(aws, argv) == 0

    assert files(out) == before
    assert all(call.startswith(("Describe", "Get", "List")) for call in aws.calls), aws.calls
    (certificate_arn,) = certificates_of(aws)
    assert policies_of(aws, certificate_arn) == [STACK]
    assert len(aws.iot.list_certificates()["certificates"]) == 1
    nothing = f"nothing to do: thing {THING} is registered, and {out} is up to date"
    assert capsys.readouterr().out.splitlines()[0] == nothing


def test_with_a_csr_the_certificate_is_made_from_it_and_no_key_is_written(aws, tmp_path):
    out = tmp_path / "dev"
    assert run(aws, explicit(out, THING, "--csr", str(csr_file(tmp_path, "press-07 of line 3")))) == 0

    assert "CreateCertificateFromCsr" in aws.calls
    assert "CreateKeysAndCertificate" not in aws.calls
    assert sorted(p.name for p in out.iterdir()) == ["certificate.pem", "device.json"]
    assert json.loads((out / "device.json").read_text())["private_key"] is None
    # AWS also binds the CSR's public key, which moto does not: the subject is what moto keeps of the CSR.
    certificate = x509.load_pem_x509_certificate((out / "certificate.pem").read_bytes())
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "press-07 of line 3"
    (certificate_arn,) = certificates_of(aws)
    assert policies_of(aws, certificate_arn) == [STACK]


@pytest.mark.parametrize("attributes", [{"project_id": "another1"}, {}], ids=["another project", "no project"])
def test_a_thing_that_is_not_the_projects_is_refused_and_nothing_changes(aws, tmp_path, capsys, attributes):
    aws.iot.create_thing(thingName=THING, attributePayload={"attributes": attributes})
    out = tmp_path / "dev"

    assert run(aws, explicit(out)) == 1

    assert f"thing {THING} exists" in capsys.readouterr().err
    assert aws.iot.describe_thing(thingName=THING).get("attributes", {}) == attributes
    assert certificates_of(aws) == []
    assert aws.iot.list_certificates()["certificates"] == []
    assert not out.exists()


@pytest.mark.parametrize(
    "argv",
    [
        *(explicit(Path("dev"), name) for name in ["", "press 07", "line/3", "ü", "x" * 129]),
        explicit(Path("dev"), project="not-a-project"),
        explicit(Path("dev"), api_url="ftp://host/"),
        explicit(Path("dev"), policy=None),
        [*explicit(Path("dev")), "--stack", STACK],
        [*explicit(Path("dev")), "--csr", "no-such.csr"],
    ],
    ids=[
        "empty name",
        "space",
        "slash",
        "non-ascii",
        "129 characters",
        "bad project id",
        "not http",
        "no policy",
        "stack and project",
        "no csr file",
    ],
)
def test_bad_input_is_refused_before_any_call(aws, tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    code: int | str | None
    try:
        code = run(aws, argv)
    except SystemExit as usage:
        code = usage.code
    assert code == 2
    assert aws.calls == []
    assert capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_csr_file_that_is_not_a_csr_is_refused_before_any_call(aws, tmp_path):
    (tmp_path / "device.csr").write_text("-----BEGIN CERTIFICATE-----\n...\n")

    assert run(aws, explicit(tmp_path / "dev", THING, "--csr", str(tmp_path / "device.csr"))) == 2
    assert aws.calls == []


def test_a_thing_with_a_certificate_whose_files_out_lacks_is_refused(aws, tmp_path, capsys):
    assert run(aws, explicit(tmp_path / "first")) == 0
    capsys.readouterr()

    assert run(aws, explicit(tmp_path / "second")) == 1

    assert "--new-certificate" in capsys.readouterr().err
    assert len(certificates_of(aws)) == 1
    assert len(aws.iot.list_certificates()["certificates"]) == 1
    assert not (tmp_path / "second").exists()


def test_new_certificate_adds_one_certificate_into_a_new_folder_once(aws, tmp_path):
    assert run(aws, explicit(tmp_path / "first")) == 0
    rotate = explicit(tmp_path / "second", THING, "--new-certificate")

    assert run(aws, rotate) == 0
    assert run(aws, rotate) == 0

    first, second = (json.loads((tmp_path / name / "device.json").read_text()) for name in ("first", "second"))
    assert first["certificate_id"] != second["certificate_id"]
    arns = certificates_of(aws)
    assert sorted(arn.rsplit("/", 1)[1] for arn in arns) == sorted([first["certificate_id"], second["certificate_id"]])
    assert all(policies_of(aws, arn) == [STACK] for arn in arns)


def test_what_is_missing_is_attached_again_to_the_same_certificate(aws, tmp_path, capsys):
    out = tmp_path / "dev"
    assert run(aws, explicit(out)) == 0
    before = files(out)
    certificate_id = json.loads((out / "device.json").read_text())["certificate_id"]
    (certificate_arn,) = certificates_of(aws)
    aws.iot.detach_policy(policyName=STACK, target=certificate_arn)
    aws.iot.detach_thing_principal(thingName=THING, principal=certificate_arn)
    capsys.readouterr()

    assert run(aws, explicit(out)) == 0

    assert capsys.readouterr().out.splitlines()[:2] == [
        f"attached policy {STACK} to certificate {certificate_id}",
        f"attached certificate {certificate_id} to thing {THING}",
    ]
    assert certificates_of(aws) == [certificate_arn]
    assert policies_of(aws, certificate_arn) == [STACK]
    assert files(out) == before


@pytest.mark.parametrize("breakage", ["deactivated", "key lost"])
def test_an_identity_in_out_that_no_longer_works_is_refused_not_repaired(aws, tmp_path, capsys, breakage):
    out = tmp_path / "dev"
    assert run(aws, explicit(out)) == 0
    certificate_id = json.loads((out / "device.json").read_text())["certificate_id"]
    if breakage == "deactivated":
        aws.iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
    else:
        (out / "private.key").unlink()
    capsys.readouterr()

    assert run(aws, explicit(out)) == 1

    assert "--new-certificate and a new --out folder" in capsys.readouterr().err
    status = aws.iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]["status"]
    assert status == ("INACTIVE" if breakage == "deactivated" else "ACTIVE")
    assert len(aws.iot.list_certificates()["certificates"]) == 1


def test_out_holding_another_things_device_json_is_refused_before_any_change(aws, tmp_path, capsys):
    out = tmp_path / "dev"
    assert run(aws, explicit(out)) == 0
    before = files(out)
    capsys.readouterr()

    assert run(aws, explicit(out, "line-3:press_08")) == 1

    assert f"is thing {THING}'s" in capsys.readouterr().err
    assert aws.iot.list_things()["things"][0]["thingName"] == THING
    assert len(aws.iot.list_things()["things"]) == 1
    assert files(out) == before


def test_out_holding_a_key_but_no_device_json_is_refused(aws, tmp_path):
    out = tmp_path / "dev"
    out.mkdir()
    (out / "private.key").write_text("someone's key")

    assert run(aws, explicit(out)) == 1

    assert aws.iot.list_things()["things"] == []
    assert (out / "private.key").read_text() == "someone's key"


@pytest.mark.parametrize("missing", ["role_alias", "policy"])
def test_a_project_whose_alias_or_policy_does_not_exist_is_refused_before_any_change(aws, tmp_path, capsys, missing):
    assert run(aws, explicit(tmp_path / "dev", **{missing: "edge-project-typo"})) == 1

    assert "edge-project-typo does not exist in us-east-1" in capsys.readouterr().err
    assert aws.iot.list_things()["things"] == []
    assert aws.iot.list_certificates()["certificates"] == []


def stack_answer(outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": STACK,
                "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
            }
        ]
    }


# project.yaml's outputs. moto's CloudFormation cannot be used here (it imports every service's
# models, some of which need packages the venv does not have), so DescribeStacks is stubbed.
STACK_OUTPUTS = {
    "ProjectId": PROJECT,
    "ApiUrl": API_URL,
    "AgentRoleArn": f"arn:aws:iam::123456789012:role/{STACK}-AgentRole",
    "RoleAliasName": STACK,
    "RoleAliasArn": f"arn:aws:iot:us-east-1:123456789012:rolealias/{STACK}",
    "DevicePolicyName": STACK,
    "CredentialProviderEndpointCommand": "aws iot describe-endpoint --endpoint-type iot:CredentialProvider",
}


def test_the_stacks_outputs_name_the_project(aws, tmp_path):
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    out = tmp_path / "dev"
    with Stubber(cloudformation) as stack:
        stack.add_response("describe_stacks", stack_answer(STACK_OUTPUTS), {"StackName": STACK})

        argv = ["node", "--stack", STACK, "--thing", THING, "--out", str(out)]
        assert main(argv, iot=aws.command_iot, cloudformation=cloudformation) == 0

        stack.assert_no_pending_responses()
    device = json.loads((out / "device.json").read_text())
    assert (device["project_id"], device["api_url"], device["role_alias"]) == (PROJECT, API_URL, STACK)
    assert aws.iot.describe_thing(thingName=THING)["attributes"] == {"project_id": PROJECT}
    (certificate_arn,) = certificates_of(aws)
    assert policies_of(aws, certificate_arn) == [STACK]


def test_a_stack_without_the_project_outputs_is_refused_before_any_iot_call(aws, tmp_path, capsys):
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    outputs = {key: value for key, value in STACK_OUTPUTS.items() if key != "DevicePolicyName"}
    with Stubber(cloudformation) as stack:
        stack.add_response("describe_stacks", stack_answer(outputs), {"StackName": STACK})

        argv = ["node", "--stack", STACK, "--thing", THING, "--out", str(tmp_path / "dev")]
        assert main(argv, iot=aws.command_iot, cloudformation=cloudformation) == 1

    assert "has no output DevicePolicyName" in capsys.readouterr().err
    assert aws.calls == []


def test_aws_endpoint_url_points_it_at_a_moto_server(tmp_path, monkeypatch):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        iot = boto3.client("iot", region_name=REGION, endpoint_url=endpoint)
        create_project(iot)
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)

        assert main(explicit(tmp_path / "dev")) == 0

        assert iot.describe_thing(thingName=THING)["attributes"] == {"project_id": PROJECT}
        assert len(iot.list_thing_principals(thingName=THING)["principals"]) == 1
    finally:
        server.stop()

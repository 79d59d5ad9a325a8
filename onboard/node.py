"""A node is one command: register a device of project P with AWS IoT, and write what its agent needs.

The project's stack (project.yaml) made P's agent role (tag project_id=P), an IoT role alias of it
and an IoT policy that allows `iot:AssumeRoleWithCertificate` on that alias only. A device of P is
a thing, with an X.509 certificate that carries that policy: the IoT credential provider then
exchanges the certificate for the role's short-lived credentials, and the role's tag is the
`aws:PrincipalTag/project_id` every route requires. `register` does what these AWS CLI calls do:

    aws cloudformation describe-stacks --stack-name STACK --query 'Stacks[0].Outputs'
        # --stack: ProjectId, ApiUrl, RoleAliasName, DevicePolicyName
    aws iot describe-role-alias --role-alias ALIAS
    aws iot get-policy --policy-name POLICY
    aws iot describe-thing --thing-name THING        # absent, or its attribute project_id is P
    aws iot create-thing --thing-name THING --attribute-payload '{"attributes": {"project_id": "P"}}'
    aws iot create-keys-and-certificate --set-as-active \\
        --certificate-pem-outfile OUT/certificate.pem --private-key-outfile OUT/private.key
    # or, with --csr (the private key never leaves the device):
    aws iot create-certificate-from-csr --set-as-active \\
        --certificate-signing-request file://DEVICE.csr --certificate-pem-outfile OUT/certificate.pem
    aws iot attach-policy --policy-name POLICY --target CERTIFICATE_ARN
    aws iot attach-thing-principal --thing-name THING --principal CERTIFICATE_ARN
    aws iot describe-endpoint --endpoint-type iot:CredentialProvider

and writes OUT/device.json, the reference client's `--device` configuration (paths relative to
OUT; `private_key` is null with --csr):

    {"project_id": "P", "thing_name": "THING", "api_url": "https://abc123.execute-api.us-east-1.amazonaws.com/",
     "region": "us-east-1", "credential_provider_endpoint": "xxxx.credentials.iot.us-east-1.amazonaws.com",
     "role_alias": "ALIAS", "certificate": "certificate.pem", "private_key": "private.key",
     "certificate_id": "..."}

No CA file is written: the credential provider's server certificate chains to Amazon Root CA 1,
which the system trust store holds.

Running it again with the same arguments changes nothing. The cases:
- The thing exists with attribute project_id=P: used as it is. With another project_id, or none:
  refused, nothing changed. (describe_thing decides, not create_thing: AWS's create_thing is
  idempotent for the same attributes and fails for others, moto's replaces the thing.)
- OUT holds this thing's device.json: its certificate is reused when it is ACTIVE (an inactive or
  revoked one is never made active again: refused) and, unless made from a CSR, OUT/private.key
  is there; whatever is missing is attached again (the policy, the thing), and certificate.pem
  and device.json are rewritten only when their content would change. The credential provider
  endpoint is the one device.json holds: it is fixed per account and region.
- OUT holds another thing's, project's or region's device.json: refused.
- OUT holds no device.json and the thing already has certificates: refused, since a second
  identity is never minted silently. --new-certificate creates and attaches an additional
  certificate (rotation): give it a new OUT, and once the device uses it, deactivate the old one.
  OUT's files are never overwritten by a new identity: OUT/certificate.pem or OUT/private.key
  without a device.json is refused too.
A new identity is written to OUT (the key, the certificate, then device.json) before it is
attached, so that a run that fails after creating a certificate is completed by the next run.

The project's role alias and policy must exist in the region, or nothing is done.

At scale, a fleet is not registered one command per device but by AWS IoT itself
(https://docs.aws.amazon.com/iot/latest/developerguide/iot-provision.html); none of it is built here:
- JITP and JITR: each device carries a unique certificate from the manufacturer's CA, registered
  with AWS IoT; on the device's first connection a provisioning template (JITP), or a rule and a
  function of your own (JITR), registers the certificate, creates the thing, attaches the policy.
- Fleet provisioning by claim: the devices share a claim certificate that may only call
  CreateKeysAndCertificate or CreateCertificateFromCsr, then RegisterThing with a template (here:
  set project_id, attach the project's policy). By trusted user: an installer's app gets a
  5-minute claim certificate (CreateProvisioningClaim) for the device.
- Bulk registration: StartThingRegistrationTask, with a template and a file of devices in S3.
docs/onboarding-node.md has the links.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobstatus.lifecycle import PROJECT_ID, PROJECT_ID_RULE

# https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html (thingName)
THING_NAME = re.compile(r"[a-zA-Z0-9:_-]{1,128}")
THING_NAME_RULE = "thing name: 1 to 128 letters, digits, ':', '_' or '-' (AWS IoT's rule)"
API_URL = re.compile(r"https?://\S+/")
API_URL_RULE = "api_url: an http(s) URL that ends with '/', as the report stack's output ApiUrl"
# project.yaml's outputs, and the Project field each one fills
STACK_OUTPUTS = {
    "ProjectId": "project_id",
    "ApiUrl": "api_url",
    "RoleAliasName": "role_alias",
    "DevicePolicyName": "policy",
}

DEVICE, CERTIFICATE, PRIVATE_KEY = "device.json", "certificate.pem", "private.key"
# What a later run reads back from a device.json it wrote.
DEVICE_READ = ("thing_name", "project_id", "region", "credential_provider_endpoint", "private_key", "certificate_id")
ROTATE = "run again with --new-certificate and a new --out folder to give the thing another certificate"

Say = Callable[[str], None]


class Refused(Exception):
    """Registering would conflict with what exists; the message says what, and what to do instead."""


@dataclass(frozen=True)
class Project:
    """What a device of the project needs to know of it: the outputs of its project.yaml stack."""

    project_id: str
    api_url: str
    role_alias: str
    policy: str

    def __post_init__(self) -> None:
        if not PROJECT_ID.fullmatch(self.project_id):
            raise ValueError(PROJECT_ID_RULE)
        if not API_URL.fullmatch(self.api_url):
            raise ValueError(API_URL_RULE)


def project_from_stack(cloudformation: Any, stack: str) -> Project:
    """The project that the outputs of its project.yaml stack name."""
    (found,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in found.get("Outputs", [])}
    if missing := sorted(STACK_OUTPUTS.keys() - outputs.keys()):
        raise Refused(f"stack {stack} has no output {', '.join(missing)}: is it a project.yaml stack?")
    try:
        return Project(**{field: outputs[output] for output, field in STACK_OUTPUTS.items()})
    except ValueError as bad:
        raise Refused(f"stack {stack}'s outputs: {bad}") from None


def register(
    iot: Any,
    project: Project,
    thing: str,
    out: Path,
    *,
    csr: str | None = None,
    new_certificate: bool = False,
    say: Say = print,
) -> None:
    """Register `thing` as a device of `project` and write its files to `out`, saying each thing done."""
    region = iot.meta.region_name
    device = _device_in(out, thing, project.project_id, region)
    if device is None and (leftovers := [name for name in (CERTIFICATE, PRIVATE_KEY) if (out / name).exists()]):
        raise Refused(f"{out} holds {' and '.join(leftovers)} but no {DEVICE}: move them away or choose another --out")
    _project_exists(iot, project, region)
    _thing_of(iot, thing, project.project_id, say)
    principals = _pages(iot, "list_thing_principals", "principals", thingName=thing)
    if device is not None:
        certificate = _usable_certificate(iot, device, out, region)
        endpoint = device["credential_provider_endpoint"]
        key = PRIVATE_KEY if device["private_key"] else None
    elif principals and not new_certificate:
        ids = ", ".join(principal.rsplit("/", 1)[-1] for principal in principals)
        raise Refused(
            f"thing {thing} already has a certificate ({ids}) but {out} holds no {DEVICE} for it, and a second "
            f"identity is not made silently: give the --out folder that holds its {DEVICE}, or {ROTATE}"
        )
    else:
        certificate = _new_certificate(iot, out, csr, say)
        endpoint = iot.describe_endpoint(endpointType="iot:CredentialProvider")["endpointAddress"]
        key = None if csr is not None else PRIVATE_KEY
    _write(out / CERTIFICATE, certificate["certificatePem"], say)
    config = {
        "project_id": project.project_id,
        "thing_name": thing,
        "api_url": project.api_url,
        "region": region,
        "credential_provider_endpoint": endpoint,
        "role_alias": project.role_alias,
        "certificate": CERTIFICATE,
        "private_key": key,
        "certificate_id": certificate["certificateId"],
    }
    _write(out / DEVICE, json.dumps(config, indent=2) + "\n", say)

    arn, certificate_id = certificate["certificateArn"], certificate["certificateId"]
    policies = _pages(iot, "list_attached_policies", "policies", target=arn)
    if project.policy not in {policy["policyName"] for policy in policies}:
        iot.attach_policy(policyName=project.policy, target=arn)
        say(f"attached policy {project.policy} to certificate {certificate_id}")
    if arn not in principals:
        iot.attach_thing_principal(thingName=thing, principal=arn)
        say(f"attached certificate {certificate_id} to thing {thing}")


def _device_in(out: Path, thing: str, project_id: str, region: str) -> dict[str, Any] | None:
    """The device.json in `out`, when it is this thing's; None when there is none."""
    path = out / DEVICE
    if not path.exists():
        return None
    try:
        device: dict[str, Any] = json.loads(path.read_text())
        missing = set(DEVICE_READ) - device.keys()
    except (ValueError, AttributeError) as bad:
        raise Refused(f"{path} is not a device.json ({bad}): move it away or choose another --out") from None
    if missing:
        raise Refused(f"{path} has no {', '.join(sorted(missing))}: move it away or choose another --out")
    if (device["thing_name"], device["project_id"], device["region"]) != (thing, project_id, region):
        raise Refused(
            f"{path} is thing {device['thing_name']}'s of project {device['project_id']} in {device['region']}, "
            f"not thing {thing}'s of project {project_id} in {region}: choose another --out"
        )
    return device


def _project_exists(iot: Any, project: Project, region: str) -> None:
    """The project's role alias and policy exist, or nothing is done (a name mistyped, another region)."""

    def missing(what: str) -> Refused:
        return Refused(
            f"project {project.project_id}'s {what} does not exist in {region}: "
            "is the project's stack (project.yaml) deployed there?"
        )

    try:
        iot.describe_role_alias(roleAlias=project.role_alias)
    except iot.exceptions.ResourceNotFoundException:
        raise missing(f"role alias {project.role_alias}") from None
    try:
        iot.get_policy(policyName=project.policy)
    except iot.exceptions.ResourceNotFoundException:
        raise missing(f"IoT policy {project.policy}") from None


def _thing_of(iot: Any, thing: str, project_id: str, say: Say) -> None:
    """The thing exists, of this project: created when absent, refused when another project's."""
    try:
        owner = iot.describe_thing(thingName=thing).get("attributes", {}).get("project_id")
    except iot.exceptions.ResourceNotFoundException:
        iot.create_thing(thingName=thing, attributePayload={"attributes": {"project_id": project_id}})
        say(f"created thing {thing} (project_id={project_id})")
        return
    if owner != project_id:
        whose = f"of project {owner}" if owner else "without a project_id attribute"
        raise Refused(f"thing {thing} exists {whose}, not of project {project_id}; nothing was changed")


def _usable_certificate(iot: Any, device: dict[str, Any], out: Path, region: str) -> dict[str, Any]:
    """The certificate `device` names, when it still works: ACTIVE, its private key (if any) in `out`."""
    certificate_id = device["certificate_id"]
    try:
        found: dict[str, Any] = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]
    except iot.exceptions.ResourceNotFoundException:
        raise Refused(f"certificate {certificate_id} of {out / DEVICE} does not exist in {region}; {ROTATE}") from None
    if found["status"] != "ACTIVE":
        raise Refused(
            f"certificate {certificate_id} of {out / DEVICE} is {found['status']}, and is not made active "
            f"again here (it may have been deactivated on purpose); {ROTATE}"
        )
    if device["private_key"] and not (out / PRIVATE_KEY).exists():
        raise Refused(f"{out / PRIVATE_KEY} is missing, and AWS IoT hands a private key out only once; {ROTATE}")
    return found


def _new_certificate(iot: Any, out: Path, csr: str | None, say: Say) -> dict[str, Any]:
    """An ACTIVE certificate, from the device's CSR or with a key pair; its private key goes to `out`."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    if csr is not None:
        created: dict[str, Any] = iot.create_certificate_from_csr(certificateSigningRequest=csr, setAsActive=True)
        say(f"created certificate {created['certificateId']} from the device's CSR (its key stays on the device)")
        return created
    created = iot.create_keys_and_certificate(setAsActive=True)
    say(f"created certificate {created['certificateId']} and its key pair")
    # Created with its mode: the key is never readable by others, not even for a moment.
    with os.fdopen(os.open(out / PRIVATE_KEY, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as key:
        key.write(created["keyPair"]["PrivateKey"])
    say(f"wrote {out / PRIVATE_KEY} (mode 0600)")
    return created


def _write(path: Path, text: str, say: Say) -> None:
    """Write a file that is not secret, whole (a crash leaves the old one or the new one), when it changes."""
    if path.exists() and path.read_text() == text:
        return
    part = path.with_name(path.name + ".part")
    part.write_text(text)
    part.chmod(0o644)
    part.replace(path)
    say(f"wrote {path}")


def _pages(iot: Any, operation: str, key: str, **parameters: str) -> list[Any]:
    return [item for page in iot.get_paginator(operation).paginate(**parameters) for item in page[key]]

"""A device's AWS credentials from its X.509 certificate, through the AWS IoT credential provider.

The exchange is one mutual-TLS GET (https://docs.aws.amazon.com/iot/latest/developerguide/authorizing-direct-aws.html):
the device presents its certificate and key, names its role alias in the path and its thing in a header,
and receives temporary credentials of the alias's role (an hour by default). botocore's
DeferredRefreshableCredentials keeps them fresh: the first signed request fetches them; a request
made with under 15 minutes left fetches again and keeps the old ones if that fails (advisory), and
one made with under 10 minutes left must get new ones or fails (mandatory). docs/client.md says why
this is written here rather than taken from awsiot-credentialhelper.

`Device` reads the device.json that node registration writes in the device's folder.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from edgeclient import Client, CredentialsUnreachable, NoCredentials, region_from_url

METHOD = "iot-credential-provider"  # how botocore names where credentials came from
# What to check for each refusal. The provider's error answers are not documented as a table; these
# were measured against AWS (awslabs/aws-iot-core-credential-provider-session-helper, docs/dev_notes.md).
REFUSALS = (
    (403, "invalid thing name", "that thing {thing} is attached to this certificate (aws iot list-thing-principals)"),
    (
        403,
        "",
        "that the certificate is ACTIVE and its IoT policy allows iot:AssumeRoleWithCertificate on role alias {alias}",
    ),
    (
        404,
        "",
        "that role alias {alias} exists in this account and region (aws iot describe-role-alias), and that "
        "the endpoint is the credential provider's (aws iot describe-endpoint --endpoint-type iot:CredentialProvider)",
    ),
    (
        400,
        "",
        "role alias {alias}'s role: it must exist, trust credentials.iot.amazonaws.com, and allow "
        "the alias's credential duration",
    ),
)


class IotCredentials:
    """Credentials for a device certificate from the AWS IoT credential provider, refreshed before they expire.

    endpoint: the host that `aws iot describe-endpoint --endpoint-type iot:CredentialProvider`
    returns (host[:port]). ca: a CA file to trust instead of the system trust store (which holds
    Amazon Root CA 1-4). time_fetcher: botocore's clock (tz-aware now), for tests.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        role_alias: str,
        thing_name: str,
        certificate: str | Path,
        private_key: str | Path,
        ca: str | Path | None = None,
        timeout_s: float = 10.0,
        time_fetcher: Callable[[], datetime] | None = None,
    ) -> None:
        from botocore.credentials import DeferredRefreshableCredentials  # noqa: PLC0415 - only signing needs botocore

        self.endpoint, self.role_alias, self.thing_name = endpoint, role_alias, thing_name
        self.certificate, self.private_key, self.ca = certificate, private_key, ca
        self.timeout_s = timeout_s
        clock = {} if time_fetcher is None else {"time_fetcher": time_fetcher}
        self._credentials = DeferredRefreshableCredentials(refresh_using=self.fetch, method=METHOD, **clock)

    def get_frozen_credentials(self) -> Any:
        """The credentials to sign one request with: fetched at first use, and again as they near expiry."""
        try:
            return self._credentials.get_frozen_credentials()
        except RuntimeError as expired:  # botocore: "Credentials were refreshed, but ... are still expired."
            raise NoCredentials(
                f"the AWS IoT credential provider {self.endpoint} issued credentials that have already expired "
                "by this device's clock: check the clock (NTP)"
            ) from expired

    def fetch(self) -> dict[str, str]:
        """One exchange, in the form botocore's refresh takes. Raises NoCredentials or CredentialsUnreachable."""
        connection = http.client.HTTPSConnection(self.endpoint, context=self._tls(), timeout=self.timeout_s)
        path = f"/role-aliases/{quote(self.role_alias, safe='')}/credentials"
        try:
            connection.request("GET", path, headers={"x-amzn-iot-thingname": self.thing_name})
            response = connection.getresponse()
            status, raw = response.status, response.read()
        except ssl.SSLCertVerificationError as error:
            raise NoCredentials(
                f"TLS with the AWS IoT credential provider {self.endpoint} failed: {error.verify_message}: check the "
                "endpoint (aws iot describe-endpoint --endpoint-type iot:CredentialProvider) and the CA file "
                "(default: the system trust store)"
            ) from None
        except ssl.SSLError as error:
            raise NoCredentials(
                f"TLS with the AWS IoT credential provider {self.endpoint} failed: {error.reason or error}: check "
                "that the device certificate is registered and ACTIVE in AWS IoT in this account and region"
            ) from None
        except OSError as error:
            check = "the network"
            if isinstance(error, ConnectionResetError):  # how a refused certificate can end a TLS 1.3 handshake
                check += ", and that the device certificate is registered and ACTIVE in AWS IoT"
            raise CredentialsUnreachable(
                f"the AWS IoT credential provider {self.endpoint} did not answer ({error}): check {check}"
            ) from error
        finally:
            connection.close()
        if status == 429 or status >= 500:
            raise CredentialsUnreachable(f"the AWS IoT credential provider {self.endpoint} answered HTTP {status}")
        if status != 200:
            raise NoCredentials(self._refusal(status, raw))
        try:
            issued = json.loads(raw)["credentials"]
            # expiration is ISO 8601 with a Z: tz-aware, as botocore's refresh requires.
            return {
                "access_key": issued["accessKeyId"],
                "secret_key": issued["secretAccessKey"],
                "token": issued["sessionToken"],
                "expiry_time": issued["expiration"],
            }
        except (ValueError, KeyError, TypeError):
            raise NoCredentials(
                f"the AWS IoT credential provider {self.endpoint} answered 200 without credentials: {raw[:200]!r}"
            ) from None

    def _tls(self) -> ssl.SSLContext:
        """Mutual TLS: the CA file or the system trust store, and the device's certificate and key (read at
        every fetch, so a certificate replaced on disk is used at the next refresh)."""
        try:
            context = ssl.create_default_context(cafile=self.ca)
        except (OSError, ssl.SSLError) as error:
            raise NoCredentials(f"cannot read the CA file {self.ca}: {error}") from None
        try:
            context.load_cert_chain(self.certificate, self.private_key)
        except (OSError, ssl.SSLError) as error:
            raise NoCredentials(
                f"cannot use the device certificate {self.certificate} with the key {self.private_key} "
                f"(PEM files of one key pair): {error}"
            ) from None
        return context

    def _refusal(self, status: int, raw: bytes) -> str:
        try:
            message = str(json.loads(raw).get("message") or "")
        except (ValueError, AttributeError):
            message = raw[:200].decode(errors="replace")
        check = next(
            (text for code, words, text in REFUSALS if code == status and words in message.lower()),
            "the endpoint, the role alias {alias} and the thing name {thing}",
        ).format(thing=self.thing_name, alias=self.role_alias)
        return (
            f"the AWS IoT credential provider {self.endpoint} refused thing {self.thing_name} "
            f"(HTTP {status} {message}): check {check}"
        )


DEVICE_FIELDS = (
    "project_id",
    "thing_name",
    "api_url",
    "region",
    "credential_provider_endpoint",
    "role_alias",
    "certificate",
    "private_key",
)


@dataclass(frozen=True)
class Device:
    """A registered device: the device.json that node registration writes in the device's folder.

    The certificate and private_key paths in it are relative to that folder (or absolute).
    """

    path: Path  # the device.json
    project_id: str
    thing_name: str
    api_url: str
    region: str
    credential_provider_endpoint: str
    role_alias: str
    certificate: Path
    private_key: Path

    @classmethod
    def load(cls, path: str | Path) -> Device:
        """From a device folder or its device.json. Raises OSError (unreadable) or ValueError (not a device)."""
        file = Path(path) / "device.json" if Path(path).is_dir() else Path(path)
        try:
            config = json.loads(file.read_text())
        except ValueError as error:
            raise ValueError(f"{file} is not JSON: {error}") from None
        if not isinstance(config, dict):
            raise ValueError(f"{file} is not a device (a JSON object with {', '.join(DEVICE_FIELDS)})")
        missing = [name for name in DEVICE_FIELDS if not isinstance(config.get(name), str) or not config[name]]
        if missing:
            raise ValueError(f"{file} lacks {', '.join(missing)}")
        fields = {name: config[name] for name in DEVICE_FIELDS}
        fields["certificate"], fields["private_key"] = (
            file.parent / fields["certificate"],
            file.parent / fields["private_key"],
        )
        return cls(path=file, **fields)

    def credentials(self, ca: str | Path | None = None) -> IotCredentials:
        """This device's credentials, from its certificate through the AWS IoT credential provider."""
        return IotCredentials(
            endpoint=self.credential_provider_endpoint,
            role_alias=self.role_alias,
            thing_name=self.thing_name,
            certificate=self.certificate,
            private_key=self.private_key,
            ca=ca,
        )

    def client(self, *, ca: str | Path | None = None, **options: Any) -> Client:
        """A Client of this device's API, signed with its credentials (options: Client's).

        It signs for the region in api_url when there is one, else for the device's region.
        """
        options.setdefault("region", region_from_url(self.api_url) or self.region)
        return Client(self.api_url, credentials=self.credentials(ca), **options)

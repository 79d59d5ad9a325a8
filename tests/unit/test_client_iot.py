"""Credentials from a device certificate: the AWS IoT credential provider's exchange against a local
stand-in (mutual TLS with a test CA), requests signed with what it issues, refreshed before they expire
on an injected clock, what each refusal says, and device.json."""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devkit.handlers import Clock as HandClock
from edgeclient import Client, CredentialsUnreachable, DeliveryFailed, NoCredentials, Spool
from edgeclient.__main__ import main
from edgeclient.iot import Device, IotCredentials
from tests.support.http import Api, access_key, reply_json, signature_verifies

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # botocore's clock in these tests; TLS uses the real one
ALIAS, THING = "edge-agents", "dev-1"


# --- a test PKI ------------------------------------------------------------------------------------


def issue(
    subject: str, issuer: tuple[Any, x509.Certificate] | None = None, *, ip: str | None = None
) -> tuple[Any, x509.Certificate]:
    """A key and certificate: a CA when there is no issuer, else an end entity (with an IP address SAN)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[1].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:  # Python 3.13's strict verification wants these on a CA
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[0].public_key())
        builder = builder.add_extension(aki, critical=False)
    if ip:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), False)
    return key, builder.sign(issuer[0] if issuer else key, hashes.SHA256())


def save(folder: Path, name: str, pair: tuple[Any, x509.Certificate]) -> tuple[Path, Path]:
    key, certificate = pair
    (folder / f"{name}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    encoding = (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (folder / f"{name}.key").write_bytes(key.private_bytes(*encoding))
    return folder / f"{name}.pem", folder / f"{name}.key"


@dataclass(frozen=True)
class Pki:
    ca: Path
    server: tuple[Path, Path]
    device: tuple[Path, Path]  # CN=dev-1, issued by the CA
    stranger: tuple[Path, Path]  # CN=dev-1, issued by another CA


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca = issue("Test Root CA")
    save(folder, "ca", ca)
    return Pki(
        folder / "ca.pem",
        save(folder, "server", issue("credentials.iot.test", ca, ip="127.0.0.1")),
        save(folder, "device", issue(THING, ca)),
        save(folder, "stranger", issue(THING, issue("Another CA"))),
    )


# --- the stand-in for the AWS IoT credential provider ------------------------------------------------


class Clock:
    """botocore's time_fetcher: tz-aware, moved by the test."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Provider:
    """The credential provider as documented: mutual TLS, GET /role-aliases/<alias>/credentials with the
    thing in x-amzn-iot-thingname, which must be the certificate's (here: its subject's CN). It issues
    ASIA…1, ASIA…2, … expiring at the next of `expirations`, else an hour after the clock's now;
    `refusal` answers instead while it is set (an answer of the real service that a stand-in cannot cause)."""

    def __init__(self, pki: Pki, clock: Clock) -> None:
        self.calls: list[tuple[str, str | None, str]] = []  # path, thing header, certificate CN
        self.expirations: list[datetime] = []
        self.refusal: tuple[int, dict[str, str]] | None = None
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                peer = self.connection.getpeercert()
                subject = dict(part[0] for part in peer["subject"])["commonName"]
                thing = self.headers.get("x-amzn-iot-thingname")
                provider.calls.append((self.path, thing, subject))
                status, body = provider.answer(self.path, thing, subject)
                reply_json(self, status, json.dumps(body).encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.clock = clock
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*pki.server)
        context.load_verify_locations(pki.ca)
        context.verify_mode = ssl.CERT_REQUIRED
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.endpoint = f"127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, thing: str | None, subject: str) -> tuple[int, dict[str, Any]]:
        if self.refusal:
            return self.refusal
        if path != f"/role-aliases/{ALIAS}/credentials":
            return 404, {"message": "Role alias does not exist"}
        if thing != subject:
            return 403, {"message": "Invalid thing name passed"}
        expiration = self.expirations.pop(0) if self.expirations else self.clock.now + timedelta(hours=1)
        return 200, {"credentials": issued(len(self.calls), expiration)}


def issued(n: int, expiration: datetime | None = None) -> dict[str, str]:
    """The n-th credentials the provider issues, in its documented form."""
    return {
        "accessKeyId": f"ASIAISSUED{n:010d}",
        "secretAccessKey": f"secret-{n}",
        "sessionToken": f"token-{n}",
        "expiration": (expiration or NOW).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def frozen(n: int) -> ReadOnlyCredentials:
    return ReadOnlyCredentials(issued(n)["accessKeyId"], issued(n)["secretAccessKey"], issued(n)["sessionToken"])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def provider(pki: Pki, clock: Clock) -> Iterator[Provider]:
    provider = Provider(pki, clock)
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


def device_credentials(provider: Provider, pki: Pki, **options: Any) -> IotCredentials:
    settings: dict[str, Any] = {
        "endpoint": provider.endpoint,
        "role_alias": ALIAS,
        "thing_name": THING,
        "certificate": pki.device[0],
        "private_key": pki.device[1],
        "ca": pki.ca,
        "time_fetcher": provider.clock,
    }
    return IotCredentials(**(settings | options))


# --- the exchange ----------------------------------------------------------------------------------


def test_a_device_certificate_is_exchanged_for_credentials(provider: Provider, pki: Pki):
    credentials = device_credentials(provider, pki)
    assert provider.calls == []  # nothing is fetched before it is needed
    assert credentials.fetch() == {
        "access_key": "ASIAISSUED0000000001",
        "secret_key": "secret-1",
        "token": "token-1",
        "expiry_time": "2026-12-05T13:00:00Z",
    }
    assert provider.calls == [(f"/role-aliases/{ALIAS}/credentials", THING, THING)]


@pytest.mark.parametrize(
    ("options", "refusal", "says"),
    [
        (
            {"thing_name": "dev-2"},
            None,
            "refused thing dev-2 (HTTP 403 Invalid thing name passed): check that thing dev-2 is attached",
        ),
        (
            {},
            (403, {"message": "Access Denied"}),
            "(HTTP 403 Access Denied): check that the certificate is ACTIVE and its IoT policy allows "
            f"iot:AssumeRoleWithCertificate on role alias {ALIAS}",
        ),
        (
            {"role_alias": "nope"},
            None,
            "(HTTP 404 Role alias does not exist): check that role alias nope exists in this account and region",
        ),
        (
            {},
            (400, {"message": "Unable to assume the role, or the role to assume does not exist"}),
            f"check role alias {ALIAS}'s role: it must exist, trust credentials.iot.amazonaws.com",
        ),
        ({}, (401, {"message": "Unauthorized"}), f"check the endpoint, the role alias {ALIAS} and the thing name"),
    ],
    ids=["thing not attached", "access denied", "no such role alias", "role cannot be assumed", "anything else"],
)
def test_a_refusal_says_what_to_check(provider: Provider, pki: Pki, options, refusal, says):
    provider.refusal = refusal
    with pytest.raises(NoCredentials) as refused:
        device_credentials(provider, pki, **options).fetch()
    assert says in str(refused.value)
    assert str(refused.value).startswith(f"the AWS IoT credential provider {provider.endpoint} refused")


def test_an_endpoint_that_the_trust_store_does_not_vouch_for_is_a_tls_failure_naming_the_ca(
    provider: Provider, pki: Pki
):
    with pytest.raises(NoCredentials) as failed:
        device_credentials(provider, pki, ca=None).fetch()  # the system trust store: not the test CA
    assert f"TLS with the AWS IoT credential provider {provider.endpoint} failed" in str(failed.value)
    assert "the CA file (default: the system trust store)" in str(failed.value)
    assert provider.calls == []


def test_a_certificate_the_provider_does_not_accept_names_the_certificate(provider: Provider, pki: Pki):
    stranger = device_credentials(provider, pki, certificate=pki.stranger[0], private_key=pki.stranger[1])
    # TLS 1.3 refuses a client certificate after the client's handshake: a reset or an alert, by timing
    with pytest.raises((NoCredentials, CredentialsUnreachable)) as refused:
        stranger.fetch()
    assert "the device certificate is registered and ACTIVE in AWS IoT" in str(refused.value)
    assert provider.calls == []


def test_a_key_that_cannot_be_read_is_named(provider: Provider, pki: Pki, tmp_path: Path):
    with pytest.raises(NoCredentials) as unusable:
        device_credentials(provider, pki, private_key=tmp_path / "missing.key").fetch()
    assert str(unusable.value).startswith(
        f"cannot use the device certificate {pki.device[0]} with the key {tmp_path / 'missing.key'} (PEM files"
    )


def test_an_offline_provider_is_retried_like_a_connection_error(provider: Provider, pki: Pki, api: Api):
    # Given a provider that cannot be reached
    time = HandClock(0.0)
    told: list[str] = []
    credentials = device_credentials(provider, pki)
    client = Client(api.url, credentials=credentials, on_retry=told.append, sleep=time.advance, clock=time)
    provider.server.shutdown()
    provider.server.server_close()
    # When a report is sent, Then it is retried within the budget and fails as not delivered, not as refused
    with pytest.raises(DeliveryFailed) as failed:
        client.send_report("p1", {"jobs": []})
    assert type(failed.value) is DeliveryFailed
    assert f"the AWS IoT credential provider {provider.endpoint} did not answer" in str(failed.value)
    assert "check the network" in str(failed.value)
    assert not failed.value.endpoint_unreachable  # the API's URL is not in question
    assert len(told) > 1
    assert api.seen == []


def test_a_provider_answering_5xx_is_retried(provider: Provider, pki: Pki, api: Api):
    # Given a provider that answers 503 once
    provider.refusal = (503, {"message": "Service Unavailable"})
    time = HandClock(0.0)

    def recover(seconds: float) -> None:
        time.advance(seconds)
        provider.refusal = None

    told: list[str] = []
    credentials = device_credentials(provider, pki)
    client = Client(api.url, credentials=credentials, on_retry=told.append, sleep=recover, clock=time)
    # When a job is read, Then the request waits for the provider once, and is signed with what it issued next
    client.get_job("p1", 1)
    (retried,) = told
    assert f"the AWS IoT credential provider {provider.endpoint} answered HTTP 503" in retried
    assert len(provider.calls) == 2
    assert access_key(api.seen[0]) == "ASIAISSUED0000000002"  # the stand-in numbers its answers


# --- signing and refreshing ------------------------------------------------------------------------


def test_the_client_signs_with_the_issued_credentials(provider: Provider, pki: Pki, api: Api):
    client = Client(api.url, credentials=device_credentials(provider, pki))
    client.send_report("p1", {"jobs": [], "message_id": "m1"})
    (seen,) = api.seen
    assert seen.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential=ASIAISSUED0000000001/{seen.headers['x-amz-date'][:8]}/us-east-1/execute-api/"
    )
    assert seen.headers["x-amz-security-token"] == "token-1"
    assert signature_verifies(seen, api.url, frozen(1), "us-east-1")


def test_credentials_with_five_minutes_left_are_refreshed_at_the_next_request_and_an_hour_is_kept(
    provider: Provider, pki: Pki, api: Api, clock: Clock
):
    provider.expirations = [NOW + timedelta(minutes=5), NOW + timedelta(hours=1)]
    client = Client(api.url, credentials=device_credentials(provider, pki))
    for _ in range(3):
        client.get_job("p1", 1)
    assert [access_key(seen) for seen in api.seen] == [
        "ASIAISSUED0000000001",  # fetched at the first request, with 5 minutes left
        "ASIAISSUED0000000002",  # under botocore's 10-minute mandatory window: fetched again
        "ASIAISSUED0000000002",  # an hour left: kept
    ]
    assert len(provider.calls) == 2
    assert signature_verifies(api.seen[1], api.url, frozen(2), "us-east-1")


def test_a_refresh_that_fails_in_the_mandatory_window_is_a_clear_error_and_in_the_advisory_window_is_not(
    provider: Provider, pki: Pki, api: Api, clock: Clock
):
    client = Client(api.url, credentials=device_credentials(provider, pki))
    client.get_job("p1", 1)  # credentials until 13:00
    provider.refusal = (403, {"message": "Access Denied"})
    # 12 minutes left: botocore's advisory window; the refresh fails and the old credentials still sign
    clock.now = NOW + timedelta(minutes=48)
    client.get_job("p1", 1)
    # 5 minutes left: the mandatory window; the refusal is the error, and nothing is sent
    clock.now = NOW + timedelta(minutes=55)
    with pytest.raises(NoCredentials, match=r"refused thing dev-1 \(HTTP 403 Access Denied\): check that the"):
        client.get_job("p1", 1)
    assert [access_key(seen) for seen in api.seen] == ["ASIAISSUED0000000001"] * 2
    assert len(provider.calls) == 3


def test_credentials_already_expired_by_the_device_clock_say_so(provider: Provider, pki: Pki, api: Api):
    provider.expirations = [NOW - timedelta(minutes=1)]
    with pytest.raises(NoCredentials, match=r"already expired by this device's clock: check the clock \(NTP\)"):
        Client(api.url, credentials=device_credentials(provider, pki)).get_job("p1", 1)
    assert api.seen == []


def test_a_spool_flush_that_outlasts_its_credentials_signs_the_later_reports_with_new_ones(
    provider: Provider, pki: Pki, api: Api, clock: Clock, tmp_path: Path
):
    spool = Spool(tmp_path)
    for n in (1, 2):
        spool.put("p1", {"jobs": [], "message_id": f"m{n}"})

    def slow_network() -> None:  # each delivery takes 55 minutes
        clock.now += timedelta(minutes=55)

    api.before_reply = slow_network
    delivered = spool.flush(Client(api.url, credentials=device_credentials(provider, pki)))
    assert len(delivered) == 2
    assert [access_key(seen) for seen in api.seen] == ["ASIAISSUED0000000001", "ASIAISSUED0000000002"]


# --- device.json, in the library and on the command line ---------------------------------------------


def write_device(folder: Path, provider: Provider, pki: Pki, **fields: str) -> Path:
    """A device folder as node registration leaves it: device.json, certificate.pem and private.key."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "certificate.pem").write_bytes(pki.device[0].read_bytes())
    (folder / "private.key").write_bytes(pki.device[1].read_bytes())
    device = {
        "project_id": "p-device",
        "thing_name": THING,
        "api_url": "https://abc123.execute-api.eu-west-1.amazonaws.com/",
        "region": "us-west-2",
        "credential_provider_endpoint": provider.endpoint,
        "role_alias": ALIAS,
        "certificate": "certificate.pem",
        "private_key": "private.key",
    }
    (folder / "device.json").write_text(json.dumps(device | fields))
    return folder


def test_device_json_gives_the_api_the_project_and_credentials_with_paths_from_its_folder(
    provider: Provider, pki: Pki, tmp_path: Path
):
    folder = write_device(tmp_path / "device", provider, pki)
    device = Device.load(folder)
    assert Device.load(folder / "device.json") == device
    assert (device.project_id, device.certificate) == ("p-device", folder / "certificate.pem")
    assert device.credentials(ca=pki.ca).fetch()["access_key"] == "ASIAISSUED0000000001"
    # It signs for the URL's region where the URL has one, else for the device's
    assert device.client().region == "eu-west-1"
    custom = write_device(tmp_path / "custom", provider, pki, api_url="https://jobs.example.com/")
    assert Device.load(custom).client().region == "us-west-2"


def test_a_device_json_that_lacks_a_field_is_bad_input_naming_it(tmp_path: Path, capsys):
    (tmp_path / "device.json").write_text(json.dumps({"project_id": "p1", "api_url": "http://127.0.0.1:9"}))
    assert main(["jobs", "show", "1", "--device", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"bad input: {tmp_path / 'device.json'} lacks thing_name, region,")


def test_the_command_reads_a_device_folder_and_signs_with_its_certificate(
    provider: Provider, pki: Pki, api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    # Given a device whose API has no region in its URL (here: the loopback stand-in), named by EDGE_DEVICE
    monkeypatch.delenv("EDGE_API_URL", raising=False)
    monkeypatch.delenv("EDGE_PROJECT_ID", raising=False)
    monkeypatch.setenv("EDGE_DEVICE", str(write_device(tmp_path / "device", provider, pki, api_url=api.url)))
    provider.expirations = [datetime.now(UTC) + timedelta(hours=1)]  # the command keeps botocore's own clock
    # When a read runs with nothing but the CA of the test provider
    assert main(["jobs", "show", "1", "--ca", str(pki.ca), "--json"]) == 0
    # Then the device gave the URL, the project, the region and the credentials
    (seen,) = api.seen
    assert seen.path == "/v1/p-device/edgesrv/jobs/1"
    assert signature_verifies(seen, api.url, frozen(1), "us-west-2")
    assert json.loads(capsys.readouterr().out)["job_id"] == 1


def test_the_command_says_what_to_check_when_the_provider_refuses_and_exits_4(
    provider: Provider, pki: Pki, api: Api, tmp_path: Path, capsys
):
    device = write_device(tmp_path / "device", provider, pki, api_url=api.url)
    argv = ["send", "--device", str(device), "--ca", str(pki.ca), "--thing-name", "dev-2"]  # a flag beats device.json
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"jobs": []}))
    assert main([*argv, "--file", str(report), "--spool", str(tmp_path / "spool")]) == 4
    first, kept = capsys.readouterr().err.splitlines()
    assert first == (
        f"not sent: the AWS IoT credential provider {provider.endpoint} refused thing dev-2 "
        "(HTTP 403 Invalid thing name passed): check that thing dev-2 is attached to this certificate "
        "(aws iot list-thing-principals)"
    )
    assert kept.startswith(f"kept in the spool {tmp_path / 'spool'}")
    assert len(list(Spool(tmp_path / "spool").pending())) == 1
    assert api.seen == []


def test_iot_flags_without_the_rest_are_a_usage_error_naming_what_is_missing(capsys):
    with pytest.raises(SystemExit) as usage:
        main(["jobs", "show", "1", "--endpoint", "http://127.0.0.1:9", "--project", "p1", "--role-alias", ALIAS])
    assert usage.value.code == 2
    err = capsys.readouterr().err
    assert "credentials from a device certificate need --iot-endpoint, --thing-name, --cert, --key too" in err

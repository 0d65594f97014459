"""SMTP security: STARTTLS and implicit TLS with AUTH against a real aiosmtpd; secrets never logged."""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from services.notifier.service import NotifierService
from services.notifier.smtp import SmtpConfigError
from tests.integration.test_notifier import Mailbox, Stack, make_alert, notifier

PASSWORD = "c0rrect-h0rse-battery"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class Logins:
    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == b"earshot"
            and auth_data.password == PASSWORD.encode()
        )
        self.seen.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


@pytest.fixture(params=["starttls", "tls"])
def secure_mailbox(
    request: pytest.FixtureRequest, tmp_path: Path, certificate: tuple[Path, Path]
) -> Iterator[tuple[Mailbox, Logins, str]]:
    logins = Logins()
    options: dict[str, Any] = {"authenticator": logins, "auth_require_tls": True}
    if request.param == "starttls":
        options |= {"tls_context": server_context(certificate), "require_starttls": True}
    else:
        # Implicit TLS wraps the whole connection; aiosmtpd only tracks STARTTLS for auth_require_tls.
        options |= {"ssl_context": server_context(certificate), "auth_require_tls": False}
    box = Mailbox(tmp_path / "mail", **options)
    box.start()
    yield box, logins, request.param
    box.stop()


def our_log_lines(caplog: pytest.LogCaptureFixture) -> str:
    # aiosmtpd's own "mail.log" echoes the AUTH line it received; that is the server, not us.
    return "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")


def assert_no_secret(text: str) -> None:
    for form in (
        PASSWORD,
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.b64encode(b"\0earshot\0" + PASSWORD.encode()).decode(),
    ):
        assert form not in text


@pytest.fixture
def stack(kafka_bootstrap: str, es_url: str, unique_prefix: str, tmp_path: Path) -> Stack:
    return Stack(kafka_bootstrap, es_url, unique_prefix, tmp_path)


async def test_mail_goes_over_tls_with_auth_and_the_password_is_never_logged(
    stack: Stack,
    secure_mailbox: tuple[Mailbox, Logins, str],
    certificate: tuple[Path, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    box, logins, security = secure_mailbox
    stack.produce([make_alert(1)])
    settings = stack.settings(
        box.port,
        smtp_security=security,
        smtp_username="earshot",
        smtp_password=PASSWORD,
        smtp_ca_file=certificate[0],
    )
    with caplog.at_level(logging.DEBUG):
        async with notifier(settings):
            ((entry, _msg),) = await box.wait_for(1)
    assert logins.seen == [("PLAIN", True)]
    assert entry["rcpt_tos"] == ["roads@haringey.example", "duty@haringey.example"]
    assert_no_secret(our_log_lines(caplog))
    assert_no_secret(repr(settings))


async def test_a_wrong_password_stops_the_notifier_without_acknowledging(
    stack: Stack,
    secure_mailbox: tuple[Mailbox, Logins, str],
    certificate: tuple[Path, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    box, logins, security = secure_mailbox
    stack.produce([make_alert(1)])
    settings = stack.settings(
        box.port,
        smtp_security=security,
        smtp_username="earshot",
        smtp_password="wrong-" + PASSWORD,
        smtp_ca_file=certificate[0],
    )
    service = NotifierService(settings)
    with caplog.at_level(logging.DEBUG), pytest.raises(SmtpConfigError, match="535"):
        await asyncio.wait_for(service.run(), 60)
    assert logins.seen and not logins.seen[0][1]
    assert box.folder.entries == []
    assert await asyncio.to_thread(stack.committed) == 0
    assert_no_secret(our_log_lines(caplog))


async def test_an_untrusted_certificate_is_refused(
    stack: Stack, secure_mailbox: tuple[Mailbox, Logins, str]
) -> None:
    box, _, security = secure_mailbox
    stack.produce([make_alert(1)])
    settings = stack.settings(
        box.port, smtp_security=security, smtp_username="earshot", smtp_password=PASSWORD
    )
    with pytest.raises(SmtpConfigError, match="not trusted"):
        await asyncio.wait_for(NotifierService(settings).run(), 60)
    assert box.folder.entries == []

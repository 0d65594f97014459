"""SMTP failures are classified for the retry policy; settings refuse credentials in clear."""

from __future__ import annotations

import smtplib
import ssl

import pytest
from pydantic import ValidationError

from common.retry import Permanent, Retryable
from services.notifier.settings import NotifierSettings
from services.notifier.smtp import SmtpConfigError, classify


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ConnectionRefusedError(111, "Connection refused"), Retryable),
        (TimeoutError("timed out"), Retryable),
        (smtplib.SMTPServerDisconnected("gone"), Retryable),
        (smtplib.SMTPDataError(451, b"try again later"), Retryable),
        (smtplib.SMTPDataError(552, b"message too big"), Permanent),
        (smtplib.SMTPSenderRefused(550, b"not allowed", "earshot@x"), Permanent),
        (smtplib.SMTPRecipientsRefused({"a@x": (450, b"busy"), "b@x": (421, b"later")}), Retryable),
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"no such user")}), Permanent),
        (smtplib.SMTPAuthenticationError(454, b"temporary failure"), Retryable),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), SmtpConfigError),
        (
            smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."),
            SmtpConfigError,
        ),
    ],
)
def test_failures_are_classified(error: Exception, kind: type[Exception]) -> None:
    assert isinstance(classify(error), kind)


def test_an_untrusted_certificate_is_a_settings_problem() -> None:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "self-signed certificate"
    mapped = classify(error)
    assert isinstance(mapped, SmtpConfigError) and "EARSHOT_SMTP_CA_FILE" in str(mapped)


def test_bugs_are_not_disguised() -> None:
    bug = KeyError("x")
    assert classify(bug) is bug


def test_settings_never_send_credentials_in_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EARSHOT_SMTP_SECURITY", "EARSHOT_SMTP_USERNAME", "EARSHOT_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match="need EARSHOT_SMTP_SECURITY"):
        NotifierSettings(smtp_security="none", smtp_username="u", smtp_password="p")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="both"):
        NotifierSettings(smtp_username="u")
    ok = NotifierSettings(smtp_security="tls", smtp_username="u", smtp_password="s3cret")  # type: ignore[arg-type]
    assert "s3cret" not in repr(ok) and "s3cret" not in str(ok.model_dump())


def test_mail_from_must_be_one_clean_address() -> None:
    with pytest.raises(ValidationError):
        NotifierSettings(mail_from="Earshot <e@x.example>\r\nBcc: v@x.example")
    assert NotifierSettings(mail_from="Earshot <e@x.example>").envelope_from == "e@x.example"

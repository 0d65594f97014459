"""SMTP delivery with STARTTLS or implicit TLS and AUTH, and a classification of its failures.

Contract of :meth:`SmtpMailer.send`: returns when the server accepted the
message (the refused recipients, if some but not all were refused), or raises
:class:`common.retry.Retryable` (server down, disconnected, 4xx: try again
later), :class:`common.retry.Permanent` (5xx for this message) or
:class:`SmtpConfigError` (bad credentials, no TLS, untrusted certificate: only a
person can fix it, so the process stops without acknowledging anything).
The password is only ever handed to ``smtplib.login``; no message we raise or
log contains it.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from common.retry import Permanent, Retryable
from services.notifier.render import Email
from services.notifier.settings import NotifierSettings

IDLE_CHECK_S = 30.0


class SmtpConfigError(Exception):
    """SMTP settings are wrong (credentials, TLS); retrying cannot help."""


def classify(exc: Exception) -> Exception:
    """Map an smtplib/socket failure to Retryable, Permanent or SmtpConfigError."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        if exc.smtp_code >= 500:
            return SmtpConfigError(
                f"SMTP login refused ({exc.smtp_code}); check EARSHOT_SMTP_USERNAME/PASSWORD"
            )
        return Retryable(f"SMTP login failed for now ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SmtpConfigError(f"SMTP server does not support what the settings ask for: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SmtpConfigError(
            f"SMTP server certificate not trusted: {exc.verify_message}; set EARSHOT_SMTP_CA_FILE"
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(400 <= c < 500 for c in codes):
            return Retryable(f"all recipients deferred ({sorted(set(codes))})")
        return Permanent(f"all recipients refused ({sorted(set(codes))})")
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        if 400 <= exc.smtp_code < 500:
            return Retryable(f"SMTP {exc.smtp_code}: {text[:200]}")
        return Permanent(f"SMTP {exc.smtp_code}: {text[:200]}")
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return Retryable(f"SMTP server unreachable: {type(exc).__name__}: {exc}")
    return exc


class SmtpMailer:
    """One reusable SMTP connection, opened on demand and dropped on any failure."""

    def __init__(self, settings: NotifierSettings) -> None:
        self._s = settings
        self._conn: smtplib.SMTP | None = None
        self._used_at = 0.0
        self._lock = threading.Lock()  # called from worker threads, one message at a time

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self._s.smtp_ca_file is not None:
            context.load_verify_locations(cafile=str(self._s.smtp_ca_file))
        return context

    def _connect(self) -> smtplib.SMTP:
        s = self._s
        conn: smtplib.SMTP
        if s.smtp_security == "tls":
            conn = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=self._tls()
            )
        else:
            conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
        try:
            conn.ehlo()
            if s.smtp_security == "starttls":
                conn.starttls(context=self._tls())
                conn.ehlo()
            if s.smtp_username is not None and s.smtp_password is not None:
                conn.login(s.smtp_username, s.smtp_password.get_secret_value())
        except BaseException:
            _close(conn)
            raise
        return conn

    def _connection(self) -> smtplib.SMTP:
        conn = self._conn
        if conn is not None and time.monotonic() - self._used_at > IDLE_CHECK_S:
            # Servers drop idle sessions; find out now rather than mid-message.
            try:
                code = conn.noop()[0]
            except (smtplib.SMTPException, OSError):
                code = 0
            if code != 250:
                _close(conn)
                conn = self._conn = None
        if conn is None:
            conn = self._conn = self._connect()
        return conn

    def probe(self) -> None:
        """Open (or check) the connection without sending; raise like :meth:`send` would."""
        with self._lock, self._failures_mapped():
            self._connection()
            self._used_at = time.monotonic()

    def send(self, email: Email) -> Mapping[str, tuple[int, bytes]]:
        """Deliver ``email`` to its recipients; see the module docstring for the contract."""
        with self._lock, self._failures_mapped():
            conn = self._connection()
            refused = conn.send_message(
                email.message, from_addr=self._s.envelope_from, to_addrs=list(email.recipients)
            )
            self._used_at = time.monotonic()
            return refused

    @contextmanager
    def _failures_mapped(self) -> Iterator[None]:
        """Drop the connection on any failure and raise it as Retryable/Permanent (classify)."""
        try:
            yield
        except Exception as exc:
            self.close(graceful=False)
            mapped = classify(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    def close(self, graceful: bool = True) -> None:
        """Drop the connection; ``graceful`` says QUIT first (not after a failure: it may hang)."""
        if self._conn is not None:
            if graceful:
                _close(self._conn)
            else:
                self._conn.close()
            self._conn = None


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()

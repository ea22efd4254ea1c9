"""Email over SMTP with `smtplib`: one reused connection, MIME multipart/alternative messages."""

from __future__ import annotations

import smtplib
import ssl
import threading
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, formatdate, make_msgid

from campaign_engine.channels.base import ChannelName, OutboundMessage, SendResult

DELIVERY_ID_HEADER = "X-CE-Delivery-Id"
# Fold only past RFC 5322's 998-character limit: some receivers mis-read a List-Unsubscribe
# header folded right after its colon.
_POLICY = SMTP_POLICY.clone(max_line_length=998)


def build_mime(message: OutboundMessage, from_email: str, from_name: str = "") -> EmailMessage:
    """Return the MIME message for `message`: text/plain then text/html, UTF-8."""
    mime = EmailMessage(policy=_POLICY)
    mime["From"] = formataddr((from_name, from_email)) if from_name else from_email
    mime["To"] = formataddr((message.to_name, message.to)) if message.to_name else message.to
    mime["Subject"] = message.subject or ""
    mime["Date"] = formatdate(localtime=False, usegmt=True)
    mime["Message-ID"] = make_msgid(domain=from_email.rpartition("@")[2] or None)
    mime[DELIVERY_ID_HEADER] = str(message.delivery_id)
    for name, value in message.headers.items():
        mime[name] = value
    # Quoted-printable keeps the body 7-bit, so servers without 8BITMIME take it too.
    mime.set_content(message.text, charset="utf-8", cte="quoted-printable")
    if message.html is not None:
        mime.add_alternative(message.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return mime


class _ConnectionLost(Exception):
    """The SMTP connection failed and one reconnect did not help."""


class SmtpEmail:
    """Send email over one SMTP connection, reused across batches and reopened when dropped.

    A 4xx reply means retry; a 5xx refusal of the recipient or the data means failed; losing the
    connection (after one reconnect attempt) turns this and the rest of the batch into retry.
    """

    name: ChannelName = "email"

    def __init__(
        self,
        host: str,
        port: int,
        from_email: str,
        from_name: str = "",
        username: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 10.0,
        cost_per_message: float = 0.0,
        max_batch: int = 100,
    ) -> None:
        self.max_batch = max_batch
        self._host, self._port = host, port
        self._from_email, self._from_name = from_email, from_name
        self._username, self._password = username, password
        self._starttls = starttls
        self._timeout = timeout
        self._price = cost_per_message
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.Lock()  # one SMTP conversation at a time

    def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        """Send each message over the shared connection; one result per message, in order."""
        results: list[SendResult] = []
        with self._lock:
            for index, message in enumerate(messages):
                try:
                    results.append(self._send_one(message))
                except _ConnectionLost as lost:
                    reason = f"SMTP connection trouble: {lost}"
                    results.extend(
                        SendResult(m.delivery_id, "retry", reason=reason) for m in messages[index:]
                    )
                    break
        return results

    def cost(self, message: OutboundMessage) -> float:
        """Return the configured price of one email."""
        return self._price

    def close(self) -> None:
        """Say QUIT and drop the connection."""
        with self._lock:
            self._disconnect()

    def _send_one(self, message: OutboundMessage) -> SendResult:
        mime = build_mime(message, self._from_email, self._from_name)
        payload = mime.as_bytes()
        provider_id = str(mime["Message-ID"])
        for attempt in (1, 2):
            try:
                smtp = self._connection()
                refused = smtp.sendmail(self._from_email, [message.to], payload)
            except smtplib.SMTPRecipientsRefused as err:
                code, reply = err.recipients.get(message.to, (550, b"recipient refused"))
                return _refused(message, code, reply)
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as err:
                return _refused(message, err.smtp_code, err.smtp_error)
            except smtplib.SMTPResponseException as err:
                if err.smtp_code == 421:  # service closing the channel: reconnect
                    self._disconnect()
                    if attempt == 2:
                        raise _ConnectionLost(f"421 {err.smtp_error!r}") from err
                    continue
                return _refused(message, err.smtp_code, err.smtp_error)
            except (smtplib.SMTPException, OSError) as err:
                # Includes SMTPServerDisconnected, refused connections and timeouts. A dropped
                # idle connection is normal, so reconnect once before giving up on the batch.
                self._disconnect()
                if attempt == 2:
                    raise _ConnectionLost(repr(err)) from err
                continue
            if message.to in refused:
                code, reply = refused[message.to]
                return _refused(message, code, reply)
            return SendResult(message.delivery_id, "accepted", provider_id=provider_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            try:
                smtp.ehlo()
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self._username:
                    smtp.login(self._username, self._password)
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def _disconnect(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _refused(message: OutboundMessage, code: int, reply: bytes | str) -> SendResult:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    reason = f"SMTP {code}: {text}"
    if 400 <= code < 500:
        return SendResult(message.delivery_id, "retry", reason=reason)
    return SendResult(message.delivery_id, "failed", reason=reason)

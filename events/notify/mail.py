"""Email: the outbox's sender for the ``email`` channel (``events.hooks.NOTICE_SENDERS``).

Each notice (or merged group of a person's changes) becomes one ``EmailMessage`` with a plain
text and an HTML part rendered from ``templates/notify/`` (autoescaped), in the conference's
name, with its contact address and a line saying why the person got it. Links to the delegate's
page and calendar feed are built now, from their current token, so a rotated link is never
mailed. Sent over SMTP (``MAIL_SERVER``…); with no ``MAIL_SERVER`` (development) each message is
written to ``instance/outbox/<key>.eml`` and logged instead.

Nothing a person typed goes into a header unencoded: addresses with CR/LF or that do not parse
are refused, names go through ``email.headerregistry.Address`` and the SMTP policy encodes them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import smtplib
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from urllib.parse import quote, urlencode

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from sqlalchemy import select

from events.conference.models import Conference, Delegate
from events.extensions import db
from events.notify.models import Notice
from events.notify.worker import Outcome

log = logging.getLogger(__name__)

#: What each kind of email is about, for the "why you got this" line.
WHY = {
    "welcome": "you are registered for {conference} and the organisers sent you your private link",
    "lost_link": "someone (we hope you) asked for your private link on the {conference} page; "
                 "if it was not you, you can ignore this email",
    "reminder": "you are registered for {conference} and asked for reminders before your rounds",
}
#: Kinds that carry a private link: sent only to the address the delegate has registered.
LINK_KINDS = ("welcome", "lost_link")
WHY_DEFAULT = ("you are registered for {conference} and this change concerns you; "
               "you can choose how we tell you about changes on your page")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


# --------------------------------------------------------------------------- addresses and links


def clean_address(value: str | None, *, validate: bool = True) -> str | None:
    """Return ``value`` as a bare, valid address, or None when it must not go into a header.

    Refuses CR/LF and other control characters, display names (``"Name" <a@b>``), anything
    ``parseaddr`` reads differently from what was given, and (``validate``) what
    ``email-validator`` rejects, as registration does. The sender is only checked for shape:
    ``convenor@localhost`` is a fine sender and no delegate's address.
    """
    if not value or _CONTROL.search(value):
        return None
    name, addr = parseaddr(value)
    if name or not addr or addr != value.strip() or addr.count("@") != 1 or " " in addr:
        return None
    if not validate:
        return addr
    try:
        validate_email(addr, check_deliverability=False)
    except EmailNotValidError:
        return None
    return addr


def display_name(text: str | None) -> str:
    """Return a name fit for a header's display part: no control characters, one line."""
    return " ".join(_CONTROL.sub(" ", text or "").split())[:200]


def base_url() -> str:
    """Return the public address links in emails start with (``PUBLIC_URL``)."""
    config = current_app.config
    if config.get("PUBLIC_URL"):
        return config["PUBLIC_URL"].rstrip("/")
    if config.get("SERVER_NAME"):
        return f"{config.get('PREFERRED_URL_SCHEME', 'http')}://{config['SERVER_NAME']}"
    return "http://localhost:" + os.environ.get("PORT", "5000")


def delegate_links(delegate: Delegate) -> dict[str, str]:
    """Return the delegate's private page, calendar feed and subscribe links (current token)."""
    base = base_url()
    page = f"{base}/me/{delegate.token}"
    https = f"{page}/agenda.ics"
    webcal = "webcal://" + https.split("://", 1)[1]
    name = f"{delegate.conference.name} — my day"
    return {
        "page": page, "calendar": https, "webcal": webcal,
        "google": "https://calendar.google.com/calendar/render?" + urlencode({"cid": webcal}),
        "outlook": "https://outlook.live.com/calendar/0/addfromweb?"
                   + urlencode({"url": https, "name": name}, quote_via=quote),
    }


def message_id(keys: list[str], sender: str) -> str:
    """Return a Message-ID derived from the notice keys (a resend after a crash keeps it)."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<{digest}@{domain}>"


# --------------------------------------------------------------------------- content


def _places(delegate: Delegate) -> list[str]:
    """The delegate's published carousel and table places, one line each."""
    from events.conference.services import delegate_agenda

    lines = []
    for entry in delegate_agenda(delegate):
        if not entry.get("replaces_session_id"):
            continue
        when = entry["starts_at"][11:16]
        label = entry.get("slot_label") or (
            f"Round {entry['round']}" if entry.get("round") else "")
        if entry.get("workshop"):
            place = entry["workshop"]
        elif entry.get("is_host"):
            place = f"you host {entry.get('table')}"
        else:
            place = entry.get("table") or ""
            if entry.get("host"):
                place += f", host {entry['host']}"
        line = f"{when} {entry['title']}" + (f", {label}" if label else "") + f": {place}"
        if entry.get("room"):
            line += f" ({entry['room']})"
        lines.append(line)
    return lines


def _badge(delegate: Delegate) -> tuple[str, bytes] | None:
    """The delegate's badge secret and its QR code as PNG (None when check-in cannot give one)."""
    from events.checkin.badges import qr_png
    from events.checkin.services import secret_for

    secret = secret_for(delegate).secret  # commits a new secret when there was none
    return secret, qr_png(secret, box_size=6)


def build_message(notices: list[Notice], conference: Conference, delegate: Delegate | None,
                  recipient: str, *, now: datetime) -> EmailMessage:
    """Return the email for ``notices`` (one person, one kind; changes merged) to ``recipient``."""
    config = current_app.config
    first = notices[0]
    kind = first.kind
    payload = first.payload or {}
    _, sender = parseaddr(config.get("MAIL_DEFAULT_SENDER") or "convenor@localhost")
    sender = clean_address(sender, validate=False) or "convenor@localhost"
    lines: list[str] = []
    for notice in notices:
        for line in (notice.payload or {}).get("lines") or []:
            if line not in lines:
                lines.append(line)
    intro = payload.get("text") or ""
    if len(notices) > 1:
        intro = "Here is what has changed for you:"
        subject = f"{len(lines)} changes to your day at {conference.name}"
    else:
        subject = payload.get("subject") or conference.name
    if intro in lines:
        intro = ""
    context = {
        "conference": conference, "delegate": delegate, "kind": kind, "subject": subject,
        "intro": intro, "lines": lines,
        "links": delegate_links(delegate) if delegate is not None else None,
        "contact": clean_address(conference.contact_email),
        "why": WHY.get(kind, WHY_DEFAULT).format(conference=conference.name),
        "places": [], "badge_cid": None, "badge_secret": None,
    }
    badge = None
    if kind == "welcome" and delegate is not None:
        context["places"] = _places(delegate)
        badge = _badge(delegate)
        context["badge_secret"] = badge[0]
        context["badge_cid"] = f"badge-{delegate.id}@convenor"
    template = "notify/email_" + ("welcome" if kind == "welcome" else
                                  "lost_link" if kind == "lost_link" else "change")
    text = render_template(template + ".txt", **context)
    html = render_template(template + ".html", **context)

    message = EmailMessage(policy=SMTP)
    message["Subject"] = display_name(subject)
    message["From"] = Address(display_name=display_name(conference.name),
                              addr_spec=sender)
    name = display_name(delegate.name) if delegate is not None else ""
    message["To"] = Address(display_name=name, addr_spec=recipient)
    if context["contact"]:
        message["Reply-To"] = Address(display_name=display_name(conference.name),
                                      addr_spec=context["contact"])
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id([n.key for n in notices], sender)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    if badge is not None:
        html_part = message.get_payload()[1]
        html_part.add_related(badge[1], "image", "png", cid=f"<{context['badge_cid']}>",
                              filename="badge-qr.png")
    return message


# --------------------------------------------------------------------------- sending


def _eml_path(key: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", key)[:150] + ".eml"
    return os.path.join(current_app.instance_path, "outbox", name)


def _write_eml(message: EmailMessage, key: str) -> str:
    """Development: keep the message as ``instance/outbox/<key>.eml``; return its path."""
    path = _eml_path(key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".part"
    with open(partial, "wb") as out:
        out.write(message.as_bytes())
    os.replace(partial, path)  # whole or absent, for the recovery check
    return path


def _smtp_send(message: EmailMessage, sender: str, recipient: str) -> None:
    config = current_app.config
    timeout = float(config.get("MAIL_TIMEOUT") or 15)
    with smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25),
                      timeout=timeout) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message, from_addr=sender, to_addrs=[recipient])


def _smtp_text(code: int, reply: bytes | str) -> str:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"[:500]


def send(notices: list[Notice], *, now: datetime, recovering: bool = False) -> Outcome:
    """Send one email for ``notices`` (the worker's ``NOTICE_SENDERS["email"]``).

    SMTP refusing the recipient (5xx) cancels the notice with the server's answer as its error
    (a bounce the organisers see); 4xx, timeouts and a server that cannot be reached are errors
    the worker retries with backoff. A welcome email that went out stamps ``links_sent_at``.
    """
    first = notices[0]
    recipient = clean_address(first.recipient)
    if recipient is None:
        return Outcome("cancelled", "refused: not a plain, valid email address")
    conference = db.session.get(Conference, first.conference_id)
    delegate = None
    if first.delegate_id is not None:
        # Read fresh: the worker's commits do not expire what an earlier notice loaded.
        delegate = db.session.scalar(select(Delegate).where(Delegate.id == first.delegate_id)
                                     .execution_options(populate_existing=True))
    if conference is None:
        return Outcome("cancelled", "the conference no longer exists")
    if (first.kind in LINK_KINDS and delegate is not None
            and (delegate.email or "").lower() != recipient.lower()):
        # A private link only ever goes to the address registered now.
        return Outcome("cancelled", "the delegate's address changed before it was sent")
    if not current_app.config.get("MAIL_SERVER") and recovering and os.path.exists(
            _eml_path(first.key)):
        return _sent(notices, delegate, now, "file")  # written before a crash
    message = build_message(notices, conference, delegate, recipient, now=now)
    sender = message["From"].addresses[0].addr_spec
    if not current_app.config.get("MAIL_SERVER"):
        path = _write_eml(message, first.key)
        log.info("email to %s (%s) written to %s (MAIL_SERVER is not set)", recipient,
                 message["Subject"], path)
        return _sent(notices, delegate, now, "file")
    try:
        _smtp_send(message, sender, recipient)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()), (550, b"refused"))
        if 400 <= code < 500:
            return Outcome("error", "recipient deferred: " + _smtp_text(code, reply))
        return Outcome("cancelled", "bounced: " + _smtp_text(code, reply))
    except smtplib.SMTPResponseException as exc:
        detail = _smtp_text(exc.smtp_code, exc.smtp_error)
        if exc.smtp_code >= 500 and isinstance(exc, smtplib.SMTPDataError):
            # The server took the recipient but refused this message for good.
            return Outcome("cancelled", "refused by the mail server: " + detail)
        return Outcome("error", "mail server: " + detail)
    except (smtplib.SMTPException, OSError) as exc:  # OSError: refused, timed out, DNS
        return Outcome("error", f"mail server unreachable: {type(exc).__name__}: {exc}"[:500])
    log.info("email %s sent to %s", first.key, recipient)
    return _sent(notices, delegate, now, "smtp")


def _sent(notices: list[Notice], delegate: Delegate | None, now: datetime, where: str) -> Outcome:
    if delegate is not None and any(n.kind == "welcome" for n in notices):
        delegate.links_sent_at = now
    return Outcome("sent", delivered_to=where)

"""Email notifications end to end: the welcome email, the lost link, change emails, SMTP faults
and header injection, against a real SMTP server in the test process (``smtp``)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import at
from tests.integration.test_checkin import zbar_decode

SAME_ANSWER = "If that address is registered for this conference, we have sent the link"


def run(now=None):
    from events.notify import worker
    from events.types import utcnow

    return worker.run_once(now=now or utcnow())


def notices(**where):
    from events.extensions import db
    from events.notify.models import Notice

    query = select(Notice).order_by(Notice.id)
    for key, value in where.items():
        query = query.where(getattr(Notice, key) == value)
    return list(db.session.scalars(query))


def parts(message):
    """Return (text, html, images) of a parsed message: images as {content_id: bytes}."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    images = {part["Content-ID"]: part.get_content() for part in message.walk()
              if part.get_content_type() == "image/png"}
    return text, html, images


@pytest.fixture
def ann(conference, make_delegate):
    return make_delegate(conference, name="Ann Example", email="ann@example.org",
                         organisation="Oak Trust")


# --------------------------------------------------------------------------- welcome email


def test_send_links_end_to_end(client, login, conference, ann, make_delegate, smtp, tmp_path):
    from events.checkin import services as checkin
    from events.extensions import db

    conference.contact_email = "events@example.org"
    db.session.commit()
    bob = make_delegate(conference, name="Bob", email="bob@example.org", organisation="Elm Trust")
    login()
    page = client.get(f"/organiser/{conference.slug}/delegates").get_data(as_text=True)
    assert "Send links" in page and 'value="org:Oak Trust"' in page and "Not sent" in page
    form = {"scope": "org:Oak Trust", "batch": "batch-one"}
    response = client.post(f"/organiser/{conference.slug}/delegates/send-links", data=form)
    assert response.status_code == 303
    progress_url = response.headers["Location"]
    assert progress_url.endswith(f"/organiser/{conference.slug}/links/batch-one")
    # A double click is the same batch: nothing more is queued.
    assert client.post(f"/organiser/{conference.slug}/delegates/send-links",
                       data=form).status_code == 303
    assert len(notices(kind="welcome")) == 1
    progress = client.get(progress_url).get_data(as_text=True)
    assert "<progress" in progress and "send-links.js" in progress
    assert client.get(progress_url + ".json").get_json() == {
        "batch": "batch-one", "total": 1, "sent": 0, "failed": 0, "waiting": 1, "done": False}

    assert run() == {"sent": 1}
    assert client.get(progress_url + ".json").get_json()["done"] is True
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert smtp.envelopes[0].rcpt_tos == ["ann@example.org"]
    assert message["To"].addresses[0].addr_spec == "ann@example.org"
    assert message["From"].addresses[0].display_name == conference.name
    assert message["Reply-To"].addresses[0].addr_spec == "events@example.org"
    assert message["Message-ID"].endswith("@convenor.test>")
    text, html, images = parts(message)
    db.session.refresh(ann)
    link = f"http://convenor.test/me/{ann.token}"
    for body in (text, html):
        assert link in body and f"{link}/agenda.ics" in body
        assert "events@example.org" in body and "You are receiving this email because" in body
        assert "Google Calendar" in body and "Outlook" in body and "Apple" in body
    assert "<img" in html and "http" not in re.search(r'<img[^>]*src="([^"]*)"', html).group(1)
    ((cid, png),) = images.items()
    assert f'src="cid:{cid.strip("<>")}"' in html
    assert re.search(r'<img[^>]+alt="QR code[^"]+"', html)
    assert zbar_decode(png, tmp_path) == checkin.active_secret(ann).secret
    assert ann.links_sent_at is not None
    db.session.refresh(bob)
    assert bob.links_sent_at is None
    page = client.get(f"/organiser/{conference.slug}/delegates").get_data(as_text=True)
    row = page.split("Ann Example")[1].split("</tr>")[0]
    assert "Sent <time" in row
    # Later, "not yet sent" reaches Bob only; sending Ann again later works.
    client.post(f"/organiser/{conference.slug}/delegates/send-links",
                data={"scope": "not_sent", "batch": "batch-two"})
    client.post(f"/organiser/{conference.slug}/delegates/send-links",
                data={"scope": "all", "batch": "batch-three"})
    assert run() == {"sent": 2}
    assert sorted(e.rcpt_tos[0] for e in smtp.envelopes) == [
        "ann@example.org", "ann@example.org", "bob@example.org"]


def test_welcome_lists_published_places_and_text_only_clients_get_everything(
        conference, ann, smtp, monkeypatch):
    from events import hooks
    from events.notify import links

    def fake_seats(delegate):
        return [{"kind": "world_cafe", "session_id": 1, "replaces_session_id": 1,
                 "title": "World Cafe", "starts_at": at("11:40") + ":00+00:00",
                 "ends_at": at("12:00") + ":00+00:00", "room": "Atrium", "speakers": [],
                 "status": "scheduled", "round": 2, "table": "Table 7", "host": "Sam Lee",
                 "is_host": False, "question": "q"}]

    monkeypatch.setattr(hooks, "AGENDA_ENTRIES", [fake_seats])
    links.send_links(conference, scope="all")
    run()
    text, html, _ = parts(smtp.messages[0])
    for body in (text, html):
        assert "Your places" in body and "World Cafe, Round 2: Table 7, host Sam Lee (Atrium)" in body


def test_self_registration_queues_the_welcome_email(conference, smtp):
    from events.conference import services
    from events.extensions import db

    conference.registration_open = True
    db.session.commit()
    delegate, created = services.self_register(conference, {"name": "Cat"}, slack_user_id=None,
                                               email="cat@example.org")
    assert created
    (row,) = notices(kind="welcome")
    assert row.delegate_id == delegate.id and row.recipient == "cat@example.org"
    assert run() == {"sent": 1}
    assert smtp.envelopes[0].rcpt_tos == ["cat@example.org"]


def test_a_place_from_the_waitlist_comes_with_the_welcome_email(conference, make_delegate, smtp):
    from events.conference import services
    from events.extensions import db

    conference.registration_capacity = 1
    db.session.commit()
    first = make_delegate(conference, name="First", email="first@example.org")
    waiting = make_delegate(conference, name="Waiting", email="waiting@example.org")
    services.update_delegate(waiting, {"status": "waitlisted"})  # an organiser, by hand
    assert (first.status, waiting.status) == ("active", "waitlisted")
    assert not notices(kind="welcome", delegate_id=waiting.id)
    services.update_delegate(first, {"status": "cancelled"})
    assert waiting.status == "active"
    (row,) = notices(kind="welcome", delegate_id=waiting.id)
    run()
    assert [e.rcpt_tos for e in smtp.envelopes] == [["waiting@example.org"]]
    assert waiting.token in smtp.envelopes[0].content.decode()


def test_without_mail_server_messages_are_written_to_instance_outbox(app, conference, ann, tmp_path):
    from events.notify import links

    app.config["MAIL_SERVER"] = None
    app.instance_path = str(tmp_path)
    links.send_links(conference, scope="all")
    assert run() == {"sent": 1}
    (path,) = (tmp_path / "outbox").glob("*.eml")
    assert path.name.startswith("welcome_") and b"ann@example.org" in path.read_bytes()


# --------------------------------------------------------------------------- lost link


def test_lost_link_same_answer_rate_limited_and_only_to_the_registered_address(
        client, conference, ann, smtp):
    from events.extensions import db

    url = f"/c/{conference.slug}/email-my-link"
    home = client.get(f"/c/{conference.slug}/").get_data(as_text=True)
    assert "Email me my link" in home and 'name="csrf_token"' in home

    def ask(address, ip="10.0.0.1"):
        response = client.post(url, data={"email": address}, follow_redirects=True,
                               environ_base={"REMOTE_ADDR": ip})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    registered = ask("  Ann@Example.org ")
    assert SAME_ANSWER in registered
    assert run() == {"sent": 1}
    assert smtp.envelopes[0].rcpt_tos == ["ann@example.org"]
    text, html, _ = parts(smtp.messages[0])
    db.session.refresh(ann)
    assert f"/me/{ann.token}" in text and f"/me/{ann.token}/agenda.ics" in html
    assert "asked for your private link" in text

    unknown = ask("nobody@example.org")
    assert SAME_ANSWER in unknown
    assert unknown.replace("nobody@example.org", "") == registered.replace("  Ann@Example.org ", "")
    assert run() == {}
    # Three an hour per address: the 4th gets the same answer and nothing is sent.
    ask("ann@example.org")
    ask("ann@example.org")
    assert run() == {"sent": 2}
    assert SAME_ANSWER in ask("ann@example.org")
    assert run() == {}
    assert len(smtp.envelopes) == 3


def test_lost_link_is_limited_per_client_ip(conference, ann, smtp):
    from events.notify import links

    results = [links.request_link(conference, f"someone{n}@example.org", client="10.9.9.9")
               for n in range(10)]
    assert set(results) == {"unknown"}
    assert links.request_link(conference, "ann@example.org", client="10.9.9.9") == "limited"
    assert links.request_link(conference, "ann@example.org", client="10.1.1.1") == "queued"


# --------------------------------------------------------------------------- faults


def test_smtp_refusing_a_recipient_is_recorded_and_shown_to_organisers(
        client, login, conference, ann, smtp):
    from events.extensions import db
    from events.notify import links

    smtp.refuse.add("ann@example.org")
    links.send_links(conference, scope="all", batch="refused-1")
    assert run() == {"cancelled": 1}
    (row,) = notices(kind="welcome")
    assert row.status == "cancelled" and row.error.startswith("bounced: 550")
    assert smtp.envelopes == []
    db.session.refresh(ann)
    assert ann.links_sent_at is None
    login()
    page = client.get(f"/organiser/{conference.slug}/delegates").get_data(as_text=True)
    row_html = page.split("Ann Example")[1].split("</tr>")[0]
    assert "Not delivered" in row_html and "550" in row_html
    progress = client.get(f"/organiser/{conference.slug}/links/refused-1.json").get_json()
    assert progress["failed"] == 1 and progress["done"] is True


def test_smtp_down_is_retried_with_backoff_and_delivered_once(conference, ann, smtp):
    from events.notify import links
    from events.types import utcnow

    smtp.stop()
    links.send_links(conference, scope="all")
    now = utcnow()
    assert run(now) == {"error": 1}
    (row,) = notices(kind="welcome")
    assert row.status == "pending" and "unreachable" in row.error
    assert row.next_attempt_at == now + timedelta(minutes=1)
    assert run(now + timedelta(seconds=30)) == {}
    smtp.defer.add("ann@example.org")
    smtp.start()
    assert run(now + timedelta(seconds=61)) == {"error": 1}  # 451: try later
    smtp.defer.clear()
    assert run(now + timedelta(minutes=3)) == {}  # 5 minutes after the 2nd failure
    assert run(now + timedelta(minutes=7)) == {"sent": 1}
    assert run(now + timedelta(hours=2)) == {}
    assert len(smtp.envelopes) == 1
    assert notices(kind="welcome")[0].status == "sent"


def test_display_name_injection_is_refused_and_never_in_a_header(client, conference, smtp):
    from events.conference import services
    from events.errors import ConvenorError
    from events.notify import links
    from events.notify.services import enqueue

    evil = "a@b.c\nBcc: x@y.z"
    with pytest.raises(ConvenorError) as refused:
        services.create_delegate(conference, {"name": "Eve", "email": evil})
    assert refused.value.code == "invalid"
    with pytest.raises(ConvenorError):
        links.request_link(conference, evil, client="10.0.0.2")
    page = client.post(f"/c/{conference.slug}/email-my-link", data={"email": evil},
                       follow_redirects=True).get_data(as_text=True)
    assert "Enter the email address you registered with" in page
    # A row that reached the outbox some other way is refused by the sender, not sent.
    enqueue([{"key": "test:evil", "conference_id": conference.id, "channel": "email",
              "recipient": evil, "kind": "change",
              "payload": {"subject": "x", "text": "x", "lines": ["x"]}}])
    from events.extensions import db

    db.session.commit()
    assert run() == {"cancelled": 1}
    assert notices(key="test:evil")[0].error.startswith("refused")
    # A name with a line break is encoded into the To header, never a header of its own.
    bad = services.create_delegate(conference, {"name": "Eve\r\nBcc: x@y.z",
                                                "email": "eve@example.org"})
    links.send_links(conference, scope="all")
    assert run() == {"sent": 1}
    headers = smtp.envelopes[0].content.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in headers and b"x@y.z" not in headers.split(b"\nFrom:")[0]
    assert smtp.envelopes[0].rcpt_tos == ["eve@example.org"]
    assert smtp.messages[0]["Bcc"] is None
    assert smtp.messages[0]["To"].addresses[0].addr_spec == bad.email


def test_names_are_escaped_in_the_html_part(conference, make_delegate, smtp):
    from events.notify import links

    make_delegate(conference, name="<!channel> <b>x</b>", email="odd@example.org")
    links.send_links(conference, scope="all")
    run()
    text, html, _ = parts(smtp.messages[0])
    assert "&lt;!channel&gt; &lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "<!channel> <b>x</b>" in text  # plain text is plain


# --------------------------------------------------------------------------- change email


def test_moving_a_keynote_emails_an_unlinked_delegate_once(conference, ann, make_room,
                                                           make_session, smtp):
    from events.conference import services
    from events.types import utcnow

    hall = make_room(conference, "Main Hall")
    foyer = make_room(conference, "Foyer")
    keynote = make_session(conference, "Opening keynote", "09:30", "10:30", room_id=hall.id)
    services.update_session(keynote, {"starts_at": at("10:00"), "ends_at": at("11:00")})
    services.update_session(keynote, {"room_id": foyer.id})
    assert run() == {}  # within the minute in which changes merge
    assert run(utcnow() + timedelta(seconds=61)) == {"sent": 2}
    assert len(smtp.envelopes) == 1 and smtp.envelopes[0].rcpt_tos == ["ann@example.org"]
    text, html, images = parts(smtp.messages[0])
    assert "Opening keynote is now 10:00–11:00 in Foyer" in text
    assert "Opening keynote is now 10:00–11:00 in Foyer" in html
    assert f"/me/{ann.token}/agenda.ics" in text and images == {}
    assert "this change concerns you" in text
    assert run(utcnow() + timedelta(minutes=10)) == {}


# --------------------------------------------------------------------------- settings


def test_conference_email_settings_in_form_api_and_openapi(api, client, login, conference):
    from events.openapi import SCHEMAS

    assert {"notify_email", "email_reminders", "contact_email"} <= set(
        SCHEMAS["ConferenceInput"]["properties"])
    response = api.patch(f"/api/v1/conferences/{conference.slug}",
                         json={"notify_email": "always", "email_reminders": True,
                               "contact_email": "Team@Example.org"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["notify_email"], body["email_reminders"], body["contact_email"]) == (
        "always", True, "team@example.org")
    bad = api.patch(f"/api/v1/conferences/{conference.slug}",
                    json={"notify_email": "sometimes", "contact_email": "a@b.c\nBcc: x@y.z"})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.get_json()["details"]} == {"notify_email", "contact_email"}
    login()
    page = client.get(f"/organiser/{conference.slug}/settings").get_data(as_text=True)
    assert "Only delegates not linked to Slack" in page and "contact_email" in page
    form = {"name": conference.name, "starts_on": "2027-03-11", "ends_on": "2027-03-11",
            "timezone": "Europe/London", "published": "y", "notify_email": "never",
            "contact_email": "hello@example.org"}
    assert client.post(f"/organiser/{conference.slug}/settings", data=form).status_code == 302
    assert (conference.notify_email, conference.email_reminders, conference.contact_email) == (
        "never", False, "hello@example.org")


def test_delegate_chooses_how_to_hear_about_changes(client, conference, ann):
    from events.extensions import db

    page = client.get(f"/me/{ann.token}").get_data(as_text=True)
    assert "How should we tell you about changes?" in page
    assert 'value="email"' in page and 'value="slack"' not in page
    response = client.post(f"/me/{ann.token}/notify", data={"notify_by": "email"})
    assert response.status_code == 303
    db.session.refresh(ann)
    assert ann.notify_by == "email"
    client.post(f"/me/{ann.token}/notify", data={"notify_by": "slack"})
    db.session.refresh(ann)
    assert ann.notify_by == "email"  # not linked to Slack: not a choice
    ann.slack_user_id = "U123"
    db.session.commit()
    assert 'value="both"' in client.get(f"/me/{ann.token}").get_data(as_text=True)
    client.post(f"/me/{ann.token}/notify", data={"notify_by": "both"})
    db.session.refresh(ann)
    assert ann.notify_by == "both"


def test_link_requests_rows_are_counted(conference):
    from events.extensions import db
    from events.notify import links
    from events.notify.models import LinkRequest

    links.request_link(conference, "x@example.org", client="1.2.3.4")
    assert db.session.scalar(select(func.count(LinkRequest.id))) == 1
    (row,) = db.session.scalars(select(LinkRequest))
    assert "x@example.org" not in row.address_digest


def test_a_link_goes_only_to_the_address_registered_when_it_is_sent(conference, ann, smtp):
    from events.conference import services
    from events.notify import links

    links.send_links(conference, scope="all")
    services.update_delegate(ann, {"email": "ann.new@example.org"})
    assert run() == {"cancelled": 1}
    assert smtp.envelopes == []
    assert "address changed" in notices(kind="welcome")[0].error


def test_bounces_are_among_the_organisers_failures(conference, ann, smtp):
    from events.notify import links, services

    smtp.refuse.add("ann@example.org")
    links.send_links(conference, scope="all")
    run()
    (failure,) = services.outbox_summary(conference)["failures"]
    assert failure["status"] == "cancelled" and failure["error"].startswith("bounced: 550")


def test_a_file_written_before_a_crash_is_not_written_again(app, conference, ann, tmp_path):
    from events.extensions import db
    from events.notify import links
    from events.types import utcnow

    app.config["MAIL_SERVER"] = None
    app.instance_path = str(tmp_path)
    links.send_links(conference, scope="all")
    now = utcnow()
    assert run(now) == {"sent": 1}
    (path,) = (tmp_path / "outbox").glob("*.eml")
    path.write_bytes(b"as written before the crash")
    # The worker died after writing, before marking: the claim expires, the row is claimed again.
    (row,) = notices(kind="welcome")
    row.status, row.claimed_until, row.sent_at = "pending", now - timedelta(seconds=1), None
    db.session.commit()
    assert run(now) == {"sent": 1}
    assert path.read_bytes() == b"as written before the crash"

"""QR check-in: badge codes, the redeem API's answers, lists, search, badges and the scan log."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import threading

import pytest
from sqlalchemy import func, select

from tests.conftest import require

URL = "/api/v1/conferences/tlc/checkins"


@pytest.fixture
def door(app, conference, make_organiser):
    """A door-staff account on the conference; return its API token."""
    from events.extensions import db

    staff, token = make_organiser("door@example.org", role="door_staff")
    conference.organisers.append(staff)
    db.session.commit()
    return token


@pytest.fixture
def ann(conference, make_delegate):
    return make_delegate(conference, name="Ann Okafor", organisation="Oak Trust", role="CEO",
                         pronouns="she/her", access_needs={"step_free": True})


def secret_of(delegate) -> str:
    from events.checkin import services as checkin

    return checkin.secret_for(delegate).secret


def rows(model, **where):
    from events.extensions import db

    query = select(func.count()).select_from(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return db.session.scalar(query)


def zbar_decode(png: bytes, tmp_path) -> str:
    """Decode a QR image with Debian's zbarimg (a real decoder, not ours)."""
    binary = shutil.which("zbarimg")
    require("zbarimg", binary is not None, "install the Debian package zbar-tools")
    path = tmp_path / "code.png"
    path.write_bytes(png)
    done = subprocess.run([binary, "--raw", "-q", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# --------------------------------------------------------------------------- codes


def test_secrets_are_long_random_and_free_of_personal_data(ann, conference, make_delegate):
    from events.checkin import services as checkin

    first = secret_of(ann)
    assert len(first) >= 22  # 128 bits in URL-safe base64 is 22 characters; ours carry 192
    assert "ann" not in first.lower() and str(ann.id) != first
    others = {secret_of(make_delegate(conference)) for _ in range(20)}
    assert first not in others and len(others) == 20
    assert secret_of(ann) == first  # stable until re-issued
    assert checkin.reissue(ann).secret != first


def test_badge_png_decodes_with_zbar_and_checks_in(api, ann, tmp_path):
    png = api.get(f"/api/v1/conferences/tlc/delegates/{ann.id}/badge.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    decoded = zbar_decode(png.data, tmp_path)
    assert decoded == secret_of(ann)
    first = api.post(URL, json={"secret": decoded, "device": "Desk 2", "nonce": "n-1"})
    assert first.status_code == 201, first.json
    assert first.json["status"] == "ok"
    assert first.json["delegate"]["name"] == "Ann Okafor"
    assert first.json["delegate"]["access_needs"] == ["step-free"]
    assert first.json["checked_in_at"].startswith("20")


def test_badge_svg_is_a_scalable_qr_of_the_secret(api, ann, tmp_path):
    import re

    from PIL import Image, ImageDraw

    svg = api.get(f"/api/v1/conferences/tlc/delegates/{ann.id}/badge.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    text = svg.get_data(as_text=True)
    side = int(re.search(r'viewBox="0 0 (\d+) \d+"', text).group(1))
    modules = re.findall(r"M(\d+),(\d+)H", text)
    assert len(modules) > 200
    # Rasterise the SVG's modules (one unit square each) and let zbar read the result.
    scale = 8
    image = Image.new("L", (side * scale, side * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y in modules:
        draw.rectangle([int(x) * scale, int(y) * scale, (int(x) + 1) * scale - 1,
                        (int(y) + 1) * scale - 1], fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    assert zbar_decode(out.getvalue(), tmp_path) == secret_of(ann)


def test_delegate_page_shows_their_qr_code(client, ann, tmp_path):
    page = client.get(f"/me/{ann.token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"/me/{ann.token}/badge.png" in html and "Your check-in code" in html
    image = client.get(f"/me/{ann.token}/badge.png")
    assert image.status_code == 200 and image.headers["Cache-Control"] == "private, no-store"
    assert zbar_decode(image.data, tmp_path) == secret_of(ann)
    assert client.get("/me/not-a-token/badge.png").status_code == 404


# --------------------------------------------------------------------------- answers


def test_second_scan_names_the_first_time_and_device(api, ann):
    from events.checkin.models import Checkin

    secret = secret_of(ann)
    first = api.post(URL, json={"secret": secret, "device": "Desk 2",
                                "scanned_at": "2020-01-01T08:12:00"})
    # A scan older than 14 days is refused before anything is stored.
    assert first.status_code == 400 and first.json["details"][0]["field"] == "scanned_at"
    first = api.post(URL, json={"secret": secret, "device": "Desk 2"})
    again = api.post(URL, json={"secret": secret, "device": "Desk 5"})
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json["status"] == "error" and again.json["reason"] == "already_checked_in"
    assert again.json["first_checked_in_at"] == first.json["checked_in_at"]
    assert again.json["device"] == "Desk 2"
    hhmm = first.json["checked_in_at"][11:16]
    assert again.json["message"] == f"Already checked in at {hhmm} (Desk 2)"
    assert rows(Checkin, delegate_id=ann.id) == 1


def test_nonce_retry_gets_the_same_answer_and_no_second_record(api, ann):
    from events.checkin.models import Checkin, CheckinNonce

    body = {"secret": secret_of(ann), "nonce": "phone-7-0001", "device": "Desk 1"}
    first = api.post(URL, json=body)
    retry = api.post(URL, json=body)
    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json
    assert rows(Checkin) == 1 and rows(CheckinNonce) == 1
    # A different nonce for the same badge is a real second scan.
    other = api.post(URL, json=body | {"nonce": "phone-7-0002"})
    assert other.status_code == 200 and other.json["reason"] == "already_checked_in"


def test_offline_scan_keeps_its_scan_time(api, ann, conference):
    from datetime import UTC, datetime, timedelta

    scanned = (datetime.now(UTC) - timedelta(minutes=40)).replace(microsecond=0)
    answer = api.post(URL, json={"secret": secret_of(ann), "scanned_at": scanned.isoformat(),
                                 "nonce": "offline-1"})
    assert answer.status_code == 201
    assert datetime.fromisoformat(answer.json["checked_in_at"]) == scanned
    future = api.post(URL, json={"secret": secret_of(ann), "list": "door",
                                 "scanned_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()})
    assert future.status_code == 400 and "future" in future.json["details"][0]["message"]


@pytest.mark.parametrize("case", ["unknown", "tampered", "other_conference"])
def test_invalid_codes_are_refused_with_404(case, api, ann, make_conference, make_delegate):
    from events.checkin.models import Checkin, ScanLog

    secret = secret_of(ann)
    if case == "unknown":
        code = "A" * 32
    elif case == "tampered":
        code = secret[:-1] + ("B" if secret[-1] != "B" else "C")
    else:
        other = make_conference(slug="other-conf")
        code = secret_of(make_delegate(other))
    answer = api.post(URL, json={"secret": code})
    assert answer.status_code == 404
    assert answer.json["status"] == "error" and answer.json["reason"] == "invalid"
    assert rows(Checkin) == 0
    assert rows(ScanLog, result="invalid") == 1


def test_revoked_badge_and_cancelled_registration(api, ann, conference, make_delegate):
    from events.checkin.models import Checkin
    from events.conference import services

    old = secret_of(ann)
    reissued = api.post(f"/api/v1/conferences/tlc/delegates/{ann.id}/badge/reissue")
    assert reissued.status_code == 201 and reissued.json["secret"] != old
    answer = api.post(URL, json={"secret": old})
    assert answer.status_code == 409 and answer.json["reason"] == "revoked"
    assert api.post(URL, json={"secret": reissued.json["secret"]}).status_code == 201

    bob = make_delegate(conference, name="Bob Reyes")
    bob_code = secret_of(bob)
    services.update_delegate(bob, {"status": "cancelled"})
    answer = api.post(URL, json={"secret": bob_code})
    assert answer.status_code == 409 and answer.json["reason"] == "canceled"
    assert rows(Checkin, delegate_id=bob.id) == 0

    revoked = api.post(f"/api/v1/conferences/tlc/delegates/{ann.id}/badge/revoke")
    assert revoked.status_code == 204
    assert api.post(URL, json={"secret": reissued.json["secret"]}).json["reason"] == "revoked"


def test_exit_scans_and_the_scan_log(api, ann):
    from events.checkin.models import Checkin, ScanLog

    secret = secret_of(ann)
    early = api.post(URL, json={"secret": secret, "type": "exit"})
    assert early.status_code == 409 and early.json["reason"] == "not_checked_in"
    assert api.post(URL, json={"secret": secret}).status_code == 201
    out = api.post(URL, json={"secret": secret, "type": "exit", "device": "Exit A"})
    assert out.status_code == 201 and out.json["type"] == "exit"
    assert rows(Checkin, type="exit") == 1 and rows(Checkin, type="entry") == 1
    api.post(URL, json={"secret": "nonsense-code-that-is-long"})
    from events.extensions import db

    log = [(s.result, s.type) for s in db.session.scalars(select(ScanLog).order_by(ScanLog.id))]
    assert log == [("not_checked_in", "exit"), ("ok", "entry"), ("ok", "exit"), ("invalid", "entry")]
    # The log keeps a hint of what was scanned, never the whole secret.
    assert all(len(s.secret_hint) <= 8 for s in db.session.scalars(select(ScanLog)))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("payload, field", [
    ({"secret": ""}, "secret"),
    ({"secret": "x" * 1025}, "secret"),
    ({"secret": "abc\u0000\u0001def"}, "secret"),
    ({}, "secret"),
    ({"secret": 12345}, "secret"),
    ({"secret": "abcdefabcdefabcdefabcdef", "type": "sideways"}, "type"),
    ({"secret": "abcdefabcdefabcdefabcdef", "scanned_at": "yesterday"}, "scanned_at"),
    ({"secret": "abcdefabcdefabcdefabcdef", "device": "d" * 61}, "device"),
])
def test_bad_input_gets_a_clear_400_and_only_a_log_row(api, ann, payload, field):
    from events.checkin.models import Checkin, ScanLog

    answer = api.post(URL, json=payload)
    assert answer.status_code == 400
    assert answer.json["status"] == "error" and answer.json["reason"] == "bad_request"
    assert answer.json["error"] and any(d["field"] == field for d in answer.json["details"])
    assert rows(Checkin) == 0 and rows(ScanLog, result="bad_request") == 1


def test_malformed_json_and_wrong_content_type(api, ann):
    from events.checkin.models import Checkin, ScanLog

    broken = api.post(URL, data="{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json["reason"] == "bad_request"
    form = api.post(URL, data={"secret": secret_of(ann)})
    assert form.status_code == 415 and "application/json" in form.json["error"]
    binary = api.post(URL, data=b"\x89PNG\r\n\x1a\n\x00\x00", headers={"Content-Type": "application/json"})
    assert binary.status_code == 400
    assert rows(Checkin) == 0 and rows(ScanLog, result="bad_request") == 3


def test_roles_door_staff_check_in_but_nothing_else(api, door, ann, make_organiser):
    from events.checkin.models import ScanLog

    secret = secret_of(ann)
    assert api.post(URL, json={"secret": secret}, token=door).status_code == 201
    assert api.get(URL + "/search?q=okafor", token=door).status_code == 200
    for method, path in (("post", f"/api/v1/conferences/tlc/delegates/{ann.id}/badge/reissue"),
                         ("get", f"/api/v1/conferences/tlc/delegates/{ann.id}/badge.png"),
                         ("get", URL + "/stats"),
                         ("post", "/api/v1/conferences/tlc/checkin-lists")):
        answer = getattr(api, method)(path, token=door, json={})
        assert answer.status_code == 403, path
        assert answer.json["reason"] == "forbidden"
    assert api.patch("/api/v1/conferences/tlc", token=door, json={"name": "x"}).status_code == 403
    # Someone with no part in this conference cannot scan here, and the attempt is logged.
    _, stranger = make_organiser("stranger@example.org", role="door_staff")
    refused = api.post(URL, json={"secret": secret}, token=stranger)
    assert refused.status_code == 403 and refused.json["reason"] == "forbidden"
    unsigned = api.post(URL, json={"secret": secret}, token="cvn_forged")
    assert unsigned.status_code == 401
    assert rows(ScanLog, result="forbidden") == 1 and rows(ScanLog, result="unauthorised") == 1


def test_scanner_page_session_needs_the_csrf_header(sqlite_app):
    from events.checkin import services as checkin
    from events.conference import services
    from events.extensions import db

    sqlite_app.config["WTF_CSRF_ENABLED"] = True
    owner = services.create_organiser("lead@example.org", "correct-horse-9")
    conference = services.create_conference(owner, {"slug": "tlc", "name": "TLC",
                                                     "starts_on": "2027-03-11", "ends_on": "2027-03-11"})
    staff = services.create_organiser("door@example.org", "correct-horse-9", role="door_staff")
    conference.organisers.append(staff)
    db.session.commit()
    ann = services.create_delegate(conference, {"name": "Ann", "email": "ann@example.org"})
    secret = checkin.secret_for(ann).secret
    client = sqlite_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    landed = client.post("/login", data={"email": "door@example.org", "password": "correct-horse-9",
                                         "csrf_token": token})
    assert landed.status_code == 302 and landed.headers["Location"].endswith("/door/")
    page = client.get("/door/tlc/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    csrf = html.split('name="csrf-token" content="')[1].split('"')[0]
    assert client.post(URL, json={"secret": secret}).status_code == 400  # no CSRF header
    ok = client.post(URL, json={"secret": secret, "device": "Desk 3"}, headers={"X-CSRFToken": csrf})
    assert ok.status_code == 201 and ok.json["delegate"]["name"] == "Ann"
    assert client.get("/organiser/tlc/checkin/").status_code == 403  # door staff only check in


# --------------------------------------------------------------------------- lists


def test_valid_once_on_every_list(api, ann, conference, make_session):
    from events.checkin.models import Checkin

    keynote = make_session(conference, title="Opening keynote")
    made = api.post("/api/v1/conferences/tlc/checkin-lists", json={"kind": "session",
                                                                   "session_id": keynote.id})
    assert made.status_code == 201 and made.json["name"] == f"session-{keynote.id}"
    day = api.post("/api/v1/conferences/tlc/checkin-lists", json={"kind": "day", "day": "2027-03-11"})
    assert day.status_code == 201
    duplicate = api.post("/api/v1/conferences/tlc/checkin-lists", json={"kind": "day",
                                                                       "day": "2027-03-11"})
    assert duplicate.status_code == 409
    outside = api.post("/api/v1/conferences/tlc/checkin-lists", json={"kind": "day", "day": "2027-04-01"})
    assert outside.status_code == 400 and outside.json["details"][0]["field"] == "day"
    no_slots = api.post("/api/v1/conferences/tlc/checkin-lists",
                        json={"kind": "slot", "session_id": keynote.id, "number": 1})
    assert no_slots.status_code == 400 and "carousel" in no_slots.json["error"]
    names = [x["name"] for x in api.get("/api/v1/conferences/tlc/checkin-lists").json]
    assert names[0] == "door" and set(names) == {"door", "day-2027-03-11", f"session-{keynote.id}"}

    secret = secret_of(ann)
    for name in names:
        assert api.post(URL, json={"secret": secret, "list": name}).status_code == 201, name
        again = api.post(URL, json={"secret": secret, "list": name})
        assert again.json["reason"] == "already_checked_in"
    assert rows(Checkin, delegate_id=ann.id) == 3
    unknown = api.post(URL, json={"secret": secret, "list": "session-999"})
    assert unknown.status_code == 404 and unknown.json["reason"] == "unknown_list"


def test_lists_for_carousel_slots_and_cafe_rounds(api, conference, make_session, make_room):
    from carousels.cafe import services as cafe_services
    from carousels.workshops import services as workshop_services

    room = make_room(conference, "Hall", 200)
    cafe = make_session(conference, title="World Cafe", kind="world_cafe", start="14:00",
                        end="15:30", room_id=room.id)
    cafe_services.set_rounds(cafe, {"count": 3, "minutes": 20, "gap": 5})
    made = api.post("/api/v1/conferences/tlc/checkin-lists",
                    json={"kind": "round", "session_id": cafe.id, "number": 2})
    assert made.status_code == 201 and made.json["name"] == f"session-{cafe.id}-round-2"
    too_far = api.post("/api/v1/conferences/tlc/checkin-lists",
                       json={"kind": "round", "session_id": cafe.id, "number": 4})
    assert too_far.status_code == 400 and "between 1 and 3" in too_far.json["details"][0]["message"]
    carousel = make_session(conference, title="Carousel", kind="carousel", start="11:00", end="12:30")
    assert hasattr(workshop_services, "get_slots")
    slotless = api.post("/api/v1/conferences/tlc/checkin-lists",
                        json={"kind": "slot", "session_id": carousel.id, "number": 1})
    assert slotless.status_code == 400 and "slots first" in slotless.json["details"][0]["message"]


# --------------------------------------------------------------------------- search


def test_search_by_name_organisation_and_code_prefix(api, door, ann, conference, make_delegate):
    make_delegate(conference, name="Bob Reyes", organisation="Elm Academies")
    by_name = api.get(URL + "/search?q=okaf", token=door).json["results"]
    assert [r["name"] for r in by_name] == ["Ann Okafor"]
    by_org = api.get(URL + "/search?q=ELM", token=door).json["results"]
    assert [r["name"] for r in by_org] == ["Bob Reyes"]
    prefix = secret_of(ann)[:6]
    by_code = api.get(URL + f"/search?q={prefix}", token=door).json["results"]
    assert "Ann Okafor" in [r["name"] for r in by_code]
    assert by_name[0]["checked_in_at"] is None and "email" not in by_name[0]
    manual = api.post(URL, json={"delegate_id": ann.id, "device": "Desk 4"}, token=door)
    assert manual.status_code == 201
    again = api.get(URL + "/search?q=okaf", token=door).json["results"][0]
    assert again["checked_in_at"] == manual.json["checked_in_at"] and again["device"] == "Desk 4"
    assert api.get(URL + "/search?q=" + "x" * 101, token=door).status_code == 400
    assert api.get(URL + "/search?q=%25", token=door).json["results"] == []


# --------------------------------------------------------------------------- arrivals


def test_arrivals_figures_and_dashboard(api, login, client, conference, make_delegate):
    from datetime import UTC, datetime, timedelta

    people = [make_delegate(conference, organisation="Oak Trust" if i % 2 else "Elm Academies")
              for i in range(6)]
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    for i, d in enumerate(people[:4]):
        scanned = (base + timedelta(minutes=3 * i)).isoformat()
        assert api.post(URL, json={"secret": secret_of(d), "scanned_at": scanned}).status_code == 201
    api.post(URL, json={"secret": "Z" * 30})
    stats = api.get(URL + "/stats").json
    assert stats["expected"] == 6 and stats["arrived"] == 4
    assert sum(b["count"] for b in stats["per_5_minutes"]) == 4
    assert {o["organisation"]: (o["arrived"], o["expected"]) for o in stats["organisations"]} == {
        "Elm Academies": (2, 3), "Oak Trust": (2, 3)}
    assert stats["latest"][0]["result"] == "invalid"
    assert stats["lists"][0] == {"name": "door", "label": "Door", "kind": "door", "checked_in": 4,
                                 "checked_out": 0}
    login()
    page = client.get("/organiser/tlc/checkin/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<strong id="arrived-count">4</strong> of <span id="expected-count">6</span>' in html
    assert "Arrivals per 5 minutes" in html and "Elm Academies" in html


def test_checkin_publishes_live_arrival_figures(api, ann, conference):
    from events import signals

    seen = []

    def receiver(sender, **kwargs):
        seen.append((sender.slug, kwargs["delegate"].name, kwargs["list_name"]))

    signals.delegate_checked_in.connect(receiver)
    try:
        api.post(URL, json={"secret": secret_of(ann)})
        api.post(URL, json={"secret": secret_of(ann)})  # a repeat is not a new arrival
    finally:
        signals.delegate_checked_in.disconnect(receiver)
    assert seen == [("tlc", "Ann Okafor", "door")]
    from events.live import services as live

    assert live.checked_in_count(conference, None, "door") == 1


# --------------------------------------------------------------------------- badges PDF


def test_badge_pdf_with_progress_and_decodable_codes(app, login, client, conference, make_delegate,
                                                     tmp_path):
    import pypdf

    app.config["BADGE_JOBS_INLINE"] = True
    people = [make_delegate(conference, name=f"Person {i}", organisation="Oak Trust") for i in range(5)]
    make_delegate(conference, name="Elsewhere", organisation="Elm Academies")
    login()
    started = client.post("/organiser/tlc/checkin/badges",
                          data={"layout": "a6", "organisation": "Oak Trust", "who": "all"})
    assert started.status_code == 302
    job_page = started.headers["Location"]
    status = client.get(job_page + "/status").json
    assert status["status"] == "done" and status["done"] == status["total"] == 5
    pdf = client.get(status["download"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf.data))
    assert len(reader.pages) == 5
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert all(p.name in text for p in people) and "Elsewhere" not in text
    image = reader.pages[0].images[0]
    path = tmp_path / "badge.png"
    image.image.save(path)
    decoded = zbar_decode(path.read_bytes(), tmp_path)
    assert decoded in {secret_of(p) for p in people}
    sheet = client.post("/organiser/tlc/checkin/badges", data={"layout": "a4", "organisation": "",
                                                               "who": "all"})
    status = client.get(sheet.headers["Location"] + "/status").json
    a4 = pypdf.PdfReader(io.BytesIO(client.get(status["download"]).data))
    assert len(a4.pages) == 2  # six badges, four per sheet


# --------------------------------------------------------------------------- concurrency


@pytest.mark.postgres
def test_fifty_simultaneous_scans_make_one_checkin(pg_url, tmp_path):
    """50 devices scan the same badge at the same instant against PostgreSQL: one wins."""
    from tests.conftest import _make_app, _truncate_all

    app = _make_app(pg_url, {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 55, "max_overflow": 5}})
    from events.checkin import services as checkin
    from events.checkin.models import Checkin, ScanLog
    from events.conference import services
    from events.extensions import db

    with app.app_context():
        _truncate_all(db)
        owner = services.create_organiser("lead@example.org", "correct-horse-9")
        token = services.issue_api_token(owner, "scanner")
        conference = services.create_conference(owner, {"slug": "tlc", "name": "TLC",
                                                         "starts_on": "2027-03-11",
                                                         "ends_on": "2027-03-11"})
        ann = services.create_delegate(conference, {"name": "Ann", "email": "ann@example.org"})
        secret = checkin.secret_for(ann).secret
        db.session.remove()

    barrier = threading.Barrier(50)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def scan(i):
        client = app.test_client()
        barrier.wait()
        response = client.post(URL, json={"secret": secret, "device": f"Phone {i}"},
                               headers={"Authorization": f"Bearer {token}"})
        with lock:
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(answers) == 50
    codes = sorted(code for code, _ in answers)
    assert codes.count(201) == 1 and codes.count(200) == 49, json.dumps(answers[:3])
    winner = next(body for code, body in answers if code == 201)
    for code, body in answers:
        if code == 200:
            assert body["reason"] == "already_checked_in"
            assert body["first_checked_in_at"] == winner["checked_in_at"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Checkin)) == 1
        assert db.session.scalar(select(func.count()).select_from(ScanLog)) == 50
        db.session.remove()  # end the reading transaction before TRUNCATE takes its locks
        _truncate_all(db)
        db.engine.dispose()


def test_scanner_service_worker_only_for_real_conferences(client, conference):
    worker = client.get("/door/tlc/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert 'var SLUG = "tlc";' in worker.get_data(as_text=True)
    assert client.get('/door/x";alert(1);"/sw.js').status_code == 404


def test_badges_cli_writes_a_pdf_and_fails_cleanly(runner, conference, make_delegate, tmp_path):
    import pypdf

    make_delegate(conference, name="Ann Okafor", organisation="Oak Trust")
    make_delegate(conference, name="Bob Reyes", organisation="Elm Academies")
    out = tmp_path / "badges.pdf"
    done = runner.invoke(args=["badges", "tlc", str(out), "--organisation", "Oak Trust"])
    assert done.exit_code == 0, done.output
    assert "wrote 1 badge to" in done.output
    text = pypdf.PdfReader(out).pages[0].extract_text()
    assert "Ann Okafor" in text and "Bob Reyes" not in text
    unknown = runner.invoke(args=["badges", "nope", str(out)])
    assert unknown.exit_code == 2 and "no conference called 'nope'" in unknown.output
    nobody = runner.invoke(args=["badges", "tlc", str(out), "--organisation", "Pine Trust"])
    assert nobody.exit_code == 2 and "nobody registered from 'Pine Trust'" in nobody.output
    unwritable = runner.invoke(args=["badges", "tlc", str(tmp_path / "missing" / "b.pdf")])
    assert unwritable.exit_code == 2 and "cannot write" in unwritable.output

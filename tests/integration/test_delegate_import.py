"""Delegate CSV import (all-or-nothing, per-line errors) and export, through the API."""

from __future__ import annotations

import csv
import io

from events.conference.demo import demo_delegates

HEADER = "name,email,organisation,role,region,access_needs,dietary,slack_user_id\n"


def ticketing_csv(count: int = 300) -> str:
    """A realistic ticketing export of ``count`` delegates."""
    import random

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Full Name", "Email Address", "Trust", "Job Title", "Region",
                     "Access requirements", "Dietary requirements"])
    for d in demo_delegates(random.Random(5), count=count):
        needs = "; ".join(filter(None, ["step-free" if d["needs_step_free"] else "",
                                        "hearing loop" if d["needs_hearing_loop"] else "",
                                        d["access_other"]]))
        writer.writerow([d["name"], d["email"], d["organisation"], d["role"], d["region"], needs,
                         d["dietary"]])
    return out.getvalue()


def post_csv(api, text: str | bytes, slug="tlc", query=""):
    data = text.encode() if isinstance(text, str) else text
    return api.post(f"/api/v1/conferences/{slug}/delegates/import{query}", data=data,
                    content_type="text/csv")


def count(api, slug="tlc") -> int:
    return int(api.get(f"/api/v1/conferences/{slug}/delegates").headers["X-Total-Count"])


def test_imports_300_from_ticketing_export(api, conference):
    text = ticketing_csv(300)
    response = post_csv(api, "\ufeff" + text)  # Excel's "CSV UTF-8" adds a BOM
    assert response.status_code == 201, response.json
    assert response.json == {"created": 300, "total": 300}
    step_free = api.get("/api/v1/conferences/tlc/delegates?access=step_free&limit=1000").json
    expected = sum(1 for row in csv.DictReader(io.StringIO(text))
                   if "step-free" in row["Access requirements"])
    assert len(step_free) == expected > 0


def test_every_bad_row_reported_and_nothing_saved(api, conference, make_delegate):
    make_delegate(conference, email="taken@example.org")
    text = HEADER + (
        "Ann Lee,ann@example.org,Oak Trust,CEO,,,,\n"
        "Bad Email,not-an-email,Oak Trust,CEO,,,,\n"
        ",noname@example.org,Oak Trust,CEO,,,,\n"
        "Ann Again,ANN@example.org,Oak Trust,CEO,,,,\n"
        "Taken,taken@example.org,Elm Trust,CEO,,,,\n"
        "Slack Person,slack@example.org,Elm Trust,CEO,,,,lowercase\n"
    )
    response = post_csv(api, text)
    assert response.status_code == 422
    lines = sorted({d["line"] for d in response.json["details"]})
    assert lines == [3, 4, 5, 6, 7]
    messages = " ".join(d["message"] for d in response.json["details"])
    assert "also appears on line 2" in messages and "already registered" in messages
    assert count(api) == 1


def test_missing_column_empty_file_and_wrong_encoding(api, conference):
    response = post_csv(api, "name,email,organisation\nA,a@example.org,Oak\n")
    assert response.status_code == 422
    assert "role" in response.json["error"]
    assert response.json["details"][0]["line"] == 1
    empty = post_csv(api, "")
    assert empty.status_code == 422 and "empty" in empty.json["error"]
    latin1 = (HEADER + "Zoë Brontë,zoe@example.org,Oak Trust,CEO,,,,\n").encode("latin-1")
    response = post_csv(api, latin1)
    assert response.status_code == 422
    assert "UTF-8" in response.json["error"]
    assert response.json["details"][0]["line"] == 2
    header_only = post_csv(api, HEADER)
    assert header_only.status_code == 422
    assert count(api) == 0


def test_dry_run_saves_nothing(api, conference):
    response = post_csv(api, ticketing_csv(10), query="?dry_run=1")
    assert response.status_code == 200 and response.json["would_create"] == 10
    assert count(api) == 0


def test_wrong_content_type(api, conference):
    response = api.post("/api/v1/conferences/tlc/delegates/import", json={"a": 1})
    assert response.status_code == 415


def test_export_round_trips(api, conference, make_conference, organiser):
    assert post_csv(api, ticketing_csv(25)).status_code == 201
    exported = api.get("/api/v1/conferences/tlc/delegates.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert len(rows) == 25 and all(r["link"].startswith("http://convenor.test/me/") for r in rows)
    make_conference(slug="copy")
    again = post_csv(api, exported.get_data(), slug="copy")
    assert again.status_code == 201, again.json
    original = api.get("/api/v1/conferences/tlc/delegates?limit=100").json
    copied = api.get("/api/v1/conferences/copy/delegates?limit=100").json
    keys = ("name", "email", "organisation", "role", "region", "access_needs", "dietary")
    assert [{k: d[k] for k in keys} for d in copied] == [{k: d[k] for k in keys} for d in original]


def test_pronouns_import_and_export_round_trip(api, conference):
    text = ("name,email,organisation,role,pronouns\n"
            "Sam Ortiz,sam@example.org,Oak Trust,CEO,they/them\n")
    assert post_csv(api, text).status_code == 201
    (sam,) = api.get("/api/v1/conferences/tlc/delegates").json
    assert sam["pronouns"] == "they/them"
    exported = api.get("/api/v1/conferences/tlc/delegates.csv").get_data(as_text=True)
    (row,) = list(csv.DictReader(io.StringIO(exported)))
    assert row["pronouns"] == "they/them"
    too_long = post_csv(api, "name,email,organisation,role,pronouns\n"
                             f"Kim Lee,kim@example.org,Oak Trust,CEO,{'x' * 41}\n")
    assert too_long.status_code == 422 and count(api) == 1

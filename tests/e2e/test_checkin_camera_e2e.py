"""The door scanner's camera path in a real browser: a badge held up to the camera checks someone in.

Chromium's fake capture device plays a Y4M file built here from the delegate's real badge QR code,
so the page goes through getUserMedia, the <video> element, the decoder (BarcodeDetector where the
browser has one, otherwise the vendored jsQR loaded on demand) and the check-in API. Runs against
`python app.py` (the live_server fixture) on 127.0.0.1, a secure context, with Debian's Chromium.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS, CHROMIUM_ARGS
from tests.e2e.test_checkin_e2e import PASSWORD, seed

pytestmark = pytest.mark.browser
WAIT = 10_000  # ms; every wait below polls until the page shows the state, up to this long
WIDTH, HEIGHT, FRAMES = 640, 480, 5


def write_y4m(secret: str, path: Path) -> None:
    """Write a few identical 640x480 frames of the badge QR, centred on white, as YUV 4:2:0 Y4M."""
    from PIL import Image

    from events.checkin.badges import qr_png

    code = Image.open(io.BytesIO(qr_png(secret, box_size=8))).convert("RGB")
    assert code.width <= WIDTH and code.height <= HEIGHT, code.size
    frame = Image.new("RGB", (WIDTH, HEIGHT), "white")
    frame.paste(code, ((WIDTH - code.width) // 2, (HEIGHT - code.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()  # full-range (JPEG) YCbCr, as C420jpeg says
    planes = y.tobytes() + cb.reduce(2).tobytes() + cr.reduce(2).tobytes()
    assert len(planes) == WIDTH * HEIGHT * 3 // 2
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(FRAMES):
            out.write(b"FRAME\n" + planes)


def db_rows(live, delegate_id: int) -> tuple[list, list]:
    """The delegate's entry check-ins and scan log results, read from the database."""
    from sqlalchemy import select

    from events.checkin.models import Checkin, ScanLog
    from events.extensions import db

    with live.app.app_context():
        rows = db.session.scalars(select(Checkin).where(Checkin.delegate_id == delegate_id,
                                                        Checkin.type == "entry")).all()
        found = [{"method": r.method, "device": r.device, "organiser": r.organiser_id} for r in rows]
        logs = db.session.scalars(select(ScanLog.result).where(ScanLog.delegate_id == delegate_id)
                                  .order_by(ScanLog.id)).all()
        db.session.remove()
    return found, list(logs)


def test_a_badge_held_up_to_the_camera_checks_the_delegate_in_once(live_server, chromium_path, tmp_path):
    from playwright.sync_api import sync_playwright

    seeded = seed(live_server)
    amira, ben = seeded["people"]["Amira Khan"], seeded["people"]["Ben Okafor"]
    video = tmp_path / "badge.y4m"
    write_y4m(amira["secret"], video)
    args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=args)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=["camera"],
                                          service_workers="block")
            page = context.new_page()
            page.goto(live_server.url + "/login")
            page.get_by_label("Email").fill("door@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.keyboard.press("Enter")
            expect(page).to_have_url(live_server.url + "/door/tlc/", timeout=WAIT)
            assert page.evaluate("window.isSecureContext") is True
            page.locator("#device").fill("Camera desk")
            page.locator("#device").dispatch_event("change")
            result, camera = page.locator("#result"), page.locator("#camera")
            note = page.locator("#camera-note")
            has_detector = page.evaluate("'BarcodeDetector' in window")
            assert page.evaluate("typeof window.jsQR") == "undefined"  # only loaded when needed

            camera.click()
            expect(camera).to_have_text("Stop camera", timeout=WAIT)
            # The page says which decoder it is using; without BarcodeDetector it has loaded jsQR.
            decoder_note = note.text_content()
            if has_detector and decoder_note == "Scanning (built-in detector)":
                decoder = "BarcodeDetector"
            else:
                expect(note).to_have_text("Scanning")
                assert page.evaluate("typeof window.jsQR") == "function"
                decoder = "jsQR"
            print(f"camera decoder: {decoder} (page said {decoder_note!r}; BarcodeDetector: {has_detector})")
            assert decoder == "jsQR" or has_detector

            expect(result).to_have_attribute("data-state", "ok", timeout=WAIT)
            expect(page.locator("#result-title")).to_have_text("Checked in")
            expect(page.locator("#result-name")).to_have_text("Amira Khan")
            frame = page.evaluate("[document.getElementById('video').videoWidth,"
                                  " document.getElementById('video').videoHeight]")
            assert frame == [WIDTH, HEIGHT]  # the picture came from our badge video
            page.screenshot(path=str(ARTIFACTS / "checkin_scanner_camera.png"), full_page=True)
            (row,) = db_rows(live_server, amira["id"])[0]
            assert row == {"method": "scan", "device": "Camera desk", "organiser": seeded["door"]}

            # The badge stays in front of the camera: however many frames read it, it is one scan.
            read_before = int(page.locator("#video").get_attribute("data-frames-read") or "0")
            page.wait_for_function(
                "n => parseInt(document.getElementById('video').dataset.framesRead || '0') >= n",
                arg=read_before + 25, timeout=4 * WAIT)
            recent = page.locator("#recent li")
            expect(recent).to_have_count(1)
            expect(recent.nth(0)).to_contain_text("Amira Khan — Checked in")
            expect(result).to_have_attribute("data-state", "ok")
            rows, logs = db_rows(live_server, amira["id"])
            assert [r["method"] for r in rows] == ["scan"], rows  # still exactly one entry
            assert logs == ["ok"], logs  # nothing was sent again while the badge stayed in view
            assert db_rows(live_server, ben["id"]) == ([], [])

            camera.click()  # stop
            expect(camera).to_have_text("Start camera")
            expect(note).to_have_text("")
            assert page.evaluate("document.getElementById('video').srcObject") is None
            context.close()
        finally:
            browser.close()

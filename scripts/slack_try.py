"""See the Slack bot answer without a Slack workspace.

Run ``make demo`` once, then for example::

    .venv/bin/python scripts/slack_try.py "next"
    .venv/bin/python scripts/slack_try.py "agenda"
    .venv/bin/python scripts/slack_try.py --dm "which table am I on in round 2?"
    .venv/bin/python scripts/slack_try.py --organiser "stats"

It starts the tests' local fake of Slack's Web API, links the first demo delegate (or, with
``--organiser``, the demo organiser) to a made-up Slack user, signs a ``/convenor`` request (or a
direct message) exactly as Slack does, posts it to ``/slack/events`` in-process, and prints the
answer and the Web API calls the bot made. It uses the demo database (``DATABASE_URL`` or
``instance/convenor.db``).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.slack_fake import FakeSlack  # noqa: E402
from tests.slack_fixtures import command_body, dm_event, event_body, signed  # noqa: E402

USER = "U0TRYME01"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("text", help='what to type after /convenor, or the DM with --dm')
    parser.add_argument("--dm", action="store_true", help="send it as a direct message")
    parser.add_argument("--organiser", action="store_true", help="as the demo organiser")
    args = parser.parse_args(argv)

    fake = FakeSlack()
    secret = secrets.token_hex(16)
    from app import create_app
    from events.conference.models import Delegate, Organiser
    from events.extensions import db

    app = create_app({"SLACK_BOT_TOKEN": "xoxb-try", "SLACK_SIGNING_SECRET": secret,
                      "SLACK_API_URL": fake.url,
                      "PUBLIC_URL": app_url()})
    with app.app_context():
        if args.organiser:
            organiser = db.session.scalar(db.select(Organiser).order_by(Organiser.id))
            if organiser is None:
                print("error: no organiser — run `make demo` first", file=sys.stderr)
                return 2
            fake.add_user(USER, organiser.email, real_name=organiser.name or "Organiser")
            print(f"As the organiser {organiser.email} (Slack user {USER})")
        else:
            delegate = db.session.scalar(db.select(Delegate).where(Delegate.status == "active")
                                         .order_by(Delegate.id))
            if delegate is None:
                print("error: no delegates — run `make demo` first", file=sys.stderr)
                return 2
            fake.add_user(USER, delegate.email, real_name=delegate.name)
            print(f"As the delegate {delegate.name} <{delegate.email}> (Slack user {USER})")
    client = app.test_client()
    if args.dm:
        body, content_type = event_body(dm_event(args.text, user_id=USER))
        label = f"DM: {args.text}"
    else:
        body, content_type = command_body(args.text, user_id=USER,
                                          response_url=fake.response_url("try"))
        label = f"/convenor {args.text}"
    response = client.post("/slack/events", data=body,
                           headers=signed(body, secret, content_type=content_type))
    print(f"\n{label}\n→ HTTP {response.status_code}")
    if response.get_data():
        show(response.get_json(silent=True) or response.get_data(as_text=True))
    # Lazy listeners (a first-time lookup, modals, organiser work, DMs) finish after the ack.
    app.extensions["convenor_slack_bolt"].listener_runner.listener_executor.shutdown(wait=True)
    for call in fake.calls:
        if call.method in ("auth.test",):
            continue
        print(f"\nSlack Web API call: {call.method}")
        show({k: v for k, v in call.args.items() if k in ("text", "blocks", "view", "channel")})
    fake.close()
    return 0


def app_url() -> str:
    import os

    return os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")


def show(value) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False)[:4000])


if __name__ == "__main__":
    sys.exit(main())

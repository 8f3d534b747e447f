"""Answers to a delegate's questions and an organiser's commands, as plain ``Reply`` structures.

The Slack listeners, the App Home and the web chat on the delegate's page all render these;
nothing here knows Slack (no Slack types, no Web API): it parses nothing and calls services.
Every time-dependent answer reads the clock through ``now()``, which tests replace.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from bot.intents import Intent
from bot.reply import Action, Item, Link, Reply
from carousels.cafe import services as cafe_services
from carousels.rounds import services as rounds
from carousels.workshops import services as workshop_services
from events.conference import services
from events.conference.models import Conference, Delegate, Organiser
from events.errors import ConvenorError
from events.live import services as live_services
from events.types import utcnow

#: Names people use for the kinds of entries in their day.
KIND_NAMES = {"carousel": "Carousel", "world_cafe": "World Cafe", "keynote": "Keynote",
              "plenary": "Plenary", "panel": "Panel", "workshop": "Workshop",
              "networking": "Networking", "break": "Break", "other": "Session"}


def now() -> datetime:
    """Return the current time (aware UTC); tests replace this function."""
    return utcnow()


# --------------------------------------------------------------------------- links


def delegate_links(delegate: Delegate, base_url: str) -> list[Link]:
    """Return the delegate's private page and calendar feed as absolute links."""
    if not base_url:
        return []
    return [Link("Your page", f"{base_url}/me/{delegate.token}"),
            Link("Calendar feed", f"{base_url}/me/{delegate.token}/agenda.ics")]


# --------------------------------------------------------------------------- formatting


def _local(conference: Conference, iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(conference.tz)


def _when(conference: Conference, entry: dict, today: date) -> str:
    """Return "11:40–12:10", with the date when the entry is not today."""
    start, end = _local(conference, entry["starts_at"]), _local(conference, entry["ends_at"])
    text = f"{start:%H:%M}–{end:%H:%M}"
    if start.date() != today:
        text = f"{start:%a} {start.day} {start:%b} {text}"
    return text


def _title(entry: dict) -> str:
    """Return what the delegate does in this entry: their workshop, their table, or the session."""
    if entry["kind"] == "carousel" and entry.get("workshop"):
        return f"{entry.get('slot_label') or entry['title']}: {entry['workshop']}"
    if entry["kind"] == "world_cafe" and entry.get("table"):
        return f"{entry['title']} — round {entry['round']}, {entry['table']}"
    return entry["title"]


def _detail(entry: dict) -> str:
    """Return who leads it: speakers, workshop leaders, the table's host and question."""
    if entry["kind"] == "carousel" and entry.get("workshop"):
        return f"with {entry['leaders']}" if entry.get("leaders") else ""
    if entry["kind"] == "world_cafe" and entry.get("table"):
        host = ("you are the host — stay at " + entry["table"]) if entry.get("is_host") else (
            f"host: {entry['host']}" if entry.get("host") else "")
        question = entry.get("question") or ""
        return " · ".join(p for p in (host, question and f"“{question}”") if p)
    if entry.get("allocation") == "not_published":
        return "your place is not published yet"
    return ", ".join(entry.get("speakers") or [])


def _item(conference: Conference, entry: dict, today: date) -> Item:
    return Item(title=_title(entry), when=_when(conference, entry, today),
                where=entry.get("room") or "", detail=_detail(entry),
                status="cancelled" if entry["status"] == "cancelled" else "")


def _relative(entry: dict, current: datetime, conference: Conference) -> str:
    """Return "in 20 min", "now, until 11:35" or "Thu 11 Mar, tomorrow"."""
    if entry["in_progress"]:
        return f"now, until {_local(conference, entry['ends_at']):%H:%M}"
    minutes = entry["starts_in_min"]
    start = _local(conference, entry["starts_at"])
    days = (start.date() - current.astimezone(conference.tz).date()).days
    if days:
        return f"{start:%a} {start.day} {start:%b}, " + ("tomorrow" if days == 1 else f"in {days} days")
    if minutes < 60:
        return f"in {max(minutes, 0) + 1 if minutes < 1 else minutes} min"
    return f"in {minutes // 60} h {minutes % 60:02d} min"


def next_line(conference: Conference, entry: dict, current: datetime) -> str:
    """Return one line such as "Carousel 2 · 11:40 · Mountbatten Room — AI … (in 20 min)"."""
    if entry["kind"] == "carousel" and entry.get("line"):
        line = entry["line"]
    else:
        start = _local(conference, entry["starts_at"])
        parts = [KIND_NAMES.get(entry["kind"], "Session"), f"{start:%H:%M}"]
        if entry.get("room"):
            parts.append(entry["room"])
        line = " · ".join(parts) + " — " + _title(entry)
        detail = _detail(entry)
        if detail:
            line += f" ({detail})" if entry["kind"] == "world_cafe" else f" — {detail}"
    return f"{line} ({_relative(entry, current, conference)})"


# --------------------------------------------------------------------------- delegate answers


def answer_next(delegate: Delegate, *, kind: str | None = None, base_url: str = "") -> Reply:
    """Answer "what's next?" (optionally for one kind: carousel, world_cafe, keynote …)."""
    conference = delegate.conference
    current = now()
    entry = services.next_for_delegate(delegate, now=current, kind=kind)
    if entry is None:
        last = max((s.ends_at for s in services.programme_sessions(conference)), default=None)
        if last is None or last <= current:
            return Reply("The conference is over — thank you for coming!", code="over")
        what = KIND_NAMES.get(kind or "", "session").lower()
        return Reply(f"You have no {what} still to come.", code="none")
    if entry.get("allocation") == "not_published" and entry["kind"] == "carousel":
        deadline = _deadline_text(delegate, entry["session_id"])
        text = (f"{next_line(conference, entry, current)} — your workshops are not published yet"
                + (f"; rank them by {deadline}" if deadline else ""))
        return Reply(text, actions=[Action("Rank workshops", "home_prefs")],
                     links=delegate_links(delegate, base_url)[:1], code="not_published")
    if entry.get("allocation") == "not_published":
        return Reply(f"{next_line(conference, entry, current)} — your table is not published yet",
                     code="not_published")
    return Reply(next_line(conference, entry, current), links=delegate_links(delegate, base_url)[:1])


def _deadline_text(delegate: Delegate, session_id: int) -> str:
    for block in workshop_services.delegate_carousels(delegate, now=now()):
        if block["session"].id == session_id:
            return block.get("deadline_text") or ""
    return ""


def answer_agenda(delegate: Delegate, *, day: str | None = None, base_url: str = "") -> Reply:
    """Answer with the delegate's day: ``day`` is "today", "tomorrow", an ISO date or None."""
    conference = delegate.conference
    today = now().astimezone(conference.tz).date()
    if day in (None, "", "today"):
        wanted = today
    elif day == "tomorrow":
        wanted = today + timedelta(days=1)
    else:
        try:
            wanted = date.fromisoformat(day)
        except ValueError:
            return Reply("Ask for `agenda`, `agenda tomorrow` or `agenda 2027-03-11`.",
                         code="usage")
    if not conference.starts_on <= wanted <= conference.ends_on:
        wanted = conference.starts_on if wanted < conference.starts_on else wanted
    entries = services.delegate_agenda(delegate, day=wanted)
    label = "today" if wanted == today else f"{wanted:%A} {wanted.day} {wanted:%B}"
    if not entries:
        return Reply(f"Nothing in your agenda for {label}.", links=delegate_links(delegate, base_url))
    return Reply(f"Your agenda for {label}:", items=[_item(conference, e, today) for e in entries],
                 links=delegate_links(delegate, base_url))


def answer_table(delegate: Delegate, *, round_number: int | None = None) -> Reply:
    """Answer "which table am I on (in round N)?"."""
    conference = delegate.conference
    try:
        seat = cafe_services.delegate_table(delegate, round_number=round_number, now=now())
    except ConvenorError as exc:
        return Reply(exc.message, code=exc.code)
    if seat is None:
        return Reply("There is no published World Cafe table plan for you yet.", code="no_plan")
    today = now().astimezone(conference.tz).date()
    where = seat.get("room") or ""
    if seat.get("is_host"):
        headline = (f"Round {seat['round']}: you are the host — stay at {seat['table']}"
                    + (f" in {where}" if where else "") + ".")
    else:
        headline = (f"Round {seat['round']}: {seat['table']}" + (f" in {where}" if where else "")
                    + (f", host {seat['host']}" if seat.get("host") else "") + ".")
    entry = {"kind": "world_cafe", "title": seat.get("title", "World Cafe"), "status": "scheduled",
             **seat}
    return Reply(headline, items=[_item(conference, entry, today)])


def answer_host(delegate: Delegate, *, round_number: int | None = None) -> Reply:
    """Answer "who is my host?" for the current or asked round."""
    reply = answer_table(delegate, round_number=round_number)
    return reply


def answer_roster(delegate: Delegate, *, round_number: int | None = None) -> Reply:
    """Answer a host's "who is at my table (in round N)?"."""
    try:
        if round_number is None:
            seat = cafe_services.delegate_table(delegate, now=now())
            if seat is None:
                return Reply("There is no published World Cafe table plan for you yet.",
                             code="no_plan")
            round_number = seat["round"]
        roster = cafe_services.table_roster(delegate, round_number)
    except ConvenorError as exc:
        return Reply(exc.message, code=exc.code)
    people = roster.get("people", [])
    items = [Item(title=p["name"], detail=p.get("organisation") or "") for p in people]
    question = roster.get("question") or ""
    return Reply(f"Round {round_number} at {roster['table']}: {len(people)} people"
                 + (f" — “{question}”" if question else ""), items=items)


def answer_when(delegate: Delegate, query: str) -> Reply:
    """Answer "when is Ade Adepitan's keynote?" from the programme."""
    conference = delegate.conference
    found = services.search_programme(conference, query or "")
    if not found:
        return Reply(f"I could not find “{query}” in the programme.", code="not_found")
    today = now().astimezone(conference.tz).date()
    items = [_item(conference, services.session_entry(s), today) for s in found]
    first = found[0]
    start = conference.local(first.starts_at)
    where = f" in {first.room.name}" if first.room else ""
    day = "" if start.date() == today else f" on {start:%A} {start.day} {start:%B}"
    return Reply(f"{first.title}: {start:%H:%M}{day}{where}.", items=items)


def answer_where(delegate: Delegate, query: str) -> Reply:
    """Answer "where is lunch?" from the programme (breaks, sessions) or say it is unknown."""
    return answer_when(delegate, query)


# --------------------------------------------------------------------------- help


def help_reply(*, organiser: bool = False, delegate: bool = True) -> Reply:
    """Return what the bot can do; organiser commands only for organisers."""
    items = [
        Item("/convenor next", detail="your next session, workshop or table"),
        Item("/convenor agenda [tomorrow]", detail="your day"),
        Item("/convenor table [round]", detail="your World Cafe table, host and question"),
        Item("/convenor prefs", detail="rank the carousel workshops"),
        Item("/convenor signup", detail="register (while registration is open)"),
        Item("/convenor link ABCD-EFGH", detail="link Slack to your registration (code from your page)"),
        Item("/convenor reminders on|off", detail="reminders before each round"),
        Item("/convenor cancel", detail="withdraw your registration (asks you to confirm)"),
    ]
    if organiser:
        items += [
            Item("/convenor allocate cafe|carousel", detail="make a new draft plan"),
            Item("/convenor publish cafe|carousel [version]", detail="publish a plan"),
            Item("/convenor round cafe|carousel N start", detail="start a round or slot"),
            Item("/convenor announce TEXT", detail="to every screen and the channel"),
            Item("/convenor stats", detail="arrivals, rankings, who the bot can reach"),
        ]
    return Reply("Ask me things like “what's my next carousel?”, “which table am I on in round 3?” "
                 "or “when is the keynote?”. Commands:", items=items, code="help")


# --------------------------------------------------------------------------- cancelling


def cancel_prompt(delegate: Delegate) -> Reply:
    """Say what ``cancel`` will do, with the confirmation and "keep" buttons (nothing changes yet)."""
    conference = delegate.conference
    if delegate.status == "waitlisted":
        text = (f"Leave the waitlist for {conference.name}, {delegate.name}? You are number "
                f"{services.waitlist_position(delegate)}; if you leave, you lose that place in "
                "the queue.")
        confirm = "Leave the waitlist"
    else:
        waiting = len(services.waitlist(conference))
        text = (f"Cancel your registration for {conference.name}, {delegate.name}? You give up "
                "your place, your badge and your seats in the carousels and World Cafe"
                + ("; the first person on the waitlist gets your place." if waiting else ".")
                + " Only the organisers can register you again.")
        confirm = "Cancel my registration"
    return Reply(text, code="confirm_cancel", actions=[
        Action(confirm, "cancel_confirm", value=str(delegate.id), style="danger"),
        Action("Keep my place", "cancel_keep")])


def cancelled_reply(delegate: Delegate, cancelled_now: bool) -> Reply:
    """Confirm a withdrawal, or say it had already happened (a second press changes nothing)."""
    if not cancelled_now:
        return Reply(f"Your registration for {delegate.conference.name} was already cancelled — "
                     "nothing has changed.", code="canceled")
    return Reply(f"Done: your registration for {delegate.conference.name} is cancelled, "
                 f"{delegate.name}. Ask the organisers if you change your mind.", code="cancelled")


def nothing_to_cancel(conference: Conference, *, organiser: bool = False) -> Reply:
    """Tell someone without a registration that there is nothing to cancel."""
    text = f"You have no registration for {conference.name} to cancel."
    if organiser:
        text += " To withdraw a delegate, change their status on the delegates page."
    return Reply(text, code="not_found")


# --------------------------------------------------------------------------- dispatch


def answer(intent: Intent, delegate: Delegate, *, base_url: str = "") -> Reply:
    """Answer a parsed question for a known delegate."""
    handlers: dict[str, Callable[[], Reply]] = {
        "next": lambda: answer_next(delegate, kind=intent.kind, base_url=base_url),
        "agenda": lambda: answer_agenda(delegate, day=intent.day, base_url=base_url),
        "table": lambda: answer_table(delegate, round_number=intent.round),
        "host": lambda: answer_host(delegate, round_number=intent.round),
        "roster": lambda: answer_roster(delegate, round_number=intent.round),
        "when": lambda: answer_when(delegate, intent.query or ""),
        "where": lambda: answer_where(delegate, intent.query or ""),
        "prefs": lambda: Reply("Rank the carousel workshops:", code="prefs",
                               actions=[Action("Rank workshops", "home_prefs")]),
        "signup": lambda: Reply("You are already registered.", code="registered",
                                links=delegate_links(delegate, base_url)),
    }
    handler = handlers.get(intent.name)
    return handler() if handler else help_reply()


# --------------------------------------------------------------------------- organiser commands


def allocate_started(session) -> Reply:
    """Return the immediate answer to ``allocate``: the work has started."""
    return Reply(f"Allocating {session.title} … I will send you the figures in a DM.")


def allocation_report(session, plan, *, base_url: str = "") -> Reply:
    """Describe a new draft plan: its version, figures and how to publish it."""
    stats = plan.stats or {}
    if session.kind == "carousel":
        figures = [f"{stats.get('first_choice_pct', 0)}% of delegates who ranked got their "
                   "first choice in one of their slots"]
        if stats.get("optimal"):
            figures.append("proven optimal")
        elif stats.get("lower_bound") is not None:
            figures.append(f"lower bound {stats['lower_bound']}")
        ref = "carousel"
        review = f"{base_url}/organiser/{session.conference.slug}/carousels/{session.id}/"
    else:
        figures = [f"{stats.get('repeat_pairs', 0)} repeated meetings",
                   f"{stats.get('same_org_pairs', 0)} same-trust pairs "
                   f"(lower bound {stats.get('same_org_lower_bound', 0)})"]
        ref = "cafe"
        review = f"{base_url}/organiser/{session.conference.slug}/cafe/{session.id}/"
    if stats.get("seconds") is not None:
        figures.append(f"{stats['seconds']} s")
    return Reply(f"Draft version {plan.version} of {session.title} is ready: " + "; ".join(figures)
                 + f". Publish it with `/convenor publish {ref} {plan.version}`.",
                 links=[Link("Review the plan", review)] if base_url else [])


def publish_report(session, result: dict) -> Reply:
    """Describe a publish: the version and how many delegates are seated and told."""
    return Reply(f"Published version {result.get('version')} of {session.title}: "
                 f"{result.get('delegates', 0)} delegates are seated and will be told.")


def round_report(session, result: dict) -> Reply:
    """Describe a started round or slot."""
    unit = "Slot" if session.kind == "carousel" else "Round"
    return Reply(f"{unit} {result.get('number')} of {session.title} started: "
                 f"{result.get('delegates', 0)} delegates told where to go.")


def announce(conference: Conference, text: str, organiser: Organiser, *, channel: bool) -> Reply:
    """Send an announcement to every screen (and the channel through the signal)."""
    live_services.create_announcement(conference, {"text": text}, organiser)
    return Reply("Sent to every screen" + (" and the conference channel." if channel else "."))


def stats_reply(conference: Conference) -> Reply:
    """Summarise arrivals, rankings and reach for organisers."""
    figures = rounds.organiser_stats(conference)
    door = figures.get("door", {})
    items = [Item("Arrivals", detail=f"{door.get('arrived', 0)} of {door.get('expected', 0)}")]
    for block in figures.get("blocks", []):
        bits = []
        if block.get("published_version"):
            bits.append(f"published v{block['published_version']}")
        else:
            bits.append("not published")
        if block.get("rankings_received") is not None:
            bits.append(f"{block['rankings_received']} of {block.get('active_delegates', 0)} ranked")
        for key, label in (("first_choice_pct", "% first choice"), ("repeat_pairs", " repeats"),
                           ("same_org_pairs", " same-trust pairs")):
            if block.get(key) is not None:
                bits.append(f"{block[key]}{label}")
        items.append(Item(block.get("title", ""), detail=", ".join(bits)))
    slack = figures.get("slack", {})
    items.append(Item("On Slack", detail=f"{slack.get('linked', 0)} of {slack.get('active', 0)} "
                                         "delegates linked"))
    return Reply(f"{conference.name} — figures now:", items=items)

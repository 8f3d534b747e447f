"""The deterministic demo conference: "Delivering Inclusive Excellence"."""

from __future__ import annotations

import os
import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from events import hooks
from events.conference.models import ApiToken, Conference, Delegate, Organiser, Room, Session, Speaker
from events.conference.services import hash_token
from events.extensions import db

SLUG = "trust-leaders-2027"
DAY = date(2027, 3, 11)
TZ = ZoneInfo("Europe/London")
ORGANISER_EMAIL = "organiser@example.org"
DOOR_EMAIL = "door@example.org"

ROOMS = [
    # name, seats, step-free, hearing loop
    ("Main Hall", 420, True, True),
    ("Foyer", 500, True, False),
    ("Atrium", 340, True, True),
    ("Abbey Room", 40, True, True),
    ("Albert Room", 36, True, False),
    ("Britten Room", 36, True, True),
    ("Fleming Room", 36, False, False),
    ("Moore Room", 36, True, False),
    ("Rutherford Room", 36, True, True),
    ("Whittle Room", 32, False, True),
    ("Mountbatten Room", 40, True, True),
    ("Pickwick Room", 32, True, False),
]

SPEAKERS = {
    "yates": ("Jon Yates", "", "Youth Endowment Fund",
              "Jon Yates leads the Youth Endowment Fund, which funds and evaluates work to keep "
              "children and young people safe from involvement in violence. He speaks on what "
              "the evidence says about making schools a safe space for everyone."),
    "cruddas": ("Leora Cruddas", "CBE", "Confederation of School Trusts",
                "Leora Cruddas is chief executive of the Confederation of School Trusts, the "
                "national organisation for school trusts in England. She shares emerging "
                "insights into what inclusive excellence looks like across trusts."),
    "adepitan": ("Ade Adepitan", "MBE", "Paralympic medallist and broadcaster",
                 "Ade Adepitan is a Paralympic wheelchair basketball medallist and television "
                 "presenter. He talks about overcoming obstacles, and what adults in schools "
                 "can do to help every child believe they belong."),
    "white": ("Kieron White", "", "",
              "Kieron White leads an expert carousel on how AI is changing the work of trust "
              "and school leaders, from strategy to day-to-day operations."),
    "atherton": ("Pete F. Atherton", "PhD", "",
                 "Dr Pete F. Atherton researches and teaches about technology in education. His "
                 "carousel looks at AI in the classroom: what helps learning and what does not."),
    "shirley": ("Cheryl Shirley", "", "LEO Academy Trust",
                "Cheryl Shirley of LEO Academy Trust shares how a trust rolled out technology "
                "and AI across its primary schools, and what it learned on the way."),
}

PROGRAMME = [
    # start, end, kind, title, room, speakers, description
    ("08:00", "09:00", "break", "Registration, coffee and partner exhibition", "Foyer", [],
     "Collect your badge at the door and meet our partners."),
    ("09:00", "09:15", "plenary", "Welcome: Delivering Inclusive Excellence", "Main Hall", [],
     "Why inclusion and excellence belong together, and how today works."),
    ("09:15", "10:00", "keynote", "Making schools a safe space for everyone", "Main Hall",
     ["yates"], "What the evidence tells us about keeping every child safe and included."),
    ("10:00", "10:45", "keynote", "Emerging insights into inclusive excellence in trusts",
     "Main Hall", ["cruddas"],
     "How school trusts are building inclusive excellence for the 1.5 million pupils with "
     "special educational needs and disabilities."),
    ("10:45", "11:10", "break", "Coffee break", "Foyer", [], ""),
    ("11:10", "12:40", "carousel", "Carousels: AI and technology, and peer-led workshops", None,
     ["white", "atherton", "shirley"],
     "Three rotations of small workshops. Expert-led: AI and technology from different "
     "perspectives. Peer-led: SEND inclusion, attendance and belonging, and the role of trusts."),
    ("12:40", "13:30", "break", "Lunch", "Foyer", [], "Dietary needs are catered for."),
    ("13:30", "14:45", "world_cafe", "World Cafe: what will it take to deliver inclusive "
     "excellence?", "Atrium", [],
     "Timed rounds at small tables: a host stays, everyone else moves to meet new colleagues."),
    ("14:45", "15:00", "break", "Afternoon break", "Foyer", [], ""),
    ("15:00", "15:45", "keynote", "Overcoming obstacles", "Main Hall", ["adepitan"],
     "A story of resilience, sport and belonging."),
    ("15:45", "16:00", "plenary", "Closing remarks and thanks to our partners", "Main Hall", [],
     ""),
]

FIRST = ("Aisha Amelia Amir Anna Ben Bethan Callum Chloe Daniel Deborah Eleanor Emeka Fatima "
         "Fiona Gareth Grace Hannah Harpreet Ian Imran Jade James Joanne Jonathan Kate Kwame "
         "Laura Liam Lucy Mark Mary Matthew Mei Michael Nadia Naomi Neil Nicola Oliver Olivia "
         "Priya Rachel Rebecca Richard Rosa Ruth Sam Sarah Simon Sophie Stephen Tariq Thomas "
         "Tom Uchenna Victoria William Yusuf Zara").split()
LAST = ("Adams Ahmed Ali Allen Bailey Baker Bell Brown Campbell Carter Chen Clarke Cooper Davies "
        "Edwards Evans Fisher Green Hall Harris Hill Hughes Hussain Jackson James Johnson Jones "
        "Kaur Khan King Lewis Martin Mensah Mitchell Moore Morgan Murphy Nguyen Okafor Owen "
        "Patel Phillips Price Roberts Robinson Scott Shah Singh Smith Taylor Thomas Thompson "
        "Turner Walker Ward Watson White Williams Wilson Wood Wright Young").split()
TRUST_WORDS = ("Oak Ash Beech Rowan Willow Cedar Elm Maple Hawthorn Holly Linden Alder Birch "
               "Chestnut Juniper Laurel Poplar Sycamore Yew Heather Meridian Horizon Compass "
               "Beacon Lighthouse Harbour Summit Pennine Thames Severn Mersey Tyne Wessex "
               "Mercia Northumbria Fenland Chiltern Cotswold Dales Weald").split()
TRUST_KINDS = ("Learning Trust", "Academy Trust", "Multi-Academy Trust", "Education Trust",
               "Schools Partnership", "Trust")
ROLES = [("Chief Executive Officer", 30), ("Deputy CEO", 8), ("Executive Headteacher", 14),
         ("Headteacher", 26), ("Director of Education", 10), ("Director of Inclusion", 7),
         ("Trust SEND Lead", 7), ("Chief Operating Officer", 6), ("Chair of Trustees", 4),
         ("Trustee", 3)]
REGIONS = ["London", "South East", "South West", "East of England", "West Midlands",
           "East Midlands", "North West", "North East", "Yorkshire and the Humber"]
DIETS = ["", "", "", "", "", "", "", "vegetarian", "vegan", "halal", "gluten-free",
         "nut allergy", "kosher", "dairy-free"]
OTHER_NEEDS = ["large-print materials", "BSL interpreter", "seat near an exit",
               "quiet room access", "reserved seat near the front"]


@dataclass
class DemoResult:
    """What ``seed_demo`` did and the credentials to print."""

    created: bool
    password: str
    token: str
    counts: dict = field(default_factory=dict)

    def summary(self) -> str:
        """Return the text the CLI prints."""
        verb = "created" if self.created else "already present; credentials renewed"
        # `make demo` serves on HOST/PORT (default 127.0.0.1:5000); print the address it will use.
        site = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
        lines = [
            f"Demo conference '{SLUG}' {verb}: "
            + ", ".join(f"{v} {k}" for k, v in self.counts.items()),
            "",
            f"Open {site} and sign in:",
            f"  organiser  {ORGANISER_EMAIL}  password: {self.password}",
            f"  door staff {DOOR_EMAIL}  password: {self.password}",
            f"  API token  {self.token}",
            f"Door scanner: {site}/door/{SLUG}/   "
            f"Arrivals: {site}/organiser/{SLUG}/checkin/",
        ]
        return "\n".join(lines)


def demo_time(hhmm: str) -> datetime:
    """Return ``"HH:MM"`` on the demo conference's first day, in its time zone."""
    hour, minute = map(int, hhmm.split(":"))
    return datetime.combine(DAY, time(hour, minute), tzinfo=TZ)


def demo_delegates(rng: random.Random, count: int = 300, trusts: int = 40) -> list[dict]:
    """Return ``count`` realistic delegates from ``trusts`` trusts of uneven size."""
    trusts = max(1, min(trusts, count // 2))
    words = rng.sample(TRUST_WORDS, trusts)
    names = [f"{w} {rng.choice(TRUST_KINDS)}" for w in words]
    weights = [1 / (i + 1) ** 0.6 for i in range(trusts)]
    roles, role_weights = zip(*ROLES, strict=True)
    seen: set[str] = set()
    people = []
    # Every trust sends at least two people; the rest follow a long-tailed size distribution.
    trust_of = [i for i in range(trusts) for _ in range(2)]
    trust_of += rng.choices(range(trusts), weights=weights, k=count - len(trust_of))
    for index in trust_of:
        trust = names[index]
        domain = words[index].lower() + "trust.org.uk"
        while True:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first}.{last}@{domain}".lower()
            if email not in seen:
                seen.add(email)
                break
        roll = rng.random()
        people.append({
            "name": f"{first} {last}",
            "email": email,
            "organisation": trust,
            "role": rng.choices(roles, weights=role_weights)[0],
            "region": REGIONS[index % len(REGIONS)],
            "needs_step_free": roll < 0.04,
            "needs_hearing_loop": 0.04 <= roll < 0.07,
            "access_other": rng.choice(OTHER_NEEDS) if 0.07 <= roll < 0.09 else "",
            "dietary": rng.choice(DIETS),
        })
    return people


def _credentials() -> tuple[str, str]:
    """Create or renew the demo organiser and door-staff accounts; return password and token."""
    password = secrets.token_urlsafe(9)
    conference = db.session.scalar(select(Conference).where(Conference.slug == SLUG))
    accounts = []
    for email, role, name in ((ORGANISER_EMAIL, "organiser", "Demo Organiser"),
                              (DOOR_EMAIL, "door_staff", "Door Desk")):
        account = db.session.scalar(select(Organiser).where(Organiser.email == email))
        if account is None:
            account = Organiser(email=email, role=role, name=name, password_hash="")
            db.session.add(account)
        account.password_hash = generate_password_hash(password)
        if conference not in account.conferences:
            account.conferences.append(conference)
        accounts.append(account)
    organiser = accounts[0]
    for old in list(organiser.tokens):
        if old.label == "demo":
            db.session.delete(old)
    token = "cvn_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(organiser=organiser, token_hash=hash_token(token), prefix=token[:10],
                            label="demo"))
    db.session.commit()
    return password, token


def seed_demo() -> DemoResult:
    """Create the demo conference unless present, then (re)issue demo credentials."""
    conference = db.session.scalar(select(Conference).where(Conference.slug == SLUG))
    created = conference is None
    if created:
        conference = Conference(
            slug=SLUG,
            name="Delivering Inclusive Excellence — Trust Leaders' Conference",
            tagline="Schools where every child belongs",
            starts_on=DAY,
            ends_on=DAY,
            timezone="Europe/London",
            venue="QEII Centre, Broad Sanctuary, Westminster, London SW1P 3EE",
            about="A day for chief executives, headteachers and senior leaders of school "
            "trusts to work out together what it takes to deliver inclusive excellence: schools "
            "where every child belongs, including the 1.5 million pupils with special "
            "educational needs and disabilities.",
            partners="Confederation of School Trusts\nAmbition Institute\nImpactEd Group\n"
            "Social Business Trust\nSponsor: Leading AI",
            published=True,
        )
        db.session.add(conference)
        rooms = {}
        for name, seats, step_free, loop in ROOMS:
            rooms[name] = Room(conference=conference, name=name, capacity=seats,
                               step_free=step_free, hearing_loop=loop)
        speakers = {}
        for key, (name, honours, organisation, bio) in SPEAKERS.items():
            speakers[key] = Speaker(conference=conference, name=name, honours=honours,
                                    organisation=organisation, bio=bio)
        db.session.add_all([*rooms.values(), *speakers.values()])
        for start, end, kind, title, room, who, description in PROGRAMME:
            session = Session(conference=conference, kind=kind, title=title,
                              description=description, starts_at=demo_time(start),
                              ends_at=demo_time(end),
                              room=rooms[room] if room else None)
            session.speakers = [speakers[k] for k in who]
            db.session.add(session)
        rng = random.Random(2027)
        db.session.add_all(Delegate(conference=conference, **d) for d in demo_delegates(rng))
        db.session.commit()
        for hook in hooks.DEMO_HOOKS:
            hook(conference)
    password, token = _credentials()
    counts = {
        "rooms": len(conference.rooms),
        "speakers": len(conference.speakers),
        "sessions": len(conference.sessions),
        "delegates": conference.delegates.count(),
    }
    return DemoResult(created=created, password=password, token=token, counts=counts)


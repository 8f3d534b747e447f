"""The plain answer every bot adapter renders: Slack blocks, the web chat, notifications.

Pure core: stdlib only. ``bot/answers.py`` builds a ``Reply`` from the services;
``bot/blocks.py`` turns it into Block Kit or plain text. Nothing here knows Slack,
so every string in a ``Reply`` is raw (unescaped) text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Values of ``Item.status``: ordinary, cancelled (shown struck through and in words), in progress.
ITEM_STATUSES = ("", "cancelled", "now")


@dataclass(frozen=True)
class Item:
    """One line of an answer: a session, a seat, a table, a person."""

    title: str
    #: "11:40" or "11:40–12:20"; already in the conference's zone.
    when: str = ""
    #: The room or place.
    where: str = ""
    #: A second line: speakers, leaders, host, the table's question, an organisation.
    detail: str = ""
    #: One of ITEM_STATUSES.
    status: str = ""


@dataclass(frozen=True)
class Link:
    """A labelled link; adapters show only http(s) URLs as links."""

    label: str
    url: str


@dataclass(frozen=True)
class Action:
    """A suggested next step, a button in Slack (``action_id`` is the listener's name)."""

    label: str
    action_id: str
    value: str = ""
    #: "" (default), "primary" or "danger".
    style: str = ""


@dataclass(frozen=True)
class Reply:
    """An answer: a headline sentence, then items, links, actions and a footer."""

    #: The headline sentence.
    text: str
    items: list[Item] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    #: The service's error code when the answer reports a refusal ("not_found", "forbidden" …), else None.
    code: str | None = None
    #: A closing remark, shown small.
    footer: str = ""

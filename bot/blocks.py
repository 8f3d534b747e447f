"""Render a ``Reply`` as Slack Block Kit or as plain text.

Pure core: stdlib only, no I/O. Every string that reaches a ``mrkdwn`` text object
passes through ``escape`` (a delegate called ``<!channel>`` must never ping a
channel, ``<https://x|y>`` must show literally); ``plain_text`` objects (buttons,
headers, modal titles) are not parsed by Slack and are sent as they are.
Slack's limits are enforced here: 50 blocks in a message, 100 in a view or modal,
3,000 characters in a section, 25 buttons in an actions block.
"""

from __future__ import annotations

from typing import Any

# Absolute import on purpose: the architecture test lets pure modules import only
# a few sibling names relatively.
from bot.reply import Action, Item, Link, Reply

Block = dict[str, Any]

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_CHARS = 3000
CONTEXT_CHARS = 2000
HEADER_CHARS = 150
BUTTON_CHARS = 75
BUTTON_VALUE_CHARS = 2000
ACTION_ID_CHARS = 255
BUTTONS_PER_BLOCK = 25
MODAL_TITLE_CHARS = 24
PRIVATE_METADATA_CHARS = 3000
BUTTON_STYLES = ("primary", "danger")
SEE_YOUR_PAGE = "… and {n} more — see your page"


def escape(text: str) -> str:
    """Escape Slack's control characters &, < and > for a mrkdwn text object."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def is_web_url(url: str) -> bool:
    """Tell whether ``url`` is an absolute http(s) URL, the only kind shown as a link."""
    lowered = url.strip().lower()
    return lowered.startswith(("http://", "https://")) and len(lowered) > len("https://")


def _cut(text: str, limit: int) -> str:
    """Shorten ``text`` to ``limit`` characters with an ellipsis, never splitting an entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _plain(text: str, limit: int = SECTION_CHARS) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit) or " ", "emoji": True}


def _mrkdwn(text: str, limit: int = SECTION_CHARS) -> dict[str, Any]:
    """Wrap already-escaped mrkdwn; ``verbatim`` stops Slack turning bare names into links."""
    return {"type": "mrkdwn", "text": _cut(text, limit) or " ", "verbatim": True}


def _section(mrkdwn: str) -> Block:
    return {"type": "section", "text": _mrkdwn(mrkdwn)}


def _context(mrkdwn: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(mrkdwn, CONTEXT_CHARS)]}


def _item_mrkdwn(item: Item) -> str:
    parts = [f"*{escape(item.when)}*" if item.when else "", escape(item.where)]
    head = " · ".join(part for part in parts if part)
    line = f"{head} — {escape(item.title)}" if head else escape(item.title)
    if item.status == "cancelled":
        line = f"~{line}~ (cancelled)"
    elif item.status == "now":
        line += " (now)"
    if item.detail:
        line += "\n" + escape(item.detail)
    return line


def _item_block(item: Item) -> Block:
    return _section(_item_mrkdwn(item))


def _link_mrkdwn(link: Link) -> str:
    label = escape(link.label) or escape(link.url)
    if not is_web_url(link.url):
        return label
    # In <url|label> a "|" or ">" in the URL would end it early; "&" must be an entity.
    url = escape(link.url.strip()).replace("|", "%7C")
    return f"<{url}|{label}>"


def _links_block(links: list[Link]) -> Block:
    return _section(" · ".join(_link_mrkdwn(link) for link in links))


def _button(action: Action) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _plain(action.label, BUTTON_CHARS),
        "action_id": action.action_id[:ACTION_ID_CHARS],
    }
    if action.value:
        button["value"] = action.value[:BUTTON_VALUE_CHARS]
    if action.style in BUTTON_STYLES:
        button["style"] = action.style
    return button


def actions_block(actions: list[Action]) -> Block:
    """Return an ``actions`` block of buttons (the first 25)."""
    return {"type": "actions", "elements": [_button(a) for a in actions[:BUTTONS_PER_BLOCK]]}


def to_blocks(reply: Reply, *, max_blocks: int = MESSAGE_BLOCKS) -> list[Block]:
    """Render ``reply`` as at most ``max_blocks`` Block Kit blocks.

    Order: the headline, one section per item, links, buttons, footer. When the items
    do not fit, the last item shown is followed by a context block
    "… and N more — see your page"; if even the extras do not fit, the footer goes
    first, then the links, then the buttons.
    """
    if max_blocks < 1:
        raise ValueError("max_blocks must be at least 1")
    head = [_section(escape(reply.text))]
    extras: dict[str, Block] = {}
    if reply.links:
        extras["links"] = _links_block(reply.links)
    if reply.actions:
        extras["actions"] = actions_block(reply.actions)
    if reply.footer:
        extras["footer"] = _context(escape(reply.footer))
    items = reply.items
    if len(head) + len(items) + len(extras) <= max_blocks:
        return head + [_item_block(i) for i in items] + list(extras.values())
    # Too many items: keep one block for "and N more", shedding extras if even that does not fit.
    for name in ("footer", "links", "actions"):
        if len(head) + 1 + len(extras) <= max_blocks:
            break
        extras.pop(name, None)
    room = max_blocks - len(head) - len(extras) - 1
    if room < 0:
        return head
    shown = items[:room]
    more = _context(escape(SEE_YOUR_PAGE.format(n=len(items) - len(shown))))
    return head + [_item_block(i) for i in shown] + [more] + list(extras.values())


def _item_text(item: Item) -> str:
    head = " · ".join(part for part in (item.when, item.where) if part)
    line = f"{head} — {item.title}" if head else item.title
    if item.detail:
        line += f" — {item.detail}"
    if item.status == "cancelled":
        line += " (cancelled)"
    elif item.status == "now":
        line += " (now)"
    return line


def _link_text(link: Link) -> str:
    url = link.url.strip()
    if is_web_url(url) or (url.startswith("/") and not url.startswith("//")):
        return f"{link.label}: {url}" if link.label else url
    return link.label


def to_text(reply: Reply) -> str:
    """Render ``reply`` as plain text: the headline, one line per item, "label: url" links, footer.

    Nothing is escaped: the web chat inserts it with ``textContent`` and Slack's
    notification fallback is shown as text.
    """
    lines = [reply.text]
    lines += [_item_text(item) for item in reply.items]
    lines += [text for text in (_link_text(link) for link in reply.links) if text]
    if reply.footer:
        lines.append(reply.footer)
    return "\n".join(line for line in lines if line)


def header(text: str) -> Block:
    """Return a ``header`` block (plain text, 150 characters)."""
    return {"type": "header", "text": _plain(text, HEADER_CHARS)}


def home_view(reply_next: Reply, agenda: Reply, *, actions: list[Action],
              organiser: Reply | None = None) -> dict[str, Any]:
    """Return the App Home view: the next item, the buttons, today's agenda, the organiser section.

    At most 100 blocks: the next item and the organiser section take up to 15 each, the
    agenda gets what is left and ends with "see your page" when it is cut.
    """
    top = [header("What's next"), *to_blocks(reply_next, max_blocks=15)]
    if actions:
        top.append(actions_block(actions))
    bottom: list[Block] = []
    if organiser is not None:
        bottom = [{"type": "divider"}, header("Organisers"), *to_blocks(organiser, max_blocks=15)]
    middle_head = [{"type": "divider"}, header("Today")]
    room = VIEW_BLOCKS - len(top) - len(bottom) - len(middle_head)
    blocks = top + middle_head + to_blocks(agenda, max_blocks=room) + bottom
    return {"type": "home", "blocks": blocks}


def modal(callback_id: str, title: str, blocks: list[Block], submit: str = "Save",
          private_metadata: str = "") -> dict[str, Any]:
    """Return a modal view; ``title`` and ``submit`` are cut to Slack's 24 characters.

    An empty ``submit`` gives a modal without a submit button (only for views with no
    inputs). Raises ``ValueError`` for more than 100 blocks or over-long metadata,
    which cutting would corrupt.
    """
    if len(blocks) > VIEW_BLOCKS:
        raise ValueError(f"a modal holds at most {VIEW_BLOCKS} blocks, got {len(blocks)}")
    if len(private_metadata) > PRIVATE_METADATA_CHARS:
        raise ValueError(f"private_metadata is limited to {PRIVATE_METADATA_CHARS} characters")
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title, MODAL_TITLE_CHARS),
        "close": _plain("Cancel", MODAL_TITLE_CHARS),
        "blocks": list(blocks),
    }
    if submit:
        view["submit"] = _plain(submit, MODAL_TITLE_CHARS)
    if private_metadata:
        view["private_metadata"] = private_metadata
    return view

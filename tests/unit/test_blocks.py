"""Rendering a Reply: Slack escaping, block limits, plain text, App Home and modals."""

from __future__ import annotations

import json

import pytest

from bot.blocks import escape, home_view, modal, to_blocks, to_text
from bot.reply import Action, Item, Link, Reply

EVIL = "<!channel>"
LINKY = "<https://x|y>"


def texts(blocks, kind="mrkdwn"):
    """Every text object of one type in the blocks, however deeply nested."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == kind and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def agenda(n, **extra):
    items = [Item(f"Session {i}", when=f"{9 + i // 12:02d}:{i % 12 * 5:02d}", where="Room B")
             for i in range(n)]
    return Reply("Your day", items=items, **extra)


def test_escape_replaces_the_three_control_characters():
    assert escape(EVIL) == "&lt;!channel&gt;"
    assert escape(LINKY) == "&lt;https://x|y&gt;"
    assert escape("Q&A") == "Q&amp;A"
    assert escape("&lt;") == "&amp;lt;"  # already-escaped text shows literally, too
    assert escape("*bold* _it_") == "*bold* _it_"


def test_delegate_strings_are_escaped_everywhere_in_mrkdwn():
    reply = Reply(
        f"Hello {EVIL}",
        items=[Item(EVIL, when=EVIL, where=LINKY, detail=f"Host {EVIL} & co", status="cancelled"),
               Item(LINKY, detail=EVIL, status="now")],
        links=[Link(EVIL, "https://example.org/me/abc"), Link(LINKY, "javascript:alert(1)")],
        actions=[Action(EVIL, "home_next", value=EVIL)],
        footer=f"Footer {EVIL}",
    )
    blocks = to_blocks(reply)
    mrkdwn = texts(blocks)
    assert mrkdwn, "expected mrkdwn text"
    joined = "\n".join(mrkdwn)
    assert "<!" not in joined
    assert "<https://x" not in joined
    assert joined.count("&lt;!channel&gt;") == 7  # headline, title, when, detail ×2, link label, footer
    assert "&lt;https://x|y&gt;" in joined
    assert "Host &lt;!channel&gt; &amp; co" in joined
    # the only raw "<" left is the one real link, whose label is escaped
    assert joined.count("<") == 1
    assert "<https://example.org/me/abc|&lt;!channel&gt;>" in joined
    # plain_text (the button) is never parsed by Slack, so it is sent as typed
    assert texts(blocks, "plain_text") == [EVIL]


def test_only_http_links_become_links():
    reply = Reply("Links", links=[Link("Page", "https://example.org/me/t?a=1&b=2"),
                                  Link("Feed", "http://example.org/feed.ics"),
                                  Link("Evil", "javascript:alert(1)"),
                                  Link("Mail", "mailto:a@example.org"),
                                  Link("Pipe", "https://example.org/a|b>c")])
    (links,) = [b for b in to_blocks(reply) if b["type"] == "section"][1:]
    text = links["text"]["text"]
    assert "<https://example.org/me/t?a=1&amp;b=2|Page>" in text
    assert "<http://example.org/feed.ics|Feed>" in text
    assert "javascript" not in text and "mailto" not in text
    assert "Evil" in text and "Mail" in text
    assert "<https://example.org/a%7Cb&gt;c|Pipe>" in text


def test_items_render_when_where_title_and_detail():
    reply = Reply("Next", items=[Item("AI in the classroom", when="11:40", where="Mountbatten Room",
                                      detail="with Pete F. Atherton PhD")])
    item = to_blocks(reply)[1]
    assert item["type"] == "section"
    assert item["text"]["text"] == ("*11:40* · Mountbatten Room — AI in the classroom\n"
                                    "with Pete F. Atherton PhD")


def test_cancelled_items_are_struck_through_and_say_so_in_words():
    reply = Reply("Day", items=[Item("Panel", when="14:00", where="Hall", status="cancelled"),
                                Item("Keynote", when="15:00", status="now")])
    cancelled, now = (b["text"]["text"] for b in to_blocks(reply)[1:])
    assert cancelled.startswith("~") and "~ (cancelled)" in cancelled
    assert "Panel" in cancelled
    assert now.endswith("(now)") and "cancelled" not in now
    text = to_text(reply)
    assert "14:00 · Hall — Panel (cancelled)" in text
    assert "15:00 — Keynote (now)" in text


def test_actions_become_buttons():
    reply = Reply("Hi", actions=[Action("What's next", "home_next", value="1", style="primary"),
                                 Action("Odd", "odd", style="purple")])
    (block,) = [b for b in to_blocks(reply) if b["type"] == "actions"]
    first, second = block["elements"]
    assert first == {"type": "button", "text": {"type": "plain_text", "text": "What's next", "emoji": True},
                     "action_id": "home_next", "value": "1", "style": "primary"}
    assert "style" not in second and "value" not in second


def test_a_long_agenda_stays_under_fifty_blocks_and_points_to_the_page():
    blocks = to_blocks(agenda(200))
    assert len(blocks) <= 50
    assert blocks[-1]["type"] == "context"
    last = blocks[-1]["elements"][0]["text"]
    shown = sum(1 for b in blocks if b["type"] == "section") - 1
    assert last == f"… and {200 - shown} more — see your page"
    assert shown + (200 - shown) == 200


def test_a_long_agenda_keeps_its_links_buttons_and_footer():
    reply = agenda(200, links=[Link("Your page", "https://example.org/me/t")],
                   actions=[Action("What's next", "home_next")], footer="Times in Europe/London")
    blocks = to_blocks(reply)
    assert len(blocks) == 50
    kinds = [b["type"] for b in blocks]
    assert kinds[-4:] == ["context", "section", "actions", "context"]
    assert "see your page" in blocks[-4]["elements"][0]["text"]
    assert "Your page" in blocks[-3]["text"]["text"]


def test_exactly_fitting_items_need_no_overflow_line():
    blocks = to_blocks(agenda(49))
    assert len(blocks) == 50
    assert "see your page" not in json.dumps(blocks)


@pytest.mark.parametrize("max_blocks", [1, 2, 3, 4, 5, 10])
def test_tiny_limits_are_respected(max_blocks):
    reply = agenda(30, links=[Link("Page", "https://example.org")],
                   actions=[Action("Next", "home_next")], footer="f")
    blocks = to_blocks(reply, max_blocks=max_blocks)
    assert 1 <= len(blocks) <= max_blocks
    assert blocks[0]["text"]["text"] == "Your day"


def test_max_blocks_must_be_positive():
    with pytest.raises(ValueError):
        to_blocks(Reply("x"), max_blocks=0)


def test_long_text_is_cut_to_slack_limits_without_breaking_an_entity():
    blocks = to_blocks(Reply("&" * 5000))
    text = blocks[0]["text"]["text"]
    assert len(text) <= 3000
    assert text.endswith("&amp;…")


def test_empty_text_is_still_a_valid_text_object():
    assert to_blocks(Reply(""))[0]["text"]["text"] == " "


def test_to_text_is_plain_and_unescaped():
    reply = Reply(
        f"Your next {EVIL}",
        items=[Item("AI & you", when="11:40", where="Room B", detail="with Pete"), Item("Lunch")],
        links=[Link("Your page", "https://example.org/me/t"), Link("Calendar", "/me/t/agenda.ics"),
               Link("Evil", "javascript:alert(1)")],
        actions=[Action("What's next", "home_next")],
        footer="Times are in London time.",
    )
    assert to_text(reply) == "\n".join([
        "Your next <!channel>",
        "11:40 · Room B — AI & you — with Pete",
        "Lunch",
        "Your page: https://example.org/me/t",
        "Calendar: /me/t/agenda.ics",
        "Evil",
        "Times are in London time.",
    ])


def test_to_text_of_a_bare_reply_is_its_headline():
    assert to_text(Reply("Nothing next: the conference is over.")) == "Nothing next: the conference is over."


def test_home_view_stays_under_a_hundred_blocks():
    view = home_view(
        Reply("Carousel 2 · 11:40", items=[Item("AI in the classroom")]),
        agenda(300, links=[Link("Your page", "https://example.org/me/t")]),
        actions=[Action("What's next", "home_next"), Action("My table", "home_table"),
                 Action("Rank workshops", "home_prefs")],
        organiser=agenda(40),
    )
    assert view["type"] == "home"
    blocks = view["blocks"]
    assert len(blocks) <= 100
    dumped = json.dumps(blocks)
    assert "see your page" in dumped
    assert [b["text"]["text"] for b in blocks if b["type"] == "header"] == ["What's next", "Today",
                                                                              "Organisers"]
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["home_next", "home_table", "home_prefs"]


def test_home_view_escapes_too():
    view = home_view(Reply(EVIL), Reply("Today", items=[Item(EVIL)]), actions=[])
    assert "<!" not in "".join(texts(view["blocks"]))
    assert [b["type"] for b in view["blocks"]][-1] == "section"
    assert not any(b["type"] == "actions" for b in view["blocks"])


def test_modal_truncates_its_title_and_submit():
    view = modal("prefs", "Rank the workshops of Carousel 2", [], submit="Save my ranking please now",
                 private_metadata='{"session": 3}')
    assert view["type"] == "modal" and view["callback_id"] == "prefs"
    assert len(view["title"]["text"]) == 24 and view["title"]["text"].endswith("…")
    assert view["title"]["type"] == "plain_text"
    assert len(view["submit"]["text"]) <= 24
    assert view["private_metadata"] == '{"session": 3}'
    short = modal("signup", "Sign up", [{"type": "divider"}])
    assert short["title"]["text"] == "Sign up" and short["submit"]["text"] == "Save"
    assert "private_metadata" not in short
    assert "submit" not in modal("info", "Info", [], submit="")


def test_modal_refuses_what_cutting_would_corrupt():
    with pytest.raises(ValueError):
        modal("x", "X", [{"type": "divider"}] * 101)
    with pytest.raises(ValueError):
        modal("x", "X", [], private_metadata="x" * 3001)

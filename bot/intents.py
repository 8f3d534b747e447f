"""Understand a delegate's question in plain words: "what's my next carousel?", "tabel round 3".

Pure core: stdlib only, no I/O, deterministic. ``parse`` returns an ``Intent``
naming what was asked and the few things it needs (a session kind, a round, a
search text, a day); ``bot/answers.py`` turns it into a ``Reply``.

How it reads a message: strip a leading ``<@U123>`` mention, Slack's entity
escapes and ``:emoji:`` codes; split into words (accents and case folded,
"what's" read as "what is"); correct typos of the few keywords that matter
(an alias table, one swapped pair of letters, then ``difflib`` at 0.8); then try
the intents in a fixed order, most specific first (a link code, help, sign-up,
ranking, roster, host, table, next, agenda, when, where). Search texts keep the
delegate's own spelling and case.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

INTENT_NAMES = ("next", "agenda", "table", "host", "roster", "when", "where", "signup", "prefs",
                "link", "help", "unknown")


@dataclass(frozen=True)
class Intent:
    """What a message asks: an intent name and its arguments (None when not given)."""

    name: str
    #: Session kind for ``next``: "carousel", "world_cafe", "keynote", "plenary", "break".
    kind: str | None = None
    #: World Cafe round for ``table``, ``host`` and ``roster``.
    round: int | None = None
    #: Search text for ``when``/``where`` (the delegate's spelling); the code "ABCD-EFGH" for ``link``.
    query: str | None = None
    #: "today", "tomorrow" or an ISO date, wherever the message names a day.
    day: str | None = None


# --- vocabulary ---------------------------------------------------------------------------------

KIND_WORDS = {
    "carousel": "carousel", "carousels": "carousel", "workshop": "carousel", "workshops": "carousel",
    "slot": "carousel",
    "cafe": "world_cafe", "round": "world_cafe", "rounds": "world_cafe",
    "keynote": "keynote", "keynotes": "keynote", "talk": "keynote", "speech": "keynote",
    "plenary": "plenary", "panel": "plenary",
    "break": "break", "breaks": "break", "coffee": "break", "lunch": "break", "tea": "break",
    "refreshments": "break", "snack": "break", "snacks": "break",
}
TABLE_WORDS = {"table", "tables", "sit", "sitting", "seated"}
HOST_WORDS = {"host", "hosts", "hosting", "hosted", "facilitator", "facilitating", "moderator"}
PRESENCE_WORDS = {"at", "on", "with", "sitting", "joining", "in", "around"}
MEET_WORDS = {"meet", "meeting", "see"}
PEOPLE_WORDS = {"people", "attendees", "participants", "guests", "delegates", "names", "members"}
AGENDA_WORDS = {"agenda", "schedule", "programme", "program", "timetable", "itinerary", "calendar"}
NEXT_WEAK = {"now", "currently", "happening"}
SIGNUP_WORDS = {"signup", "register", "registering", "enrol", "enroll", "enrolling"}
PREFS_WORDS = {"rank", "ranks", "ranked", "ranking", "rankings", "rerank", "preference", "preferences",
               "prefs", "pref", "choices", "vote"}
PREFS_VERBS = {"choose", "pick", "select", "change", "update", "reorder"}
LINK_WORDS = {"link", "code", "connect", "redeem", "pair", "verify"}
HELP_WORDS = {"help", "commands", "command", "menu", "options", "usage", "hi", "hello", "hey", "howdy",
              "info", "start", "instructions"}
#: Words a help request may contain besides a help word ("help me please", "hi there").
HELP_FILLERS = {"me", "please", "you", "can", "what", "do", "i", "ask", "how", "does", "this", "work",
                "there", "the", "bot", "convenor", "show", "list", "available", "are", "is", "your",
                "a", "some", "need", "get", "with", "it", "use", "to", "so", "ok", "okay", "thanks"}
DAY_WORDS = {"today": "today", "tonight": "today", "tomorrow": "tomorrow"}
FILLERS = {"the", "a", "an", "my", "is", "are", "please", "me", "for", "of", "to", "hey", "hi", "ok",
           "so", "and", "um", "convenor", "bot", "show", "tell", "what", "whats", "next", "session",
           "sessions", "i", "do", "have", "get", "give", "s"}

# Leading and trailing words dropped from a when/where search text.
QUERY_LEAD = {"is", "are", "was", "the", "a", "an", "does", "do", "did", "will", "can", "could", "i",
              "we", "find", "get", "to", "go", "for", "of", "at", "it", "what", "which", "room", "rooms",
              "located", "location", "how", "me", "please", "time", "start", "starts", "my", "there",
              "directions", "way", "long", "until", "till", "til", "before", "on", "in", "where",
              "when", "being", "held", "you", "tell", "show", "know", "us", "our"}
QUERY_TRAIL = {"start", "starts", "starting", "begin", "begins", "beginning", "happen", "happens",
               "happening", "on", "in", "at", "scheduled", "be", "open", "opens", "close", "closes",
               "finish", "finishes", "end", "ends", "located", "held", "served", "being", "today",
               "tomorrow", "tonight", "please", "again", "speak", "speaks", "speaking", "talking",
               "presenting", "is", "are", "now", "then", "exactly", "pls", "plz", "thanks", "thank",
               "you", "it", "taking", "place", "take", "the"}

#: Abbreviations and misspellings too short for difflib.
ALIASES = {
    "nxt": "next", "nex": "next", "nxet": "next", "tmrw": "tomorrow", "tmr": "tomorrow",
    "tmw": "tomorrow", "tomoz": "tomorrow", "2moro": "tomorrow", "2morrow": "tomorrow",
    "tdy": "today", "2day": "today", "wat": "what", "wot": "what", "wht": "what", "whr": "where",
    "sched": "schedule", "agnd": "agenda", "tbl": "table", "tble": "table", "rnd": "round",
    "pls": "please", "plz": "please", "u": "you", "ur": "your", "wanna": "want", "whn": "when",
    "hw": "how", "hlp": "help", "wen": "when", "wer": "where",
    "prog": "programme",
}
#: Contractions read as two words.
CONTRACTIONS = {
    "what's": ("what", "is"), "whats": ("what", "is"), "where's": ("where", "is"),
    "wheres": ("where", "is"), "who's": ("who", "is"), "whos": ("who", "is"),
    "when's": ("when", "is"), "whens": ("when", "is"), "how's": ("how", "is"),
    "i'm": ("i", "am"), "im": ("i", "am"), "i'll": ("i", "will"), "i've": ("i", "have"),
    "i'd": ("i", "would"), "what're": ("what", "are"), "where're": ("where", "are"),
    "who're": ("who", "are"), "that's": ("that", "is"), "it's": ("it", "is"),
    "there's": ("there", "is"), "let's": ("let", "us"), "where'd": ("where", "would"),
}
#: Ordinary words that sit one letter away from a keyword and must never be "corrected".
COMMON = {
    "there", "here", "were", "able", "around", "found", "sound", "bound", "most", "post", "text",
    "nest", "best", "west", "test", "tell", "tale", "bank", "tank", "them", "whom", "fable",
    "cable", "stable", "host", "hose", "held", "hell", "like", "line", "lint", "sing", "sink",
    "code", "mode", "node", "done", "gone", "want", "went", "that", "what", "then", "seen",
    "sent", "send", "time", "fine", "name", "same", "some", "come", "coming", "going", "doing",
    "being", "launch", "bread", "great", "bring", "thing", "things", "think", "would", "could",
    "should", "where", "when", "which", "while", "will", "wall", "well", "talk", "take", "took",
    "hour", "your", "yours", "four", "pour", "round", "rank", "link", "next", "help", "sit",
    "rounds", "mine", "nine", "ten", "one", "two", "six", "with", "this", "these", "those",
    "table", "tables", "lunch", "panel", "hotel", "model", "level", "novel", "labels", "label",
    "tablet", "tablets", "comment", "moment", "today", "tomorrow", "cafe", "safe", "case", "care",
    "cares", "carol", "prefer", "refer", "prefers", "ranked", "ranger", "danger", "people",
    "purple", "simple", "hosts", "ghost", "posts", "costs", "coast", "roast", "toast", "boast",
    "after", "later", "water", "other", "order", "under", "early", "yearly", "dairy", "diary",
    "agent", "agents", "again", "against", "agency", "seated", "heated", "treated", "rated",
    "stand", "wants", "speak", "break", "breaks", "bake", "brake", "breakfast", "steak",
    "raining", "training", "drinking", "thinking", "ranging", "ringing", "banking", "posting",
    "costing", "tasting", "hating", "rating", "dating", "voting", "booking", "cooking",
}
NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}
ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20,
}

#: Keywords worth correcting a typo towards (sorted: difflib's answer must not depend on set order).
VOCAB = tuple(sorted(
    set(KIND_WORDS) | TABLE_WORDS | HOST_WORDS | AGENDA_WORDS | SIGNUP_WORDS | PREFS_WORDS
    | PREFS_VERBS | LINK_WORDS | HELP_WORDS | set(DAY_WORDS) | PEOPLE_WORDS
    | {"next", "upcoming", "where", "when", "who", "registration", "workshop", "world", "sign",
       "roster", "now", "happening", "currently", "coming"}
))
KNOWN = set(VOCAB) | COMMON | HELP_FILLERS | FILLERS | QUERY_LEAD | QUERY_TRAIL | PRESENCE_WORDS \
    | MEET_WORDS | set(NUMBER_WORDS) | set(ORDINAL_WORDS) | {"else", "am", "up", "who", "why"}

MENTION = re.compile(r"^\s*(?:<@[A-Za-z0-9]+(?:\|[^>]*)?>[\s,:]*)+")
SHORTCODE = re.compile(r":[a-z0-9_+\-']+:", re.IGNORECASE)
ISO_DATE = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
CODE_HYPHEN = re.compile(r"^[A-Za-z0-9]{4}[-\u2010-\u2015][A-Za-z0-9]{4}$")
CODE_PLAIN = re.compile(r"^[A-Za-z0-9]{8}$")
CODE_HALF = re.compile(r"^[A-Za-z0-9]{4}$")
ROUND_TOKEN = re.compile(r"^r(?:nd|d)?(\d{1,2})$")
ORDINAL_DIGITS = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    raw: str
    #: The normalised, typo-corrected words this token stands for (usually one).
    words: tuple[str, ...]


# --- normalising --------------------------------------------------------------------------------

def _fold(text: str) -> str:
    """Lower-case, strip accents and use a straight apostrophe."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _correct(word: str) -> str:
    """Return the keyword ``word`` is a typo of, or ``word`` itself."""
    if word in ALIASES:
        return ALIASES[word]
    if word in KNOWN or len(word) < 4 or any(c.isdigit() for c in word):
        return word
    for i in range(len(word) - 1):
        swapped = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if swapped in VOCAB:
            return swapped
    close = difflib.get_close_matches(word, VOCAB, n=1, cutoff=0.8)
    return close[0] if close else word


def _words_of(raw: str, may_correct: bool) -> tuple[str, ...]:
    folded = _fold(raw)
    if folded in CONTRACTIONS:
        return CONTRACTIONS[folded]
    if folded.endswith("'s"):
        folded = folded[:-2]
    folded = folded.replace("'", "")
    return (_correct(folded) if may_correct else folded,)


def _clean(text: str) -> str:
    """Drop a leading mention, Slack's entity escapes and emoji codes; keep positions meaningful."""
    text = MENTION.sub("", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return SHORTCODE.sub(" ", text).strip()


def _tokens(text: str) -> list[_Token]:
    found = list(WORD.finditer(text))
    has_lower_word = any(m.group()[0].islower() for m in found)
    tokens = []
    for index, m in enumerate(found):
        raw = m.group()
        # A capitalised word mid-sentence is probably a name ("Tabler"): leave its spelling alone.
        is_name = index > 0 and raw[:1].isupper() and raw[1:].islower() and has_lower_word
        tokens.append(_Token(m.start(), m.end(), raw, _words_of(raw, not is_name)))
    return tokens


# --- small readers ------------------------------------------------------------------------------

def _number(word: str) -> int | None:
    if word.isdigit() and len(word) <= 2:
        return int(word) or None
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    if word in ORDINAL_WORDS:
        return ORDINAL_WORDS[word]
    match = ORDINAL_DIGITS.match(word)
    return (int(match.group(1)) or None) if match else None


def _round(words: list[str]) -> int | None:
    """Find "round 3", "round three", "3rd round", "the third round", "r3", or "table 3" at the start."""
    for i, word in enumerate(words):
        match = ROUND_TOKEN.match(word)
        if match and int(match.group(1)):
            return int(match.group(1))
        if word not in ("round", "rounds"):
            continue
        after = [w for w in words[i + 1:i + 3] if w not in ("no", "number", "num")]
        if after and _number(after[0]) is not None:
            return _number(after[0])
        before = [w for w in words[max(0, i - 2):i] if w != "the"]
        if before and (before[-1] in ORDINAL_WORDS or ORDINAL_DIGITS.match(before[-1])
                       or before[-1] in NUMBER_WORDS or before[-1].isdigit()):
            return _number(before[-1])
    if len(words) >= 2 and words[0] == "table" and _number(words[1]) is not None:
        return _number(words[1])
    return None


def _kind(words: list[str]) -> str | None:
    for i, word in enumerate(words):
        if {"after", "before"} & set(words[max(0, i - 2):i]):
            continue  # "where do I go after lunch" asks for what follows lunch
        if word == "world" and i + 1 < len(words) and words[i + 1] == "cafe":
            return "world_cafe"
        if word in KIND_WORDS:
            return KIND_WORDS[word]
    return None


def _has(words: list[str], *phrase: str) -> bool:
    n = len(phrase)
    return any(tuple(words[i:i + n]) == phrase for i in range(len(words) - n + 1))


def _code(text: str, keyword: bool) -> str | None:
    """Find a link code "ABCD-EFGH" (also "abcd-efgh", "ABCDEFGH", "ABCD EFGH")."""
    parts = [p.strip(".,;:!?()[]{}\"'") for p in text.split()]
    candidates = [p for p in parts if p]
    for i, part in enumerate(candidates):
        if CODE_HYPHEN.match(part):
            return (part[:4] + "-" + part[5:]).upper()
        if CODE_PLAIN.match(part) and _fold(part) not in KNOWN and (
                keyword or part.isupper() or any(c.isdigit() for c in part)):
            return (part[:4] + "-" + part[4:]).upper()
        if i + 1 < len(candidates) and CODE_HALF.match(part) and CODE_HALF.match(candidates[i + 1]):
            pair = (part, candidates[i + 1])
            upper = all(p.isupper() or p.isdigit() for p in pair)
            unknown = all(_fold(p) not in KNOWN and _fold(p) not in LINK_WORDS for p in pair)
            if unknown and (upper or keyword):
                return (pair[0] + "-" + pair[1]).upper()
    return None


def _day(text: str, words: list[str]) -> str | None:
    match = ISO_DATE.search(text)
    if match:
        try:
            return date.fromisoformat(match.group(1)).isoformat()
        except ValueError:
            pass
    for word in words:
        if word in DAY_WORDS:
            return DAY_WORDS[word]
    return None


def _query(text: str, tokens: list[_Token], after: int) -> tuple[str | None, list[str]]:
    """Return the search text after token ``after`` (original spelling) and all the words after it."""
    rest = tokens[after + 1:]
    after_words = [w for t in rest for w in t.words]
    while rest and set(rest[0].words) <= QUERY_LEAD:
        rest = rest[1:]
    while rest and set(rest[-1].words) <= QUERY_TRAIL:
        rest = rest[:-1]
    if not rest:
        return None, after_words
    query = text[rest[0].start:rest[-1].end].strip(" \"'“”‘’.,;:!?-")
    return (query or None), after_words


# --- the rules ----------------------------------------------------------------------------------

def _is_help(words: list[str]) -> bool:
    if not words:
        return True
    if set(words) <= HELP_FILLERS | HELP_WORDS and set(words) & HELP_WORDS:
        return True
    phrases = (("what", "can", "you", "do"), ("what", "can", "i", "ask"), ("how", "does", "this", "work"),
               ("how", "do", "you", "work"), ("what", "do", "you", "do"), ("how", "do", "i", "use"),
               ("who", "are", "you"), ("what", "are", "you"))
    return set(words) <= HELP_FILLERS | HELP_WORDS | {"who"} and any(_has(words, *p) for p in phrases)


def _is_signup(words: list[str]) -> bool:
    if set(words) & SIGNUP_WORDS:
        return True
    for i, word in enumerate(words):
        if word in ("sign", "sing"):
            rest = [w for w in words[i + 1:i + 4] if w not in ("me", "us", "myself")]
            if rest[:1] in (["up"], ["on"]):
                return True
    return False


def _is_prefs(words: list[str]) -> bool:
    if set(words) & PREFS_WORDS:
        return True
    wants_change = bool(set(words) & PREFS_VERBS)
    return wants_change and bool({"workshop", "workshops", "carousel", "carousels", "choice"} & set(words))


def _i_subject(words: list[str]) -> bool:
    return any(_has(words, *p) for p in (("am", "i"), ("do", "i"), ("will", "i"), ("i", "am"),
                                          ("i", "will"), ("i", "host"), ("shall", "i"), ("i", "be")))


def _is_roster(words: list[str]) -> bool:
    w = set(words)
    if "roster" in w or (w & PEOPLE_WORDS and w & TABLE_WORDS):
        return True
    if "who" not in w:
        return False
    if w & HOST_WORDS:
        return _i_subject(words)
    if "else" in w or (w & MEET_WORDS and _i_subject(words)):
        return True
    if _has(words, "with", "me") or (_i_subject(words) and "with" in w):
        return True
    return bool(w & TABLE_WORDS and w & PRESENCE_WORDS)


def _is_next_strong(words: list[str]) -> bool:
    if "next" in words or "upcoming" in words:
        return True
    phrases = (("coming", "up"), ("after", "this"), ("where", "do", "i", "go"),
               ("where", "should", "i", "go"), ("where", "should", "i", "be"), ("where", "am", "i"),
               ("where", "do", "i", "need"), ("where", "to", "now"), ("where", "now"),
               ("where", "must", "i"), ("where", "shall", "i", "go"), ("where", "do", "we", "go"))
    return any(_has(words, *p) for p in phrases)


def _when_at(words: list[str], tokens: list[_Token]) -> int | None:
    """Return the index of the token ending a "when" question ("when", "what time", "how long until")."""
    flat = [(ti, w) for ti, t in enumerate(tokens) for w in t.words]
    for k, (ti, w) in enumerate(flat):
        if w == "when":
            return ti
        nxt = flat[k + 1][1] if k + 1 < len(flat) else ""
        if w == "what" and nxt == "time":
            return flat[k + 1][0]
        if w == "how" and nxt == "long":
            return flat[k + 1][0]
        if w == "time" and nxt == "of":
            return flat[k + 1][0]
    return None


def _where_at(words: list[str], tokens: list[_Token]) -> int | None:
    """Return the index of the token ending a "where" question ("where", "which room", "how do I get to")."""
    flat = [(ti, w) for ti, t in enumerate(tokens) for w in t.words]
    for k, (ti, w) in enumerate(flat):
        nxt = flat[k + 1][1] if k + 1 < len(flat) else ""
        if w == "where" or (w == "location" and nxt == "of"):
            return ti
        if w in ("which", "what") and nxt in ("room", "rooms"):
            return flat[k + 1][0]
        if w == "directions" or (w == "way" and nxt == "to"):
            return ti
        if w == "get" and nxt == "to" and {"how", "where"} & set(words):
            return flat[k + 1][0]
    return None


def _personal_kind(query_words: list[str]) -> str | None:
    """ "where is my workshop" asks for the delegate's own next item: return its kind."""
    if "my" not in query_words:
        return None
    rest = [w for w in query_words if w not in FILLERS and w not in QUERY_LEAD]
    kinds = [KIND_WORDS[w] for w in rest if w in KIND_WORDS]
    return kinds[0] if kinds and all(w in KIND_WORDS or w == "world" for w in rest) else None


def parse(text: str) -> Intent:
    """Read a question or a ``/convenor`` sub-command and return what it asks for."""
    cleaned = _clean(text or "")
    day_text = ISO_DATE.sub(" ", cleaned)
    tokens = _tokens(day_text)
    words = [w for t in tokens for w in t.words]
    day = _day(cleaned, words)
    w = set(words)

    link_keyword = bool(w & LINK_WORDS)
    code = _code(cleaned, link_keyword)
    if code and (link_keyword or len(cleaned.split()) <= 2):
        return Intent("link", query=code, day=None)
    if words[:1] == ["link"] or (link_keyword and w & {"slack", "account"}):
        return Intent("link")
    if _is_help(words):
        return Intent("help")
    if _is_signup(words):
        return Intent("signup", day=day)
    if _is_prefs(words):
        return Intent("prefs", day=day)

    number = _round(words)
    if _is_roster(words):
        return Intent("roster", round=number, day=day)
    if w & HOST_WORDS:
        return Intent("host", round=number, day=day)
    where_at = _where_at(words, tokens)
    asks_for_table_number = where_at is not None and words[:1] != ["table"] and any(
        words[i] == "table" and _number(words[i + 1]) is not None and words[i + 1].isdigit()
        for i in range(len(words) - 1))
    if not asks_for_table_number and (
            w & TABLE_WORDS or number is not None
            or ("cafe" in w and w & {"my", "which", "am"} and "next" not in w)):
        return Intent("table", round=number, day=day)

    if _is_next_strong(words):
        return Intent("next", kind=_kind(words), day=day)
    if w & AGENDA_WORDS:
        return Intent("agenda", day=day)

    when_at = _when_at(words, tokens)
    if when_at is not None and (where_at is None or when_at <= where_at):
        query, query_words = _query(day_text, tokens, when_at)
        personal = _personal_kind(query_words)
        if query is None or personal:
            return Intent("next", kind=personal, day=day)
        return Intent("when", query=query, day=day)
    if where_at is not None:
        query, query_words = _query(day_text, tokens, where_at)
        personal = _personal_kind(query_words)
        if query is None or personal:
            return Intent("next", kind=personal, day=day)
        return Intent("where", query=query, day=day)

    if w & NEXT_WEAK and day is None:
        return Intent("next", kind=_kind(words))
    if day is not None or _has(words, "what", "is", "on") or _has(words, "my", "day") \
            or _has(words, "what", "am", "i", "doing"):
        return Intent("agenda", day=day)
    content = [x for x in words if x not in FILLERS and x not in QUERY_TRAIL]
    if content and all(x in KIND_WORDS or x == "world" for x in content):
        return Intent("next", kind=_kind(words))
    if w & HELP_WORDS:
        return Intent("help")
    return Intent("unknown", day=day)

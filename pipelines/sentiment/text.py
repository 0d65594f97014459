"""Text normalisation shared by training and inference, so both see the same input.

The model's tokenizer is uncased and has no emoji in its vocabulary: an emoji
becomes ``[UNK]`` and "DISGRACE" reads like "disgrace". ``normalise`` turns those
forms into words the encoder already knows (emoji and emoticons by name, shouting
marked), so a complaint made of emoji and capitals is visible to the model.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Final

# Part of the model's cache key: change it whenever normalise() changes what it returns.
NORMALISER_VERSION: Final = 2

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
_HASH = re.compile(r"(?<![\w#])#(\w)")
_SPACE = re.compile(r"\s+")
# Mis-decoded UTF-8 in the CrowdFlower CSV shows up as runs of non-ASCII glued by "_".
_MOJIBAKE = re.compile(r"(?:[^\x00-\x7f]|_(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])_)+")

# Emoji whose Unicode name misleads or says nothing of the feeling ("FACE WITH LOOK OF
# TRIUMPH" is the huffing face people use for anger). Written for Earshot; others are
# named by unicodedata.
_EMOJI_WORDS: Final[dict[str, str]] = {
    "\U0001f624": "angry huffing face",
    "\U0001f92c": "furious swearing face",
    "\U0001f621": "furious red face",
    "\U0001f620": "angry face",
    "\U0001f644": "eye roll",
    "\U0001f643": "upside down face sarcastic",
    "\U0001f921": "clown",
    "\U0001f480": "skull dead",
    "\U0001f4a9": "poo",
    "\U0001f92e": "vomiting disgusted",
    "\U0001f922": "nauseated disgusted",
    "\U0001f926": "facepalm",
    "\U0001f937": "shrug",
    "\U0001f612": "unamused face",
    "\U0001f611": "expressionless face",
    "\U0001f610": "neutral face",
    "\U0001f629": "weary face",
    "\U0001f62b": "tired face",
    "\U0001f62d": "loudly crying face",
    "\U0001f622": "crying face",
    "\U0001f494": "broken heart",
    "\U0001f44f": "clapping hands",
    "\U0001f64c": "raising hands celebration",
    "\U0001f64f": "thank you hands",
    "\U0001f44d": "thumbs up",
    "\U0001f44e": "thumbs down",
    "\U0001f44c": "ok hand",
    "\U0001f4af": "hundred percent",
    "\U0001f525": "fire",
    "\U0001f60d": "heart eyes love",
    "\U0001f970": "smiling face with hearts love",
    "\U0001f929": "star struck",
    "\U0001f973": "party face",
    "\U0001f389": "party popper celebration",
    "\U0001f601": "beaming smile",
    "\U0001f60a": "smiling face",
    "\U0001f600": "grinning face",
    "\U0001f602": "tears of joy laughing",
    "\U0001f923": "rolling on the floor laughing",
    "\U0001f631": "screaming in fear",
    "\U0001f62c": "grimacing face",
    "\U0001f4b8": "money flying away",
    "\U0001f4c9": "chart going down",
    "\U0001f40c": "snail slow",
    "\U0001f634": "sleeping face bored",
    "\U0001f974": "woozy face",
    "\U0001f440": "eyes",
    "\U0001f914": "thinking face",
    "\u2764": "red heart love",
    "\u274c": "cross mark no",
    "\u2705": "check mark yes",
    "\u26a0": "warning",
    "\U0001f6a7": "construction",
}
# Dropped: they only change how the emoji before them looks.
_EMOJI_JOINERS: Final = frozenset({"\u200d", "\ufe0f", "\ufe0e", "\u20e3"})
# Longest first so ">:(" is not read as ":(".
_EMOTICONS: Final[tuple[tuple[str, str], ...]] = (
    (">:-(", "angry face"),
    (">:(", "angry face"),
    (":-))", "smiling face"),
    (":))", "smiling face"),
    (":-(", "frowning face"),
    (":((", "frowning face"),
    (":'(", "crying face"),
    (":-)", "smiling face"),
    (":-D", "laughing face"),
    (":-/", "annoyed face"),
    (":-|", "expressionless face"),
    (":-P", "cheeky face"),
    (":)", "smiling face"),
    (":(", "frowning face"),
    (":D", "laughing face"),
    (":/", "annoyed face"),
    (":|", "expressionless face"),
    (":@", "angry face"),
    (":P", "cheeky face"),
    (";)", "winking face"),
    (";-)", "winking face"),
    ("D:", "horrified face"),
    ("</3", "broken heart"),
    ("<3", "love heart"),
)
_EMOTICON = re.compile(
    r"(?<![\w:/])(?:"
    + "|".join(re.escape(e) for e, _ in sorted(_EMOTICONS, key=lambda p: -len(p[0])))
    + r")(?![\w/])"
)
_EMOTICON_WORDS: Final = dict(_EMOTICONS)
# Three or more of the same punctuation, or a mix of ! and ?, kept short but visible.
_PUNCT_RUN = re.compile(r"([!?.])\1{2,}|[!?]{2,}")
# The same letter four or more times: "sooooo" -> "soo" (the tokenizer splits long runs oddly).
_LETTER_RUN = re.compile(r"([a-zA-Z])\1{3,}")
# Two or more capitalised words in a row (or one long one): shouting, not an acronym.
_SHOUT = re.compile(r"\b[A-Z][A-Z']{1,}(?:[\s,.!?]+[A-Z][A-Z']{1,})+\b|\b[A-Z]{5,}\b")


def _is_emoji(char: str) -> bool:
    code = ord(char)
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or 0x2B00 <= code <= 0x2BFF
        or code in {0x2122, 0x2139, 0x231A, 0x231B, 0x23F0, 0x23F3, 0x3030, 0x303D}
    )


def _emoji_name(char: str) -> str:
    if char in _EMOJI_WORDS:
        return _EMOJI_WORDS[char]
    code = ord(char)
    if 0x1F3FB <= code <= 0x1F3FF:  # skin tone modifiers carry no feeling
        return ""
    if 0x1F1E6 <= code <= 0x1F1FF:  # regional indicators: one flag is two of them
        return "flag"
    name = unicodedata.name(char, "")
    return name.lower().replace("-", " ") if name else "emoji"


def emoji_to_words(text: str) -> str:
    """Each run of one emoji becomes its name once, in brackets; joiners and tones are dropped."""
    if text.isascii():
        return text
    out: list[str] = []
    previous = ""
    for char in text:
        if char in _EMOJI_JOINERS or (char in "\u2640\u2642" and previous):
            continue  # the gender sign of a ZWJ sequence adds nothing to the face before it
        if not _is_emoji(char):
            out.append(char)
            previous = ""
            continue
        words = _emoji_name(char)
        if words and words != previous:
            out.append(f" [{words}] ")
        previous = words or previous
    return "".join(out)


def _emoticon_words(match: re.Match[str]) -> str:
    return f" [{_EMOTICON_WORDS[match.group(0)]}] "


def _punct_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if match.group(1):
        return match.group(1) * 3
    return "?!" if "?" in run and "!" in run else run[:3]


def _shout(match: re.Match[str]) -> str:
    return f"{match.group(0).lower()} [shouting]"


def normalise(text: str) -> str:
    """Unescape HTML, mask URLs and @handles, keep hashtag words, spell out emoji,
    emoticons and shouting, shorten repeated punctuation, squeeze whitespace."""
    text = html.unescape(text)
    text = _URL.sub("http", text)
    text = _HANDLE.sub("@user", text)
    text = _HASH.sub(r"\1", text)
    text = _EMOTICON.sub(_emoticon_words, text)
    text = emoji_to_words(text)
    text = _PUNCT_RUN.sub(_punct_run, text)
    text = _LETTER_RUN.sub(r"\1\1", text)
    text = _SHOUT.sub(_shout, text)
    return _SPACE.sub(" ", text).strip()


def strip_mojibake(text: str) -> str:
    """Drop mis-decoded byte runs; only for the US tweet corpus, which is plain ASCII otherwise."""
    return _MOJIBAKE.sub(" ", text)

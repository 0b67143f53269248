"""Names as people read them: matching that ignores case and accents, sorting in a language's order.

`fold` is for matching ("celine" finds "Céline", "3a" finds group "3A"); `sort_key` is for order,
with the collation of a locale (ICU, through PyICU: "Öberg" after "Zorn" in Swedish, among the O in
German). Without ICU it falls back to the root collation of pyuca when that is installed, then to the
folded text, so names still sort "Álvaro" first and "Gérard" before "Gerhard".

A locale is a BCP 47 tag such as "fr-FR" or "sv"; None or "" means this machine's, from LC_ALL,
LC_COLLATE or LANG ("en" for C and POSIX, or when nothing says).
"""

from __future__ import annotations

import codecs
import csv
import json
import locale as _locale
import os
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Protocol

DEFAULT_LOCALE = "en"
POSIX_LOCALES = ("C", "POSIX")
# Letters that have no decomposition but that people type without their stroke or as two letters
APOSTROPHE_KINDS = {kind: "'" for kind in "’‘ʼ‛′´"}  # what keyboards and spreadsheets put for an apostrophe
APOSTROPHES = str.maketrans(APOSTROPHE_KINDS)
_BARE = str.maketrans({"ø": "o", "đ": "d", "ð": "d", "ł": "l", "ħ": "h", "ŧ": "t", "ı": "i", "æ": "ae", "œ": "oe",
                       "þ": "th", "ŀ": "l", **APOSTROPHE_KINDS})
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")  # the usual ones, fast
VIRAMA = 9  # the canonical combining class of the Indic viramas
_SUBTAG = re.compile(r"[A-Za-z0-9]{1,8}\Z")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}\Z")
_POSIX = re.compile(r"([A-Za-z0-9_-]+)(?:\.[A-Za-z0-9_-]+)?(?:@[A-Za-z0-9_-]+)?\Z")  # language_REGION.codeset@modifier


# controls, escapes, bidi overrides, and bytes that were not UTF-8 (read as surrogates)
HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: object) -> str:
    """Text safe to show on a terminal or screen: control characters written as codes (\\x1b, \\u202e)."""
    return HIDDEN.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}",
                      str(text))


@lru_cache(maxsize=1 << 17)  # a roster's filter folds the same names at every key press
def fold(text: str) -> str:
    """The text for matching: compatibility forms unified, accents and other marks dropped (not an Indic
    virama, which makes another letter: क्ष is not कष), case folded, one kind of apostrophe ("Céline" ->
    "celine", "Straße" -> "strasse", "3A" -> "3a", "Łódź" -> "lodz", "O’Brien" -> "o'brien")."""
    if text.isascii():
        return text.lower()
    decomposed = _MARKS.sub("", unicodedata.normalize("NFKD", text.casefold().translate(_BARE)))
    if decomposed.isascii():
        return decomposed
    return "".join(c for c in decomposed if unicodedata.combining(c) in (0, VIRAMA))  # a virama is a letter's


@lru_cache(maxsize=1)
def letter() -> str:
    """A regular expression for one character of a word in any script: a letter, a digit or a mark.
    Python's `\\w` has no marks: Devanagari's vowel signs and viramas (प्रिया) and Thai's (นิด) split a
    name into pieces, which then matched inside other words."""
    marks, start = [], None
    for code in [*range(0x20000), *range(0xE0000, 0xE0200)]:  # every mark Unicode has is in these
        mark = unicodedata.category(chr(code)).startswith("M")
        if mark and start is None:
            start = code
        elif not mark and start is not None:
            marks.append(f"\\U{start:08x}-\\U{code - 1:08x}")
            start = None
    return r"(?:[^\W_]|[" + "".join(marks) + "])"


def matches(needle: str, haystack: str) -> bool:
    """Whether `needle` is in `haystack`, case and accents aside (an empty needle is in everything)."""
    return fold(needle.strip()) in fold(haystack)


def composed(text: str) -> str:
    """The text with its accents composed: a name written by a Mac (accents apart) reads as typed."""
    return unicodedata.normalize("NFC", text)


HYPHENS = re.compile("[-\u2010\u2011\u2012\u2013\u2014]")


def spelling_key(name: str) -> str:
    """A name as spelt, for finding it written elsewhere: case, spacing, a hyphen or a space, accents
    composed or apart, width ("ｼﾛｳ") and the kind of apostrophe aside, but every letter kept ("O’Brien"
    is "o'brien"; Thư is not Thu, Groß is not Gross)."""
    text = unicodedata.normalize("NFKC", without_hidden(name)).translate(APOSTROPHES)
    return " ".join(HYPHENS.sub(" ", text).split()).lower()


def unaccented(name: str) -> bool:
    """Whether a name is written without any accent or letter beyond ASCII (its apostrophes and spaces
    whatever they are): as a system that writes only ASCII writes names."""
    return spelling_key(name).isascii()


def name_key(name: str) -> str:
    """A name as read without its accents: case, accents, spacing, hyphens and the kind of apostrophe
    aside ("zoe  unal" is "Zoë Ünal", "Anne Marie" is "Anne-Marie"). Too loose to tell some names apart
    (Vietnamese Thư and Thu, Japanese シロウ and ジロウ): only for a name written without accents."""
    return " ".join(HYPHENS.sub(" ", fold(name)).split())


def same(a: str, b: str) -> bool:
    """Whether two groups are the same to a reader: case, accents, spacing and characters that show
    nothing aside ("3a" and "3A", "1ère-B" and "1ERE-b", "3A" and a copy with a zero-width space)."""
    return group_key(a) == group_key(b)


def group_key(text: str) -> str:
    """A group's name as `same` compares it."""
    return fold(" ".join(without_hidden(text).split()))


def without_hidden(text: str) -> str:
    """`text` without the format characters that show nothing (a zero-width space, a joiner that joins
    nothing): they are no part of how a name is spelt."""
    if text.isascii():
        return text
    return "".join(ch for i, ch in enumerate(text) if unicodedata.category(ch) != "Cf" or needed_joiner(text, i))


JOINERS = "\u200c\u200d"  # zero-width characters some scripts (Persian, Hindi) and emoji need


# Scripts whose writing uses the joiners: Arabic, Syriac, Thaana, N'Ko (and Arabic's presentation
# forms), the Indic scripts from Devanagari to Sinhala, Tibetan and Myanmar, Khmer and Mongolian; and
# the emoji joined into one (the symbols and pictographs, skin tones, the emoji presentation selector).
JOINING = ((0x0600, 0x08FF), (0x0900, 0x0DFF), (0x0F00, 0x109F), (0x1780, 0x18AF), (0xFB50, 0xFDFF),
           (0xFE70, 0xFEFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0xFE0F, 0xFE0F), (0x1F000, 0x1FAFF))


def _joins(c: str) -> bool:
    """Whether a joiner beside `c` may be part of the writing: a letter of a joining script or an emoji
    (not '5°B', '©' or '^', where it only hides a difference)."""
    point = ord(c)
    return any(low <= point <= high for low, high in JOINING)


# written together in one name (kanji, kana, the iteration mark of 佐々木, the long vowel of ユーコ): one script here
EAST_ASIAN = {"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "KATAKANA-HIRAGANA", "HALFWIDTH"}


def scripts(name: str) -> set[str]:
    """The writing systems of a name's letters (LATIN, CYRILLIC, GREEK ...; kana and kanji as one)."""
    found = {unicodedata.name(ch, "?").split()[0] for ch in unicodedata.normalize("NFKC", name) if ch.isalpha()}
    return {"EAST ASIAN" if s in EAST_ASIAN else s for s in found} - {"MODIFIER", "?"}


_NOT_IN_A_WORD = re.compile(r"[\W_]+")  # spaces, hyphens, brackets, apostrophes (marks too: fewer letters, no harm)


def mixed_word(name: str) -> str:
    """The first word of `name` whose letters come from several alphabets ("Аnna" with a Cyrillic А reads
    as Anna everywhere, and is found by nobody who types it), "" when none: a name may be written in two
    ("Анна (Anna)"), a word is not."""
    return next((word for word in _NOT_IN_A_WORD.split(name) if len(scripts(word)) > 1), "")


def needed_joiner(text: str, i: int) -> bool:
    """Whether text[i] is a joiner a script may need: one between two letters of a script that joins
    (میخواهم, क्‍ष), after an Indic virama (അവന്‍), or inside an emoji sequence (🐈‍⬛); not one after
    '3A', 'Ä', '5★' or at the end, where it joins nothing and only hides a difference."""
    if text[i] not in JOINERS or i == 0:
        return False
    before = text[i - 1]
    if 0x0900 <= ord(before) <= 0x0DFF and unicodedata.combining(before) == VIRAMA:
        return True  # after an Indic virama it shapes the letter before, at a word's end too (Malayalam's ൻ)
    return i < len(text) - 1 and _joins(before) and _joins(text[i + 1])


NOT_UTF8 = "a name that is not UTF-8 (written on a system set to another encoding, an old zip file)"
_UNREAD = re.compile("[\ud800-\udfff]")  # the bytes of a file name or argument that were not UTF-8


def not_utf8(text: str) -> bool:
    """Whether a file name or argument holds bytes that were not UTF-8 (Python reads them as surrogates)."""
    return _UNREAD.search(text) is not None


# ----- locales ------------------------------------------------------------------------------


def language_tag(value: str) -> str | None:
    """`value` as a BCP 47 tag in its usual case ("fr_fr" -> "fr-FR", "zh-hant-tw" -> "zh-Hant-TW"),
    or None when it is not one. POSIX names are taken too: "fr_FR.UTF-8@euro" -> "fr-FR"."""
    posix = _POSIX.match(str(value).strip())
    if posix is None:
        return None
    parts = posix.group(1).replace("_", "-").split("-")
    if not _LANGUAGE.match(parts[0]) or not all(_SUBTAG.match(p) for p in parts[1:]):
        return None
    out = [parts[0].lower()]
    private = False  # after a singleton (-u-, -x-): extension subtags, all lower case
    for part in parts[1:]:
        if private or len(part) == 1:
            private = True
            out.append(part.lower())
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())  # script
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            out.append(part.upper())  # region
        else:
            out.append(part.lower())  # variant
    return "-".join(out)


def posix_tag(value: str) -> str:
    """A POSIX locale name ("de_DE.UTF-8") as a tag; "en" for C, POSIX and names that are not one."""
    name = str(value).strip()
    if not name or name.split(".", 1)[0] in POSIX_LOCALES:
        return DEFAULT_LOCALE
    return language_tag(name) or DEFAULT_LOCALE


def machine_locale(environ: Mapping[str, str] | None = None) -> str:
    """This machine's locale as a tag: LC_ALL, then LC_COLLATE, then LANG (POSIX's order); without
    them, the user's locale as the system gives it; "en" when nothing says. With `environ`, only it is read."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_COLLATE", "LANG"):
        if env.get(name):
            return posix_tag(env[name])
    if environ is not None:
        return DEFAULT_LOCALE
    if sys.platform == "win32":
        found = _windows_locale()
        if found:
            return language_tag(found) or DEFAULT_LOCALE
    try:
        current = _locale.getlocale()[0]
    except ValueError:
        current = None
    return posix_tag(current) if current else DEFAULT_LOCALE


def _windows_locale() -> str | None:
    """The user's locale name on Windows ("en-US"), or None."""
    try:
        import ctypes

        buffer = ctypes.create_unicode_buffer(85)
        if ctypes.windll.kernel32.GetUserDefaultLocaleName(buffer, len(buffer)):  # type: ignore[attr-defined]
            return buffer.value
    except (AttributeError, OSError):
        pass
    return None


def resolve(locale: str | None = None) -> str:
    """The tag to use: `locale` (a setting's value) in its usual case; this machine's for None or ""."""
    if not locale:
        return machine_locale()
    return language_tag(locale) or DEFAULT_LOCALE


# ----- collation -----------------------------------------------------------------------------


def collation(locale: str | None = None) -> Callable[[str], object]:
    """The sort key function of a locale (None or "": this machine's): `sorted(names, key=collation("sv"))`.
    One collator per locale is made, then reused."""
    return _collator(resolve(locale))


def sort_key(text: str, locale: str | None = None) -> object:
    """A key that sorts `text` among others of the same locale as its readers expect."""
    return collation(locale)(text)


def backend() -> str:
    """What sorts: "icu" (each locale's order), "pyuca" (the Unicode root order) or "folded" (case and
    accents aside)."""
    return _collator(DEFAULT_LOCALE).backend  # type: ignore[attr-defined]


def folded_key(text: str) -> tuple[object, str]:
    """The last resort: folded text, numbers by their value, then the text itself so that the order is total."""
    return numbers_apart(fold(text), str), text


DIGITS = re.compile(r"(\d+)")


def numbers_apart(text: str, key: Callable[[str], object]) -> tuple[tuple[int, int, object], ...]:
    """A key that orders the numbers in `text` by value ("Room 2" before "Room 10") and the rest by `key`."""
    parts = enumerate(DIGITS.split(text))  # text, number, text, ...: the odd ones are numbers
    return tuple(_number(part) if index % 2 else (1, 0, key(part)) for index, part in parts if part)


def _number(digits: str) -> tuple[int, int, str]:
    """Digits (of any script) as a key that orders them by value, however many there are."""
    plain = "".join(str(unicodedata.digit(c)) for c in digits).lstrip("0")
    return 0, len(plain), plain


def _pyuca_key(root: _Collator) -> Callable[[str], object]:
    """Letters by their base form first, numbers by value, then case and accents (the whole text's)."""
    def primary(part: str) -> object:
        weights = root.sort_key(part)
        return weights[:weights.index(0)] if 0 in weights else weights  # the primary level ends at a 0

    return lambda text: (numbers_apart(text, primary), root.sort_key(text))


@lru_cache(maxsize=64)
def _collator(tag: str) -> Callable[[str], object]:
    try:
        import icu  # PyICU (the pyicu-wheels distribution ships it with ICU inside)

        collator = icu.Collator.createInstance(icu.Locale.forLanguageTag(tag))
        collator.setAttribute(icu.UCollAttribute.NUMERIC_COLLATION, icu.UCollAttributeValue.ON)
        key = collator.getSortKey
        key("")  # fails now rather than in the middle of a sort
        return _named(key, "icu")
    except Exception:  # not installed, or a broken build: the next best order
        pass
    root = _pyuca()
    if root is not None:
        return _named(_pyuca_key(root), "pyuca")
    return _named(folded_key, "folded")


class _Collator(Protocol):
    def sort_key(self, text: str) -> tuple[int, ...]: ...


@lru_cache(maxsize=1)
def _pyuca() -> _Collator | None:
    try:
        import pyuca

        return pyuca.Collator()
    except Exception:  # not installed or unreadable
        return None


def _named(key: Callable[[str], object], name: str) -> Callable[[str], object]:
    def sort(text: str) -> object:
        return key(text)

    sort.backend = name  # type: ignore[attr-defined]
    return sort


WORD = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")  # a code word such as an absence code: excused, sick-leave


def is_word(value: str) -> bool:
    return isinstance(value, str) and bool(WORD.match(value))


def width(text: str) -> int:
    """Columns the text takes on a terminal: Chinese, Japanese, Korean letters and emoji two, marks none."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.category(c) in ("Mn", "Me", "Cf") else 2 if unicodedata.east_asian_width(c) in "WF"
               else 1 for c in text)


def cell(text: str, size: int) -> str:
    """The text padded to `size` terminal columns (a column of names stays straight whatever their script)."""
    return text + " " * max(size - width(text), 0)


def plural(count: int, word: str, many: str | None = None) -> str:
    """"1 photo", "2 photos"."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def spreadsheet_text(data: bytes) -> str:
    """A CSV's bytes as text: UTF-8 (with or without a byte-order mark), or UTF-16 with its mark (a
    spreadsheet's "Unicode text"). Anything else raises ValueError saying where and what to do."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").lstrip("\ufeff")
        except UnicodeDecodeError:
            raise ValueError("broken UTF-16 text; save it as \"CSV UTF-8\" from your spreadsheet") from None
    try:
        return data.decode("utf-8-sig").lstrip("\ufeff")  # a file saved twice with its mark has two
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValueError(f"line {line} is not UTF-8 text (an older spreadsheet's encoding?); "
                         "save it as \"CSV UTF-8\" from your spreadsheet") from None


def header_delimiter(text: str, columns: Iterable[str]) -> str:
    """The separator (a comma, a semicolon as a spreadsheet in Europe writes, a tab as its "Unicode text")
    that makes a sheet's first line, whatever ends it, name all `columns`; a comma when none does."""
    first = re.split(r"\r\n?|\n", text.lstrip("\r\n"), maxsplit=1)[0]
    for delimiter in (",", ";", "\t"):
        try:
            cells = {cell.strip().lower() for cell in next(csv.reader([first], delimiter=delimiter), [])}
        except csv.Error:  # a cell over the reader's limit: the reading proper names it
            continue
        if all(column in cells for column in columns):
            return delimiter
    return ","


def clock_of(value: datetime, since: datetime | None = None, zone: tzinfo | None = None) -> str:
    """A moment as HH:MM on the station's clock (`zone`; None: this process's, which the station sets
    to the timezone setting), with its date when it falls on another day than `since`."""
    local = value.astimezone(zone)
    if since is not None and local.date() != since.astimezone(zone).date():
        return f"{local:%Y-%m-%d %H:%M}"
    return f"{local:%H:%M}"


def deadline_text(value: datetime, zone: tzinfo | None = None) -> str:
    """The moment lateness begins, on the station's clock: HH:MM, with the seconds where it is not on the
    minute (late from 06:18:54: one who came at 06:18:36 is on time, and reads so)."""
    local = value.astimezone(zone)
    return f"{local:%H:%M}" if local.second == 0 else f"{local:%H:%M:%S}"


def json_line(value: object) -> str:
    """One JSON line for standard output: letters as they are where it takes UTF-8, else as \\u codes
    (a script reading it under PYTHONIOENCODING=latin-1 still gets JSON, never Python's own escapes)."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    return json.dumps(value, ensure_ascii=codecs.lookup(encoding).name != "utf-8")

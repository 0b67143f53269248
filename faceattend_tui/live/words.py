"""What the door display says, in the language of the people at the door.

Every phrase the door shows is looked up here by its English text ("hold still", "at {time}"): the
English and French tables are built in; another language is a TOML file of the same phrases,
`<data>/models/lang/<tag>.toml` (e.g. `de.toml`, or `fr-CA.toml` to change a few French phrases).
The `locale` setting chooses (fr-FR -> fr-FR.toml, then fr.toml, then the built-in French); a
phrase a table lacks is said in English. Names are drawn as they are written: OpenCV 5's own font
draws accented Latin and Cyrillic letters; an older OpenCV, which would draw "?" for them, gets
the letters without their accents ("Céline" -> "Celine") instead.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceattend_tui.tomlread import tomllib

SCRIPT_OF = {"zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "zh-mo": "zh-Hant", "zh-cn": "zh-Hans", "zh-sg": "zh-Hans"}
LANG_DIR = "lang"  # under the models folder: <data>/models/lang/<tag>.toml

# The English phrases are the keys; {time}, {deadline}, {present} and {expected} are filled in.
ENGLISH = (
    "look at the camera", "hold still", "blink", "come closer", "not recognised",
    "checked in", "late", "already here", "not on this session's list", "please see staff", "recognised",
    "Not recognised", "Not accepted", "(a picture cannot check in)",
    "at {time}", "at {time}, after {deadline}", "since {time}", "- please see staff", "(no session: nothing recorded)",
    "(kept: filed when the database is back)",
    "No session", "not recording", "Time clock", "arrivals and departures recorded",
    "{present} of {expected} here", "{present} here",
    "The camera stopped", "The video ended", "The camera is not answering", "trying again",
)

FRENCH = {
    "look at the camera": "regardez la caméra",
    "hold still": "ne bougez pas",
    "blink": "clignez des yeux",
    "come closer": "approchez-vous",
    "not recognised": "visage non reconnu",
    "checked in": "arrivée",
    "late": "en retard",
    "already here": "déjà là",
    "not on this session's list": "pas sur la liste de cette séance",
    "please see staff": "adressez-vous au personnel",
    "recognised": "visage reconnu",
    "Not recognised": "Visage non reconnu",
    "Not accepted": "Refusé",
    "(a picture cannot check in)": "(une photo ne peut pas pointer)",
    "at {time}": "à {time}",
    "at {time}, after {deadline}": "à {time}, après {deadline}",
    "since {time}": "depuis {time}",
    "- please see staff": "- adressez-vous au personnel",
    "(no session: nothing recorded)": "(aucune séance : rien n'est enregistré)",
    "(kept: filed when the database is back)": "(gardé : enregistré au retour de la base)",
    "No session": "Aucune séance",
    "not recording": "rien n'est enregistré",
    "Time clock": "Pointeuse",
    "arrivals and departures recorded": "arrivées et départs enregistrés",
    "{present} of {expected} here": "{present} sur {expected} présents",
    "{present} here": "{present} présents",
    "The camera stopped": "La caméra s'est arrêtée",
    "The video ended": "La vidéo est terminée",
    "The camera is not answering": "La caméra ne répond pas",
    "trying again": "nouvel essai en cours",
}

BUILT_IN: dict[str, dict[str, str]] = {"en": {}, "fr": FRENCH}

@dataclass(frozen=True)
class Words:
    """One language's phrases; `say` gives a phrase in it (in English when it has none)."""

    tag: str = "en"
    table: dict[str, str] = field(default_factory=dict)
    problem: str = ""  # why the chosen language's file was not used, for a notice

    def say(self, phrase: str, **values: object) -> str:
        text = self.table.get(phrase, phrase)
        if values:
            try:
                return text.format(**values)
            except (KeyError, IndexError, ValueError, TypeError, AttributeError):  # a translation's own mistake
                return phrase.format(**values)
        return text

    @classmethod
    def for_locale(cls, locale: str, folder: Path | None = None) -> Words:
        """The words of a language tag ("fr-FR", "fr", "de"): its file in `folder`, else built in, else English."""
        tag = (locale or "en").replace("_", "-").split(".")[0].split("@")[0]
        primary = tag.split("-")[0].lower()
        problems = []
        parts = tag.split("-")  # zh-Hant-TW, then zh-Hant, then zh
        nearer = ["-".join(parts[:n]) for n in range(len(parts), 1, -1)]
        script = SCRIPT_OF.get(tag.lower())  # zh-TW is written zh-Hant
        for candidate in dict.fromkeys([*nearer, *([script] if script else []), primary]):
            path = folder / f"{candidate}.toml" if folder else None
            if path is not None and path.is_file():
                table, problem = read_table(path)
                if problem:
                    problems.append(problem)
                    continue
                return cls(candidate, {**BUILT_IN.get(primary, {}), **table}, "; ".join(problems))
        if primary in BUILT_IN:
            return cls(primary, dict(BUILT_IN[primary]), "; ".join(problems))
        return cls("en", {}, "; ".join(problems))


def read_table(path: Path) -> tuple[dict[str, str], str]:
    """The phrases of a language file, or why it cannot be used."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # Notepad starts a file with a BOM
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"{path}: cannot be read as TOML ({str(exc).splitlines()[0][:120]})"
    table = {key: value for key, value in data.items() if isinstance(value, str) and value.strip()}
    if not table:
        return {}, f"{path}: has no phrases (\"english phrase\" = \"translation\" lines)"
    return table, ""


# ----- drawing the letters -------------------------------------------------------------------------


# fontconfig: a font with Chinese letters (asked by one, 王: ":lang=zh" gives the default sans font where the
# CJK fonts are written for zh-cn, ja, ...), one with Vietnamese, one with emoji
FONT_WANTED = (":charset=738b", ":lang=vi", ":charset=1f600")
FONT_SLOT = "uni"  # OpenCV's slot for the letters its own fonts lack


def use_fallback_font(path: str = "") -> str:
    """Give OpenCV a font for the letters its own lacks (Chinese, Vietnamese, emoji): the `door_font`
    setting's, else (or when that one cannot be used) the system's that fontconfig finds (fonts-noto-cjk
    draws Chinese, Japanese and Korean names). Returns what is wrong with a configured font, or ""."""
    import cv2

    register = getattr(getattr(cv2, "FontFace", None), "setBuiltinFont", None)
    if register is None:  # an OpenCV without its own font system
        return ""
    problem = ""
    if path:
        if draws_letters(Path(path)) and register(FONT_SLOT, path):
            draws.cache_clear()
            return ""
        what = "not a font file OpenCV can draw with (.ttf or .otf)" if Path(path).is_file() else "no such file"
        problem = f"door_font {path}: {what}; the system's font is used"
    for candidate in best_first(system_fonts()):  # one slot: the font that draws the most of the names
        if register(FONT_SLOT, candidate):
            draws.cache_clear()
            break
    return problem


def best_first(fonts: list[str]) -> list[str]:
    """The fonts that draw a letter of FONT_PROBE, those drawing its first letters first (Chinese names
    shown as "???" say nothing; a Vietnamese name without an accent still reads)."""
    drawing = {path: letters_drawn(Path(path)) for path in fonts}
    return sorted((path for path in fonts if any(drawing[path])), key=lambda path: drawing[path], reverse=True)


FONT_MAGIC = (b"\x00\x01\x00\x00", b"true", b"OTTO", b"ttcf", b"\x1f\x8b")  # TrueType, OpenType, collection, gzip
# letters OpenCV's own fonts lack: a usable fallback font draws one of them at least (Chinese, Vietnamese and
# emoji first, as system fonts are ranked; then Japanese, Korean, Thai, Devanagari, Bengali, Tamil, Gurmukhi,
# Sinhala, Khmer, Lao, Myanmar, Ethiopic, Greek, Georgian, Armenian: a door_font for one of those is a font too)
FONT_PROBE = "王ễị😀あ한กकকகਕකកກကአΩაԱ"


def draws_letters(path: Path) -> bool:
    """Whether the file is a font OpenCV draws with: it begins as one does, and draws a letter of
    FONT_PROBE where OpenCV's own put "?" (a file cut short, or not a font, draws none)."""
    return any(letters_drawn(path))


def letters_drawn(path: Path) -> tuple[bool, ...]:
    """For each letter of FONT_PROBE, whether the font file draws it (all False: not a font OpenCV reads)."""
    import cv2

    try:
        with path.open("rb") as file:
            if not file.read(4).startswith(FONT_MAGIC):
                return (False,) * len(FONT_PROBE)
        face = cv2.FontFace(str(path))
    except (OSError, cv2.error):
        return (False,) * len(FONT_PROBE)
    return tuple(drawn(letter, face) for letter in FONT_PROBE)


def system_fonts() -> list[str]:
    """The font files fontconfig offers for the scripts of FONT_WANTED, best first (none without it)."""
    import subprocess

    found: list[str] = []
    for pattern in FONT_WANTED:
        try:
            done = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True,
                                  timeout=5, check=False)
        except (OSError, subprocess.SubprocessError):
            return found
        if done.returncode == 0 and done.stdout.strip() and done.stdout.strip() not in found:
            found.append(done.stdout.strip())
    return found


@functools.cache
def draws(letter: str) -> bool:
    """Whether OpenCV's putText draws this letter rather than the "?" it puts for a letter it lacks."""
    return letter == "?" or drawn(letter)


def drawn(letter: str, face: Any = None) -> bool:
    """Whether putText puts anything else than its "?" for the letter: with the door's font, or `face`
    (a cv2.FontFace) alone."""
    import cv2
    import numpy as np

    def ink(text: str) -> np.ndarray:
        image = np.zeros((48, 60), np.uint8)
        if face is None:
            cv2.putText(image, text, (5, 34), cv2.FONT_HERSHEY_DUPLEX, 1.0, 255, 1, cv2.LINE_8)
        else:
            cv2.putText(image, text, (5, 34), 255, face, 28)
        return image

    return bool((ink(letter) != ink("?")).any())


def drawable(text: str) -> str:
    """The text as the door can draw it: each letter the fonts lack without its accents where that one
    is drawn ("ễ" as "e" with an older font), else as it is (OpenCV puts "?")."""
    if text.isascii():
        return text
    return "".join(letter if letter.isascii() or draws(letter) else _bare(letter)
                   for letter in unicodedata.normalize("NFC", text))


def _bare(letter: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFKD", letter) if not unicodedata.combining(c))
    return base if base and all(c.isascii() or draws(c) for c in base) else letter

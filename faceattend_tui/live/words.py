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

import tomllib

LANG_DIR = "lang"  # under the models folder: <data>/models/lang/<tag>.toml

# The English phrases are the keys; {time}, {deadline}, {present} and {expected} are filled in.
ENGLISH = (
    "look at the camera", "hold still", "blink", "come closer", "not recognised",
    "checked in", "late", "already here", "not on this session's list", "please see staff", "recognised",
    "Not recognised", "Not accepted", "(a picture cannot check in)",
    "at {time}", "at {time}, after {deadline}", "since {time}", "- please see staff", "(no session: nothing recorded)",
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
            except (KeyError, IndexError, ValueError):
                return phrase.format(**values)
        return text

    @classmethod
    def for_locale(cls, locale: str, folder: Path | None = None) -> Words:
        """The words of a language tag ("fr-FR", "fr", "de"): its file in `folder`, else built in, else English."""
        tag = (locale or "en").replace("_", "-").split(".")[0].split("@")[0]
        primary = tag.split("-")[0].lower()
        problems = []
        for candidate in dict.fromkeys((tag, primary)):
            path = folder / f"{candidate}.toml" if folder else None
            if path is not None and path.is_file():
                table, problem = read_table(path)
                if problem:
                    problems.append(problem)
                    continue
                return cls(candidate, {**BUILT_IN.get(primary, {}), **table})
        if primary in BUILT_IN:
            return cls(primary, dict(BUILT_IN[primary]), "; ".join(problems))
        return cls("en", {}, "; ".join(problems))


def read_table(path: Path) -> tuple[dict[str, str], str]:
    """The phrases of a language file, or why it cannot be used."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"{path}: cannot be read as TOML ({str(exc).splitlines()[0][:120]})"
    table = {key: value for key, value in data.items() if isinstance(value, str) and value.strip()}
    if not table:
        return {}, f"{path}: has no phrases (\"english phrase\" = \"translation\" lines)"
    return table, ""


# ----- drawing the letters -------------------------------------------------------------------------


@functools.cache
def draws_accents() -> bool:
    """Whether this OpenCV's putText draws "é" (OpenCV 5's own font) rather than "?" (OpenCV 4's Hershey fonts)."""
    import cv2
    import numpy as np

    def ink(text: str) -> np.ndarray:
        image = np.zeros((40, 60), np.uint8)
        cv2.putText(image, text, (5, 30), cv2.FONT_HERSHEY_DUPLEX, 1.0, 255, 1, cv2.LINE_8)
        return image

    return bool((ink("é") != ink("?")).any())


def drawable(text: str) -> str:
    """The text as the door can draw it: unchanged where OpenCV draws accents, else without them."""
    if text.isascii() or draws_accents():
        return text
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if not unicodedata.combining(c))

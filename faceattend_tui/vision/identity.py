"""Which recogniser made a set of templates: its name, the SHA-256 of its file and its embedding size.

The worker reports it once its models are loaded (live), and the manifest of `database_tensor/`
records it (gallery): templates are only used by the recogniser that made them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecognizerId:
    name: str | None = None
    sha256: str | None = None
    dim: int | None = None  # each is None only where a hand-written manifest leaves it out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RecognizerId | None:
        """The manifest's `"recognizer"` object; None when it is missing or empty."""
        if not data:
            return None
        return cls(name=data.get("name"), sha256=data.get("sha256"), dim=data.get("dim"))

    def to_dict(self) -> dict[str, Any]:
        """The same object again: the keys it had, in the order they are written."""
        return {key: value for key, value in (("name", self.name), ("sha256", self.sha256), ("dim", self.dim))
                if value is not None}

    @property
    def label(self) -> str:
        """The name to show in a message."""
        return self.name or "another model"

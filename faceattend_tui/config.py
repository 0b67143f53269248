"""Settings: defaults, then `<data>/faceattend.toml`, then command-line flags."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import tomllib

CONFIG_NAME = "faceattend.toml"

# Cosine similarity below which a face is "unknown" (calibrated on LFW View 1, see README).
DEFAULT_THRESHOLD = 0.32


class ConfigError(Exception):
    """A configuration file or value that cannot be used."""


@dataclass
class Settings:
    data: Path = Path(".")
    device: str = "auto"
    threads: int = 0
    detector: str = "scrfd_500m_bnkps"
    recognizer: str = "w600k_mbf"
    det_size: int = 640
    det_threshold: float = 0.5
    threshold: float = DEFAULT_THRESHOLD

    @property
    def images_dir(self) -> Path:
        return self.data / "database_image"

    @property
    def tensors_dir(self) -> Path:
        return self.data / "database_tensor"


def load_settings(data: Path, overrides: dict | None = None) -> Settings:
    """Settings for a data root; overrides whose value is None are ignored."""
    data = Path(data)
    values = _read_file(data / CONFIG_NAME)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    names = {f.name: f for f in dataclasses.fields(Settings)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"{data / CONFIG_NAME}: unknown setting(s): {', '.join(unknown)}")
    settings = Settings(data=data)
    for key, value in values.items():
        setattr(settings, key, _coerce(key, value, names[key].type, data))
    return settings


def _read_file(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid TOML file ({exc})") from None


def _coerce(key: str, value, type_name: str, data: Path):
    try:
        if type_name == "int":
            return int(value)
        if type_name == "float":
            return float(value)
        if type_name == "Path":
            return Path(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{data / CONFIG_NAME}: {key} = {value!r} is not a valid {type_name}") from None

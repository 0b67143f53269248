"""One root for the errors faceattend raises on purpose."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import faceattend_tui
from faceattend_tui.errors import FaceattendError


def test_every_error_class_of_the_package_has_the_one_root():
    outside = []
    for info in pkgutil.walk_packages(faceattend_tui.__path__, "faceattend_tui."):
        if info.name.startswith("faceattend_tui.tui") or info.name.endswith("__main__"):
            continue  # the screens define no errors of their own; importing them needs a terminal library
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == info.name
                    and not issubclass(value, FaceattendError)):
                outside.append(f"{info.name}.{name}")
    assert outside == []

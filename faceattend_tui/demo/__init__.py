"""The built-in demo: a generated doorway scene and its made-up roster.

The faces are cut out of the sample photos installed with the default models, so the demo needs
nothing else. The live worker knows nothing of it: it is handed a `DemoSourceFactory`.
"""

from __future__ import annotations

from faceattend_tui.demo.cast import DemoCast, DemoError, demo_cast
from faceattend_tui.demo.roster import DEMO_DATA, MARKER, claim_demo_root, enroll_demo_roster, prepare_demo
from faceattend_tui.demo.scene import DemoSource, DemoSourceFactory, write_demo_video

__all__ = ["DEMO_DATA", "MARKER", "DemoCast", "DemoError", "DemoSource", "DemoSourceFactory", "claim_demo_root",
           "demo_cast", "enroll_demo_roster", "prepare_demo", "write_demo_video"]

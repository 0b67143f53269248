"""The built-in demo: a generated doorway scene and its made-up roster.

The faces are cut out of the sample photos installed with the default models, so the demo needs
nothing else. The live worker knows nothing of it: it is handed a `DemoSourceFactory`.
"""

from faceattend_tui.demo.cast import DemoCast, DemoError, demo_cast
from faceattend_tui.demo.roster import enroll_demo_roster, prepare_demo
from faceattend_tui.demo.scene import DemoSource, DemoSourceFactory, write_demo_video

__all__ = ["DemoCast", "DemoError", "DemoSource", "DemoSourceFactory", "demo_cast", "enroll_demo_roster",
           "prepare_demo", "write_demo_video"]

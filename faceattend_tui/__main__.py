from __future__ import annotations

from faceattend_tui.cli import main

raise SystemExit(main())

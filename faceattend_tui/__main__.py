from faceattend_tui.cli import main

raise SystemExit(main())

"""``python -m imugait`` entry point."""

from imugait.cli import main

raise SystemExit(main())

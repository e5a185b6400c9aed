"""`python -m chainrule ...`: the same command line as `chainrule ...`."""

from .app.cli import main

raise SystemExit(main())

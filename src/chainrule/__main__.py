"""`python -m chainrule ...`: the same command line as `chainrule ...`."""
from .cli import main

raise SystemExit(main())

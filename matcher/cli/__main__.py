"""`python -m matcher.cli`: the same as the `matcher` console script."""

from matcher.cli.main import main

raise SystemExit(main())

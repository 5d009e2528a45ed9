"""`python -m cli ...`: the `hotline` command, as `hotline up` starts the console."""

from cli.main import main

raise SystemExit(main())

"""`python -m scheduler`: run the timed jobs in the foreground (what `hotline up` starts)."""

from scheduler.main import main

raise SystemExit(main())

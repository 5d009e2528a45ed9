"""`python -m ivr`: run the bridge in the foreground (what `hotline up` starts)."""

from ivr.main import main

raise SystemExit(main())

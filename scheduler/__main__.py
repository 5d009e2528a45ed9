"""`python -m scheduler`: run the timed jobs in the foreground (what `hotline up` starts)."""

from hotline.secrets import use_private_umask
from scheduler.main import main

use_private_umask()  # its logs and files: its owner's and group's only

raise SystemExit(main())

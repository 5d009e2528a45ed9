"""`python -m ivr`: run the bridge in the foreground (what `hotline up` starts)."""

from hotline.secrets import use_private_umask
from ivr.main import main

use_private_umask()  # its logs and files: its owner's and group's only

raise SystemExit(main())

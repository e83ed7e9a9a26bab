"""``python -m proofs_check`` runs the command line."""

import sys

from proofs_check._cli import main

sys.exit(main())

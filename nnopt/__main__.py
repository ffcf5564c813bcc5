"""``python -m nnopt`` is the ``nnopt`` command."""

import sys

from .cli import main

sys.exit(main())

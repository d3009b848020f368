"""``python -m emotion_platform``: see :mod:`emotion_platform.cli`."""

import sys

from .cli import main

sys.exit(main())

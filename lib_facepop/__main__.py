"""``python -m lib_facepop``: the FacePop command line."""

import sys

from lib_facepop.cli import main

sys.exit(main())

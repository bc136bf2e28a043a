"""``python -m openapiopenai``: the same command as the ``openapiopenai`` script."""

import sys

from openapiopenai.cli import main

if __name__ == "__main__":
    sys.exit(main())

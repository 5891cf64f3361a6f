"""``python -m optimizer solve INSTANCE.json -o SOLUTION.json``."""

import sys

from optimizer.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""`python -m sluice ARGS`: runs the binary installed with this package."""

import sys

from sluice._find_sluice import exec_sluice

if __name__ == "__main__":
    exec_sluice(sys.argv[1:])

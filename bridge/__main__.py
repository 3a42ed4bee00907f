"""`python -m bridge`: the `socketlabs-bridge` command line, which lives in `bridge/cli/main.py`."""

from __future__ import annotations

import sys

from bridge.cli.main import main

__all__ = ["main"]  # the entry point of installs made before the command line moved

if __name__ == "__main__":
    sys.exit(main())

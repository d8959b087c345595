"""Time one distillation step of cobra-lab's engine against a step written the way the reference code loops.

The command line of ``cobra_lab.bench.step`` (its docstring says what is measured); README.md here says how to
run it and where its results go."""
from __future__ import annotations

import sys

from cobra_lab.bench.step import main
from cobra_lab.errors import UserError

if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as error:
        sys.exit(str(error))

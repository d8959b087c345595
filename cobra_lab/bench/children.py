"""A benchmark's timing in a fresh Python process: run it, read back the last line it prints."""
from __future__ import annotations

import subprocess


def child_last_line(command: list[str], what: str, env: dict[str, str] | None = None) -> str:
    """The last line ``command`` prints on stdout (``env``: its environment, None: this one's); when it fails,
    a SystemExit saying that ``what`` failed, with the child's last line on stderr."""
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"{what} failed: {last}")
    return (done.stdout.strip().splitlines() or [""])[-1]

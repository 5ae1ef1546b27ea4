"""JupyterLab set up for the course: `make lab`, or `python -m course.lab [JUPYTER OPTIONS]`.

It starts JupyterLab in the course folder with three things a course needs:

- it runs as root too (containers and many lab machines run as root, where JupyterLab
  refuses to start without `--allow-root`);
- JupyterLab's "Would you like to get notified about official Jupyter news?" pop-up is off
  (it covers the outputs until it is answered);
- where nbgrader is installed (the instructor's copy of the course), its exchange is a
  folder of the course, so that the Assignment List and Formgrader work on one machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# JupyterLab reads these defaults for every user of this Python environment.
SETTINGS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}


def overrides_path(prefix: str = sys.prefix) -> Path:
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def write_settings(prefix: str = sys.prefix) -> Path:
    """Merge the course's JupyterLab defaults into this environment's overrides.json."""
    path = overrides_path(prefix)
    try:
        current = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        current = {}
    for plugin, values in SETTINGS.items():
        current.setdefault(plugin, {}).update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n")
    return path


def make_exchange(folder: Path) -> None:
    """nbgrader's exchange folder: everyone may write in it, as nbgrader's docs ask."""
    folder.mkdir(exist_ok=True)
    folder.chmod(0o777)


def command(folder: Path, extra: list[str]) -> list[str]:
    """The JupyterLab command line for the course folder."""
    line = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        line.append("--allow-root")
    return line + extra


def main(argv: list[str] | None = None) -> int:
    extra = sys.argv[1:] if argv is None else argv
    folder = Path.cwd()
    write_settings()
    if (folder / "nbgrader_config.py").exists():
        make_exchange(folder / "exchange")
    # nbgrader runs `alembic` from this environment to create the gradebook.
    tools = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=tools + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.call(command(folder, extra), cwd=folder, env=env)


if __name__ == "__main__":
    sys.exit(main())

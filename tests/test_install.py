"""A production install has no dev extras (no aiohttp, so no sandbox): the bot must still import and run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Make `import aiohttp` fail as it would where the dev extras are not installed.
BLOCK = "import sys; sys.modules['aiohttp'] = None; "


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})


def test_every_production_module_imports_without_the_dev_extras():
    result = _python("import bot.__main__, bot.runtime.runner, bot.services, handlers; print('ok')")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_demo_says_what_it_needs_instead_of_a_traceback():
    result = _python("from bot.__main__ import main; raise SystemExit(main(['demo']))")
    assert result.returncode == 2
    assert "make demo" in result.stderr and "Traceback" not in result.stderr

"""The SDK as a user gets it: the wheel is built (pip wheel, in an isolated build
environment), installed into a new virtual environment in a temporary directory, and the
README's quickstart, run from there against a real member, prints what the README shows.
The wheel must install `cairn_client` and nothing else at the top level."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

from cluster import REPO_ROOT, Cluster

HERE = Path(__file__).resolve().parents[1]
README = HERE / "README.md"
QUICKSTART = HERE / "examples" / "quickstart.py"
# Building and installing download from the package index (or pip's cache) on a busy
# machine; this only stops a stuck step.
STEP_TIMEOUT = 600


def readme_block(after: str, lang: str) -> str:
    """The first fenced block of `lang` after the line `after` in the README."""
    text = README.read_text()
    found = re.search(re.escape(after) + r".*?```" + lang + r"\n(.*?)```", text, re.DOTALL)
    assert found is not None, f"no ```{lang} block after {after!r} in {README}"
    return found.group(1)


def check(args: list[str], **kwargs: object) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=STEP_TIMEOUT, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return str(done.stdout)


def test_wheel_installs_cairn_client_alone_and_runs_the_quickstart(new_cluster: Callable[..., Cluster]) -> None:
    assert readme_block("## Quickstart", "python") == QUICKSTART.read_text(), (
        "README quickstart != examples/quickstart.py"
    )
    version = (REPO_ROOT / "VERSION").read_text().strip()
    with tempfile.TemporaryDirectory(prefix="cairn-wheel-") as tmp:
        work = Path(tmp)
        # Built from a copy, so that the build leaves nothing (build/, *.egg-info) in the tree.
        source = work / "source"
        shutil.copytree(HERE / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(HERE / name, source / name)
        check([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(work / "dist"), str(source)])
        (wheel,) = (work / "dist").glob("cairn_client-*.whl")
        assert wheel.name.startswith(f"cairn_client-{version}-"), wheel.name
        with zipfile.ZipFile(wheel) as z:
            tops = {name.split("/")[0] for name in z.namelist()}
            assert tops == {"cairn_client", f"cairn_client-{version}.dist-info"}, tops
            assert "cairn_client/_gen/cairn/v1/kv_pb2.pyi" in z.namelist()

        venv = work / "venv"
        check([sys.executable, "-m", "venv", str(venv)])
        python = str(venv / "bin" / "python")
        check([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)])
        # Run from the temporary directory, with a copy of the program, so that nothing of
        # the repository is on the path: only the installed wheel.
        program = work / "quickstart.py"
        program.write_text(QUICKSTART.read_text())
        probe = "import importlib.util as u, cairn_client; print(cairn_client.__file__, u.find_spec('cairn'))"
        where = check([python, "-c", probe], cwd=work)
        assert where.startswith(str(venv)) and where.rstrip().endswith(" None"), where

        cluster = new_cluster(size=1)
        cluster.wait_for_leader()
        env = {"CAIRN_ENDPOINTS": ",".join(cluster.endpoints), "PATH": "/usr/bin:/bin"}
        out = check([python, str(program)], cwd=work, env=env)
        assert out == readme_block("which prints", ""), out

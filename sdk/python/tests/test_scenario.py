"""The cross-SDK scenario, byte for byte against sdk/scenario/expected.txt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cluster import REPO_ROOT, Cluster

SCENARIO = Path(__file__).resolve().parents[1] / "scenario.py"


def test_scenario_prints_the_expected_lines(fresh_cluster: Cluster) -> None:
    env = {**os.environ, "CAIRN_ENDPOINTS": ",".join(fresh_cluster.endpoints)}
    result = subprocess.run([sys.executable, str(SCENARIO)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (REPO_ROOT / "sdk" / "scenario" / "expected.txt").read_text()

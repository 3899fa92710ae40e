"""The viewers give freed memory back to the system (viewer/allocator.py), measured in a child
process: big blocks freed between small ones that stay."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import os, sys
import numpy as np
from viewer.allocator import return_freed_memory

tuned = return_freed_memory()

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

first = np.ones(8 << 20, np.uint8)   # a mesh read and dropped: glibc raises its threshold
del first
big, small = [], []
for _ in range(30):                  # 240 MB of meshes, with small objects allocated between
    big.append(np.ones(8 << 20, np.uint8))
    small.append(np.ones(2000, np.uint8))
full = rss_mb()
del big
print(tuned, round(full), round(rss_mb()))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
@pytest.mark.parametrize("setting", ["", "default"])
def test_freed_meshes_go_back_to_the_system(setting):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "STADTZEIT_MALLOC": setting}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    tuned, full, after = out[0] == "True", float(out[1]), float(out[2])
    assert full > 240
    if setting == "default":             # glibc's own behaviour: what the module is for
        assert not tuned and after > full - 60
    else:
        assert tuned and after < full - 200

from __future__ import annotations

import sys
from pathlib import Path

# pytest runs with --import-mode=importlib: let test modules share helpers (`from test_recovery import …`).
sys.path.insert(0, str(Path(__file__).parent))

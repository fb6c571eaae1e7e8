"""Baseline for the cold targets: read and tomllib-parse every event file of a repo."""

import sys
import tomllib
from pathlib import Path

count = 0
for path in Path(sys.argv[1], "incidents").glob("*/*/events/*.toml"):
    tomllib.loads(path.read_text(encoding="utf-8"))
    count += 1
print(count)

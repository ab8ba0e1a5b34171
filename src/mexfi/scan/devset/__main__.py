"""Write the development set as JSONL: `python -m mexfi.scan.devset OUT_DIR`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mexfi.scan.devset import SPLITS, load

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)
for split in SPLITS:
    with (out / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
        for record in load(split):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

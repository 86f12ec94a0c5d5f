"""Print the API's OpenAPI document, generated from the intake routes and models.

`make openapi` writes it to infra/openapi.json; a test fails when the committed copy is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions"))

from callbacks.intake import openapi_document

if __name__ == "__main__":
    sys.stdout.write(openapi_document())

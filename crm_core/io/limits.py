"""How much input is accepted and how much of it is looked at to sniff encoding, delimiter and header."""
from __future__ import annotations

MAX_BYTES = 200 * 1024 * 1024
MAX_ROWS = 5_000_000
MAX_COLUMNS = 1_000
SNIFF_BYTES = 64 * 1024          # prefix used to detect encoding, delimiter and header
SNIFF_RECORDS = 50               # records of that prefix used to choose the delimiter
TITLE_ROWS_MAX = 20              # how far down a header row may sit under title lines
EXAMPLES_MAX = 5
EXAMPLE_COLUMNS_MAX = 20

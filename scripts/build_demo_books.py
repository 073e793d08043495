"""Write the demo platform's bundled book list: the 500 most-rated goodbooks-10k books.

    .venv/bin/python scripts/build_demo_books.py [path/to/goodbooks-10k/books.csv]

The output (shieldrec/platforms/data/demo_books.json) carries the dataset's attribution and
licence (CC BY-SA 4.0) inside it, so it travels with every copy of the package.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO.parent / "shared" / "data" / "goodbooks-10k" / "books.csv"
TARGET = REPO / "shieldrec" / "platforms" / "data" / "demo_books.json"
COUNT = 500


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    with source.open(newline="", encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: -int(r["ratings_count"]))[:COUNT]
    books = []
    for r in rows:
        year = r["original_publication_year"].strip()
        books.append({
            "book_id": int(r["book_id"]),
            "title": r["title"],
            "authors": r["authors"],
            "year": int(float(year)) if year else None,
            "average_rating": float(r["average_rating"]),
            "ratings_count": int(r["ratings_count"]),
            "language_code": r["language_code"],
        })
    doc = {
        "attribution": "Book data: goodbooks-10k by Zygmunt Zając (github.com/zygmuntz/goodbooks-10k)",
        "license": "CC BY-SA 4.0, https://creativecommons.org/licenses/by-sa/4.0/",
        "note": f"The {COUNT} most-rated books of goodbooks-10k books.csv, selected columns; shared under the same licence.",
        "books": books,
    }
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {len(books)} books to {TARGET.relative_to(REPO)} ({TARGET.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()

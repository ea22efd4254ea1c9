"""CSV downloads for views: the text as an attachment, named so a browser saves it as a file."""

from __future__ import annotations

import re

from flask import Response

UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def csv_attachment(text: str, filename: str) -> Response:
    """Return `text` as a UTF-8 CSV attachment called `filename` (made safe for the header)."""
    safe = UNSAFE.sub("-", filename).strip("-") or "report.csv"
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )

"""The second parsing process yields what in-process parsing yields, and stops when told."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from campaign_engine.ingest.parser_process import parse_in_process
from campaign_engine.ingest.reading import parse_chunks
from campaign_engine.ingest.records import Kind


@pytest.fixture
def contacts_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("campaign_engine.ingest.reading.CHUNK", 3)
    path = tmp_path / "c.csv"
    rows = [f"C{i},person{i}@example.com" if i != 4 else "C4,broken" for i in range(10)]
    path.write_text("external_id,email\n" + "\n".join(rows) + "\n")
    return path


def summary(chunks: object) -> list[tuple[list[int], list[int], list[list[int]]]]:
    return [
        ([i for i, _ in p.valid], [r.index for r in p.rejected], [row.lines for row in p.rows])
        for p in chunks  # type: ignore[attr-defined]
    ]


def test_same_chunks_as_in_process(contacts_file: Path) -> None:
    in_process = summary(parse_chunks(contacts_file, "csv", Kind.contacts))
    assert summary(parse_in_process(contacts_file, "csv", Kind.contacts)) == in_process
    assert [len(lines) for _, _, lines in in_process] == [3, 3, 3, 1]


def test_closing_early_stops_the_process(contacts_file: Path) -> None:
    chunks = parse_in_process(contacts_file, "csv", Kind.contacts)
    next(chunks)
    chunks.close()
    assert multiprocessing.active_children() == []

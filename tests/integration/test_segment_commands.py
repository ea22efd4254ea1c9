"""The segment and traits commands, run as an operator would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import func, select

from campaign_engine.cli import main
from campaign_engine.config import Settings
from campaign_engine.db import transaction
from campaign_engine.models import ContactTraits
from campaign_engine.runtime import Runtime
from campaign_engine.segments.service import create_segment
from tests.factories import make_contact, make_order, make_product

RICH = {
    "version": 1,
    "root": {"type": "attribute", "field": "household_income", "op": "gte", "value": 100_000},
}


def run(settings: Settings, *args: str) -> Result:
    env = {
        "CE_DATABASE_URL": settings.database_url,
        "CE_INSTANCE_PATH": str(settings.instance_path),
    }
    return CliRunner().invoke(main, list(args), env=env)


def add_people(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        for n, income in enumerate((40_000, 120_000, 250_000)):
            make_contact(session, external_id=f"P{n}", household_income=income)
        return create_segment(
            session, name="Rich", description="", definition=RICH, created_by=None
        ).id


def test_segment_preview_prints_count_funnel_and_sample(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    add_people(runtime)
    path = tmp_path / "rich.json"
    path.write_text(json.dumps(RICH))
    result = run(settings, "segment", "preview", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("2 contacts")
    assert "household income ≥ 100000" in result.output
    assert "P1" in result.output and "P0" not in result.output


def test_segment_preview_reports_bad_files_with_their_location(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1,\n "root": }')
    result = run(settings, "segment", "preview", str(broken))
    assert result.exit_code == 1 and "line 2" in result.output
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"version": 1, "root": {"type": "attribute", "field": "shoe"}}))
    result = run(settings, "segment", "preview", str(wrong))
    assert result.exit_code == 1 and "definition.root" in result.output


def test_segment_list_and_export(settings: Settings, runtime: Runtime, tmp_path: Path) -> None:
    segment_id = add_people(runtime)
    listed = run(settings, "segment", "list")
    assert listed.exit_code == 0 and "Rich" in listed.output and " 2 " in listed.output
    out = tmp_path / "rich.csv"
    exported = run(
        settings, "segment", "export", str(segment_id), "--out", str(out), "--sort-by",
        "household_income", "--ascending",
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    lines = out.read_text().splitlines()
    assert lines[0].startswith("position,contact_id,external_id")
    assert [line.split(",")[2] for line in lines[1:]] == ["P1", "P2"]


def test_traits_refresh_computes_every_buyer(settings: Settings, runtime: Runtime) -> None:
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        product = make_product(session, "X", "X", 10.0)
        for n in range(3):
            contact = make_contact(session)
            make_order(session, contact.id, now - timedelta(days=n + 2), [(product, n + 1)])
        make_contact(session)  # a prospect
    result = run(settings, "traits", "refresh", "--quiet")
    assert result.exit_code == 0, result.output
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(ContactTraits)) == 3

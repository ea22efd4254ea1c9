"""`campaign-engine import` on SQLite and PostgreSQL: all-or-nothing, rejects, idempotence."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from campaign_engine.cli import main
from campaign_engine.config import Settings
from campaign_engine.db import transaction
from campaign_engine.ingest.files import import_file
from campaign_engine.ingest.records import Kind
from campaign_engine.models import Contact, Event, Order, OrderLine
from campaign_engine.runtime import Runtime


def run(settings: Settings, *args: str) -> Result:
    env = {
        "CE_DATABASE_URL": settings.database_url,
        "CE_INSTANCE_PATH": str(settings.instance_path),
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def total(runtime: Runtime, model: Any) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


CONTACTS = [
    {"external_id": "C1", "email": "ann@example.com", "city": "Leeds", "attributes.tier": "gold"},
    {"external_id": "C2", "email": "not-an-email", "city": "York", "attributes.tier": ""},
    {"external_id": "C3", "email": "cy@example.com", "city": "", "attributes.tier": "silver"},
]


def test_bad_row_fails_the_whole_file_naming_line_and_field(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "contacts.csv", CONTACTS)
    result = CliRunner().invoke(
        main,
        ["import", "contacts", str(path), "--quiet"],
        env={"CE_DATABASE_URL": settings.database_url},
    )
    assert result.exit_code == 1
    assert "line 3, field email: 'not-an-email' is not an email address" in result.output
    assert total(runtime, Contact) == 0


def test_skip_invalid_imports_good_rows_and_writes_rejects(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "contacts.csv", CONTACTS)
    result = run(settings, "import", "contacts", str(path), "--skip-invalid", "--quiet")
    assert result.exit_code == 0, result.output
    assert "3 read, 2 created, 0 updated, 0 unchanged, 1 rejected" in result.output
    rejects = list(csv.DictReader((tmp_path / "contacts.rejects.csv").read_text().splitlines()))
    assert [(r["external_id"], r["_line"]) for r in rejects] == [("C2", "3")]
    assert "not an email address" in rejects[0]["_errors"]
    with transaction(runtime.sessions) as session:
        c1 = session.scalars(select(Contact).where(Contact.external_id == "C1")).one()
        assert c1.attributes == {"tier": "gold"}


def test_importing_the_same_files_twice_creates_no_duplicates(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    contacts = write_csv(tmp_path / "c.csv", [CONTACTS[0], CONTACTS[2]])
    products = tmp_path / "p.jsonl"
    products.write_text(
        "\n".join(
            json.dumps({"sku": s, "name": s, "category": "x", "price": 5}) for s in ("A", "B")
        )
        + "\n"
    )
    orders = write_csv(
        tmp_path / "o.csv",
        [
            {
                "order_id": "O1",
                "contact_id": "C1",
                "ordered_at": "2024-01-01T10:00:00Z",
                "sku": "A",
                "quantity": 1,
                "unit_price": 5,
            },
            {
                "order_id": "O1",
                "contact_id": "C1",
                "ordered_at": "2024-01-01T10:00:00Z",
                "sku": "B",
                "quantity": 3,
                "unit_price": 4,
            },
            {
                "order_id": "O2",
                "contact_id": "C3",
                "ordered_at": "2024-01-02T10:00:00Z",
                "sku": "B",
                "quantity": 1,
                "unit_price": 4,
            },
        ],
    )
    events = write_csv(
        tmp_path / "e.csv",
        [
            {
                "contact_id": "C1",
                "type": "page_view",
                "occurred_at": "2024-01-01T09:00:00Z",
                "properties.url": "/home",
            }
        ],
    )
    for _ in range(2):
        for kind, path in (
            ("contacts", contacts),
            ("products", products),
            ("orders", orders),
            ("events", events),
        ):
            result = run(settings, "import", kind, str(path), "--quiet")
            assert result.exit_code == 0, result.output
    assert (
        total(runtime, Contact),
        total(runtime, Order),
        total(runtime, OrderLine),
        total(runtime, Event),
    ) == (2, 2, 3, 1)
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(Order.revenue).where(Order.external_id == "O1")) == 17.0


def test_unknown_reference_fails_the_file(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    events = write_csv(
        tmp_path / "e.csv",
        [{"contact_id": "NOBODY", "type": "page_view", "occurred_at": "2024-01-01T09:00:00Z"}],
    )
    result = CliRunner().invoke(
        main,
        ["import", "events", str(events), "--quiet"],
        env={"CE_DATABASE_URL": settings.database_url},
    )
    assert result.exit_code == 1
    assert "line 2, field contact_id: unknown contact 'NOBODY'" in result.output
    assert total(runtime, Event) == 0


def test_import_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [CONTACTS[0]])
    result = CliRunner().invoke(
        main,
        ["import", "contacts", str(path)],
        env={"CE_DATABASE_URL": f"sqlite:///{tmp_path}/new.db"},
    )
    assert result.exit_code == 1
    assert "db upgrade" in result.output


names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=30,
)
contact_rows = st.lists(
    st.fixed_dictionaries(
        {
            "first_name": names,
            "last_name": st.one_of(st.none(), names),
            "birth_date": st.one_of(st.none(), st.dates(date(1900, 1, 1), date(2020, 1, 1))),
            "household_income": st.one_of(st.none(), st.integers(0, 10**7)),
            "created_at": st.datetimes(
                datetime(2000, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)
            ),
            "attributes": st.dictionaries(
                st.from_regex(r"[a-z]{1,8}", fullmatch=True),
                st.integers(-1000, 1000) | names,
                max_size=3,
            ),
        }
    ),
    min_size=1,
    max_size=15,
)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=contact_rows)
def test_import_round_trips_contacts(
    settings: Settings, runtime: Runtime, tmp_path: Path, fmt: str, rows: list[dict[str, Any]]
) -> None:
    run_id = uuid.uuid4().hex[:8]  # examples share the database: keep their contacts apart
    records = [{"external_id": f"H{run_id}-{i}", **row} for i, row in enumerate(rows)]
    path = tmp_path / f"contacts.{fmt}"
    if fmt == "jsonl":
        path.write_text("\n".join(json.dumps(r, default=str) for r in records))
    else:
        write_csv(
            path,
            [
                {
                    **{k: ("" if v is None else v) for k, v in r.items() if k != "attributes"},
                    "attributes": json.dumps(r["attributes"]),
                }
                for r in records
            ],
        )
    result = run(settings, "import", "contacts", str(path), "--quiet")
    assert result.exit_code == 0, result.output
    with transaction(runtime.sessions) as session:
        stored = {
            c.external_id: c
            for c in session.scalars(
                select(Contact).where(Contact.external_id.like(f"H{run_id}-%"))
            )
        }
        for record in records:
            contact = stored[record["external_id"]]
            for name in (
                "first_name",
                "last_name",
                "birth_date",
                "household_income",
                "created_at",
                "attributes",
            ):
                assert getattr(contact, name) == record[name], name


def test_order_rows_must_agree_on_order_level_fields(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    run(
        settings,
        "import",
        "contacts",
        str(write_csv(tmp_path / "c.csv", [CONTACTS[0], CONTACTS[2]])),
        "--quiet",
    )
    run(
        settings,
        "import",
        "products",
        str(
            write_csv(tmp_path / "p.csv", [{"sku": "A", "name": "A", "category": "x", "price": 1}])
        ),
        "--quiet",
    )
    orders = write_csv(
        tmp_path / "o.csv",
        [
            {
                "order_id": "O1",
                "contact_id": "C1",
                "ordered_at": "2024-01-01",
                "sku": "A",
                "unit_price": 1,
            },
            {
                "order_id": "O1",
                "contact_id": "C3",
                "ordered_at": "2024-01-01",
                "sku": "A",
                "unit_price": 1,
            },
        ],
    )
    result = run(settings, "import", "orders", str(orders), "--quiet")
    assert result.exit_code == 1
    assert (
        "line 3, field contact_id: differs from the first row of order 'O1' ('C1')" in result.output
    )
    assert total(runtime, Order) == 0


def test_non_utf8_file_is_refused_with_a_message(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("external_id,first_name\nC1,Zoë\n".encode("latin-1"))
    result = run(settings, "import", "contacts", str(path), "--quiet")
    assert result.exit_code == 1
    assert "is not UTF-8 text" in result.output


def test_bad_json_cells_are_problems_not_crashes(settings: Settings, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "c.csv",
        [
            {"external_id": "C1", "attributes": "[1, 2]", "attributes.tier": "gold"},
            {"external_id": "C2", "attributes": "NaN", "attributes.tier": ""},
        ],
    )
    result = run(settings, "import", "contacts", str(path), "--quiet")
    assert result.exit_code == 1
    assert "line 2, field attributes: holds no JSON object" in result.output
    assert "line 3, field attributes: NaN is not a JSON number" in result.output


def test_explicit_null_is_refused_not_a_crash(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"external_id": "C1", "lifecycle_stage": null}\n')
    result = run(settings, "import", "contacts", str(path), "--quiet")
    assert result.exit_code == 1
    assert "line 1, field lifecycle_stage: cannot be null" in result.output


def test_problem_count_reports_what_was_not_shown(settings: Settings, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "c.csv", [{"external_id": f"C{i}", "email": "bad"} for i in range(120)]
    )
    result = run(settings, "import", "contacts", str(path), "--quiet")
    assert (
        "120 invalid record(s); nothing was imported (first 50 problems shown, 70 more)"
        in result.output
    )


def test_clean_import_writes_no_rejects_file(settings: Settings, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [CONTACTS[0]])
    assert (
        run(settings, "import", "contacts", str(path), "--skip-invalid", "--quiet").exit_code == 0
    )
    assert not (tmp_path / "c.rejects.csv").exists()


def test_premium_sku_may_name_a_product_further_down_the_file(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("campaign_engine.ingest.reading.CHUNK", 1)
    path = write_csv(
        tmp_path / "p.csv",
        [
            {
                "sku": "BASIC",
                "name": "Phone",
                "category": "phones",
                "price": 100,
                "premium_sku": "PRO",
            },
            {
                "sku": "PRO",
                "name": "Phone Pro",
                "category": "phones",
                "price": 900,
                "premium_sku": "",
            },
        ],
    )
    result = run(settings, "import", "products", str(path), "--quiet")
    assert result.exit_code == 0, result.output


@pytest.fixture
def parser_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send every file, however small, through the second parsing process."""
    monkeypatch.setattr("campaign_engine.ingest.files.PARSER_PROCESS_BYTES", 0)
    monkeypatch.setattr("campaign_engine.ingest.reading.CHUNK", 2)


@pytest.mark.usefixtures("parser_process")
def test_parser_process_imports_and_reports_lines_the_same(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    rows = [
        CONTACTS[0],
        CONTACTS[2],
        *({"external_id": f"X{i}", "email": f"x{i}@example.com"} for i in range(5)),
    ]
    assert (
        run(
            settings, "import", "contacts", str(write_csv(tmp_path / "ok.csv", rows)), "--quiet"
        ).exit_code
        == 0
    )
    assert total(runtime, Contact) == 7
    bad = write_csv(tmp_path / "bad.csv", [*rows, CONTACTS[1]])
    result = run(settings, "import", "contacts", str(bad), "--skip-invalid", "--quiet")
    assert "8 read, 0 created, 7 updated, 0 unchanged, 1 rejected" in result.output
    rejects = list(csv.DictReader((tmp_path / "bad.rejects.csv").read_text().splitlines()))
    assert [(r["external_id"], r["_line"]) for r in rejects] == [("C2", "9")]


@pytest.mark.usefixtures("parser_process")
def test_parser_process_errors_reach_the_importer(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("external_id,first_name\nC1,Ann\nC2,Zoë\n".encode("latin-1"))
    result = run(settings, "import", "contacts", str(path), "--quiet")
    assert result.exit_code == 1
    assert "is not UTF-8 text" in result.output
    assert total(runtime, Contact) == 0


def test_library_callers_never_spawn_a_parser(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spawning re-imports the caller's main module, so only the CLI opts in."""
    monkeypatch.setattr("campaign_engine.ingest.files.PARSER_PROCESS_BYTES", 0)

    def refuse(*args: object) -> None:
        raise AssertionError("a parser process was started")

    monkeypatch.setattr("campaign_engine.ingest.files.parse_in_process", refuse)
    with transaction(runtime.sessions) as session:
        report = import_file(session, Kind.contacts, write_csv(tmp_path / "c.csv", [CONTACTS[0]]))
    assert report.result.created == 1

"""The segment and target-list API on SQLite and PostgreSQL: CRUD, preview, lists, exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from campaign_engine.db import transaction
from campaign_engine.models import Campaign, UpliftModel
from campaign_engine.runtime import Runtime
from tests.factories import make_api_key, make_consent, make_contact, make_order, make_product

RICH = {"type": "attribute", "field": "household_income", "op": "gte", "value": 100_000}
SOFTWARE = {"type": "purchase", "category": "software", "at_least": 1}


def definition(node: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "root": node}


@pytest.fixture
def tokens(runtime: Runtime) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        return {
            "read": make_api_key(session, "read")[1],
            "write": make_api_key(session, "read", "segments")[1],
            "ingest": make_api_key(session, "ingest")[1],
        }


@pytest.fixture
def store(runtime: Runtime) -> dict[str, int]:
    """Six contacts: incomes 50k..300k; E1, E3, E5 bought software; E4 and E5 share an email."""
    now = datetime.now(UTC)
    ids = {}
    with transaction(runtime.sessions) as session:
        software = make_product(session, "SW-1", "Office suite", 100.0, category="software")
        for n, income in enumerate((50_000, 100_000, 150_000, 200_000, 250_000, 300_000)):
            email = "twin@example.com" if n in (4, 5) else f"p{n}@example.com"
            contact = make_contact(
                session, external_id=f"E{n}", email=email, household_income=income
            )
            ids[f"E{n}"] = contact.id
            if n % 2:
                make_order(session, contact.id, now - timedelta(days=n), [(software, n)])
            make_consent(session, contact.id, "email", ("opted_in", now, "test"))
    return ids


class Api:
    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers)

    def put(self, path: str, body: Any) -> Any:
        return self.client.put(f"/api/v1{path}", json=body, headers=self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self.headers)


def rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_segment_crud_round_trip(
    client: FlaskClient, tokens: dict[str, str], store: dict[str, int]
) -> None:
    api = Api(client, tokens["write"])
    created = api.post("/segments", {"name": "Rich", "definition": definition(RICH)})
    assert created.status_code == 201, created.json
    segment = created.json
    assert segment["last_count"] == 5
    assert segment["definition"] == definition(RICH)
    assert datetime.fromisoformat(segment["last_evaluated_at"]).tzinfo is not None

    nested = definition({"type": "all", "children": [RICH, SOFTWARE]})
    updated = api.put(f"/segments/{segment['id']}", {"name": "Rich buyers", "definition": nested})
    assert updated.status_code == 200 and updated.json["last_count"] == 3

    listed = Api(client, tokens["read"]).get("/segments").json["segments"]
    assert [(s["name"], s["last_count"]) for s in listed] == [("Rich buyers", 3)]
    assert api.delete(f"/segments/{segment['id']}").status_code == 204
    assert api.get(f"/segments/{segment['id']}").status_code == 404


def test_reading_keys_cannot_write_and_ingest_keys_cannot_read(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    body = {"name": "X", "definition": definition(RICH)}
    assert Api(client, tokens["read"]).post("/segments", body).status_code == 403
    assert Api(client, tokens["ingest"]).get("/segments").status_code == 403
    assert client.get("/api/v1/segments").status_code == 401


def test_bad_definitions_are_refused_with_the_path_of_each_problem(
    client: FlaskClient, tokens: dict[str, str], store: dict[str, int]
) -> None:
    api = Api(client, tokens["write"])
    bad = definition(
        {
            "type": "all",
            "children": [
                {"type": "attribute", "field": "household_income", "op": "contains", "value": 1},
                {"type": "any", "children": []},
                {"type": "purchase", "category": "software", "window": {"last_days": 99_999}},
            ],
        }
    )
    response = api.post("/segments", {"name": "Bad", "definition": bad})
    assert response.status_code == 422
    locations = [p["location"] for p in response.json["error"]["problems"]]
    assert locations == [
        "definition.root.children[0]",
        "definition.root.children[1].children",
        "definition.root.children[2].window.last_days",
    ]
    assert api.get("/segments").json["segments"] == []  # nothing half-written
    preview = api.post("/segments/preview", {"definition": bad})
    assert preview.status_code == 422


def test_segment_cycles_are_refused_where_the_reference_is(
    client: FlaskClient, tokens: dict[str, str], store: dict[str, int]
) -> None:
    api = Api(client, tokens["write"])
    first = api.post("/segments", {"name": "A", "definition": definition(RICH)}).json
    ref_a = {"type": "segment", "segment_id": first["id"]}
    second = api.post("/segments", {"name": "B", "definition": definition(ref_a)}).json
    ref_b = {"type": "all", "children": [RICH, {"type": "segment", "segment_id": second["id"]}]}
    looped = api.put(f"/segments/{first['id']}", {"name": "A", "definition": definition(ref_b)})
    assert looped.status_code == 422
    problem = looped.json["error"]["problems"][0]
    assert problem["location"] == "definition.root.children[1]"
    assert "cycle" in problem["message"]
    missing = api.post(
        "/segments", {"name": "C", "definition": definition({"type": "segment", "segment_id": 999})}
    )
    assert missing.json["error"]["problems"][0]["message"] == "segment 999 does not exist"
    assert api.delete(f"/segments/{first['id']}").status_code == 409


def test_unknown_campaigns_are_refused_naming_the_field(
    client: FlaskClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        session.add(Campaign(code="SPRING", name="Spring", channel="email"))
    api = Api(client, tokens["write"])
    known = {"type": "message", "action": "opened", "campaign_code": "SPRING"}
    unknown = [
        {"type": "message", "action": "opened", "campaign_id": 999},
        {"type": "message", "action": "clicked", "campaign_code": "spring", "at_least": 2},
    ]
    body = definition({"type": "all", "children": [known, *unknown]})
    refused = api.post("/segments/preview", {"definition": body})
    assert refused.status_code == 422
    assert [(p["location"], p["message"]) for p in refused.json["error"]["problems"]] == [
        ("definition.root.children[1].campaign_id", "campaign 999 does not exist"),
        ("definition.root.children[2].campaign_code", "no campaign has the code 'spring'"),
    ]
    saved = api.post("/segments", {"name": "Openers", "definition": definition(known)})
    assert saved.status_code == 201, saved.json


def test_unknown_uplift_models_are_refused_naming_the_field(
    client: FlaskClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        session.add(UpliftModel(name="winback", training={"campaigns": [1]}))
    api = Api(client, tokens["write"])
    known = {"type": "uplift", "model": "winback", "percentile": {"op": "lt", "value": 0.2}}
    unknown = {"type": "uplift", "model": "Winback", "scored": False}
    body = definition({"type": "all", "children": [known, {"type": "not", "child": unknown}]})
    refused = api.post("/segments", {"name": "Persuadable", "definition": body})
    assert refused.status_code == 422
    assert [(p["location"], p["message"]) for p in refused.json["error"]["problems"]] == [
        ("definition.root.children[1].child.model", "uplift model 'Winback' does not exist"),
    ]
    saved = api.post("/segments", {"name": "Persuadable", "definition": definition(known)})
    assert saved.status_code == 201, saved.json
    preview = api.post("/segments/preview", {"definition": definition(known)})
    assert preview.json["funnel"][0]["label"] == "in the top 20% by uplift under model winback"


def test_preview_counts_samples_and_funnel(
    client: FlaskClient, tokens: dict[str, str], store: dict[str, int]
) -> None:
    body = {
        "definition": definition({"type": "all", "children": [RICH, SOFTWARE]}),
        "sample_size": 1,
    }
    preview = Api(client, tokens["read"]).post("/segments/preview", body).json
    assert preview["count"] == 3
    assert [s["external_id"] for s in preview["sample"]] == ["E1"]
    assert [(f["alone"], f["cumulative"]) for f in preview["funnel"]] == [(5, 5), (3, 3)]
    assert preview["funnel"][1]["label"] == "bought category software at least once"


def test_members_are_paged_and_exported(
    client: FlaskClient, tokens: dict[str, str], store: dict[str, int]
) -> None:
    api = Api(client, tokens["write"])
    segment = api.post("/segments", {"name": "Rich", "definition": definition(RICH)}).json
    page = api.get(f"/segments/{segment['id']}/members?page=2&per_page=2").json
    assert page["total"] == 5
    assert [m["external_id"] for m in page["items"]] == ["E3", "E4"]
    assert api.get(f"/segments/{segment['id']}/members?per_page=0").status_code == 422
    export = api.get(f"/segments/{segment['id']}/export?sort_by=household_income&limit=3")
    assert export.headers["Content-Type"].startswith("text/csv")
    assert [r["external_id"] for r in rows(export)] == ["E5", "E4", "E3"]
    assert api.get(f"/segments/{segment['id']}/export?sort_by=shoe_size").status_code == 422


def test_snapshots_freeze_sorted_deduplicated_limited_members(
    client: FlaskClient, runtime: Runtime, tokens: dict[str, str], store: dict[str, int]
) -> None:
    api = Api(client, tokens["write"])
    segment = api.post("/segments", {"name": "Rich", "definition": definition(RICH)}).json
    body = {"name": "Top 3", "sort_by": "household_income", "limit": 3, "dedupe_by": "email"}
    snapshot = api.post(f"/segments/{segment['id']}/lists", body)
    assert snapshot.status_code == 201, snapshot.json
    target = snapshot.json
    assert target["size"] == 3 and target["kind"] == "snapshot"
    # E5 and E4 share an address: the richer one stays, the next in line moves up.
    exported = rows(api.get(f"/target-lists/{target['id']}/export"))
    assert [(r["position"], r["external_id"]) for r in exported] == [
        ("1", "E5"),
        ("2", "E3"),
        ("3", "E2"),
    ]
    # The list is frozen: new rich contacts do not join it.
    with transaction(runtime.sessions) as session:
        make_contact(session, external_id="E9", household_income=900_000)
    members = api.get(f"/target-lists/{target['id']}/members").json
    assert [m["external_id"] for m in members["items"]] == ["E5", "E3", "E2"]
    assert api.get(f"/segments/{segment['id']}/members").json["total"] == 6
    bad = api.post(f"/segments/{segment['id']}/lists", {"name": "", "limit": 0})
    assert sorted(p["location"] for p in bad.json["error"]["problems"]) == ["limit", "name"]


def test_static_lists_match_uploaded_rows_and_report_the_rest(
    client: FlaskClient, tokens: dict[str, str], store: dict[str, int]
) -> None:
    api = Api(client, tokens["write"])
    upload = (
        "Email,Note\nP1@example.com,a\nnobody@example.com,b\np1@example.com,dup\np3@example.com,c\n"
    )
    created = api.post("/target-lists", {"name": "Upload", "match_by": "email", "csv": upload})
    assert created.status_code == 201, created.json
    assert created.json["matched"] == 2
    assert created.json["unmatched"] == [
        {"location": "line 3", "message": "no contact with email 'nobody@example.com'"}
    ]
    exported = rows(api.get(f"/target-lists/{created.json['id']}/export"))
    assert [r["external_id"] for r in exported] == ["E1", "E3"]
    no_column = api.post("/target-lists", {"name": "X", "match_by": "phone", "csv": upload})
    assert no_column.status_code == 422
    assert no_column.json["error"]["problems"][0]["location"] == "line 1"
    lists = api.get("/target-lists").json["target_lists"]
    assert [(t["name"], t["size"]) for t in lists] == [("Upload", 2)]

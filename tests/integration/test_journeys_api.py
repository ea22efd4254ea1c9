"""The journey API and CLI on SQLite and PostgreSQL: round trips, lifecycle, errors, scopes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from campaign_engine.cli import main
from campaign_engine.config import Settings
from campaign_engine.db import transaction
from campaign_engine.runtime import Runtime
from tests.campaign_support import segment, template_id
from tests.factories import make_api_key, make_contact


class Api:
    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers)

    def put(self, path: str, body: Any) -> Any:
        return self.client.put(f"/api/v1{path}", json=body, headers=self.headers)

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self.headers)


@pytest.fixture
def tokens(runtime: Runtime) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        return {
            "read": make_api_key(session, "read")[1],
            "write": make_api_key(session, "read", "campaigns")[1],
        }


@pytest.fixture
def refs(runtime: Runtime) -> dict[str, int]:
    with transaction(runtime.sessions) as session:
        for n in range(3):
            make_contact(session, external_id=f"E{n}")
        return {"segment": segment(session), "template": template_id(session, "welcome")}


def welcome(segment_id: int, template: int) -> dict[str, Any]:
    return {
        "version": 1,
        "name": "Welcome",
        "nodes": [
            {"id": "joined", "type": "entry_segment", "segment_id": segment_id, "next": "mail"},
            {"id": "mail", "type": "send", "channel": "email", "template_id": template,
             "next": "wait"},
            {"id": "wait", "type": "delay", "duration": {"days": 2}, "next": "done"},
            {"id": "done", "type": "exit"},
        ],
    }  # fmt: skip


def test_journey_round_trip_and_lifecycle(
    client: FlaskClient, tokens: dict[str, str], refs: dict[str, int]
) -> None:
    api = Api(client, tokens["write"])
    broken = welcome(refs["segment"], 9999)
    created = api.post("/journeys", {"name": "Welcome", "definition": broken})
    assert created.status_code == 201, created.get_json()
    journey = created.get_json()
    journey_id = journey["id"]
    assert journey["status"] == "draft" and journey["version"] is None
    assert [(p["node_id"], p["field"], p["code"]) for p in journey["problems"]] == [
        ("mail", "template_id", "unknown_template")
    ]

    refused = api.post(f"/journeys/{journey_id}/publish")
    assert refused.status_code == 422
    problem = refused.get_json()["error"]["problems"][0]
    assert (problem["node_id"], problem["field"]) == ("mail", "template_id")
    assert problem["message"] == "Template 9999 does not exist (or was deleted)."

    fixed = api.put(
        f"/journeys/{journey_id}", {"definition": welcome(refs["segment"], refs["template"])}
    )
    assert fixed.status_code == 200 and fixed.get_json()["problems"] == []
    published = api.post(f"/journeys/{journey_id}/publish")
    assert published.status_code == 200
    body = published.get_json()
    assert (body["status"], body["version"], len(body["versions"])) == ("published", 1, 1)
    assert body["campaign_id"] is not None

    assert api.post(f"/journeys/{journey_id}/pause").get_json()["status"] == "paused"
    assert api.post(f"/journeys/{journey_id}/pause").status_code == 409
    assert api.post(f"/journeys/{journey_id}/resume").get_json()["status"] == "published"
    listed = api.get("/journeys").get_json()["journeys"]
    assert [(j["id"], j["status"], j["version"]) for j in listed] == [(journey_id, "published", 1)]
    stats = api.get(f"/journeys/{journey_id}/stats").get_json()
    assert set(stats["nodes"]) == {"joined", "mail", "wait", "done"}
    assert stats["campaign_id"] == body["campaign_id"]
    assert api.delete(f"/journeys/{journey_id}").status_code == 409
    assert api.post(f"/journeys/{journey_id}/archive").get_json()["status"] == "archived"


def test_validate_lists_every_problem_without_saving(
    client: FlaskClient, tokens: dict[str, str], refs: dict[str, int]
) -> None:
    api = Api(client, tokens["read"])
    definition = welcome(9998, refs["template"])
    definition["nodes"].append({"id": "orphan", "type": "exit"})
    answer = api.post("/journeys/validate", {"definition": definition})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["valid"] is False
    assert {(p["node_id"], p["code"]) for p in body["problems"]} == {
        ("joined", "unknown_segment"),
        ("orphan", "unreachable"),
    }
    ok = api.post("/journeys/validate", {"definition": welcome(refs["segment"], refs["template"])})
    assert ok.get_json() == {"valid": True, "problems": []}
    assert Api(client, tokens["write"]).get("/journeys").get_json()["journeys"] == []


def test_bad_bodies_are_400_with_field_paths_and_unknown_ids_404(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    api = Api(client, tokens["write"])
    answer = api.post("/journeys", {"name": "", "colour": "red"})
    assert answer.status_code == 400
    locations = {p["location"] for p in answer.get_json()["error"]["problems"]}
    assert locations == {"name", "colour"}
    assert api.post("/journeys/validate", {"definition": "nodes"}).status_code == 400
    assert api.post("/journeys/1/simulate", {"days": 0}).status_code == 400
    assert api.get("/journeys/999").status_code == 404
    assert api.post("/journeys/999/publish").status_code == 404
    assert api.put("/journeys/999", {"name": "x"}).status_code == 404
    assert api.delete("/journeys/999").status_code == 404
    assert api.post("/journeys/library/nope/install").status_code == 404


def test_reading_needs_a_key_and_writing_the_campaigns_scope(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    assert client.get("/api/v1/journeys").status_code == 401
    reader = Api(client, tokens["read"])
    assert reader.get("/journeys").status_code == 200
    assert reader.get("/journeys/library").status_code == 200
    assert reader.post("/journeys", {"name": "Nope"}).status_code == 403
    assert reader.post("/journeys/library/referral_ask/install").status_code == 403


def test_a_draft_is_deleted_and_a_journey_simulated(
    client: FlaskClient, tokens: dict[str, str], refs: dict[str, int]
) -> None:
    api = Api(client, tokens["write"])
    definition = welcome(refs["segment"], refs["template"])
    journey_id = api.post("/journeys", {"definition": definition}).get_json()["id"]
    simulated = api.post(f"/journeys/{journey_id}/simulate", {"days": 7, "sample": 10})
    assert simulated.status_code == 200
    result = simulated.get_json()
    assert result["entered"] == result["nodes"]["joined"]["entered"] == 3
    assert result["sends"] == {"mail": 3} and result["outcomes"] == {"completed": 3}
    assert api.delete(f"/journeys/{journey_id}").status_code == 204
    assert api.get(f"/journeys/{journey_id}").status_code == 404


def test_the_library_lists_ten_journeys_and_installs_one(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    api = Api(client, tokens["write"])
    library = api.get("/journeys/library").get_json()["journeys"]
    assert len(library) == 10
    survey = next(j for j in library if j["key"] == "satisfaction_survey")
    assert {r["name"] for r in survey["requires"]} == {"satisfaction_survey", "survey_reminder"}
    survey_install = api.post("/journeys/library/satisfaction_survey/install")
    assert survey_install.status_code == 201, survey_install.get_json()
    unknown = api.post("/journeys/library/no_such_journey/install")
    assert unknown.status_code == 404
    chosen = api.post("/journeys/library/off_season_offer/install", {})
    assert chosen.status_code == 201, chosen.get_json()
    body = chosen.get_json()
    assert (body["name"], body["status"], body["problems"]) == (
        "Off-season offer for seasonal buyers",
        "draft",
        [],
    )


def cli(settings: Settings, *args: str) -> Result:
    env = {
        "CE_DATABASE_URL": settings.database_url,
        "CE_INSTANCE_PATH": str(settings.instance_path),
    }
    return CliRunner().invoke(main, ["journey", *args], env=env)


def test_the_cli_saves_validates_publishes_and_simulates(
    settings: Settings, refs: dict[str, int], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(welcome(refs["segment"], 9999)))
    checked = cli(settings, "validate", str(broken))
    assert checked.exit_code == 1
    assert "step 'mail' (template_id): Template 9999 does not exist" in checked.output
    saved = cli(settings, "save", str(broken))
    assert saved.exit_code == 0 and "saved journey" in saved.output
    assert "step 'mail' (template_id)" in saved.output
    journey_id = saved.output.split()[2]
    refused = cli(settings, "publish", journey_id)
    assert refused.exit_code == 1 and "mail.template_id" in refused.output

    good = tmp_path / "good.json"
    good.write_text(json.dumps(welcome(refs["segment"], refs["template"])))
    assert cli(settings, "save", "--id", journey_id, str(good)).exit_code == 0
    published = cli(settings, "publish", journey_id)
    assert "published version 1" in published.output, published.output
    assert cli(settings, "pause", journey_id).output.strip().endswith("is paused")
    assert cli(settings, "resume", journey_id).output.strip().endswith("is published")
    listed = cli(settings, "list").output
    assert "published" in listed and "v1" in listed and "Welcome" in listed
    simulated = cli(settings, "simulate", journey_id, "--days", "5")
    assert simulated.exit_code == 0, simulated.output
    assert "3 entered" in simulated.output and "would send: mail 3" in simulated.output
    assert "welcome_onboarding" in cli(settings, "library").output
    installed = cli(settings, "install", "off_season_offer")
    assert installed.exit_code == 0, installed.output
    assert "Off-season offer for seasonal buyers" in installed.output
    referral = cli(settings, "install", "referral_ask")
    assert referral.exit_code == 0 and "Referral ask" in referral.output

"""The uplift model API: define, list, versions with metrics, promote, roll back, train, scores."""

from __future__ import annotations

from flask.testing import FlaskClient

from campaign_engine.runtime import Runtime
from campaign_engine.uplift_models import jobs
from tests.campaign_support import in_session
from tests.factories import make_api_key
from tests.uplift_model_support import MODEL, add_versions, definition, seed_store


def keys(runtime: Runtime) -> tuple[dict[str, str], dict[str, str]]:
    read, write = in_session(
        runtime,
        lambda s: (make_api_key(s, "read")[1], make_api_key(s, "read", "campaigns")[1]),
    )
    return {"Authorization": f"Bearer {read}"}, {"Authorization": f"Bearer {write}"}


def test_a_model_is_defined_listed_and_its_versions_read_through_the_api(
    runtime: Runtime, client: FlaskClient
) -> None:
    campaign = seed_store(runtime)
    read, write = keys(runtime)
    created = client.post("/api/v1/uplift/models", json=definition(campaign), headers=write)
    assert created.status_code == 201 and created.json["name"] == MODEL
    again = client.post(
        "/api/v1/uplift/models", json=definition(campaign, retrain_days=7), headers=write
    )
    assert again.status_code == 200
    add_versions(runtime, campaign, count=2, promote=1)
    listed = client.get("/api/v1/uplift/models", headers=read).json["models"]
    assert [m["name"] for m in listed] == [MODEL]
    model = client.get(f"/api/v1/uplift/models/{MODEL}", headers=read).json
    assert [(v["version"], v["status"]) for v in model["versions"]] == [
        (2, "candidate"),
        (1, "promoted"),
    ]
    version = client.get(f"/api/v1/uplift/models/{MODEL}/versions/1", headers=read).json
    assert set(version["metrics"]["normalised_qini"]) == {"model", "propensity", "random"}
    assert "recency_days" in version["features"]

    promoted = client.post(f"/api/v1/uplift/models/{MODEL}/versions/2/promote", headers=write)
    assert promoted.status_code == 200 and promoted.json["replaced"] == 1
    back = client.post(f"/api/v1/uplift/models/{MODEL}/rollback", headers=write)
    assert (back.status_code, back.json["version"], back.json["replaced"]) == (200, 1, 2)

    asked = client.post(f"/api/v1/uplift/models/{MODEL}/train", headers=write)
    assert asked.status_code == 202 and asked.json["train_requested_at"]
    twice = client.post(f"/api/v1/uplift/models/{MODEL}/train", headers=write)
    assert twice.status_code == 409

    assert client.get(f"/api/v1/uplift/models/{MODEL}/scores/1", headers=read).status_code == 404
    jobs.score(runtime, MODEL)
    score = client.get(f"/api/v1/uplift/models/{MODEL}/scores/1", headers=read).json
    assert (score["model"], score["version"], score["contact_id"]) == (MODEL, 1, 1)
    assert 0 <= score["percentile"] < 1


def test_bad_definitions_unknown_models_and_missing_scopes_are_refused(
    runtime: Runtime, client: FlaskClient
) -> None:
    read, write = keys(runtime)
    bad = client.post(
        "/api/v1/uplift/models",
        json={"name": "Bad Name", "learner": "magic", "training": {}},
        headers=write,
    )
    assert bad.status_code == 422
    fields = {p["location"] for p in bad.json["error"]["problems"]}
    assert {"name", "learner", "training"} <= fields
    assert client.get("/api/v1/uplift/models/ghost", headers=read).status_code == 404
    forbidden = client.post("/api/v1/uplift/models/ghost/train", headers=read)
    assert forbidden.status_code == 403
    assert client.get("/api/v1/uplift/models").status_code == 401
    paths = client.get("/api/v1/openapi.json", headers=read).json["paths"]
    assert "/api/v1/uplift/models/{model_ref}/scores/{contact_id}" in paths

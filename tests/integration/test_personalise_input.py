"""The storefront API refuses bad keys and bad input with a clear 4xx, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_engine.accounts import revoke_api_key
from campaign_engine.db import transaction
from campaign_engine.errors import Forbidden, Unauthorized
from campaign_engine.key_cache import KeyCache
from campaign_engine.models import Product
from campaign_engine.runtime import Runtime
from tests.factories import make_api_key
from tests.recommend_support import buyer, make_catalogue, make_rule_set

URL = "/api/v1/personalise"
GOOD = {"visitor_id": "v1", "basket": ["MEAL"], "slots": [{"name": "x", "type": "cross_sell"}]}
ELEVEN_SLOTS = [{"name": f"s{i}", "type": "content"} for i in range(11)]


@pytest.fixture
def products(runtime: Runtime) -> dict[str, Product]:
    with transaction(runtime.sessions) as session:
        products = make_catalogue(session)
        make_rule_set(session, products)
        return products


@pytest.fixture
def token(runtime: Runtime) -> str:
    with transaction(runtime.sessions) as session:
        return make_api_key(session, "personalise")[1]


def post(client: FlaskClient, token: str | None, body: Any, url: str = URL) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(url, json=body, headers=headers)


def problems(response: Any) -> dict[str, str]:
    return {p["location"]: p["message"] for p in response.get_json()["error"]["problems"]}


def test_a_bad_key_learns_nothing(
    client: FlaskClient, products: dict[str, Product], runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        contact = buyer(session, products, ["MEAL"])
        revoked_key, revoked = make_api_key(session, "personalise")
        revoke_api_key(session, revoked_key.prefix)
    known = {**GOOD, "contact_id": contact.external_id}
    unknown = {**GOOD, "contact_id": "nobody-at-all", "basket": ["NO-SUCH-SKU"]}
    answers = []
    for token in (None, "", "garbage", "ce_deadbeef_secret", revoked):
        for body in (known, unknown, {"not": "valid"}):
            response = post(client, token, body)
            answers.append((response.status_code, response.get_data()))
        response = client.get(
            f"/api/v1/recommendations?contact_id={contact.external_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
        answers.append((response.status_code, response.get_data()))
    assert len(set(answers)) == 1
    status, body = answers[0]
    assert status == 401
    assert json.loads(body)["error"]["code"] == "unauthorized"


def test_a_key_without_the_personalise_scope_is_forbidden(
    client: FlaskClient, products: dict[str, Product], runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        _, ingest_only = make_api_key(session, "ingest")
    response = post(client, ingest_only, GOOD)
    assert response.status_code == 403
    assert "personalise" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "location"),
    [
        ({**GOOD, "basket": ["MEAL", "NOPE"]}, 422, "basket[1]"),
        ({**GOOD, "contact_id": "nobody"}, 422, "contact_id"),
        ({**GOOD, "page": {"type": "product", "sku": "NOPE"}}, 422, "page.sku"),
        ({**GOOD, "page": {"type": "category", "category": "nope"}}, 422, "page.category"),
        ({**GOOD, "slots": [{"name": "x", "type": "cross_sell", "k": 1000}]}, 422, "slots[0].k"),
        ({**GOOD, "slots": [{"name": "x", "type": "everything"}]}, 422, "slots[0].type"),
        ({**GOOD, "slots": []}, 422, "slots"),
        ({**GOOD, "slots": ELEVEN_SLOTS}, 422, "slots"),
        ({**GOOD, "basket": ["MEAL"] * 51}, 422, "basket"),
        ({**GOOD, "colour": "red"}, 422, "colour"),
        ({**GOOD, "contact_id": ""}, 422, "contact_id"),
        ([1, 2, 3], 422, "body"),
    ],
)
def test_bad_bodies_get_a_4xx_naming_the_field(
    client: FlaskClient,
    token: str,
    products: dict[str, Product],
    body: Any,
    status: int,
    location: str,
) -> None:
    response = post(client, token, body)
    assert response.status_code == status, response.get_json()
    assert location in problems(response)


def test_an_empty_basket_is_fine_and_gets_best_sellers_of_the_page(
    client: FlaskClient, token: str, products: dict[str, Product]
) -> None:
    body = {**GOOD, "basket": [], "page": {"type": "category", "category": "restaurant"}}
    answer = post(client, token, body).get_json()
    assert [i["sku"] for i in answer["slots"]["x"]["items"]] == []  # no rule fires
    body["slots"] = [{"name": "x", "type": "recommendations"}]
    body["personalisation"] = False
    items = post(client, token, body).get_json()["slots"]["x"]["items"]
    assert [i["sku"] for i in items] == ["MEAL", "APPLE-PIE"]


def test_oversized_malformed_and_mistyped_requests(
    client: FlaskClient, token: str, products: dict[str, Product]
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    huge = json.dumps({**GOOD, "visitor_id": "v" * 20_000})
    response = client.post(URL, data=huge, headers=auth, content_type="application/json")
    assert response.status_code == 413
    assert "body" in problems(response)
    for garbage in (b"{not json", b"[" * 6000 + b"]" * 6000, b"\xff\xfe"):
        response = client.post(URL, data=garbage, headers=auth, content_type="application/json")
        assert (response.status_code, problems(response)) == (422, {"body": "malformed JSON"})
    response = client.post(URL, data=json.dumps(GOOD), headers=auth, content_type="text/plain")
    assert response.status_code == 422
    assert "Content-Type" in problems(response)
    assert client.get(URL, headers=auth).status_code == 405
    assert client.put("/api/v1/recommendations", headers=auth).status_code == 405


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ("k=5", "body"),
        ("sku=MEAL&k=0", "k"),
        ("sku=MEAL&k=abc", "k"),
        ("sku=MEAL&kind=everything", "kind"),
        ("sku=MEAL&colour=red", "colour"),
        ("sku=MEAL&k=1&k=2", "k"),
        ("sku=NOPE", "sku[0]"),
        ("contact_id=nobody", "contact_id"),
        ("sku=" + ",".join(["MEAL"] * 21), "sku"),
    ],
)
def test_bad_lookups_get_a_4xx_naming_the_parameter(
    client: FlaskClient, token: str, products: dict[str, Product], query: str, location: str
) -> None:
    response = client.get(
        f"/api/v1/recommendations?{query}", headers={"Authorization": f"Bearer {token}"}
    )
    assert 400 <= response.status_code < 500
    found = problems(response)
    assert location in found or (location == "body" and "" in found), found


def test_clicks_name_what_is_wrong(
    client: FlaskClient, token: str, products: dict[str, Product]
) -> None:
    url = "/api/v1/personalise/clicks"
    assert "impression_id" in problems(post(client, token, {"sku": "MEAL"}, url))
    bad_sku = {"impression_id": "0" * 32, "sku": "NOPE"}
    assert "sku" in problems(post(client, token, bad_sku, url))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "contact_id": JSON,
        "visitor_id": JSON,
        "page": JSON | st.fixed_dictionaries({}, optional={"type": JSON, "sku": JSON}),
        "basket": JSON | st.lists(st.sampled_from(["MEAL", "LAPTOP-BASIC", "x"]), max_size=5),
        "slots": JSON
        | st.lists(
            st.fixed_dictionaries(
                {"name": st.text(max_size=5), "type": st.sampled_from(["offers", "x"])},
                optional={"k": JSON},
            ),
            max_size=3,
        ),
        "personalisation": JSON,
    },
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=JSON | FIELDS)
def test_random_json_bodies_never_get_a_500(
    client: FlaskClient, token: str, products: dict[str, Product], body: Any
) -> None:
    response = post(client, token, body)
    assert response.status_code in (200, 413, 422), response.get_data()
    if response.status_code != 200:
        assert response.get_json()["error"]["message"]


def test_the_openapi_document_describes_the_storefront_endpoints(
    client: FlaskClient, token: str
) -> None:
    document = client.get(
        "/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    paths = document["paths"]
    assert set(paths["/api/v1/personalise"]) == {"post"}
    assert set(paths["/api/v1/recommendations"]) == {"get"}
    assert paths["/api/v1/personalise/clicks"]["post"]["security"] == [{"apiKey": ["personalise"]}]
    body = document["components"]["schemas"]["PersonaliseRequest"]
    assert body["additionalProperties"] is False and body["required"] == ["slots"]
    assert body["properties"]["basket"]["maxItems"] == 50


def test_checked_keys_are_trusted_for_the_cache_time_and_only_by_hash(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        key, token = make_api_key(session, "personalise")
    cached, uncached = KeyCache(runtime.sessions, 3600), KeyCache(runtime.sessions, 0)
    cached.check(token, "personalise")
    uncached.check(token, "personalise")
    assert token not in repr(cached._keys)  # the hash is kept, never the token
    with transaction(runtime.sessions) as session:
        revoke_api_key(session, key.prefix)
    cached.check(token, "personalise")  # trusted until the entry expires
    with pytest.raises(Unauthorized):
        uncached.check(token, "personalise")
    with pytest.raises(Forbidden):
        cached.check(token, "ingest")

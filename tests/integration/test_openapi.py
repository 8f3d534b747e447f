"""The OpenAPI document validates and describes exactly the routes the app serves."""

from __future__ import annotations

from openapi_spec_validator import validate

from events.conference.api import route_rules


def test_spec_is_valid_openapi(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    validate(response.json)


def test_spec_matches_routes(client, app):
    spec = client.get("/api/v1/openapi.json").json
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops
                  if method in {"get", "post", "put", "patch", "delete"}}
    assert documented == route_rules(app)

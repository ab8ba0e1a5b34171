"""Errors as problem+json, one handler over the error tree; no-store; no echoed input."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mexfi.api.problems import problem_code
from mexfi.errors import Conflict, Denied, Invalid, MexfiError, NotFound, Unavailable
from mexfi.vault import PurposeDenied, SubjectNotFound
from tests.api.conftest import bearer

PHONE = "+994 50 987 65 43"


def test_health_answers_and_is_not_cached(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_the_openapi_document_and_the_docs_are_served(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "/api/v1/subjects/find" in document["paths"]
    assert "/api/v1/policies/{policy_id}/notice/{lang}" in document["paths"]
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NotFound("no thing 'abc'"), 404, "not_found"),
        (SubjectNotFound("no subject 'abc'", hint="look it up"), 404, "subject_not_found"),
        (Conflict("already there"), 409, "conflict"),
        (Invalid("bad field 'x'"), 422, "invalid"),
        (Denied("not for you"), 403, "denied"),
        (
            PurposeDenied("purpose 'x' is not declared", reason="purpose_not_declared"),
            403,
            "purpose_denied",
        ),
        (Unavailable("store down", hint="start it"), 503, "unavailable"),
    ],
)
def test_each_error_class_is_a_problem(
    app: FastAPI, client: TestClient, error: MexfiError, status: int, code: str
) -> None:
    @app.get("/raise")
    def _raise() -> None:
        raise error

    response = client.get("/raise")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"].endswith("/" + code.replace("_", "-"))
    assert body["title"] and body["detail"] == error.message
    assert body.get("hint") == error.hint


def test_any_other_exception_is_a_500_with_no_detail_logged_without_its_message(
    app: FastAPI, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/crash")
    def _crash() -> None:
        raise RuntimeError(f"secret value {PHONE}")

    with caplog.at_level(logging.ERROR, logger="mexfi.api"):
        response = client.get("/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "type": "https://mexfi.dev/problems/internal-error",
        "title": "Internal error",
        "status": 500,
        "code": "internal_error",
    }
    assert "RuntimeError" in caplog.text and PHONE not in caplog.text


def test_an_unknown_route_is_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404 and response.json()["code"] == "route_not_found"
    assert response.headers["content-type"] == "application/problem+json"


def test_a_validation_error_names_the_field_and_never_echoes_the_value(
    client: TestClient, bakikart_key: str
) -> None:
    response = client.post(
        "/api/v1/subjects/find",
        json={"policy_id": "bakikart", "phone": PHONE, "name": PHONE},
        headers=bearer(bakikart_key),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "request_invalid"
    assert [e["field"] for e in body["errors"]] == ["body.name"]
    assert "body.name" in body["detail"]
    digits = PHONE.replace(" ", "")
    assert PHONE not in response.text and digits not in response.text.replace(" ", "")


def test_a_literal_refused_does_not_echo_what_was_sent(
    client: TestClient, bakikart_key: str
) -> None:
    response = client.post(
        "/api/v1/subjects/0123456789abcdef0123456789abcdef/status",
        json={"status": PHONE, "reason": "case-1"},
        headers=bearer(bakikart_key),
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.status"]
    assert PHONE not in response.text


def test_the_code_is_the_class_name_in_snake_case() -> None:
    assert problem_code(PurposeDenied) == "purpose_denied"
    assert problem_code(Unavailable) == "unavailable"

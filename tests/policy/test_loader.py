"""Loading a policy: what the request workflow needs is declared, or the load is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from mexfi.errors import NotFound
from mexfi.policy import NotDeclared, PolicyLoadError, load_policy, parse_policy

MINIMAL = Path(__file__).resolve().parents[1] / "fixtures" / "policies" / "minimal.yaml"
PURPOSES_LINE = "  purposes: {subject_request: answer_request, rectification: rectification}\n"


def _minimal(replace: str, by: str) -> str:
    text = MINIMAL.read_text(encoding="utf-8")
    assert replace in text
    return text.replace(replace, by)


def test_request_purposes_are_the_policys_own_ids() -> None:
    policy = load_policy(MINIMAL)
    assert policy.requests.purposes.subject_request == "answer_request"
    assert policy.requests.purposes.rectification == "rectification"


def test_a_policy_without_request_purposes_is_refused_naming_the_field() -> None:
    with pytest.raises(PolicyLoadError) as caught:
        parse_policy(_minimal(PURPOSES_LINE, ""), file="scoot.yaml")
    [problem] = caught.value.problems
    assert problem.field == "requests.purposes"
    assert problem.line is not None and problem.file == "scoot.yaml"
    assert "requests.purposes" in caught.value.message


def test_a_request_purpose_that_is_not_declared_is_refused() -> None:
    text = _minimal(PURPOSES_LINE, PURPOSES_LINE.replace("answer_request", "subject_request"))
    with pytest.raises(PolicyLoadError) as caught:
        parse_policy(text, file="scoot.yaml")
    [problem] = caught.value.problems
    assert problem.field == "requests.purposes.subject_request"
    assert "undeclared purpose 'subject_request'" in problem.message
    assert "answer_request" in problem.message  # the declared ones are listed


@pytest.mark.parametrize("kind", ["category", "purpose", "recipient", "role"])
def test_an_undeclared_element_is_a_not_found_error_listing_what_is(kind: str) -> None:
    policy = load_policy(MINIMAL)
    with pytest.raises(NotDeclared) as caught:
        getattr(policy, kind)("nonexistent")
    assert isinstance(caught.value, NotFound)
    assert caught.value.message == f"{kind} 'nonexistent' is not declared in policy 'scooter'"
    assert caught.value.hint is not None and caught.value.hint.startswith("declared: ")

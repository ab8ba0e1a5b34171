"""The consent face the other capabilities code against (issue 13's shared contract)."""

from __future__ import annotations

import inspect

import mexfi.consent

CONTRACT = {
    "Choice",
    "ChoiceInput",
    "ConsentEntry",
    "HolderKind",
    "Method",
    "NoticeKind",
    "Source",
    "can_notify",
    "count_refusal",
    "current_choices",
    "is_allowed",
    "rebuild_state",
    "record_choices",
    "refusal_counts",
    "verify_ledger",
}


def test_the_contract_is_exported() -> None:
    assert set(mexfi.consent.__all__) >= CONTRACT


def test_the_vocabulary_has_the_contracts_values() -> None:
    from mexfi.consent import Choice, HolderKind, Method, NoticeKind, Source

    assert [c.value for c in Choice] == ["opt_in", "opt_out", "acknowledge"]
    assert {m.name.lower() for m in Method} == {m.value for m in Method} == {
        "registration", "first_use", "accept_all", "reject_all", "save", "portal",
        "written_request", "gpc", "api", "switch",
    }  # fmt: skip
    assert [s.value for s in Source] == ["banner", "portal", "app", "api", "console"]
    assert [k.value for k in NoticeKind] == [
        "policy", "cookie", "notification", "purpose", "geolocation"
    ]  # fmt: skip
    assert [h.value for h in HolderKind] == ["subject", "device"]


def test_record_choices_takes_the_contracts_keywords() -> None:
    parameters = inspect.signature(mexfi.consent.record_choices).parameters
    assert list(parameters)[:12] == [
        "uow", "policy", "holder", "holder_kind", "choices", "method", "source", "language",
        "actor_id", "at", "served_notice_id", "actor_role",
    ]  # fmt: skip
    assert all(p.kind is p.KEYWORD_ONLY for name, p in parameters.items() if name != "uow")

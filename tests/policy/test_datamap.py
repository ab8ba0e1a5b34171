"""The data map export: mexfi's JSON and a Fides (fideslang) manifest."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mexfi.errors import Invalid
from mexfi.policy.datamap import export_datamap, fides_categories, unknown_fides_keys
from mexfi.policy.fideslang import DATA_CATEGORIES, DATA_SUBJECTS, DATA_USES, is_fides_key
from mexfi.policy.loader import load_policy, parse_policy
from mexfi.policy.schema import Policy

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "tests" / "fixtures" / "policies" / "minimal.yaml"
BUNDLED_NAMES = ("bakikart.yaml", "taxsee-driver.yaml")


def _load(name: str) -> Policy:
    if name == "minimal.yaml":
        return load_policy(MINIMAL)
    path = REPO / "policies" / name
    if not path.exists():
        pytest.skip(f"policies/{name} is not written yet")
    return load_policy(path)


@pytest.fixture(scope="module", params=["minimal.yaml", *BUNDLED_NAMES])
def policy(request: pytest.FixtureRequest) -> Policy:
    return _load(request.param)


def _fides(policy: Policy) -> dict[str, Any]:
    data = yaml.safe_load(export_datamap(policy, format="fides"))
    assert isinstance(data, dict)
    return data


# --------------------------------------------------------------------------- the taxonomy


def test_shipped_taxonomy_is_fideslang_2_2_2() -> None:
    assert len(DATA_CATEGORIES) == 85
    assert len(DATA_USES) == 54
    assert len(DATA_SUBJECTS) == 15
    assert {"user.contact.phone_number", "user.government_id.drivers_license_number"} <= (
        DATA_CATEGORIES
    )
    assert {"essential.service", "third_party_sharing.legal_obligation"} <= DATA_USES
    assert "personalize.profiling" not in DATA_USES  # deprecated since 2.1.1
    for key in DATA_CATEGORIES | DATA_USES | DATA_SUBJECTS:
        assert is_fides_key(key)
        # Every parent of a dotted key is itself a key of the same taxonomy.
        parent = key.rpartition(".")[0]
        assert not parent or parent in DATA_CATEGORIES | DATA_USES, key


def test_fides_key_pattern() -> None:
    assert is_fides_key("taxsee_driver_system")
    assert is_fides_key("user.contact-1<x>")
    assert not is_fides_key("has space")
    assert not is_fides_key("")


def test_policy_uses_only_taxonomy_keys(policy: Policy) -> None:
    assert unknown_fides_keys(policy) == []


# --------------------------------------------------------------------------- fides


def test_fides_manifest_structure(policy: Policy) -> None:
    data = _fides(policy)
    assert list(data) == ["system", "dataset"]
    [system] = data["system"]
    [dataset] = data["dataset"]
    assert system["system_type"] == "Service"
    for key in ("fides_key", "name", "description"):
        assert system[key] and dataset[key]
    assert is_fides_key(system["fides_key"]) and is_fides_key(dataset["fides_key"])
    assert "." not in dataset["fides_key"]
    assert system["dataset_references"] == [dataset["fides_key"]]

    declarations = system["privacy_declarations"]
    assert len(declarations) == len(policy.purposes)
    for purpose, declaration in zip(policy.purposes, declarations, strict=True):
        assert declaration["data_use"] == purpose.fides_data_use
        expected = sorted(
            {k for c in purpose.categories for k in fides_categories(policy.category(c))}
        )
        assert declaration["data_categories"] == expected
        subjects = {s.id: s.fides_subject for s in policy.subjects}
        assert declaration["data_subjects"] == sorted(
            {subjects[policy.category(c).subject] for c in purpose.categories}
        )
        assert declaration["dataset_references"] == [dataset["fides_key"]]
        assert declaration["name"]

    collections = dataset["collections"]
    assert [c["name"] for c in collections] == [c.id for c in policy.categories]
    for category, collection in zip(policy.categories, collections, strict=True):
        assert [f["name"] for f in collection["fields"]] == [f.name for f in category.fields]
        for item in collection["fields"]:
            assert item["data_categories"] and item["description"]


def test_fides_manifest_keys_are_in_the_taxonomy(policy: Policy) -> None:
    data = _fides(policy)
    for declaration in data["system"][0]["privacy_declarations"]:
        assert declaration["data_use"] in DATA_USES
        assert set(declaration["data_categories"]) <= DATA_CATEGORIES
        assert set(declaration["data_subjects"]) <= DATA_SUBJECTS
    for collection in data["dataset"][0]["collections"]:
        for item in collection["fields"]:
            assert set(item["data_categories"]) <= DATA_CATEGORIES


def test_tx_7_7_fides_collection_states_retention() -> None:
    policy = _load("taxsee-driver.yaml")
    collections = _fides(policy)["dataset"][0]["collections"]
    registration = next(c for c in collections if c["name"] == "registration")
    assert "within 24 hours of registration" in registration["retention"]
    assert "TX-7.7" in registration["retention"]


def _with_unknown_keys() -> Policy:
    data = yaml.safe_load(MINIMAL.read_text(encoding="utf-8"))
    data["categories"][0]["fides_category"] = "user.made_up"
    data["purposes"][0]["fides_data_use"] = "essential.made_up"
    data["subjects"][0]["fides_subject"] = "rider"
    return parse_policy(yaml.safe_dump(data, allow_unicode=True), file="unknown.yaml")


def test_unknown_fides_keys_are_reported() -> None:
    policy = _with_unknown_keys()
    assert unknown_fides_keys(policy) == ["essential.made_up", "rider", "user.made_up"]
    with pytest.raises(Invalid) as caught:
        export_datamap(policy, format="fides")
    message = caught.value.message
    for fragment in ("user.made_up", "essential.made_up", "rider", "categories[account]"):
        assert fragment in message
    # The JSON map does not depend on Fides and still exports.
    assert json.loads(export_datamap(policy, format="json"))["categories"]


# --------------------------------------------------------------------------- json


def test_json_map_round_trips(policy: Policy) -> None:
    text = export_datamap(policy, format="json")
    data = json.loads(text)
    assert list(data) == [
        "policy", "operator", "subjects", "categories", "purposes", "recipients", "retention"
    ]  # fmt: skip
    assert [c["id"] for c in data["categories"]] == [c.id for c in policy.categories]
    assert [p["id"] for p in data["purposes"]] == [p.id for p in policy.purposes]
    assert [r["id"] for r in data["recipients"]] == [r.id for r in policy.recipients]
    assert [r["id"] for r in data["retention"]] == [r.id for r in policy.retention]
    assert json.dumps(data, ensure_ascii=False, indent=2) + "\n" == text
    assert text == export_datamap(policy, format="json")
    assert "\\u" not in text  # ensure_ascii=False: az and ru texts stay readable
    for element in data["categories"] + data["purposes"] + data["recipients"] + data["retention"]:
        assert element["clauses"]
        assert all(re.fullmatch(r"[A-Z]{2,6}-\d+(\.\d+)*", c) for c in element["clauses"])
    for category in data["categories"]:
        assert category["fides_categories"] == fides_categories(policy.category(category["id"]))
        assert set(category["title"]) == {"az", "en", "ru"}


def test_json_map_cites_the_clauses_of_its_elements(policy: Policy) -> None:
    data = json.loads(export_datamap(policy, format="json"))
    cited = {c for key in ("categories", "purposes", "recipients", "retention")
             for element in data[key] for c in element["clauses"]}  # fmt: skip
    expected = {c for element in (*policy.categories, *policy.purposes, *policy.recipients,
                                  *policy.retention) for c in element.clauses}  # fmt: skip
    assert cited == expected


def test_unknown_format_is_invalid() -> None:
    with pytest.raises(Invalid, match="json, fides"):
        export_datamap(load_policy(MINIMAL), format="csv")

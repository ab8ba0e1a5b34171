"""TX-20 – TX-22: country and interface language from the mobile network code, from a table
that cites its sources; the codes are not stored with the driver (TX-21)."""

from __future__ import annotations

from importlib import resources

import pytest

from mexfi.policy import Policy
from mexfi.vault import InvalidValue, NetworkLocale, UndeclaredData, locale_from_network
from mexfi.vault.networks import network_table


@pytest.fixture
def taxsee(policies: dict[str, Policy]) -> Policy:
    return policies["taxsee_driver"]


def test_tx_20_azercell_gives_azerbaijan_and_azerbaijani(taxsee: Policy) -> None:
    assert locale_from_network("400", "01", taxsee) == NetworkLocale("AZ", "az", "Azercell")


def test_tx_20_mts_gives_russia_and_russian(taxsee: Policy) -> None:
    assert locale_from_network("250", "01", taxsee) == NetworkLocale("RU", "ru", "MTS")


def test_an_unknown_code_falls_back_to_the_policys_language(taxsee: Policy) -> None:
    assert taxsee.policy.language == "az"
    assert locale_from_network("999", "01", taxsee) == NetworkLocale(None, "az", None)
    english = taxsee.model_copy(
        update={"policy": taxsee.policy.model_copy(update={"language": "en"})}
    )
    assert locale_from_network("999", None, english) == NetworkLocale(None, "en", None)


@pytest.mark.parametrize(
    ("mcc", "mnc", "country", "language", "operator"),
    [
        ("400", "02", "AZ", "az", "Bakcell"),
        ("400", "04", "AZ", "az", "Nar"),
        ("400", "06", "AZ", "az", "Naxtel"),
        ("400", "99", "AZ", "az", None),  # an unlisted network still gives its country
        ("282", "02", "GE", "en", "Magti"),
        ("286", "01", "TR", "en", "Turkcell"),
        ("432", "35", "IR", "en", "MTN Irancell"),
        ("283", "05", "AM", "ru", None),
        ("401", "02", "KZ", "ru", "Kcell"),
        ("250", None, "RU", "ru", None),
    ],
)
def test_azerbaijan_and_its_neighbours(
    taxsee: Policy, mcc: str, mnc: str | None, country: str, language: str, operator: str | None
) -> None:
    assert locale_from_network(mcc, mnc, taxsee) == NetworkLocale(country, language, operator)  # type: ignore[arg-type]


def test_only_what_the_policy_derives(taxsee: Policy) -> None:
    assert taxsee.mobile_operator is not None
    country_only = taxsee.model_copy(
        update={
            "mobile_operator": taxsee.mobile_operator.model_copy(update={"derives": ["country"]})
        }
    )
    # The language is not derived: the policy's own; the country is.
    assert locale_from_network("250", "01", country_only) == NetworkLocale("RU", "az", "MTS")


def test_a_policy_that_derives_nothing_from_the_network(policies: dict[str, Policy]) -> None:
    with pytest.raises(UndeclaredData, match="mobile network"):
        locale_from_network("400", "01", policies["bakikart"])


@pytest.mark.parametrize(
    ("mcc", "mnc"), [("40", "01"), ("4000", "01"), ("400", "1"), ("abc", None)]
)
def test_malformed_codes_are_refused_by_field(taxsee: Policy, mcc: str, mnc: str | None) -> None:
    with pytest.raises(InvalidValue) as refused:
        locale_from_network(mcc, mnc, taxsee)
    assert mcc not in refused.value.message or mcc == "400"


def test_the_table_cites_its_sources_and_holds_no_personal_data() -> None:
    text = resources.files("mexfi.vault").joinpath("networks.yaml").read_text(encoding="utf-8")
    assert "ITU-T" in text and "E.212" in text
    table = network_table()
    # The minimum: Azerbaijan and its neighbours.
    required = {"400": "AZ", "282": "GE", "250": "RU", "286": "TR", "432": "IR", "283": "AM"}
    required["401"] = "KZ"
    assert {mcc: table.countries[mcc].country for mcc in required} == required
    assert {mnc for (mcc, mnc) in table.networks if mcc == "400"} >= {"01", "02", "04", "06"}
    assert {c.language for c in table.countries.values()} <= {"az", "en", "ru"}
    # Codes, countries and operators only: nothing that could name or reach a person.
    for (mcc, mnc), operator in table.networks.items():
        assert mcc.isdigit() and mnc.isdigit() and len(mnc) <= 3
        assert not any(c.isdigit() for c in operator)

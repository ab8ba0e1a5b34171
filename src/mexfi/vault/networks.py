"""Country and interface language from a device's mobile network (TX-20 – TX-22).

`locale_from_network(mcc, mnc, policy)` reads the table in `networks.yaml` (which cites its
sources: ITU-T E.212 and its lists of country and network codes): the country the MCC is
assigned to, the language the app starts in there, and the operator's name where the MNC is
listed. An unknown MCC gives no country and the policy's own language. Nothing is stored:
the codes are not personal data (TX-21), and only what the policy says is derived from them
(`mobile_operator.derives`) is returned, to be kept, if at all, in the policy's
`mobile_operator` category.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from mexfi.policy import LANGS, Lang, Policy
from mexfi.vault.errors import InvalidValue, UndeclaredData

__all__ = ["NetworkLocale", "locale_from_network", "network_table"]

_MCC = re.compile(r"\d{3}")
_MNC = re.compile(r"\d{2,3}")


@dataclass(frozen=True)
class NetworkLocale:
    """What a mobile network says about where a device is: the country (ISO 3166-1
    alpha-2; None when the MCC is not in the table), the interface language, and the
    operator's name (None when the MNC is not listed)."""

    country: str | None
    language: Lang
    operator: str | None


@dataclass(frozen=True)
class _Country:
    country: str
    language: Lang
    name: str


@dataclass(frozen=True)
class NetworkTable:
    countries: dict[str, _Country]
    networks: dict[tuple[str, str], str]


def _lang(value: Any, where: str) -> Lang:
    for lang in LANGS:
        if value == lang:
            return lang
    raise ValueError(f"networks.yaml: {where} has language {value!r}, not one of {LANGS}")


#: The table, read once: public codes and names only, nothing of a key or a person (the
#: vault caches nothing else process-wide).
_TABLE: list[NetworkTable] = []


def network_table() -> NetworkTable:
    """The table of `networks.yaml`, checked once."""
    if not _TABLE:
        _TABLE.append(_load())
    return _TABLE[0]


def _load() -> NetworkTable:
    text = resources.files("mexfi.vault").joinpath("networks.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    countries: dict[str, _Country] = {}
    for mcc, row in raw["countries"].items():
        if not _MCC.fullmatch(str(mcc)) or not re.fullmatch(r"[A-Z]{2}", str(row["country"])):
            raise ValueError(f"networks.yaml: MCC {mcc!r} or its country is malformed")
        countries[str(mcc)] = _Country(
            str(row["country"]), _lang(row["language"], f"MCC {mcc}"), str(row["name"])
        )
    networks: dict[tuple[str, str], str] = {}
    for code, name in raw["networks"].items():
        mcc, _, mnc = str(code).partition("-")
        if mcc not in countries or not _MNC.fullmatch(mnc):
            raise ValueError(f"networks.yaml: network {code!r} has no listed MCC or a bad MNC")
        networks[(mcc, mnc)] = str(name)
    return NetworkTable(countries, networks)


def locale_from_network(mcc: str, mnc: str | None, policy: Policy) -> NetworkLocale:
    """The country, language and operator of a mobile network (MCC, MNC), for a subject of
    `policy`: what the policy's `mobile_operator` derives, its own language where the MCC
    is unknown. `UndeclaredData` for a policy that derives nothing from the network."""
    mobile = policy.mobile_operator
    if mobile is None:
        raise UndeclaredData(
            f"policy {policy.id!r} declares no use of mobile network data",
            hint="a policy derives country and language from the network in its "
            "`mobile_operator` section (TX-20)",
        )
    # The codes are not personal data, but errors name fields only, as everywhere.
    if not _MCC.fullmatch(str(mcc)):
        raise InvalidValue("mcc must be three digits (ITU-T E.212)")
    if mnc is not None and not _MNC.fullmatch(str(mnc)):
        raise InvalidValue("mnc must be two or three digits (ITU-T E.212)")
    table = network_table()
    found = table.countries.get(mcc)
    default: Lang = policy.policy.language
    country = found.country if found is not None and "country" in mobile.derives else None
    language = found.language if found is not None and "language" in mobile.derives else default
    operator = table.networks.get((mcc, mnc)) if found is not None and mnc is not None else None
    return NetworkLocale(country=country, language=language, operator=operator)

"""Synthetic Taxsee drivers and customers: registration, vehicle, shifts with pings, orders.

Each shift is an app session (TX-12): opened at its first moment and closed after its last
ping, in the vault before the shift's pings are written, so that they fall inside it. The
phone's network gives the driver's country and interface language (TX-20 – TX-22); the
codes themselves are not kept (TX-21).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from mexfi.services.synthetic import BAKU_STREETS, BatchWriter, Person, Synth
from mexfi.vault import Actor, locale_from_network

__all__ = ["POLICY_ID", "SYSTEM_ACTOR", "generate_drivers"]

POLICY_ID = "taxsee_driver"
#: Collection is the automated processing system (role `system`, TX-1.8).
SYSTEM_ACTOR = Actor("synthetic-taxsee", "system")

_CARS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Toyota", ("Prius", "Camry", "Corolla")),
    ("Hyundai", ("Elantra", "Sonata", "Accent")),
    ("Kia", ("Optima", "Rio", "K5", "Cerato")),
    ("Chevrolet", ("Cobalt", "Lacetti", "Malibu")),
    ("LADA", ("Granta", "Vesta", "Priora")),
    ("Mercedes-Benz", ("E 220", "C 200")),
    ("Ford", ("Fusion", "Focus")),
    ("Nissan", ("Sentra", "Almera")),
    ("Honda", ("Civic", "Accord")),
    ("Skoda", ("Octavia", "Rapid")),
    ("Volkswagen", ("Passat", "Jetta")),
)
_COLOURS = ("ağ", "qara", "gümüşü", "boz", "göy", "tünd-göy", "qırmızı", "bej", "yaşıl")
#: Region codes of Baku on registration plates.
_PLATE_REGIONS = ("10", "90", "99", "77")
_PLATE_LETTERS = "ABCDEGHJKLMNOPRSTUVXYZ"
_TARIFFS = ("Ekonom", "Ekonom", "Standart", "Komfort", "Biznes")
_PAYMENT_WEIGHTS = {"cash": 6, "card": 3, "corporate": 1}
#: (BIC, the four letters an IBAN of that bank carries).
_BANKS = (
    ("AIIBAZ2X", "AIIB"),
    ("PAHAAZ22", "PAHA"),
    ("IBAZAZ2X", "IBAZ"),
    ("UBAZAZ22", "UBAZ"),
    ("ACABAZ22", "ACAB"),
    ("BRESAZ22", "BRES"),
    ("KABAAZ22", "KABA"),
)
#: Issuer prefixes for payout cards (Visa 4..., Mastercard 5...).
_CARD_BINS = ("416973", "427831", "522144", "539923", "440563")
_BRANDS = ("VISA", "Mastercard")
_DETAILS_AZ = (
    "Podyezd {n}, zəng edin",
    "Uşaq oturacağı lazımdır",
    "Baqaj çoxdur",
    "{station} metrosunun çıxışında gözləyirəm",
    "Kondisioneri yandırın, zəhmət olmasa",
    "Qapının qarşısında gözləyirəm",
    "Ev heyvanı ilə olacağam",
    "{street} tərəfdən girin",
)
_DETAILS_RU = (
    "Подъезд {n}, позвоните по приезду",
    "Нужно детское кресло",
    "Много багажа",
    "Жду у выхода из метро {station}",
    "Включите кондиционер, пожалуйста",
    "Буду с собакой",
    "Заезд со стороны {street}",
)


def _plate(synth: Synth) -> str:
    rng = synth.rng
    letters = "".join(rng.choice(_PLATE_LETTERS) for _ in range(2))
    return f"{rng.choice(_PLATE_REGIONS)}-{letters}-{rng.randint(1, 999):03d}"


def _birthday(synth: Synth, end: datetime) -> date:
    age_days = synth.rng.randint(21 * 365, 65 * 365)
    return (end - timedelta(days=age_days)).date()


def _details(synth: Synth, person: Person) -> str:
    """What a customer types: mostly directions; sometimes a contact number (personal data
    the vault's free-text scan reports, TX-23), never a card number."""
    rng = synth.rng
    if rng.random() < 0.1:
        number = synth.phone()
        return (
            f"Перезвоните на {number}, {person.given}"
            if person.lang == "ru"
            else f"Gələndə {number} nömrəsinə zəng edin, {person.given}"
        )
    template = rng.choice(_DETAILS_RU if person.lang == "ru" else _DETAILS_AZ)
    return template.format(
        n=rng.randint(1, 9), station=synth.station(), street=rng.choice(BAKU_STREETS)
    )


def _customers(
    writer: BatchWriter,
    synth: Synth,
    *,
    count: int,
    start: datetime,
    end: datetime,
    on_subject: Callable[[], None] | None,
) -> list[Person]:
    people = []
    for _ in range(count):
        person = synth.person(ru_share=0.25)
        phone = synth.phone()
        contact: dict[str, Any] = {"phone": phone}
        if synth.rng.random() < 0.7:
            contact["name"] = person.given
        writer.register(
            policy_id=POLICY_ID,
            kind="customer",
            actor=SYSTEM_ACTOR,
            purpose="service_operation",
            records={"customer_contact": contact},
            lookup_phone=phone,
            at=synth.moment(start - timedelta(days=90), start),
        )
        people.append(person)
        if on_subject is not None:
            on_subject()
    return people


def _driver(
    writer: BatchWriter,
    synth: Synth,
    *,
    start: datetime,
    end: datetime,
    pings_per_shift: int,
    customers: list[Person],
) -> None:
    rng = synth.rng
    person = synth.person(ru_share=0.15, female_share=0.08)
    phone = synth.phone()
    born = _birthday(synth, end)
    adult = born + timedelta(days=18 * 365 + 5)
    licence_issued = adult + timedelta(days=rng.randint(0, max((end.date() - adult).days - 30, 0)))
    plate = _plate(synth)
    registered = synth.moment(start - timedelta(days=60), start + (end - start) * 0.8)
    subject_id = writer.register(
        policy_id=POLICY_ID,
        kind="driver",
        actor=SYSTEM_ACTOR,
        purpose="licence_agreement",
        records={
            "registration": {
                "full_name": person.full_name,
                "date_of_birth": born,
                "phone": phone,
                "photo": synth.photo(),
                "licence_series": "".join(rng.choice("ABCDEH") for _ in range(2)),
                "licence_number": synth.serial("", 6),
                "licence_issued_on": licence_issued,
                "plate": plate,
            }
        },
        lookup_phone=phone,
        at=registered,
    )

    def add(purpose: str, category: str, values: dict[str, Any], at: datetime) -> None:
        writer.add(POLICY_ID, SYSTEM_ACTOR, purpose, subject_id, category, values, at)

    make, models = rng.choice(_CARS)
    add(
        "service_operation",
        "vehicle_facts",
        {
            "make": make,
            "model": rng.choice(models),
            "colour": rng.choice(_COLOURS),
            "plate_digits": plate.rsplit("-", 1)[1],
            "first_name": person.given,
        },
        registered,
    )
    _, mnc = synth.network_of(phone)
    locale = locale_from_network("400", mnc, writer.vault.policy(POLICY_ID))
    add(
        "locale_setup",
        "mobile_operator",
        {"country": locale.country, "language": locale.language},
        registered,
    )
    bic, bank = rng.choice(_BANKS)
    payout: dict[str, Any] = {
        "bank_code": bic,
        "account_number": synth.iban(bank),
        "recipient_full_name": person.full_name,
    }
    if rng.random() < 0.5:
        payout["card_number"] = synth.payment_card_number(rng.choice(_CARD_BINS))
    add("payout", "payout_accounts", payout, registered)
    for _ in range(rng.randint(1, 2)):
        add(
            "licence_fee",
            "bank_cards",
            {
                "acquirer_token": synth.token("tok_"),
                "brand": rng.choice(_BRANDS),
                "last4": f"{rng.randint(0, 9999):04d}",
            },
            registered,
        )

    # The shifts' records wait until their app sessions are in the vault (TX-12).
    held: list[tuple[str, str, dict[str, Any], datetime]] = []
    sessions: list[tuple[datetime, datetime]] = []

    def hold(purpose: str, category: str, values: dict[str, Any], at: datetime) -> None:
        held.append((purpose, category, values, at))

    day = start
    while day < end:
        if rng.random() < 0.6:
            session = _shift(synth, hold, day=day, since=registered, end=end,
                             pings=pings_per_shift, customers=customers)  # fmt: skip
            if session is not None:
                sessions.append(session)
        day += timedelta(days=1)
    if sessions:
        vault = writer.vault
        with vault.unit_of_work() as uow:
            for opened, closed in sessions:
                row = vault.open_app_session(
                    uow, subject_id=subject_id, actor=SYSTEM_ACTOR, at=opened
                )
                vault.close_app_session(uow, row.id, actor=SYSTEM_ACTOR, at=closed)
    for purpose, category, values, at in held:
        add(purpose, category, values, at)


def _shift(
    synth: Synth,
    add: Callable[[str, str, dict[str, Any], datetime], None],
    *,
    day: datetime,
    since: datetime,
    end: datetime,
    pings: int,
    customers: list[Person],
) -> tuple[datetime, datetime] | None:
    """One shift: a few orders, each with a trace of pings every 5-10 s from pickup on;
    returns the app session that covers its pings (None if it took none).

    A real shift pings for hours; the trace around each order is what is kept, so the
    volume stays bounded (`pings` per shift in all).
    """
    rng = synth.rng
    at = synth.local_time_on(day, 7.0, 13.0)
    first: datetime | None = None
    last: datetime | None = None
    orders = rng.randint(2, 5)
    per_order = [pings // orders + (1 if i < pings % orders else 0) for i in range(orders)]
    for count in per_order:
        at += timedelta(minutes=rng.randint(10, 70))
        if not since <= at < end:
            continue
        customer = rng.choice(customers) if customers else synth.person()
        order: dict[str, Any] = {
            "started_at": at,
            "pickup_address": synth.address(),
            "destination_address": synth.address(),
            "tariff": rng.choice(_TARIFFS),
            "payment_method": rng.choices(
                tuple(_PAYMENT_WEIGHTS), tuple(_PAYMENT_WEIGHTS.values())
            )[0],
        }
        if rng.random() < 0.2:
            order["waypoints"] = "; ".join(synth.address() for _ in range(rng.randint(1, 2)))
        if rng.random() < 0.4:
            order["details"] = _details(synth, customer)
        add("order_autofill", "orders", order, at)
        origin, target = synth.point(), synth.point()
        moment = at
        for step in range(count):
            share = step / max(count - 1, 1)
            here = (
                origin[0] + (target[0] - origin[0]) * share,
                origin[1] + (target[1] - origin[1]) * share,
            )
            moment += timedelta(seconds=rng.randint(5, 10))
            if moment >= end:
                break
            if first is None:
                first = at
            last = moment
            add(
                "service_operation",
                "location",
                {
                    "point": synth.near(here, 15),
                    "recorded_at": moment,
                    "accuracy_m": Decimal(rng.randint(30, 250)) / 10,
                },
                moment,
            )
        at = moment + timedelta(minutes=rng.randint(8, 35))
    if first is None or last is None:
        return None
    # Open from the shift's first order, closed a moment after its last ping.
    return first, last + timedelta(seconds=1)


def generate_drivers(
    writer: BatchWriter,
    synth: Synth,
    *,
    count: int,
    customers: int,
    start: datetime,
    end: datetime,
    pings_per_shift: int = 24,
    on_subject: Callable[[], None] | None = None,
) -> None:
    """Register `customers` customers and `count` drivers with shifts between `start` and `end`."""
    people = _customers(writer, synth, count=customers, start=start, end=end, on_subject=on_subject)
    for _ in range(count):
        _driver(
            writer,
            synth,
            start=start,
            end=end,
            pings_per_shift=pings_per_shift,
            customers=people,
        )
        if on_subject is not None:
            on_subject()

"""Synthetic data for both services: value pools, a seeded value maker, and `generate`.

Every value comes from one `random.Random(seed)`, consumed in a fixed order, so the
same seed gives the same values (ids are uuids and differ; values do not). Everything
is written through the `Vault`, in batches, with the roles and purposes the policies
declare for collection.
"""

from __future__ import annotations

import random
import re
import string
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from mexfi.vault import Actor, RecordCreate, Vault

__all__ = [
    "BAKU_BOX",
    "BAKU_STREETS",
    "BAKU_TZ",
    "METRO_STATIONS",
    "MOBILE_PREFIXES",
    "BatchWriter",
    "GenerationProgress",
    "GenerationSummary",
    "Person",
    "Synth",
    "generate",
    "iban_check_digits",
    "luhn_check_digit",
]

#: Baku local time (AZT, no daylight saving since 2016).
BAKU_TZ = timezone(timedelta(hours=4), "AZT")

#: (south, west, north, east): the built-up city between Binəqədi and Əhmədli, off the bay.
BAKU_BOX = (40.365, 49.790, 40.440, 49.960)

#: Mobile prefixes of Azerbaijan and the network that issues them (MCC 400).
MOBILE_PREFIXES: dict[str, tuple[str, str]] = {
    "10": ("Azercell", "01"),
    "50": ("Azercell", "01"),
    "51": ("Azercell", "01"),
    "55": ("Bakcell", "02"),
    "99": ("Bakcell", "02"),
    "60": ("Naxtel", "06"),
    "70": ("Nar", "04"),
    "77": ("Nar", "04"),
}

BAKU_STREETS: tuple[str, ...] = (
    "Nizami küç.",
    "Azadlıq pr.",
    "Füzuli küç.",
    "Neftçilər pr.",
    "Həsən bəy Zərdabi pr.",
    "Səməd Vurğun küç.",
    "Bülbül pr.",
    "Tbilisi pr.",
    "Xətai pr.",
    "Nəriman Nərimanov pr.",
    "Üzeyir Hacıbəyov küç.",
    "Rəşid Behbudov küç.",
    "Təbriz küç.",
    "Atatürk pr.",
    "Cəfər Cabbarlı küç.",
    "Mirzə İbrahimov küç.",
    "İstiqlaliyyət küç.",
    "Babək pr.",
    "Qara Qarayev pr.",
    "Yusif Səfərov küç.",
    "Şərifzadə küç.",
    "Hüseyn Cavid pr.",
    "İnşaatçılar pr.",
    "Məhəmməd Hadi küç.",
    "Zərifə Əliyeva küç.",
    "Ceyhun Hacıbəyli küç.",
)

#: Metro stations of Baku with their approximate positions (lat, lon).
METRO_STATIONS: dict[str, tuple[float, float]] = {
    "İçərişəhər": (40.3659, 49.8316),
    "Sahil": (40.3717, 49.8441),
    "28 May": (40.3797, 49.8487),
    "Cəfər Cabbarlı": (40.3794, 49.8497),
    "Gənclik": (40.4003, 49.8515),
    "Nəriman Nərimanov": (40.4027, 49.8708),
    "Bakmil": (40.4142, 49.8791),
    "Ulduz": (40.4149, 49.8918),
    "Koroğlu": (40.4210, 49.9184),
    "Qara Qarayev": (40.4171, 49.9338),
    "Neftçilər": (40.4107, 49.9435),
    "Xalqlar Dostluğu": (40.3974, 49.9522),
    "Əhmədli": (40.3852, 49.9539),
    "Həzi Aslanov": (40.3727, 49.9531),
    "Nizami": (40.3795, 49.8301),
    "Elmlər Akademiyası": (40.3753, 49.8153),
    "İnşaatçılar": (40.3910, 49.8026),
    "20 Yanvar": (40.4040, 49.8088),
    "Memar Əcəmi": (40.4105, 49.8144),
    "Nəsimi": (40.4246, 49.8237),
    "Azadlıq prospekti": (40.4258, 49.8426),
    "Dərnəgül": (40.4254, 49.8613),
    "Xətai": (40.3828, 49.8718),
    "Avtovağzal": (40.4219, 49.7953),
    "8 Noyabr": (40.4026, 49.8193),
}

# Names. Azerbaijani surnames take -a in the feminine (-ov/-ova, -yev/-yeva); those in
# -li/-lı/-lu/-lü and -zadə do not change.
_AZ_MALE = (
    "Rəşad", "Elvin", "Orxan", "Tural", "Kamran", "Anar", "Ramil", "Elnur", "Vüqar", "Fərid",
    "Nicat", "Murad", "Samir", "Rövşən", "Əli", "Hüseyn", "Cavid", "Emil", "Rauf", "Zaur",
    "Nurlan", "Elçin", "Ilkin", "Toğrul", "Rüfət", "Şahin", "Vüsal", "Kənan", "Səbuhi", "Ülvi",
)  # fmt: skip
_AZ_FEMALE = (
    "Leyla", "Aynur", "Günel", "Nigar", "Aysel", "Səbinə", "Könül", "Nərmin", "Sevinc",
    "Ülviyyə", "Lalə", "Gülnar", "Aytən", "Fidan", "Zəhra", "Mədinə", "Röya", "Arzu", "Türkan",
    "Nurlana", "Xədicə", "Şəbnəm", "Vüsalə", "Aygün", "Nəzrin",
)  # fmt: skip
_AZ_SURNAMES = (
    "Məmmədov", "Əliyev", "Həsənov", "Hüseynov", "Quliyev", "İsmayılov", "Abbasov", "Rzayev",
    "Səfərov", "Bağırov", "Cəfərov", "Nağıyev", "Orucov", "Vəliyev", "Kərimov", "Mustafayev",
    "Qasımov", "Süleymanov", "Nəsirov", "Babayev", "İbrahimov", "Əhmədov", "Musayev",
    "Rəhimli", "Qurbanlı", "Əlizadə", "Hüseynzadə", "Sultanlı", "Vəlizadə", "Şükürlü",
)  # fmt: skip
_RU_MALE = (
    "Алексей", "Дмитрий", "Сергей", "Андрей", "Иван", "Николай", "Михаил", "Владимир",
    "Павел", "Олег", "Игорь", "Артём", "Максим", "Евгений", "Виктор",
)  # fmt: skip
_RU_FEMALE = (
    "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Анна", "Мария", "Светлана", "Юлия",
    "Екатерина", "Людмила", "Галина", "Ксения", "Дарья", "Вера",
)  # fmt: skip
#: Russian patronymics by the father's name: (son's, daughter's).
_RU_PATRONYMICS = {
    "Алексей": ("Алексеевич", "Алексеевна"),
    "Дмитрий": ("Дмитриевич", "Дмитриевна"),
    "Сергей": ("Сергеевич", "Сергеевна"),
    "Андрей": ("Андреевич", "Андреевна"),
    "Иван": ("Иванович", "Ивановна"),
    "Николай": ("Николаевич", "Николаевна"),
    "Михаил": ("Михайлович", "Михайловна"),
    "Владимир": ("Владимирович", "Владимировна"),
    "Павел": ("Павлович", "Павловна"),
    "Олег": ("Олегович", "Олеговна"),
    "Игорь": ("Игоревич", "Игоревна"),
    "Артём": ("Артёмович", "Артёмовна"),
    "Максим": ("Максимович", "Максимовна"),
    "Евгений": ("Евгеньевич", "Евгеньевна"),
    "Виктор": ("Викторович", "Викторовна"),
}
_RU_SURNAMES = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Лебедев", "Козлов", "Вишневский",
    "Ковальский", "Никитин", "Зайцев", "Павлов", "Семёнов",
)  # fmt: skip

_TRANSLIT = str.maketrans(
    {
        "ə": "e", "ı": "i", "ö": "o", "ü": "u", "ş": "sh", "ç": "ch", "ğ": "g", "\u0307": "",
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
        "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
        "я": "ya",
    }
)  # fmt: skip
#: Reserved example domains (RFC 2606): synthetic e-mail never reaches a real mailbox.
_MAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")


def _feminine_az(surname: str) -> str:
    return surname + "a" if surname.endswith(("ov", "yev", "ev")) else surname


def _feminine_ru(surname: str) -> str:
    if surname.endswith("ский"):
        return surname[:-2] + "ая"
    if surname.endswith(("ов", "ев", "ёв", "ин")):
        return surname + "а"
    return surname


def luhn_check_digit(partial: str) -> str:
    """The digit that makes `partial + digit` pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        value = int(char)
        if index % 2 == 0:  # these are doubled once the check digit is appended
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 mod-97 check digits for `country` + `bban`."""
    rearranged = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{98 - number % 97:02d}"


@dataclass(frozen=True)
class Person:
    given: str
    surname: str
    patronymic: str
    female: bool
    lang: str  # "az" or "ru"

    @property
    def full_name(self) -> str:
        """Surname, name, patronymic: the order of Azerbaijani and Russian documents."""
        return f"{self.surname} {self.given} {self.patronymic}"

    def email(self, rng: random.Random) -> str:
        local = f"{self.given}.{self.surname}".lower().translate(_TRANSLIT)
        local = "".join(c for c in local if c in string.ascii_lowercase + ".")
        return f"{local}{rng.randint(1, 99)}@{rng.choice(_MAIL_DOMAINS)}"


class Synth:
    """Realistic values for Baku, drawn from one seeded `random.Random`."""

    def __init__(
        self, rng: random.Random, *, phone_taken: Callable[[str], bool] | None = None
    ) -> None:
        self.rng = rng
        #: Says whether a number (E.164) is already registered somewhere it must be unique.
        self.phone_taken = phone_taken
        self._phones: set[str] = set()
        self._serials: set[str] = set()

    # ---------------------------------------------------------------- people

    def person(self, *, ru_share: float = 0.2, female_share: float = 0.5) -> Person:
        rng = self.rng
        female = rng.random() < female_share
        if rng.random() < ru_share:
            given = rng.choice(_RU_FEMALE if female else _RU_MALE)
            father = rng.choice(_RU_MALE)
            son, daughter = _RU_PATRONYMICS[father]
            surname = rng.choice(_RU_SURNAMES)
            return Person(
                given=given,
                surname=_feminine_ru(surname) if female else surname,
                patronymic=daughter if female else son,
                female=female,
                lang="ru",
            )
        given = rng.choice(_AZ_FEMALE if female else _AZ_MALE)
        surname = rng.choice(_AZ_SURNAMES)
        father = rng.choice(_AZ_MALE)
        return Person(
            given=given,
            surname=_feminine_az(surname) if female else surname,
            patronymic=f"{father} {'qızı' if female else 'oğlu'}",
            female=female,
            lang="az",
        )

    def phone(self) -> str:
        """A fresh (unique within this generator) AZ mobile number, as people write it."""
        rng = self.rng
        while True:
            prefix = rng.choice(tuple(MOBILE_PREFIXES))
            # Subscriber numbers start with 2-9.
            number = f"{rng.randint(2, 9)}{rng.randint(0, 999999):06d}"
            if prefix + number in self._phones:
                continue
            self._phones.add(prefix + number)
            if self.phone_taken is not None and self.phone_taken(f"+994{prefix}{number}"):
                continue
            style = rng.random()
            if style < 0.6:
                return f"+994 {prefix} {number[:3]} {number[3:5]} {number[5:]}"
            if style < 0.85:
                return f"0{prefix} {number[:3]} {number[3:5]} {number[5:]}"
            return f"+994{prefix}{number}"

    @staticmethod
    def network_of(phone: str) -> tuple[str, str]:
        """(operator name, MNC) of an AZ mobile number."""
        digits = "".join(c for c in phone if c.isdigit())
        prefix = digits[3:5] if digits.startswith("994") else digits[1:3]
        return MOBILE_PREFIXES.get(prefix, ("Azercell", "01"))

    # ---------------------------------------------------------------- places

    def point(self) -> tuple[float, float]:
        south, west, north, east = BAKU_BOX
        return (
            round(self.rng.uniform(south, north), 6),
            round(self.rng.uniform(west, east), 6),
        )

    def near(self, point: tuple[float, float], metres: float) -> tuple[float, float]:
        """A point within about `metres` of `point`, kept inside the Baku box."""
        south, west, north, east = BAKU_BOX
        dlat = self.rng.uniform(-metres, metres) / 111_000
        dlon = self.rng.uniform(-metres, metres) / 85_000  # at 40.4° N
        return (
            round(min(max(point[0] + dlat, south), north), 6),
            round(min(max(point[1] + dlon, west), east), 6),
        )

    def station(self) -> str:
        return self.rng.choice(tuple(METRO_STATIONS))

    def address(self) -> str:
        """A street address in Baku: `<street> <house>, Bakı`."""
        rng = self.rng
        house = str(rng.randint(1, 180))
        if rng.random() < 0.15:
            house += rng.choice("ABV")
        return f"{rng.choice(BAKU_STREETS)} {house}, Bakı"

    # ---------------------------------------------------------------- time

    def moment(self, start: datetime, end: datetime) -> datetime:
        span = max((end - start).total_seconds(), 0.0)
        return start + timedelta(seconds=round(self.rng.uniform(0, span)))

    def local_time_on(self, day: datetime, hour_from: float, hour_to: float) -> datetime:
        """A time between two local (Baku) hours on `day`'s local date, in UTC."""
        local_day = day.astimezone(BAKU_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        seconds = round(self.rng.uniform(hour_from * 3600, hour_to * 3600))
        return (local_day + timedelta(seconds=seconds)).astimezone(UTC)

    # ---------------------------------------------------------------- identifiers

    def digits(self, count: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(count))

    def serial(self, prefix: str, count: int) -> str:
        """`prefix` + `count` digits, unique within this generator."""
        while True:
            value = prefix + self.digits(count)
            if value not in self._serials:
                self._serials.add(value)
                return value

    def token(self, prefix: str, length: int = 24) -> str:
        alphabet = string.ascii_letters + string.digits
        while True:
            value = prefix + "".join(self.rng.choice(alphabet) for _ in range(length))
            # An acquirer token is never mistaken for a card: no long digit runs.
            if not re.search(r"\d{12}", value):
                return value

    def payment_card_number(self, bin_prefix: str, length: int = 16) -> str:
        partial = bin_prefix + self.digits(length - len(bin_prefix) - 1)
        return partial + luhn_check_digit(partial)

    def iban(self, bank_code: str) -> str:
        """An Azerbaijani IBAN: AZ, check digits, 4-letter bank code, 20 digits."""
        bban = bank_code + self.digits(20)
        return f"AZ{iban_check_digits('AZ', bban)}{bban}"

    def ip_address(self) -> str:
        first, second = self.rng.choice(((5, 197), (85, 132), (94, 20), (185, 81), (213, 154)))
        return f"{first}.{second}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"

    def photo(self) -> bytes:
        """A small stand-in for a photograph: a PNG signature and random bytes."""
        return b"\x89PNG\r\n\x1a\n" + self.rng.randbytes(self.rng.randint(64, 256))


# --------------------------------------------------------------------------- writing


@dataclass
class GenerationSummary:
    """What `generate` wrote: records per (policy, category), subjects per (policy, kind)."""

    seed: int
    days: int
    start: datetime
    end: datetime
    records: Counter[tuple[str, str]] = field(default_factory=Counter)
    subjects: Counter[tuple[str, str]] = field(default_factory=Counter)
    batches: int = 0
    seconds: float = 0.0

    @property
    def total_records(self) -> int:
        return sum(self.records.values())

    @property
    def total_subjects(self) -> int:
        return sum(self.subjects.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "days": self.days,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "subjects": [
                {"policy": p, "kind": k, "count": n} for (p, k), n in sorted(self.subjects.items())
            ],
            "records": [
                {"policy": p, "category": c, "count": n}
                for (p, c), n in sorted(self.records.items())
            ],
            "total_subjects": self.total_subjects,
            "total_records": self.total_records,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
        }


#: Called after each subject and each batch: (subjects done, subjects planned, records written).
GenerationProgress = Callable[[int, int, int], None]


class BatchWriter:
    """Buffers records per (policy, actor, purpose) and writes each buffer with `write_many`."""

    def __init__(
        self,
        vault: Vault,
        summary: GenerationSummary,
        *,
        batch_size: int,
        on_write: Callable[[], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.vault = vault
        self.summary = summary
        self.batch_size = batch_size
        self.on_write = on_write
        self._buffers: dict[tuple[str, Actor, str], list[RecordCreate]] = defaultdict(list)

    def add(
        self,
        policy_id: str,
        actor: Actor,
        purpose: str,
        subject_id: str,
        category: str,
        values: dict[str, Any],
        at: datetime,
    ) -> None:
        key = (policy_id, actor, purpose)
        buffer = self._buffers[key]
        buffer.append(RecordCreate(subject_id, category, values, at))
        if len(buffer) >= self.batch_size:
            self._flush(key)

    def register(
        self,
        *,
        policy_id: str,
        kind: str,
        actor: Actor,
        purpose: str,
        records: dict[str, dict[str, Any]],
        lookup_phone: str | None,
        at: datetime,
    ) -> str:
        """Register a subject with its first records (one unit of work per subject)."""
        with self.vault.unit_of_work() as uow:
            subject = self.vault.register(
                uow,
                policy_id=policy_id,
                kind=kind,
                actor=actor,
                purpose=purpose,
                records=records,
                lookup_phone=lookup_phone,
                at=at,
            )
        self.summary.subjects[(policy_id, kind)] += 1
        for category in records:
            self.summary.records[(policy_id, category)] += 1
        return subject.id

    def _flush(self, key: tuple[str, Actor, str]) -> None:
        items = self._buffers.pop(key, [])
        if not items:
            return
        policy_id, actor, purpose = key
        with self.vault.unit_of_work() as uow:
            self.vault.write_many(uow, items, actor=actor, purpose=purpose)
        self.summary.batches += 1
        for item in items:
            self.summary.records[(policy_id, item.category)] += 1
        if self.on_write is not None:
            self.on_write()

    def flush(self) -> None:
        for key in sorted(self._buffers, key=lambda k: (k[0], k[1].id, k[2])):
            self._flush(key)


def _phone_taken(vault: Vault) -> Callable[[str], bool]:
    """Numbers already registered in the store (found through the blind index) are skipped."""
    from mexfi.services.bakikart.synthetic import POLICY_ID as BAKIKART
    from mexfi.services.taxsee.synthetic import POLICY_ID as TAXSEE

    def taken(phone: str) -> bool:
        with vault.unit_of_work() as uow:
            return any(vault.find_by_phone(uow, p, phone) is not None for p in (BAKIKART, TAXSEE))

    return taken


def generate(
    vault: Vault,
    *,
    riders: int,
    drivers: int,
    days: int = 7,
    seed: int = 0,
    batch_size: int = 500,
    pings_per_shift: int = 24,
    customers: int | None = None,
    end: datetime | None = None,
    progress: GenerationProgress | None = None,
) -> GenerationSummary:
    """Fill the vault with `riders` BakıKart riders and `drivers` Taxsee drivers.

    Records spread over the `days` days before `end` (default: the vault clock's now).
    The same seed (and `end`) gives the same values in an empty store; in a store that
    already holds subjects, phone numbers registered there are skipped.
    """
    from mexfi.services.bakikart.synthetic import generate_riders
    from mexfi.services.taxsee.synthetic import generate_drivers

    if riders < 0 or drivers < 0 or days < 1:
        raise ValueError("riders and drivers must be >= 0 and days >= 1")
    started = time.perf_counter()
    end = end or vault.clock.now()
    start = end - timedelta(days=days)
    rng = random.Random(seed)
    synth = Synth(rng, phone_taken=_phone_taken(vault))
    summary = GenerationSummary(seed=seed, days=days, start=start, end=end)
    n_customers = customers if customers is not None else (drivers * 2 if drivers else 0)
    planned = riders + drivers + n_customers
    done = 0

    def report() -> None:
        if progress is not None:
            progress(done, planned, summary.total_records)

    def subject_done() -> None:
        nonlocal done
        done += 1
        report()

    writer = BatchWriter(vault, summary, batch_size=batch_size, on_write=report)
    report()
    generate_riders(writer, synth, count=riders, start=start, end=end, on_subject=subject_done)
    generate_drivers(
        writer,
        synth,
        count=drivers,
        customers=n_customers,
        start=start,
        end=end,
        pings_per_shift=pings_per_shift,
        on_subject=subject_done,
    )
    writer.flush()
    summary.seconds = time.perf_counter() - started
    report()
    return summary

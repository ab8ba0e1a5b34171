"""Value pools of the development set: each generator draws from a `random.Random`.

`split` is "tune" or "heldout": the held-out part draws from other name pools and
writes some values in forms the tuning part never shows.
"""

from __future__ import annotations

import random

__all__ = ["VALUES"]

_FIN_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"

# Name pools: tune and held-out are disjoint.
_AZ_MALE = {
    "tune": [
        "Rəşad",
        "Tural",
        "Elvin",
        "Orxan",
        "Kamran",
        "Fərid",
        "Nicat",
        "Samir",
        "Elnur",
        "Vüqar",
    ],
    "heldout": [
        "Ramil",
        "Emin",
        "Cavid",
        "Ülvi",
        "Murad",
        "Anar",
        "Elşən",
        "Zaur",
        "Toğrul",
        "İlkin",
    ],
}
_AZ_FEMALE = {
    "tune": ["Leyla", "Aysel", "Günay", "Nigar", "Sevinc", "Lalə", "Fidan", "Nərmin"],
    "heldout": ["Aynur", "Səbinə", "Könül", "Zəhra", "Ülkər", "Fatimə", "Röya", "Aytac"],
}
_AZ_SUR_STEMS = {
    "tune": [
        "Əliyev",
        "Həsənov",
        "Məmmədov",
        "Quliyev",
        "Hüseynov",
        "İsmayılov",
        "Babayev",
        "Kərimov",
    ],
    "heldout": [
        "Rzayev",
        "Nəsirov",
        "Cəfərov",
        "Abdullayev",
        "Mustafayev",
        "Vəliyev",
        "Süleymanov",
        "Orucov",
    ],
}
_AZ_SUR_OTHER = {
    "tune": ["Əhmədli", "Hüseynzadə", "Bağırlı", "Qasımlı"],
    "heldout": ["Məmmədli", "Rəhimzadə", "Cabbarlı", "Əfəndizadə"],
}
_RU_MALE = {
    "tune": ["Сергей", "Андрей", "Дмитрий", "Алексей", "Игорь", "Руслан"],
    "heldout": ["Михаил", "Николай", "Павел", "Олег", "Тимур", "Кирилл"],
}
_RU_FEMALE = {
    "tune": ["Елена", "Ольга", "Наталья", "Лейла", "Ирина"],
    "heldout": ["Татьяна", "Марина", "Светлана", "Айсель", "Юлия"],
}
_RU_SUR = {
    "tune": ["Иванов", "Петров", "Смирнов", "Мамедов", "Алиев", "Гасанов"],
    "heldout": ["Кузнецов", "Соколов", "Новиков", "Гусейнов", "Рзаев", "Лебедев"],
}
_RU_PATR_M = {
    "tune": ["Петрович", "Сергеевич", "Иванович"],
    "heldout": ["Андреевич", "Николаевич", "Алексеевич"],
}
_RU_PATR_F = {
    "tune": ["Петровна", "Сергеевна"],
    "heldout": ["Андреевна", "Николаевна"],
}
_EN_FIRST = {
    "tune": ["John", "Sarah", "David", "Emma", "Michael"],
    "heldout": ["James", "Olivia", "Thomas", "Laura", "Peter"],
}
_EN_SUR = {
    "tune": ["Smith", "Johnson", "Brown", "Taylor", "Walker"],
    "heldout": ["Wilson", "Clark", "Evans", "Turner", "Baker"],
}
_FOLD = str.maketrans(
    {
        "ə": "e",
        "Ə": "E",
        "ı": "i",
        "İ": "I",
        "ö": "o",
        "Ö": "O",
        "ü": "u",
        "Ü": "U",
        "ğ": "g",
        "ş": "s",
        "Ş": "S",
        "ç": "c",
        "Ç": "C",
    }
)

_STREETS_AZ = {
    "tune": ["Nizami", "Füzuli", "Azadlıq", "Bülbül", "Səməd Vurğun", "Neftçilər"],
    "heldout": [
        "Həsən Bəy Zərdabi",
        "Üzeyir Hacıbəyov",
        "Təbriz",
        "28 May",
        "Xətai",
        "Cəfər Cabbarlı",
    ],
}
_STREETS_RU = {
    "tune": ["Низами", "Физули", "Самеда Вургуна"],
    "heldout": ["Бакиханова", "Гусейна Джавида", "Ататюрка"],
}
_STREETS_EN = {
    "tune": ["Nizami", "Fuzuli", "Azadliq"],
    "heldout": ["Bakikhanov", "Tbilisi", "Bulbul"],
}
_METRO = {
    "tune": ["Həzi Aslanov", "Nəriman Nərimanov", "28 May", "Gənclik"],
    "heldout": ["Cəfər Cabbarlı", "Memar Əcəmi", "Neftçilər", "Koroğlu"],
}
_METRO_RU = {"tune": ["Нефтчиляр", "Гянджлик"], "heldout": ["Нариман Нариманов", "Хази Асланов"]}


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def phone(rng: random.Random, split: str) -> str:
    op = rng.choice(["50", "51", "55", "70", "77", "99", "10", "60"])
    if rng.random() < 0.1:
        op = "12"
    a, b, c = _digits(rng, 3), _digits(rng, 2), _digits(rng, 2)
    forms = [
        f"+994 {op} {a} {b} {c}",
        f"+994{op}{a}{b}{c}",
        f"0{op}{a}{b}{c}",
        f"0{op}-{a}-{b}-{c}",
        f"(0{op}) {a} {b} {c}",
        f"994 {op} {a} {b} {c}",
    ]
    if split == "heldout":
        forms += [
            f"00994 {op} {a} {b} {c}",
            f"+994 ({op}) {a}-{b}-{c}",
            f"{op} {a} {b} {c}",
            f"0{op} {a}{b}{c}",
            f"+994-{op}-{a}-{b}-{c}",
        ]
    else:
        forms += [f"+994 {op} {a}-{b}-{c}", f"0{op} {a} {b} {c}"]
    return rng.choice(forms)


def fin(rng: random.Random, split: str) -> str:
    while True:
        code = "".join(rng.choice(_FIN_ALPHABET) for _ in range(7))
        if any(c.isdigit() for c in code) and any(c.isalpha() for c in code):
            break
    if split == "heldout" and rng.random() < 0.25:
        return code.lower()
    return code


def id_card(rng: random.Random, split: str) -> str:
    forms = [f"AZE {_digits(rng, 8)}", f"AZE{_digits(rng, 8)}", f"AA {_digits(rng, 7)}"]
    if split == "heldout":
        forms += [f"AZE № {_digits(rng, 8)}", f"AA{_digits(rng, 7)}", f"AA № {_digits(rng, 7)}"]
    return rng.choice(forms)


def driver_license(rng: random.Random, split: str) -> str:
    series = rng.choice(["AB", "AC", "BA", "AZ", "DE", "KM", "AT"])
    forms = [f"{series} {_digits(rng, 6)}", f"{series}{_digits(rng, 6)}"]
    if split == "heldout":
        forms.append(f"{series} № {_digits(rng, 6)}")
    return rng.choice(forms)


def plate(rng: random.Random, split: str) -> str:
    region = rng.choice(["10", "90", "77", "99", "20", "50", "01", "85"])
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVXYZ") for _ in range(2))
    number = _digits(rng, 3)
    forms = [
        f"{region}-{letters}-{number}",
        f"{region} {letters} {number}",
        f"{region}{letters}{number}",
    ]
    if split == "heldout":
        forms += [f"{region}-{letters}{number}", f"{region}-{letters.lower()}-{number}"]
    return rng.choice(forms)


def _iban_check(body: str) -> str:
    rearranged = body + "AZ00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{98 - number % 97:02d}"


def iban(rng: random.Random, split: str) -> str:
    bank = rng.choice(["NABZ", "AIIB", "IBAZ", "PAHA", "UBAZ", "CAPN"])
    account = "".join(
        rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ" if i < 4 else "0123456789")
        for i in range(20)
    )
    body = bank + account
    full = "AZ" + _iban_check(body) + body
    if rng.random() < 0.5:
        return " ".join(full[i : i + 4] for i in range(0, 28, 4))
    return full


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    digits = prefix + _digits(rng, length - len(prefix) - 1)
    for check in "0123456789":
        candidate = digits + check
        total = 0
        for index, char in enumerate(reversed(candidate)):
            value = int(char)
            if index % 2 == 1:
                value *= 2
                if value > 9:
                    value -= 9
            total += value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def card(rng: random.Random, split: str) -> str:
    prefix = rng.choice(["4169", "5522", "4098", "5103", "4127", "2200"])
    number = _luhn_complete(prefix, 16, rng)
    groups = [number[i : i + 4] for i in range(0, 16, 4)]
    forms = [" ".join(groups), number, "-".join(groups)]
    if split == "heldout":
        amex = _luhn_complete(rng.choice(["34", "37"]), 15, rng)
        forms.append(f"{amex[:4]} {amex[4:10]} {amex[10:]}")
    return rng.choice(forms)


def bad_reference(rng: random.Random, split: str) -> str:
    """A 16-digit number that fails Luhn."""
    while True:
        number = _luhn_complete("4169", 16, rng)
        last = (int(number[-1]) + rng.randint(1, 9)) % 10
        bad = number[:-1] + str(last)
        if rng.random() < 0.5:
            return " ".join(bad[i : i + 4] for i in range(0, 16, 4))
        return bad


def masked_card(rng: random.Random, split: str) -> str:
    return rng.choice(
        [
            f"4169 **** **** {_digits(rng, 4)}",
            f"5522 **** **** {_digits(rng, 4)}",
            f"**** **** **** {_digits(rng, 4)}",
            f"4098********{_digits(rng, 4)}",
        ]
    )


def email(rng: random.Random, split: str) -> str:
    user = rng.choice(
        [
            "rashad",
            "leyla.h",
            "tural88",
            "a.mammadov",
            "sergey.ivanov",
            "jsmith",
            "nigar_q",
            "elvin.aliyev",
            "info",
            "ulvi.m",
            "aytac2001",
        ]
    )
    domain = rng.choice(["gmail.com", "mail.ru", "box.az", "yandex.ru", "outlook.com", "taxsee.az"])
    if split == "heldout":
        user = rng.choice(
            ["murad.r", "zehra_n", "o.kuznetsov", "peter.b", "info.office", "cavid-93"]
        )
        domain = rng.choice(["yahoo.com", "inbox.ru", "bk.ru", "azercell.com", "mail.az"])
    return f"{user}@{domain}"


def ip(rng: random.Random, split: str) -> str:
    first = rng.choice(["85", "94", "185", "212", "5", "37", "192", "10"])
    return ".".join([first, *(str(rng.randint(0, 255)) for _ in range(3))])


def _surname_az(rng: random.Random, split: str, female: bool) -> str:
    if rng.random() < 0.25:
        return rng.choice(_AZ_SUR_OTHER[split])
    stem = rng.choice(_AZ_SUR_STEMS[split])
    return stem + "a" if female else stem


def person_az(rng: random.Random, split: str) -> str:
    female = rng.random() < 0.45
    first = rng.choice(_AZ_FEMALE[split] if female else _AZ_MALE[split])
    surname = _surname_az(rng, split, female)
    style = rng.random()
    if style < 0.55:
        name = f"{first} {surname}"
    elif style < 0.75:
        name = f"{surname} {first}"
    else:
        father = rng.choice(_AZ_MALE[split])
        name = f"{surname} {first} {father} {'qızı' if female else 'oğlu'}"
    if rng.random() < 0.2:
        name = name.translate(_FOLD)
    return name


def person_ru(rng: random.Random, split: str) -> str:
    female = rng.random() < 0.45
    surname = rng.choice(_RU_SUR[split]) + ("а" if female else "")
    first = rng.choice(_RU_FEMALE[split] if female else _RU_MALE[split])
    style = rng.random()
    if style < 0.4:
        return f"{surname} {first} {rng.choice(_RU_PATR_F[split] if female else _RU_PATR_M[split])}"
    if style < 0.75:
        return f"{first} {surname}"
    if style < 0.9:
        return f"{surname} {first}"
    father = rng.choice(["Али", "Гасан", "Рашад", "Вугар"])
    return f"{surname} {first} {father} {'кызы' if female else 'оглы'}"


def person_en(rng: random.Random, split: str) -> str:
    if rng.random() < 0.4:
        female = rng.random() < 0.5
        first = rng.choice(_AZ_FEMALE[split] if female else _AZ_MALE[split]).translate(_FOLD)
        return f"{first} {_surname_az(rng, split, female).translate(_FOLD)}"
    return f"{rng.choice(_EN_FIRST[split])} {rng.choice(_EN_SUR[split])}"


_MONTHS_AZ = [
    "yanvar",
    "fevral",
    "mart",
    "aprel",
    "may",
    "iyun",
    "iyul",
    "avqust",
    "sentyabr",
    "oktyabr",
    "noyabr",
    "dekabr",
]
_MONTHS_RU = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]
_MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _date_parts(rng: random.Random) -> tuple[int, int, int]:
    return rng.randint(1, 28), rng.randint(1, 12), rng.randint(1955, 2005)


def dob_az(rng: random.Random, split: str) -> str:
    d, m, y = _date_parts(rng)
    forms = [f"{d:02d}.{m:02d}.{y}", f"{d} {_MONTHS_AZ[m - 1]} {y}"]
    if split == "heldout":
        forms += [f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}"]
    return rng.choice(forms)


def dob_ru(rng: random.Random, split: str) -> str:
    d, m, y = _date_parts(rng)
    forms = [f"{d:02d}.{m:02d}.{y}", f"{d} {_MONTHS_RU[m - 1]} {y}"]
    if split == "heldout":
        forms += [f"{y}-{m:02d}-{d:02d}", f"{d}.{m:02d}.{y}"]
    return rng.choice(forms)


def dob_en(rng: random.Random, split: str) -> str:
    d, m, y = _date_parts(rng)
    forms = [f"{_MONTHS_EN[m - 1]} {d}, {y}", f"{y}-{m:02d}-{d:02d}"]
    if split == "heldout":
        forms += [f"{d} {_MONTHS_EN[m - 1]} {y}", f"{d:02d}/{m:02d}/{y}"]
    return rng.choice(forms)


def address_az(rng: random.Random, split: str) -> str:
    street = rng.choice(_STREETS_AZ[split])
    kind = rng.choice(
        ["küç.", "küçəsi", "pr.", "prospekti"]
        if split == "tune"
        else ["küç.", "küçəsi", "prospekti", "kuc."]
    )
    house = rng.choice([str(rng.randint(1, 180)), f"{rng.randint(1, 90)}/{rng.randint(1, 9)}"])
    flat = rng.choice(
        [
            "",
            "",
            f", mənzil {rng.randint(1, 120)}",
            f", m. {rng.randint(1, 99)}" if split == "heldout" else "",
        ]
    )
    if split == "heldout" and rng.random() < 0.2:
        return f"{street} {kind}, ev {house}{flat}"
    return f"{street} {kind} {house}{flat}"


def address_ru(rng: random.Random, split: str) -> str:
    street = rng.choice(_STREETS_RU[split])
    house = str(rng.randint(1, 150))
    flat = rng.choice(["", f", кв. {rng.randint(1, 120)}"])
    if split == "tune":
        return rng.choice([f"ул. {street} {house}{flat}", f"улица {street}, дом {house}{flat}"])
    return rng.choice(
        [
            f"ул. {street}, д. {house}{flat}",
            f"проспект {street} {house}{flat}",
            f"улица {street} {house}{flat}",
        ]
    )


def address_en(rng: random.Random, split: str) -> str:
    street = rng.choice(_STREETS_EN[split])
    house = str(rng.randint(1, 150))
    flat = rng.choice(["", f", apt {rng.randint(1, 80)}"])
    if split == "tune":
        return f"{house} {street} Street{flat}"
    return rng.choice([f"{house} {street} Avenue{flat}", f"{house} {street} St.{flat}"])


# -- hard negatives ------------------------------------------------------------------------
def order_no(rng: random.Random, split: str) -> str:
    return rng.choice(
        [
            f"#{_digits(rng, 7)}",
            f"TX-{_digits(rng, 6)}",
            f"{_digits(rng, 8)}",
            f"№{_digits(rng, 6)}",
        ]
    )


def price(rng: random.Random, split: str) -> str:
    return rng.choice(
        [
            f"{rng.randint(2, 40)}.{_digits(rng, 2)} AZN",
            f"{rng.randint(2, 40)},{_digits(rng, 2)} ₼",
            f"{rng.randint(2, 40)} manat",
            f"{rng.randint(100, 900)} руб.",
        ]
    )


def time_(rng: random.Random, split: str) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"


def rating(rng: random.Random, split: str) -> str:
    return rng.choice(["4.8", "5", "3.5", "4,9", "2"])


def version(rng: random.Random, split: str) -> str:
    return f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"


def route(rng: random.Random, split: str) -> str:
    return rng.choice(["5", "65", "88A", "125", "1", "14", "H1"])


def promo(rng: random.Random, split: str) -> str:
    return rng.choice(
        ["NOVRUZ7", "BAHAR25", "YAY2025", "TAXI50", "BAKU777", "SALAM10"]
        if split == "tune"
        else ["NOVRUZ7", "QISH2026", "DOST15", "BONUS99", "TAXSEE5", "PAYIZ30"]
    )


def street_only(rng: random.Random, split: str) -> str:
    return rng.choice(
        ["Nizami küçəsi", "Səməd Vurğun küçəsi", "Həzi Aslanov küçəsi", "Füzuli küçəsi"]
        if split == "tune"
        else ["Azadlıq prospekti", "Cəfər Cabbarlı küçəsi", "Bülbül prospekti"]
    )


def metro(rng: random.Random, split: str) -> str:
    return rng.choice(_METRO[split])


def metro_ru(rng: random.Random, split: str) -> str:
    return rng.choice(_METRO_RU[split])


def other_date(rng: random.Random, split: str) -> str:
    d, m, _ = _date_parts(rng)
    return rng.choice(
        [f"{d:02d}.{m:02d}.2026", f"2026-{m:02d}-{d:02d}", f"{d} {_MONTHS_AZ[m - 1]}"]
    )


def other_date_ru(rng: random.Random, split: str) -> str:
    d, m, _ = _date_parts(rng)
    return rng.choice([f"{d:02d}.{m:02d}.2026", f"{d} {_MONTHS_RU[m - 1]}"])


def other_date_en(rng: random.Random, split: str) -> str:
    d, m, _ = _date_parts(rng)
    return rng.choice([f"{_MONTHS_EN[m - 1]} {d}, 2026", f"{d:02d}.{m:02d}.2026"])


#: Placeholder → (entity type or None for a hard negative, generator).
VALUES = {
    "PHONE": ("PHONE", phone),
    "FIN": ("FIN", fin),
    "ID_CARD": ("ID_CARD", id_card),
    "DL": ("DRIVER_LICENSE", driver_license),
    "PLATE": ("PLATE", plate),
    "IBAN": ("IBAN", iban),
    "CARD": ("CARD", card),
    "EMAIL": ("EMAIL", email),
    "IP": ("IP_ADDRESS", ip),
    "PERSON_AZ": ("PERSON", person_az),
    "PERSON_RU": ("PERSON", person_ru),
    "PERSON_EN": ("PERSON", person_en),
    "DOB_AZ": ("DATE_OF_BIRTH", dob_az),
    "DOB_RU": ("DATE_OF_BIRTH", dob_ru),
    "DOB_EN": ("DATE_OF_BIRTH", dob_en),
    "ADDR_AZ": ("ADDRESS", address_az),
    "ADDR_RU": ("ADDRESS", address_ru),
    "ADDR_EN": ("ADDRESS", address_en),
    "ORDER": (None, order_no),
    "PRICE": (None, price),
    "TIME": (None, time_),
    "RATING": (None, rating),
    "VERSION": (None, version),
    "ROUTE": (None, route),
    "PROMO": (None, promo),
    "MASKED": (None, masked_card),
    "BADREF": (None, bad_reference),
    "STREET": (None, street_only),
    "METRO": (None, metro),
    "METRO_RU": (None, metro_ru),
    "DATE": (None, other_date),
    "DATE_RU": (None, other_date_ru),
    "DATE_EN": (None, other_date_en),
}

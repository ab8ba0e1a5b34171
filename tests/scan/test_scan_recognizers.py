"""Span conventions of PII-ENTITIES.md, one recognizer at a time, from the guideline's examples."""

from __future__ import annotations

import pytest

from mexfi.scan import scan_text


def spans(text: str) -> list[tuple[str, str]]:
    return [(e.type, text[e.start : e.end]) for e in scan_text(text)]


@pytest.mark.parametrize(
    "number",
    [
        "+994 50 123 45 67",
        "+994501234567",
        "0501234567",
        "050-123-45-67",
        "(050) 123 45 67",
        "994 50 123 45 67",
        "00994 50 123 45 67",
        "+994 (50) 123-45-67",
        "50 123 45 67",
        "(012) 555 44 33",
        "+994 10 222 33 44",
    ],
)
def test_phone_covers_the_whole_number_with_plus_and_brackets(number: str) -> None:
    assert spans(f"Nömrəm {number}, zəng edin.") == [("PHONE", number)]


@pytest.mark.parametrize(
    "text", ["Sifariş 501234567 qəbul olundu.", "+994 53 123 45 67", "099 12 34"]
)
def test_phone_needs_an_operator_code_and_cue_for_bare_digits(text: str) -> None:
    assert [kind for kind, _ in spans(text)] == []


@pytest.mark.parametrize(
    "text", ["FİN: 5ZK7R2M", "FIN kod 5zk7r2m", "ФИН 5ZK7R2M", "FIN code: 5ZK7R2M"]
)
def test_fin_is_the_seven_characters(text: str) -> None:
    assert spans(text) == [("FIN", text[-7:])]


@pytest.mark.parametrize("code", ["NOVRUZ7", "YAY2025", "BAHAR25"])
def test_fin_shaped_promo_codes_are_not_fins(code: str) -> None:
    assert spans(f"Promo kod {code} işləmir.") == []


def test_fin_alphabet_excludes_i_and_o() -> None:
    assert spans("FİN: 5ZK7R2O") == []


@pytest.mark.parametrize("value", ["AZE 12345678", "AZE12345678", "AZE № 12345678", "AA 1234567"])
def test_id_card_covers_series_number_and_sign(value: str) -> None:
    assert spans(f"Şəxsiyyət vəsiqəsi {value}.") == [("ID_CARD", value)]


@pytest.mark.parametrize(
    ("cue", "value"),
    [
        ("sürücülük vəsiqəsi", "AB 123456"),
        ("водительское удостоверение", "AB123456"),
        ("права", "AB № 123456"),
        ("driver's licence", "AB 123456"),
        ("surucuk vesiqesi", "KM 654321"),
    ],
)
def test_driver_license_covers_series_and_number(cue: str, value: str) -> None:
    assert spans(f"{cue}: {value}") == [("DRIVER_LICENSE", value)]


@pytest.mark.parametrize("value", ["10-AB-123", "10 AB 123", "10AB123", "10-AB123", "90-ab-123"])
def test_plate_covers_the_whole_plate(value: str) -> None:
    assert spans(f"Maşının nömrəsi {value}.") == [("PLATE", value)]


@pytest.mark.parametrize(
    "value", ["AZ21NABZ00000000137010001944", "AZ21 NABZ 0000 0000 1370 1000 1944"]
)
def test_iban_covers_group_spaces_and_is_mod97_checked(value: str) -> None:
    assert spans(f"IBAN {value}") == [("IBAN", value)]
    assert spans(f"IBAN {value.replace('21', '22', 1)}") == []


@pytest.mark.parametrize(
    "value", ["4169 7388 0012 4418", "4169738800124418", "4169-7388-0012-4418"]
)
def test_card_covers_digits_and_separators(value: str) -> None:
    assert spans(f"Kart {value} ilə") == [("CARD", value)]


@pytest.mark.parametrize(
    "value", ["4169 **** **** 1234", "4169738800124411", "4169 7388 0012 4411"]
)
def test_masked_and_luhn_failing_numbers_are_not_cards(value: str) -> None:
    assert spans(f"Kart {value} ilə") == []


def test_email_and_ipv4() -> None:
    text = "Yazın: resad.eliyev@gmail.com, IP 85.132.44.10, versiya 4.12.0.3"
    assert spans(text) == [("EMAIL", "resad.eliyev@gmail.com"), ("IP_ADDRESS", "85.132.44.10")]


def test_ip_octets_are_checked() -> None:
    assert spans("IP 300.1.2.3") == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Sürücü Leyla Həsənova gəldi.", "Leyla Həsənova"),
        ("Ərizəçi Əliyev Rəşad Məmməd oğlu", "Əliyev Rəşad Məmməd oğlu"),
        ("Водитель Иванов Сергей Петрович", "Иванов Сергей Петрович"),
        ("Пассажир Мамедова Лейла Али кызы", "Мамедова Лейла Али кызы"),
        ("Surucu Resad Eliyev gec geldi", "Resad Eliyev"),
        ("Driver John Smith was late", "John Smith"),
        ("Mr. John Smith called", "John Smith"),
        ("Rəşad Əliyevə zəng edin", "Rəşad Əliyev"),
        ("Nigar Hüseynzadənin telefonu", "Nigar Hüseynzadə"),
    ],
)
def test_person_covers_name_tokens_without_titles_or_case_endings(text: str, name: str) -> None:
    assert spans(text) == [("PERSON", name)]


@pytest.mark.parametrize(
    "text",
    [
        "Həzi Aslanov metrosunun yanındayam.",
        "Nizami küçəsi bağlıdır.",
        "28 May metrosunda gözləyirəm.",
        "Жду у метро Нефтчиляр.",
        "Nəriman Nərimanov stansiyası",
        "Səməd Vurğun küçəsində tıxac var.",
        "Bakı Şəhər İcra Hakimiyyəti Yeni Qərar Verdi.",
        "Sabah Hava Yağışlı Olacaq.",
        "Heydər Əliyev Mərkəzi bağlıdır.",
    ],
)
def test_places_and_ordinary_words_are_not_persons(text: str) -> None:
    assert [kind for kind, _ in spans(text)] == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("doğum tarixi 12.03.1988", "12.03.1988"),
        ("Dogum tarixi: 1988-03-12", "1988-03-12"),
        ("doğum tarixi 12 mart 1988", "12 mart 1988"),
        ("дата рождения 12 марта 1988 г.", "12 марта 1988"),
        ("date of birth: March 12, 1988", "March 12, 1988"),
        ("DOB 12/03/1988", "12/03/1988"),
        ("born on 12 March 1988", "12 March 1988"),
    ],
)
def test_date_of_birth_is_the_date_only(text: str, date: str) -> None:
    assert spans(text) == [("DATE_OF_BIRTH", date)]


def test_other_dates_are_not_personal_data() -> None:
    assert spans("Ödəniş 12.03.2026 tarixində, səfər March 12, 2026.") == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Ünvan: Nizami küç. 45, Bakı", "Nizami küç. 45"),
        ("Azadlıq pr. 12/3 qarşısında", "Azadlıq pr. 12/3"),
        ("Nizami küç. 45, mənzil 12, podyezd 2", "Nizami küç. 45, mənzil 12"),
        ("Адрес: ул. Низами 45, подъезд 3", "ул. Низами 45"),
        ("улица Низами, дом 45, кв. 12, этаж 5", "улица Низами, дом 45, кв. 12"),
        ("Pick up at 45 Nizami Street, apt 12.", "45 Nizami Street, apt 12"),
        ("Sürücü Nizami küç. 45 ünvanına gəlsin", "Nizami küç. 45"),
    ],
)
def test_address_is_street_type_name_number_and_flat(text: str, address: str) -> None:
    assert spans(text) == [("ADDRESS", address)]


def test_street_without_a_house_number_is_not_an_address() -> None:
    assert spans("Nizami küçəsi ilə gedin") == []


def test_hard_negatives_stay_clean() -> None:
    text = (
        "Sifariş #4827163, qiymət 12.50 AZN, sonra 7,80 ₼; saat 14:30, reytinq 4.8, "
        "versiya 4.12.0, marşrut 65, promo NOVRUZ7, kart 4169 **** **** 1234."
    )
    assert spans(text) == []


def test_an_iban_failing_mod97_hides_no_card() -> None:
    assert spans("IBAN AZ96 AIIB 4000 1900 0012 3456 7890") == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("спросите Елену Смирнову", "Елену Смирнову"),
        ("с Ивановой Ольгой Петровной", "Ивановой Ольгой Петровной"),
        ("Əhmədli Leyla gəldi", "Əhmədli Leyla"),
        ("Təcili Leyla Həsənova zəng etsin", "Leyla Həsənova"),
        ("Thomas Evans called", "Thomas Evans"),
    ],
)
def test_person_inflections_and_ambiguous_words(text: str, name: str) -> None:
    assert spans(text) == [("PERSON", name)]


@pytest.mark.parametrize("text", ["Təcili Leyla zəng etsin", "Maraqlı Kamran", "Leyla Aysel"])
def test_adjectives_and_lone_first_names_are_not_full_names(text: str) -> None:
    assert spans(text) == []

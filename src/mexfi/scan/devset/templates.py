"""Templates of the development set: order comments, driver support chats, transit-card tickets.

The tuning and held-out parts share no template. `{KEY}` names a pool of `values.py`.
"""

from __future__ import annotations

__all__ = ["TEMPLATES"]

_TUNE_AZ = [
    "Salam, mənim nömrəm {PHONE}, sürücü gələndə zəng etsin.",
    "Sifariş {ORDER}: ünvan {ADDR_AZ}, qiymət {PRICE}.",
    "Sürücü {PERSON_AZ} çox gecikdi, reytinq {RATING} verdim.",
    "Kartım {CARD} ilə ödəniş keçmədi, pulu geri qaytarın.",
    "FİN kodum {FIN}, şəxsiyyət vəsiqəm {ID_CARD}.",
    "Sürücülük vəsiqəsi {DL}, maşın nömrəsi {PLATE}.",
    "Doğum tarixi: {DOB_AZ}. Adım {PERSON_AZ}.",
    "Maaşı bu hesaba köçürün: {IBAN}.",
    "Promo kod {PROMO} işləmir, tətbiq versiyası {VERSION}.",
    "BakıKart {MASKED} balansı artmadı, əməliyyat {BADREF}.",
    "{METRO} metrosunun yanında gözləyirəm, saat {TIME}.",
    "E-poçtum {EMAIL}, cavab yazın zəhmət olmasa.",
    "{STREET} ilə gedin, tıxac var.",
    "Məni {ADDR_AZ} ünvanından götürün, telefon {PHONE}.",
    "Hörmətli {PERSON_AZ}, sifarişiniz {ORDER} ləğv edildi.",
    "{ROUTE} nömrəli avtobusda kartı oxutdum, {PRICE} çıxdı.",
    "Sürücünün maşını {PLATE} idi, adı {PERSON_AZ}.",
    "Mənim IP ünvanım {IP} bloklanıb.",
    "Kart nömrəsi {CARD}, son istifadə {DATE}.",
    "Ödəniş {DATE} tarixində {PRICE} olub, sifariş {ORDER}.",
    "Doğum tarixim {DOB_AZ}, FİN {FIN}.",
    "Zəng edin: {PHONE} və ya {PHONE}.",
    "Salam, {METRO} stansiyasından {ADDR_AZ} ünvanına sifariş verdim.",
]
_TUNE_RU = [
    "Здравствуйте, мой номер {PHONE}, перезвоните.",
    "Водитель {PERSON_RU} не приехал, заказ {ORDER}.",
    "Адрес: {ADDR_RU}, подъезд 2, этаж 5.",
    "Списали деньги с карты {CARD}, верните пожалуйста.",
    "ФИН {FIN}, удостоверение личности {ID_CARD}.",
    "Водительское удостоверение {DL}, госномер {PLATE}.",
    "Дата рождения: {DOB_RU} г., ФИО {PERSON_RU}.",
    "Переведите выплату на счёт {IBAN}.",
    "Промокод {PROMO} не работает, версия приложения {VERSION}.",
    "Карта {MASKED} заблокирована, номер обращения {BADREF}.",
    "Жду у метро {METRO_RU} в {TIME}.",
    "Почта {EMAIL}, жду ответа.",
    "Поездка стоила {PRICE}, оценка {RATING}.",
    "Клиент {PERSON_RU} оставил вещи в машине {PLATE}.",
    "Мой IP {IP}, не могу войти.",
    "Оплата {DATE_RU} не прошла, автобус {ROUTE}.",
    "Позвоните по номеру {PHONE}, спросите {PERSON_RU}.",
    "Заберите меня с адреса {ADDR_RU}.",
]
_TUNE_EN = [
    "Hi, my number is {PHONE}, please call when you arrive.",
    "Driver {PERSON_EN} was rude, order {ORDER}, I rated {RATING}.",
    "Pick me up at {ADDR_EN}.",
    "My card {CARD} was charged twice, {PRICE}.",
    "FIN code {FIN}, ID card {ID_CARD}.",
    "Driver's licence {DL}, plate {PLATE}.",
    "Date of birth: {DOB_EN}. Name: {PERSON_EN}.",
    "Please send the payout to {IBAN}.",
    "Promo code {PROMO} fails on app version {VERSION}.",
    "Card {MASKED} was declined, reference {BADREF}.",
    "Email me at {EMAIL}.",
    "Login blocked from IP {IP} at {TIME}.",
    "Trip on {DATE_EN} cost {PRICE}, bus {ROUTE}.",
    "Customer {PERSON_EN} left a bag in car {PLATE}.",
]

_HELD_AZ = [
    "Xahiş edirəm, {PHONE} nömrəsinə zəng vurun, qapıda gözləyirəm.",
    "Ünvanım {ADDR_AZ}, podyezd 3, mərtəbə 7.",
    "{PERSON_AZ} adlı sürücü yolu səhv saldı, sifariş nömrəsi {ORDER}.",
    "Ödəniş kartı {CARD}, yenidən cəhd edin.",
    "FIN: {FIN}. Vəsiqə: {ID_CARD}.",
    "Mənim sürücülük vəsiqəmin nömrəsi {DL}-dir.",
    "Avtomobilin dövlət nömrə nişanı {PLATE}.",
    "Müştəri {PERSON_AZ}, doğum tarixi {DOB_AZ}.",
    "IBAN hesabım: {IBAN}",
    "{PROMO} promokodu ilə endirim olmadı, {PRICE} ödədim.",
    "Kartın nömrəsi {MASKED}, sorğu {BADREF}, versiya {VERSION}.",
    "{METRO} metrosunun çıxışında durmuşam.",
    "Elektron poçt ünvanı: {EMAIL}",
    "{STREET} bağlıdır, {TIME}-da gələ bilərsiniz.",
    "Sərnişin {PERSON_AZ} telefonunu maşında unudub: {PHONE}.",
    "Əlaqə nömrəsi {PHONE}, ünvan {ADDR_AZ}.",
    "{DATE} tarixində {ROUTE} nömrəli marşrutda kart iki dəfə oxundu.",
    "Serverə {IP} ünvanından giriş olub.",
]
_HELD_RU = [
    "Мой телефон {PHONE}, звоните после {TIME}.",
    "Прошу проверить водителя {PERSON_RU}, поездка {ORDER}.",
    "Везите на {ADDR_RU}, третий этаж.",
    "Номер карты {CARD}, срок до {DATE_RU}.",
    "Мой ФИН: {FIN}, паспорт {ID_CARD}.",
    "Права {DL}, машина {PLATE}.",
    "{PERSON_RU}, дата рождения {DOB_RU}.",
    "Реквизиты для выплаты: {IBAN}",
    "Промокод {PROMO} не применился, цена {PRICE}.",
    "Карта {MASKED}, номер транзакции {BADREF}.",
    "Стою у станции метро {METRO_RU}.",
    "Напишите на {EMAIL} пожалуйста.",
    "Доступ с адреса {IP} заблокирован.",
    "Пассажир {PERSON_RU} оставил телефон, его номер {PHONE}.",
    "Маршрут {ROUTE}, рейтинг водителя {RATING}, версия {VERSION}.",
]
_HELD_EN = [
    "You can reach me on {PHONE} after {TIME}.",
    "The driver, {PERSON_EN}, took a longer route; trip {ORDER}.",
    "Deliver to {ADDR_EN}, second floor.",
    "Charge the card {CARD} instead.",
    "My FIN is {FIN} and my ID card is {ID_CARD}.",
    "Driving licence number {DL}; the car plate was {PLATE}.",
    "Passenger {PERSON_EN}, DOB {DOB_EN}.",
    "IBAN for refunds: {IBAN}",
    "The code {PROMO} gave no discount; I paid {PRICE}.",
    "Card {MASKED}, ticket {BADREF}, app {VERSION}.",
    "Write to {EMAIL} with the receipt.",
    "Suspicious login from {IP}.",
    "Bus {ROUTE} on {DATE_EN}, rating {RATING}.",
]

#: split → language → templates.
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "tune": {"az": _TUNE_AZ, "ru": _TUNE_RU, "en": _TUNE_EN},
    "heldout": {"az": _HELD_AZ, "ru": _HELD_RU, "en": _HELD_EN},
}

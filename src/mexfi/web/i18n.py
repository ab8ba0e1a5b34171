"""The web pages' words in az, en and ru, and which language a page is in.

Every string a page shows is a key of `STRINGS` (`{"az": …, "en": …, "ru": …}`); templates
call `t("key", name=value)` (slots in `{name}` form, filled after the lookup). The console's
keys are in `_COMMON` and `_CONSOLE`, the portal's in `_PORTAL`; `STRINGS` is their union
(a key defined twice is a bug, found by `tests/web/test_i18n.py`).

A page's language is, in order: the `lang` a link or form chose (then remembered in a
cookie), the cookie, the browser's `Accept-Language`, the default (the policy's language).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Final, TypeGuard

from mexfi.policy import Lang

__all__ = [
    "DEFAULT_LANG",
    "LANGS",
    "LANG_NAMES",
    "STRINGS",
    "accepted_lang",
    "format_when",
    "is_lang",
    "translate",
]

LANGS: Final[tuple[Lang, ...]] = ("az", "en", "ru")
DEFAULT_LANG: Final[Lang] = "az"
#: Each language named in itself (the switcher shows these).
LANG_NAMES: Final = {"az": "Azərbaycanca", "en": "English", "ru": "Русский"}

W = dict[str, str]


def _w(az: str, en: str, ru: str) -> W:
    return {"az": az, "en": en, "ru": ru}


_COMMON: dict[str, W] = {
    "app.name": _w("mexfi", "mexfi", "mexfi"),
    "skip": _w("Əsas məzmuna keç", "Skip to main content", "Перейти к содержимому"),
    "language": _w("Dil", "Language", "Язык"),
    "back": _w("Geri", "Back", "Назад"),
    "submit": _w("Göndər", "Submit", "Отправить"),
    "cancel": _w("İmtina", "Cancel", "Отмена"),
    "yes": _w("Bəli", "Yes", "Да"),
    "no": _w("Xeyr", "No", "Нет"),
    "none": _w("Yoxdur", "None", "Нет"),
    "all": _w("Hamısı", "All", "Все"),
    "filter": _w("Süz", "Filter", "Фильтр"),
    "reset": _w("Sıfırla", "Reset", "Сбросить"),
    "search": _w("Axtar", "Search", "Найти"),
    "download": _w("Yüklə", "Download", "Скачать"),
    "details": _w("Ətraflı", "Details", "Подробности"),
    "time.baku": _w("Bakı vaxtı", "Baku time", "время Баку"),
    "required": _w("məcburi", "required", "обязательно"),
    # errors: a title per kind, the page in the page's language; the technical detail
    # (ids only, never a personal value) follows in English.
    "error.title": _w("Xəta", "Error", "Ошибка"),
    "error.not_found": _w("Tapılmadı", "Not found", "Не найдено"),
    "error.not_found.text": _w(
        "Axtardığınız səhifə və ya qeyd yoxdur.",
        "The page or record you asked for does not exist.",
        "Запрошенная страница или запись не существует.",
    ),
    "error.conflict": _w("Vəziyyətlə ziddiyyət", "Conflict", "Конфликт состояния"),
    "error.conflict.text": _w(
        "Bu əməliyyat qeydin indiki vəziyyəti ilə mümkün deyil.",
        "This step is not possible in the record's current state.",
        "Это действие невозможно в текущем состоянии записи.",
    ),
    "error.invalid": _w("Yanlış məlumat", "Invalid input", "Неверные данные"),
    "error.invalid.text": _w(
        "Formadakı məlumat qəbul edilmədi. Yoxlayın və yenidən cəhd edin.",
        "What the form sent was not accepted. Check it and try again.",
        "Данные формы не приняты. Проверьте их и попробуйте снова.",
    ),
    "error.denied": _w("İcazə yoxdur", "Not allowed", "Нет доступа"),
    "error.denied.text": _w(
        "Sizin rolunuz və ya məqsədiniz bu əməliyyata icazə vermir.",
        "Your role or purpose does not allow this.",
        "Ваша роль или цель не разрешает это действие.",
    ),
    "error.unauthenticated": _w("Daxil olun", "Please sign in", "Войдите в систему"),
    "error.unauthenticated.text": _w(
        "Sessiyanız bitib və ya açar etibarsızdır.",
        "Your session has ended or the key is not valid.",
        "Сеанс завершён или ключ недействителен.",
    ),
    "error.unavailable": _w("Əlçatan deyil", "Unavailable", "Недоступно"),
    "error.unavailable.text": _w(
        "Xidmət hazırda əlçatan deyil. Bir az sonra yenidən cəhd edin.",
        "The service is unavailable right now. Try again shortly.",
        "Сервис сейчас недоступен. Повторите попытку позже.",
    ),
    "error.internal": _w("Gözlənilməz xəta", "Unexpected error", "Непредвиденная ошибка"),
    "error.internal.text": _w(
        "Nəsə səhv getdi. Xəta qeydə alındı.",
        "Something went wrong. The fault was logged.",
        "Что-то пошло не так. Ошибка записана в журнал.",
    ),
    "error.csrf": _w("Forma köhnəlib", "The form has expired", "Форма устарела"),
    "error.csrf.text": _w(
        "Təhlükəsizlik yoxlaması uğursuz oldu. Səhifəni yeniləyin və yenidən göndərin.",
        "The security check failed. Reload the page and send the form again.",
        "Проверка безопасности не пройдена. Обновите страницу и отправьте форму снова.",
    ),
    "error.form": _w(
        "Formada düzəldilməli sahələr var.",
        "Some fields of the form need attention.",
        "Некоторые поля формы требуют исправления.",
    ),
    "error.detail": _w("Texniki təfsilat", "Technical detail", "Технические подробности"),
    "error.detail.line": _w("{detail}", "{detail}", "{detail}"),
    "error.home": _w("Ana səhifəyə qayıt", "Return to the start page", "Вернуться на главную"),
}

_CONSOLE: dict[str, W] = {
    "console.title": _w("DPO konsolu", "DPO console", "Консоль DPO"),
    "console.tagline": _w(
        "Şəxsi məlumatlar üzrə məsul şəxsin iş yeri",
        "The data protection officer's workplace",
        "Рабочее место ответственного за защиту данных",
    ),
    # sign-in
    "signin.title": _w("Konsola giriş", "Sign in to the console", "Вход в консоль"),
    "signin.key": _w("API açarı", "API key", "API-ключ"),
    "signin.key.help": _w(
        "dpo və ya auditor rolunun açarı (mexfi apikeys create). Açar brauzerdə saxlanmır.",
        "A key of the role dpo or auditor (mexfi apikeys create). The key is not kept in "
        "the browser.",
        "Ключ роли dpo или auditor (mexfi apikeys create). Ключ не хранится в браузере.",
    ),
    "signin.button": _w("Daxil ol", "Sign in", "Войти"),
    "signin.failed": _w(
        "Açar tanınmadı və ya ləğv edilib.",
        "The key is unknown or revoked.",
        "Ключ не распознан или отозван.",
    ),
    "signin.role": _w(
        "Bu açarın rolu konsola daxil ola bilməz (yalnız dpo və auditor).",
        "This key's role cannot use the console (only dpo and auditor).",
        "Роль этого ключа не имеет доступа к консоли (только dpo и auditor).",
    ),
    "signin.expired": _w(
        "Sessiya bitdi. Yenidən daxil olun.",
        "Your session ended. Please sign in again.",
        "Сеанс завершён. Войдите снова.",
    ),
    "signin.done": _w("Daxil oldunuz.", "You are signed in.", "Вы вошли в систему."),
    "signout": _w("Çıxış", "Sign out", "Выйти"),
    "signout.done": _w("Çıxış etdiniz.", "You are signed out.", "Вы вышли из системы."),
    "signed_in_as": _w("Rol", "Role", "Роль"),
    "policy": _w("Siyasət", "Policy", "Политика"),
    # navigation
    "nav.queue": _w("Müraciətlər", "Requests", "Запросы"),
    "nav.subjects": _w("Subyektlər", "Subjects", "Субъекты"),
    "nav.holds": _w("Hüquqi saxlamalar", "Legal holds", "Юридические удержания"),
    "nav.certificates": _w("Məhv aktları", "Certificates", "Акты уничтожения"),
    "nav.audit": _w("Audit jurnalı", "Audit log", "Журнал аудита"),
    "nav.datamap": _w("Məlumat xəritəsi", "Data map", "Карта данных"),
    "nav.versions": _w("Siyasət versiyaları", "Policy versions", "Версии политики"),
    "nav.main": _w("Əsas naviqasiya", "Main navigation", "Основная навигация"),
    "signin.mixed": _w(
        "Sessiyadakı açarların hamısı eyni rolda olmalıdır.",
        "All keys of a session must have the same role.",
        "Все ключи сеанса должны иметь одну роль.",
    ),
    # shared words of the console
    "category": _w("Kateqoriya", "Category", "Категория"),
    "records": _w("Qeydlər", "Records", "Записи"),
    "tier": _w("Saxlama səviyyəsi", "Tier", "Уровень хранения"),
    "tier.active": _w("aktiv", "active", "активный"),
    "tier.passive": _w("passiv", "passive", "пассивный"),
    "kind.unblocking": _w("Bloklaşdırmanın ləğvi", "Unblocking", "Снятие блокирования"),
    "state.open": _w("Açıq olanlar", "Open", "Открытые"),
    "state.all": _w("Hamısı", "All", "Все"),
    "state.received": _w("Qəbul edilib", "Received", "Получен"),
    "state.verifying": _w("Təsdiq gözlənilir", "Verifying", "Ожидает проверки"),
    "state.locked": _w("Kilidlənib", "Locked", "Заблокирован"),
    "state.in_progress": _w("İcradadır", "In progress", "В работе"),
    "state.answered": _w("Cavablandırılıb", "Answered", "Отвечен"),
    "state.rejected": _w("Rədd edilib", "Rejected", "Отклонён"),
    "state.on_hold": _w("Saxlanılır", "On hold", "Приостановлен"),
    "state.withdrawn": _w("Geri götürülüb", "Withdrawn", "Отозван"),
    "status.active": _w("aktiv", "active", "активен"),
    "status.blocked": _w("bloklanıb", "blocked", "заблокирован"),
    "status.prohibited": _w("qadağan edilib", "prohibited", "запрещён"),
    "left.days": _w(
        "{days} iş günü qalıb", "{days} working days left", "осталось рабочих дней: {days}"
    ),
    "left.today": _w("Bu gün son gündür", "Due today", "Срок сегодня"),
    "left.overdue": _w(
        "{days} iş günü gecikir", "Overdue by {days} working days", "Просрочен на {days} раб. дн."
    ),
    "left.suspended": _w(
        "Dayandırılıb ({days} iş günü qalmışdı)",
        "Suspended ({days} working days were left)",
        "Приостановлен (оставалось {days} раб. дн.)",
    ),
    "left.closed": _w("Vaxtında bağlanıb", "Closed on time", "Закрыт в срок"),
    "left.closed_late": _w("Gecikmə ilə bağlanıb", "Closed late", "Закрыт с опозданием"),
    # the queue
    "queue.title": _w("Müraciətlər növbəsi", "Request queue", "Очередь запросов"),
    "queue.sub": _w(
        "Son tarix Azərbaycanın iş günləri ilə hesablanır.",
        "Due dates count Azerbaijani working days.",
        "Сроки считаются в рабочих днях Азербайджана.",
    ),
    "queue.shown": _w("Göstərilən müraciətlər", "Requests shown", "Показано запросов"),
    "queue.overdue": _w("Gecikmiş", "Overdue", "Просрочено"),
    "queue.kind": _w("Növ", "Kind", "Вид"),
    "queue.state": _w("Vəziyyət", "State", "Состояние"),
    "queue.list": _w("Müraciətlər", "Requests", "Запросы"),
    "queue.order": _w(
        "Əvvəlcə gecikmişlər, sonra son tarixə görə",
        "Overdue first, then by due date",
        "Сначала просроченные, затем по сроку",
    ),
    "queue.request": _w("Müraciət", "Request", "Запрос"),
    "queue.received": _w("Daxil olub", "Received", "Получен"),
    "queue.due": _w("Son tarix", "Due", "Срок"),
    "queue.left": _w("Qalan vaxt", "Time left", "Осталось"),
    "queue.empty": _w(
        "Bu süzgəcə uyğun müraciət yoxdur.",
        "No request matches these filters.",
        "Нет запросов, подходящих под фильтры.",
    ),
    # intake
    "intake.title": _w("Müraciəti qeydə al", "Register a request", "Зарегистрировать запрос"),
    "intake.help": _w(
        "Yazılı, poçtla və ya şəxsən gələn müraciət üçün. Telefon yalnız formada göndərilir.",
        "For a request that came in writing, by mail or in person. The phone travels only in "
        "the form.",
        "Для запроса, поступившего письменно, почтой или лично. Телефон передаётся только в форме.",
    ),
    "intake.channel": _w("Kanal", "Channel", "Канал"),
    "intake.phone": _w("Müraciət edənin telefonu", "Requester's phone", "Телефон заявителя"),
    "intake.subject": _w(
        "və ya subyektin ID-si", "or the subject's id", "или идентификатор субъекта"
    ),
    "intake.language": _w("Cavab dili", "Answer language", "Язык ответа"),
    "intake.language.subject": _w("Subyektin dili", "The subject's language", "Язык субъекта"),
    "intake.written": _w(
        "Yazılı müraciətin rekvizitləri (TX-11)",
        "Details of a written request (TX-11)",
        "Реквизиты письменного запроса (TX-11)",
    ),
    "intake.button": _w("Qeydə al", "Register", "Зарегистрировать"),
    "written.id_document_series": _w(
        "Şəxsiyyət vəsiqəsinin seriyası", "ID document series", "Серия документа"
    ),
    "written.id_document_number": _w(
        "Şəxsiyyət vəsiqəsinin nömrəsi", "ID document number", "Номер документа"
    ),
    "written.id_issue_date": _w("Verilmə tarixi", "Issue date", "Дата выдачи"),
    "written.id_issue_authority": _w("Verən orqan", "Issuing authority", "Кем выдан"),
    "written.address": _w("Ünvan", "Address", "Адрес"),
    "written.fin": _w("FİN", "FIN", "ФИН"),
    "written.contract_number": _w("Müqavilə nömrəsi", "Contract number", "Номер договора"),
    "written.contract_date": _w("Müqavilə tarixi", "Contract date", "Дата договора"),
    "written.relationship_other": _w(
        "Münasibəti təsdiq edən digər məlumat",
        "Other proof of the relationship",
        "Иное подтверждение отношений",
    ),
    "written.full_name": _w("Soyadı, adı", "Full name", "ФИО"),
    "written.date_of_birth": _w("Doğum tarixi", "Date of birth", "Дата рождения"),
    "written.signed": _w("Müraciət imzalanıb", "The request is signed", "Запрос подписан"),
    "written.phone": _w("Telefon", "Phone", "Телефон"),
    "identity.match": _w("uyğundur", "matches", "совпадает"),
    "identity.mismatch": _w("uyğun deyil", "does not match", "не совпадает"),
    "identity.not_held": _w("saxlanılmır", "not held", "не хранится"),
    # a request
    "request.title": _w("Müraciət {id}", "Request {id}", "Запрос {id}"),
    "request.facts": _w("Müraciət", "Request", "Запрос"),
    "request.id": _w("ID", "Id", "Идентификатор"),
    "request.subject": _w("Subyekt", "Subject", "Субъект"),
    "request.no_subject": _w("Subyekt tapılmayıb", "No subject matched", "Субъект не найден"),
    "request.categories": _w("Kateqoriyalar", "Categories", "Категории"),
    "request.all_categories": _w("hamısı", "all", "все"),
    "request.answered_at": _w("Cavab verilib", "Answered", "Дан ответ"),
    "request.received": _w(
        "Müraciət {id} qeydə alındı.", "Request {id} registered.", "Запрос {id} зарегистрирован."
    ),
    "request.code_sent": _w(
        "Birdəfəlik kod subyektin telefonuna göndərildi.",
        "A one-time code was sent to the subject's phone.",
        "Одноразовый код отправлен на телефон субъекта.",
    ),
    "request.verified": _w(
        "Müraciət edənin şəxsiyyəti təsdiqləndi.",
        "The requester is verified.",
        "Личность заявителя подтверждена.",
    ),
    "request.withdrawn": _w("Müraciət geri götürüldü.", "Request withdrawn.", "Запрос отозван."),
    "request.rejected": _w(
        "Müraciət rədd edildi; imtina məktubunu göndərin.",
        "Request rejected; send its refusal letter.",
        "Запрос отклонён; отправьте письмо с отказом.",
    ),
    "request.answered": _w(
        "Müraciət cavablandırıldı.", "Request answered.", "Ответ на запрос дан."
    ),
    "request.held": _w(
        "Hüquqi saxlama müraciətin bir hissəsini dayandırdı.",
        "A legal hold keeps part of the request waiting.",
        "Юридическое удержание приостановило часть запроса.",
    ),
    "verify.title": _w("Şəxsiyyətin təsdiqi", "Verification", "Проверка личности"),
    "verify.state": _w("Vəziyyət", "State", "Состояние"),
    "verify.verified": _w("Təsdiqlənib", "Verified", "Подтверждена"),
    "verify.not_verified": _w("Təsdiqlənməyib", "Not verified", "Не подтверждена"),
    "verify.method": _w("Üsul", "Method", "Способ"),
    "verify.at": _w("Təsdiq vaxtı", "Verified at", "Время проверки"),
    "verify.codes_sent": _w("Göndərilən kodlar", "Codes sent", "Отправлено кодов"),
    "verify.failed": _w("Səhv cəhdlər", "Wrong attempts", "Неверных попыток"),
    "verify.left": _w("Qalan cəhdlər", "Attempts left", "Осталось попыток"),
    "verify.expires": _w("Kodun bitmə vaxtı", "Code expires", "Код истекает"),
    "verify.send": _w("Kod göndər", "Send a code", "Отправить код"),
    "verify.code": _w(
        "Müraciət edənin oxuduğu kod",
        "Code read back by the requester",
        "Код, названный заявителем",
    ),
    "verify.check": _w("Kodu yoxla", "Check the code", "Проверить код"),
    "verify.other": _w("Başqa üsulla təsdiq", "Verified another way", "Подтверждено иначе"),
    "verify.reason": _w("Necə təsdiqləndi", "How it was verified", "Как подтверждено"),
    "verify.reason.help": _w(
        "Şəxsi məlumat yazmayın: audit jurnalına düşür.",
        "No personal data: it goes to the audit log.",
        "Без персональных данных: текст попадает в журнал аудита.",
    ),
    "verify.record": _w("Təsdiqi qeyd et", "Record the verification", "Записать проверку"),
    "method.code": _w("birdəfəlik kod", "one-time code", "одноразовый код"),
    "method.out_of_band_in_person": _w(
        "şəxsən, sənədlə", "in person, with the ID document", "лично, с документом"
    ),
    "method.out_of_band_notarised_letter": _w(
        "notarial qaydada təsdiqlənmiş məktub", "notarised letter", "нотариально заверенное письмо"
    ),
    "method.out_of_band_e_signature": _w(
        "elektron imza (ASAN İmza)", "e-signature (ASAN İmza)", "электронная подпись (ASAN İmza)"
    ),
    "checklist.title": _w("TX-11 yoxlama siyahısı", "TX-11 checklist", "Проверка по TX-11"),
    "checklist.none": _w(
        "Siyasət bu kanal üçün yazılı müraciət tələbi qoymur.",
        "The policy sets no written-request requirement for this channel.",
        "Политика не устанавливает требований к письменному запросу для этого канала.",
    ),
    "checklist.identity": _w(
        "Sənəd məlumatları ilə müqayisə",
        "Compared with the store",
        "Сверка с хранимыми данными",
    ),
    "checklist.reasons": _w("Səbəb kodları", "Reason codes", "Коды причин"),
    "preview.contains": _w("Cavabın tərkibi", "What the answer will contain", "Что войдёт в ответ"),
    "preview.destroy": _w("Nə məhv ediləcək", "What will be destroyed", "Что будет уничтожено"),
    "preview.never_values": _w(
        "saylar, dəyərlər yox", "counts, never values", "количества, без значений"
    ),
    "preview.hold": _w("Hüquqi saxlama", "Legal hold", "Удержание"),
    "preview.kept_by": _w("saxlanır: {id}", "kept by {id}", "удерживается: {id}"),
    "preview.goes": _w("məhv ediləcək", "destroyed", "будет уничтожено"),
    "preview.total": _w(
        "Cəmi: {records} qeyd", "Total: {records} records", "Всего записей: {records}"
    ),
    "preview.held": _w(
        "saxlanılan: {records}", "kept by holds: {records}", "удерживается: {records}"
    ),
    "preview.empty": _w(
        "Subyektin bu kateqoriyalarda qeydi yoxdur.",
        "The subject holds no record in these categories.",
        "У субъекта нет записей в этих категориях.",
    ),
    "answer.title": _w("Cavab", "Answer", "Ответ"),
    "answer.unverified": _w(
        "Müraciət edən təsdiqlənməyib: heç nə icra edilmir və göstərilmir.",
        "The requester is not verified: nothing is carried out or shown.",
        "Заявитель не подтверждён: ничего не выполняется и не показывается.",
    ),
    "answer.destruction": _w(
        "Məhvetmə geri qaytarılmır. Əvvəlcə nəyin məhv ediləcəyinə baxın.",
        "Destruction cannot be undone. Review what will be destroyed first.",
        "Уничтожение необратимо. Сначала проверьте, что будет уничтожено.",
    ),
    "answer.review": _w(
        "Nəzərdən keçir və təsdiq et", "Review and confirm", "Проверить и подтвердить"
    ),
    "answer.button": _w("İcra et və cavablandır", "Carry out and answer", "Выполнить и ответить"),
    "answer.refusal": _w("İmtina cavabını yaz", "Write the refusal", "Составить отказ"),
    "answer.resume": _w(
        "Azad olunanı icra et", "Carry out what was released", "Выполнить освобождённое"
    ),
    "answer.changes": _w("Yeni dəyərlər", "New values", "Новые значения"),
    "answer.changes.help": _w(
        "Hər sətirdə bir: kateqoriya.sahə = dəyər",
        "One a line: category.field = value",
        "По одному в строке: категория.поле = значение",
    ),
    "answer.done": _w("Cavab hazırdır", "The answer is ready", "Ответ готов"),
    "answer.only_copy": _w(
        "Bu səhifə cavabın yeganə nüsxəsidir (anbar onu saxlamır): lazım olan sənədləri indi "
        "yükləyin.",
        "This page holds the only copy of the answer (the store keeps none): download the "
        "documents you need now.",
        "Эта страница — единственная копия ответа (хранилище его не сохраняет): скачайте "
        "нужные документы сейчас.",
    ),
    "answer.contains": _w(
        "Cavabdakı qeydlər, kateqoriyalar üzrə",
        "Records in the answer, by category",
        "Записи в ответе по категориям",
    ),
    "documents.title": _w("Cavab sənədləri", "Answer documents", "Документы ответа"),
    "documents.letter": _w(
        "Məktub {lang} · {format}", "Letter {lang} · {format}", "Письмо {lang} · {format}"
    ),
    "documents.json": _w("JSON cavab", "JSON answer", "Ответ в JSON"),
    "documents.paste": _w("JSON cavab faylı", "The JSON answer file", "Файл ответа JSON"),
    "documents.paste.help": _w(
        "Cavab verilərkən yüklənmiş JSON faylın məzmununu bura yapışdırın: məktub ondan "
        "yazılır, heç nə yenidən icra edilmir.",
        "Paste the JSON file downloaded when the request was answered: the letter is written "
        "from it, nothing is carried out again.",
        "Вставьте JSON-файл, скачанный при ответе: письмо составляется по нему, ничего не "
        "выполняется повторно.",
    ),
    "documents.language": _w("Məktubun dili", "Letter language", "Язык письма"),
    "documents.format": _w("Format", "Format", "Формат"),
    "confirm.title": _w(
        "Məhvetməni təsdiq edin", "Confirm the destruction", "Подтвердите уничтожение"
    ),
    "confirm.text": _w(
        "{records} qeyd birdəfəlik məhv ediləcək; {held} qeydi hüquqi saxlama saxlayır.",
        "{records} records will be destroyed for good; legal holds keep {held}.",
        "Будет безвозвратно уничтожено записей: {records}; удерживается: {held}.",
    ),
    "confirm.check": _w(
        "Nəyin məhv ediləcəyini gördüm və bu geri qaytarılmır.",
        "I have seen what will be destroyed, and this cannot be undone.",
        "Я видел(а), что будет уничтожено, и это необратимо.",
    ),
    "confirm.button": _w("Məhv et və cavablandır", "Destroy and answer", "Уничтожить и ответить"),
    "close.title": _w("Müraciəti bağla", "Close the request", "Закрыть запрос"),
    "close.reject": _w("İmtina səbəbi", "Reason for refusal", "Причина отказа"),
    "close.reject.button": _w("Rədd et", "Reject", "Отклонить"),
    "close.withdraw": _w("Səhvən daxil edilib", "Entered by mistake", "Внесён по ошибке"),
    "close.withdraw.button": _w("Geri götür", "Withdraw", "Отозвать"),
    "reject.identity_not_confirmed": _w(
        "şəxsiyyət təsdiqlənmədi", "identity not confirmed", "личность не подтверждена"
    ),
    "reject.manifestly_unfounded": _w(
        "açıq-aydın əsassızdır", "manifestly unfounded", "явно необоснован"
    ),
    "reject.repeated_request": _w("təkrar müraciət", "repeated request", "повторный запрос"),
    "withdraw.typo": _w("yazı səhvi", "typo", "опечатка"),
    "withdraw.duplicate": _w("dublikat", "duplicate", "дубликат"),
    "withdraw.wrong_subject": _w("başqa subyekt", "wrong subject", "не тот субъект"),
    "history.title": _w("Tarixçə", "History", "История"),
    "history.empty": _w("Qeyd yoxdur.", "Nothing recorded.", "Записей нет."),
    # subjects
    "subjects.title": _w("Subyekti tap", "Find a subject", "Найти субъекта"),
    "subjects.sub": _w(
        "Telefon yalnız formada göndərilir, heç vaxt ünvanda deyil.",
        "A phone is only ever sent in the form, never in an address.",
        "Телефон передаётся только в форме, никогда в адресе.",
    ),
    "subjects.find": _w("Axtarış", "Look-up", "Поиск"),
    "subjects.query": _w(
        "Telefon, subyekt ID-si və ya psevdonim",
        "Phone, subject id or pseudonym",
        "Телефон, идентификатор или псевдоним",
    ),
    "subjects.query.help": _w(
        "Məsələn +994 50 123 45 67 və ya ps_…",
        "For example +994 50 123 45 67, or ps_…",
        "Например +994 50 123 45 67 или ps_…",
    ),
    "subject.title": _w("Subyekt", "Subject", "Субъект"),
    "subject.facts": _w("Eyniləşdirmə", "Identity", "Идентификация"),
    "subject.kind": _w("Növ", "Kind", "Вид"),
    "subject.id": _w("ID", "Id", "Идентификатор"),
    "subject.registered": _w("Qeydiyyat", "Registered", "Зарегистрирован"),
    "subject.categories": _w(
        "Kateqoriyalar və səviyyələr", "Categories and tiers", "Категории и уровни"
    ),
    "subject.first": _w("İlk toplanma", "First collected", "Первый сбор"),
    "subject.last": _w("Son toplanma", "Last collected", "Последний сбор"),
    "subject.no_records": _w("Qeyd yoxdur.", "No records.", "Записей нет."),
    "subject.reads": _w(
        "Kim nəyi oxuyub və niyə", "Who read what, and why", "Кто что читал и зачем"
    ),
    "subject.no_reads": _w("Audit qeydi yoxdur.", "No audit entries.", "Записей аудита нет."),
    "subject.all_reads": _w(
        "Bütün qeydlər audit jurnalında",
        "Every entry in the audit log",
        "Все записи в журнале аудита",
    ),
    "subject.consents": _w("Razılıqlar", "Consents", "Согласия"),
    "subject.no_consents": _w(
        "Açıq seçim yoxdur: siyasətin defoltları tətbiq olunur.",
        "No explicit choice: the policy's defaults apply.",
        "Явного выбора нет: действуют значения политики по умолчанию.",
    ),
    "subject.ledger": _w("Razılıq jurnalı", "Consent ledger", "Журнал согласий"),
    "choice.opt_in": _w("razıdır", "opted in", "согласие"),
    "choice.opt_out": _w("imtina", "opted out", "отказ"),
    "choice.acknowledge": _w("qəbul edib", "accepted", "принято"),
    "read.title": _w(
        "Dəyərləri göstər (məqsəd üçün)",
        "Show values (for a purpose)",
        "Показать значения (для цели)",
    ),
    "read.help": _w(
        "Məqsəd seçin: oxuma həmin məqsədlə audit jurnalına yazılır; siyasət icazə vermirsə, "
        "imtina da yazılır.",
        "Choose a purpose: the read is recorded in the audit log with it; if the policy does "
        "not allow it, the refusal is recorded too.",
        "Выберите цель: чтение записывается в журнал аудита с этой целью; если политика не "
        "разрешает, записывается и отказ.",
    ),
    "read.purpose": _w("Məqsəd", "Purpose", "Цель"),
    "read.request": _w(
        "Əsas olan açıq müraciət", "The open request it serves", "Открытый запрос-основание"
    ),
    "read.demand": _w(
        "Qanuni sorğunun ID-si", "Lawful demand id", "Идентификатор законного требования"
    ),
    "read.passive": _w(
        "Passiv səviyyəni də daxil et", "Include the passive tier", "Включить пассивный уровень"
    ),
    "read.button": _w("Dəyərləri oxu", "Read the values", "Прочитать значения"),
    "read.values": _w("Dəyərlər", "Values", "Значения"),
    "read.recorded": _w(
        "məqsəd: {purpose} · audit jurnalında qeyd olunub",
        "purpose: {purpose} · recorded in the audit log",
        "цель: {purpose} · записано в журнал аудита",
    ),
    "read.none": _w(
        "Bu məqsəd üçün qeyd yoxdur.",
        "No records for this purpose.",
        "Нет записей для этой цели.",
    ),
    "read.no_purpose": _w(
        "Rolunuzun heç bir məqsədi yoxdur.",
        "Your role has no purpose to read for.",
        "У вашей роли нет целей для чтения.",
    ),
    # holds
    "holds.sub": _w(
        "Hüquqi saxlama məlumatın məhvini dayandırır; götürüldükdə gözləyən müraciətlər icra "
        "olunur.",
        "A legal hold stops destruction; lifting it carries out the requests it kept waiting.",
        "Удержание останавливает уничтожение; снятие выполняет ожидавшие запросы.",
    ),
    "holds.live": _w("Qüvvədə olan saxlamalar", "Live holds", "Действующие удержания"),
    "holds.hold": _w("Saxlama", "Hold", "Удержание"),
    "holds.scope": _w("Əhatə", "Scope", "Охват"),
    "holds.reason": _w("Əsas", "Reason", "Основание"),
    "holds.reason.help": _w(
        "Qanuni sorğu və ya mübahisənin istinadı; ad və telefon yazmayın.",
        "The lawful request or dispute, by reference; no names or phones.",
        "Ссылка на законное требование или спор; без имён и телефонов.",
    ),
    "holds.placed": _w("Qoyulub", "Placed", "Установлено"),
    "holds.releases": _w("Götürülsə, azad olunur", "Lifting releases", "Снятие освободит"),
    "holds.releases.records": _w(
        "{records} qeyd ({categories})",
        "{records} records ({categories})",
        "записей: {records} ({categories})",
    ),
    "holds.releases.none": _w(
        "Gözləyən müraciət yoxdur; saxlama qaydalarını buraxır.",
        "No request waits; retention rules resume.",
        "Ожидающих запросов нет; возобновятся правила хранения.",
    ),
    "holds.still_held": _w(
        "həm də saxlanır: {ids}", "also held by {ids}", "также удерживается: {ids}"
    ),
    "holds.lift": _w("Götür", "Lift", "Снять"),
    "holds.none": _w("Qüvvədə olan saxlama yoxdur.", "No live hold.", "Действующих удержаний нет."),
    "holds.place": _w("Saxlama qoy", "Place a hold", "Установить удержание"),
    "holds.place.button": _w("Saxlama qoy", "Place the hold", "Установить"),
    "holds.subject": _w("Subyekt (ID və ya ps_…)", "Subject (id or ps_…)", "Субъект (id или ps_…)"),
    "holds.subject.help": _w(
        "Boş: siyasətin bütün subyektləri.",
        "Empty: every subject of the policy.",
        "Пусто: все субъекты политики.",
    ),
    "holds.all_categories": _w("bütün kateqoriyalar", "all categories", "все категории"),
    "holds.everyone": _w("bütün subyektlər", "every subject", "все субъекты"),
    "holds.this_subject": _w("bu subyekt", "this subject", "этот субъект"),
    "hold.placed": _w("Saxlama {id} qoyuldu.", "Hold {id} placed.", "Удержание {id} установлено."),
    "hold.lifted": _w(
        "Saxlama {id} götürüldü; icra olunan müraciətlər: {count}.",
        "Hold {id} lifted; requests carried out: {count}.",
        "Удержание {id} снято; выполнено запросов: {count}.",
    ),
    # certificates
    "certs.sub": _w(
        "Məhvetmə sübutları: ID-lər, qaydalar, açar ID-ləri və saylar, dəyərlər yox.",
        "Evidence of destruction: ids, rules, key ids and counts, never values.",
        "Доказательства уничтожения: идентификаторы, правила, ключи и количества, без значений.",
    ),
    "certs.subject": _w("Subyekt (ID və ya ps_…)", "Subject (id or ps_…)", "Субъект (id или ps_…)"),
    "certs.of": _w("Aktlar:", "Certificates of", "Акты:"),
    "certs.status": _w("Vəziyyət", "Status", "Статус"),
    "certs.at": _w("Vaxt", "At", "Время"),
    "certs.basis": _w("Əsas", "Basis", "Основание"),
    "certs.rule": _w("qayda", "rule", "правило"),
    "certs.request": _w("müraciət", "request", "запрос"),
    "certs.clauses": _w("Bəndlər", "Clauses", "Пункты"),
    "certs.keys": _w("Məhv edilmiş açarlar", "Keys destroyed", "Уничтоженные ключи"),
    "certs.none": _w("Akt yoxdur.", "No certificate.", "Актов нет."),
    "certs.recent": _w("Son məhvetmələr", "Latest destructions", "Последние уничтожения"),
    "certs.no_recent": _w("Məhvetmə olmayıb.", "No destruction yet.", "Уничтожений не было."),
    "certs.batch": _w("{n} subyekt", "{n} subjects", "субъектов: {n}"),
    # audit
    "audit.sub": _w(
        "Zəncirlənmiş, imzalanmış jurnal: psevdonimlər və kodlar, dəyərlər yox.",
        "The chained, signed log: pseudonyms and codes, never values.",
        "Цепочка подписанных записей: псевдонимы и коды, без значений.",
    ),
    "audit.verify": _w("Yoxlama", "Verification", "Проверка"),
    "audit.verify.ok": _w("Jurnal toxunulmazdır", "The log is intact", "Журнал не изменён"),
    "audit.verify.bad": _w(
        "Müdaxilə əlamətləri: {n}", "Signs of tampering: {n}", "Признаки вмешательства: {n}"
    ),
    "audit.checked": _w("Yoxlanan qeydlər", "Entries checked", "Проверено записей"),
    "audit.checkpoints": _w("Nəzarət nöqtələri", "Checkpoints", "Контрольные точки"),
    "audit.head": _w("Son qeyd", "Head entry", "Последняя запись"),
    "audit.signed": _w("İmzalanıb (qədər)", "Signed up to", "Подписано до"),
    "audit.anchored": _w("Lövbər faylında (qədər)", "Anchored up to", "Закреплено до"),
    "audit.notes": _w("Qeydlər", "Notes", "Примечания"),
    "audit.checkpoint": _w(
        "Son imzalı nəzarət nöqtəsi", "Latest signed checkpoint", "Последняя подписанная точка"
    ),
    "audit.no_checkpoint": _w(
        "Jurnal hələ imzalanmayıb.", "The log was never signed.", "Журнал ещё не подписан."
    ),
    "audit.seq": _w("Qeyd №", "Entry no.", "Запись №"),
    "audit.hash": _w("Qeydin heşi", "Entry hash", "Хеш записи"),
    "audit.key": _w("Açarın barmaq izi", "Key fingerprint", "Отпечаток ключа"),
    "audit.signature": _w("İmza", "Signature", "Подпись"),
    "audit.actor": _w("İcraçı", "Actor", "Исполнитель"),
    "audit.action": _w("Əməliyyat", "Action", "Действие"),
    "audit.subject": _w("Subyekt (psevdonim)", "Subject (pseudonym)", "Субъект (псевдоним)"),
    "audit.purpose": _w("Məqsəd", "Purpose", "Цель"),
    "audit.since": _w("Başlanğıc", "From", "С"),
    "audit.until": _w("Son", "Until", "До"),
    "audit.at": _w("Vaxt", "Time", "Время"),
    "audit.reason": _w("Səbəb", "Reason", "Причина"),
    "audit.details": _w("Təfsilat", "Details", "Подробности"),
    "audit.entries": _w("Qeydlər", "Entries", "Записи"),
    "audit.newest": _w("ən yenisi əvvəldə", "newest first", "сначала новые"),
    "audit.older": _w("Köhnə qeydlər", "Older entries", "Более ранние записи"),
    "audit.none": _w("Uyğun qeyd yoxdur.", "No entry matches.", "Подходящих записей нет."),
    # data map
    "datamap.sub": _w(
        "Kateqoriyalar → məqsədlər → alıcılar, hər kateqoriyanın saxlanma müddəti ilə.",
        "Categories → purposes → recipients, with each category's retention.",
        "Категории → цели → получатели, со сроком хранения каждой категории.",
    ),
    "datamap.download": _w("SVG yüklə", "Download SVG", "Скачать SVG"),
    "datamap.show": _w("Göstər", "Show", "Показать"),
    "datamap.legend": _w(
        "Göy xətlər: kateqoriyadan məqsədə; yaşıl xətlər: məqsəddən alıcıya. Qutunun üzərinə "
        "gəlin: tam mətn və bəndlər.",
        "Blue lines: category to purpose; green lines: purpose to recipient. Hover a box for "
        "its full text and clauses.",
        "Синие линии: категория → цель; зелёные: цель → получатель. Наведите на блок, чтобы "
        "увидеть полный текст и пункты.",
    ),
    # versions
    "versions.sub": _w(
        "Qeydə alınmış versiyalar, fərqləri və hələ qəbul etməyənlər (BK-7.3).",
        "Registered versions, their differences, and who has yet to accept (BK-7.3).",
        "Зарегистрированные версии, их различия и кто ещё не принял (BK-7.3).",
    ),
    "versions.in_force": _w("Qüvvədə olan versiya", "Version in force", "Действующая версия"),
    "versions.accepted": _w("Qəbul edənlər", "Accepted", "Приняли"),
    "versions.pending": _w("Hələ qəbul etməyənlər", "Yet to accept", "Ещё не приняли"),
    "versions.rule": _w("Dəyişikliklər qüvvəyə minir", "Changes take effect", "Изменения вступают"),
    "versions.rule.when_posted": _w("dərc edildikdə", "when posted", "при публикации"),
    "versions.rule.on_acceptance": _w("qəbul edildikdə", "on acceptance", "при принятии"),
    "versions.list": _w("Versiyalar", "Versions", "Версии"),
    "versions.version": _w("Versiya", "Version", "Версия"),
    "versions.effective": _w("Tarix", "Effective", "Дата"),
    "versions.takes_effect": _w("Qüvvəyə minir", "Takes effect", "Вступает в силу"),
    "versions.registered": _w("Qeydə alınıb", "Registered", "Зарегистрирована"),
    "versions.hash": _w("Məzmun heşi", "Content hash", "Хеш содержимого"),
    "versions.current": _w("qüvvədədir", "in force", "действует"),
    "versions.none": _w("Qeydə alınmış versiya yoxdur.", "No version registered.", "Версий нет."),
    "versions.old": _w("Köhnə", "Old", "Старая"),
    "versions.new": _w("Yeni", "New", "Новая"),
    "versions.compare": _w("Müqayisə et", "Compare", "Сравнить"),
    "versions.diff": _w(
        "{old} → {new} fərqləri", "Changes {old} → {new}", "Изменения {old} → {new}"
    ),
    "versions.same": _w("Fərq yoxdur.", "No difference.", "Различий нет."),
    "versions.pending_list": _w(
        "Hələ qəbul etməyən subyektlər", "Subjects yet to accept", "Субъекты, ещё не принявшие"
    ),
    "versions.status": _w("Vəziyyət", "Status", "Статус"),
    "versions.accepted_version": _w("Qəbul etdiyi versiya", "Version accepted", "Принятая версия"),
    # form messages (a field that needs attention)
    "form.kind.required": _w(
        "Müraciətin növünü seçin.", "Choose the kind of request.", "Выберите вид запроса."
    ),
    "form.channel.required": _w("Kanalı seçin.", "Choose the channel.", "Выберите канал."),
    "form.requester.required": _w(
        "Telefonu və ya subyektin ID-sini yazın.",
        "Give the phone or the subject's id.",
        "Укажите телефон или идентификатор субъекта.",
    ),
    "form.code.required": _w("Kodu yazın.", "Enter the code.", "Введите код."),
    "form.method.required": _w("Üsulu seçin.", "Choose the method.", "Выберите способ."),
    "form.reason.required": _w("Səbəbi yazın.", "Give the reason.", "Укажите причину."),
    "form.query.required": _w(
        "Telefon, ID və ya psevdonim yazın.",
        "Enter a phone, an id or a pseudonym.",
        "Введите телефон, идентификатор или псевдоним.",
    ),
    "form.purpose.required": _w(
        "Dəyərləri görmək üçün məqsəd seçin.",
        "Choose a purpose to see values.",
        "Выберите цель, чтобы увидеть значения.",
    ),
    "form.subject.policy": _w(
        "Subyekt seçilmiş siyasətə aid deyil.",
        "The subject is not of the policy chosen.",
        "Субъект не относится к выбранной политике.",
    ),
    "form.pseudonym.invalid": _w(
        "Psevdonim ps_ və 24 onaltılıq rəqəmdir.",
        "A pseudonym is ps_ and 24 hex digits.",
        "Псевдоним — это ps_ и 24 шестнадцатеричные цифры.",
    ),
    "form.time.invalid": _w(
        "Vaxtı GG.AA.İİİİ SS:DD kimi yazın.",
        "Enter the time as a date and time.",
        "Укажите дату и время.",
    ),
    "form.changes.line": _w(
        "Hər sətir kateqoriya.sahə = dəyər olmalıdır.",
        "Each line must be category.field = value.",
        "Каждая строка должна иметь вид категория.поле = значение.",
    ),
    "form.answer.json": _w(
        "Bu JSON cavab faylı deyil.",
        "This is not a JSON answer file.",
        "Это не файл ответа JSON.",
    ),
}

#: The self-service portal's keys (helper F).
_PORTAL: dict[str, W] = {
    "portal.title": _w("Məxfilik portalı", "Privacy portal", "Портал конфиденциальности"),
    "portal.brand": _w("Məxfilik mərkəzi", "Privacy centre", "Центр конфиденциальности"),
    "portal.footer": _w(
        "Şəxsi məlumatlarınız sizindir",
        "Your personal data is yours",
        "Ваши данные принадлежат вам",
    ),
    "portal.session_until": _w("sessiya {time}-dək", "signed in until {time}", "сеанс до {time}"),
    "portal.signout": _w("Çıxış", "Sign out", "Выйти"),
    "portal.back": _w("Bütün bölmələr", "All sections", "Все разделы"),
    "portal.signout.done": _w(
        "Çıxış etdiniz. Sessiya bağlandı.",
        "You are signed out. The session is closed.",
        "Вы вышли. Сеанс закрыт.",
    ),
    # navigation
    "portal.nav.home": _w("Əsas", "Home", "Главная"),
    "portal.nav.data": _w("Məlumatlarım", "My data", "Мои данные"),
    "portal.nav.export": _w("Yükləmə", "Download", "Выгрузка"),
    "portal.nav.rights": _w("Hüquqlarım", "My rights", "Мои права"),
    "portal.nav.requests": _w("Sorğularım", "My requests", "Мои запросы"),
    "portal.nav.activity": _w("Kim baxıb", "Who saw it", "Кто смотрел"),
    "portal.nav.sources": _w("Mənbələr", "Sources", "Источники"),
    "portal.nav.choices": _w("Seçimlərim", "My choices", "Мои настройки"),
    "portal.nav.policy": _w("Siyasət", "Policy", "Политика"),
    # sign-in
    "portal.signin.title": _w(
        "Məlumatlarınıza daxil olun", "Sign in to your data", "Вход к вашим данным"
    ),
    "portal.signin.lead": _w(
        "Hansı məlumatlarınızın saxlandığını görün, onları yükləyin və seçimlərinizi idarə edin.",
        "See what is kept about you, download it and manage your choices.",
        "Узнайте, что о вас хранится, скачайте это и управляйте своими настройками.",
    ),
    "portal.signin.service": _w("Xidmət", "Service", "Сервис"),
    "portal.signin.as_rider": _w("sərnişin", "rider", "пассажир"),
    "portal.signin.as_driver": _w("sürücü", "driver", "водитель"),
    "portal.signin.phone": _w(
        "Qeydiyyatdan keçdiyiniz telefon",
        "The phone you registered with",
        "Телефон, указанный при регистрации",
    ),
    "portal.signin.phone_help": _w(
        "Məsələn +994 50 123 45 67. Bu nömrəyə birdəfəlik kod göndəririk.",
        "For example +994 50 123 45 67. We send a one-time code to it.",
        "Например +994 50 123 45 67. Мы отправим на него одноразовый код.",
    ),
    "portal.signin.send": _w("Kod göndərin", "Send me a code", "Отправить код"),
    "portal.signin.privacy": _w(
        "Nömrə yalnız kodu göndərmək üçün istifadə olunur; ünvan sətrinə və ya jurnallara düşmür. "
        "Nömrə qeydiyyatda deyilsə, kod gəlməyəcək.",
        "The number is used only to send the code; it never appears in the address bar or in "
        "logs. If the number is not registered, no code arrives.",
        "Номер используется только для отправки кода; он не попадает в адресную строку и "
        "журналы. Если номер не зарегистрирован, код не придёт.",
    ),
    "portal.signin.too_many": _w(
        "Son bir saatda bu nömrə üçün çox kod istənilib. Bir az sonra yenidən cəhd edin.",
        "Too many codes were asked for this number in the last hour. Try again later.",
        "За последний час для этого номера запрошено слишком много кодов. Попробуйте позже.",
    ),
    "portal.signin.not_sent": _w(
        "Kodu indi göndərə bilmədik. Bir az sonra yenidən cəhd edin.",
        "We could not send the code just now. Try again shortly.",
        "Не удалось отправить код. Попробуйте чуть позже.",
    ),
    "portal.signin.again": _w(
        "Yenidən başlayın: telefonunuzu daxil edin.",
        "Start again: enter your phone.",
        "Начните заново: введите телефон.",
    ),
    "portal.signin.done": _w("Xoş gəlmisiniz!", "Welcome!", "Добро пожаловать!"),
    # code
    "portal.code.title": _w("Kodu daxil edin", "Enter the code", "Введите код"),
    "portal.code.lead": _w(
        "{service} üçün qeydiyyatdan keçdiyiniz telefona SMS ilə 6 rəqəmli kod göndərdik.",
        "We sent a 6-digit code by SMS to the phone you registered with {service}.",
        "Мы отправили 6-значный код по SMS на телефон, указанный при регистрации в {service}.",
    ),
    "portal.code.label": _w("6 rəqəmli kod", "6-digit code", "6-значный код"),
    "portal.code.help": _w(
        "Kod {time}-dək etibarlıdır.", "The code is valid until {time}.", "Код действует до {time}."
    ),
    "portal.code.button": _w("Daxil ol", "Sign in", "Войти"),
    "portal.code.again": _w(
        "Kod gəlmədi? Yenidən başlayın", "No code? Start again", "Код не пришёл? Начать заново"
    ),
    "portal.code.shape": _w(
        "Kod 6 rəqəmdən ibarətdir.", "The code is 6 digits.", "Код состоит из 6 цифр."
    ),
    "portal.code.wrong": _w(
        "Kod düzgün deyil. Qalan cəhdlər: {left}.",
        "That code is not right. Attempts left: {left}.",
        "Неверный код. Осталось попыток: {left}.",
    ),
    "portal.code.locked": _w(
        "Çox sayda yanlış kod. Yeni kod istəyin.",
        "Too many wrong codes. Ask for a new code.",
        "Слишком много неверных кодов. Запросите новый код.",
    ),
    "portal.code.expired": _w(
        "Kodun vaxtı bitib və ya artıq istifadə olunub. Yeni kod istəyin.",
        "The code has expired or was already used. Ask for a new one.",
        "Срок действия кода истёк или он уже использован. Запросите новый.",
    ),
    # home
    "portal.home.title": _w("Məlumatlarınız", "Your data", "Ваши данные"),
    "portal.home.lead": _w(
        "{service}: sizin haqqınızda nə saxlanıldığını görün və onu idarə edin.",
        "{service}: see what is kept about you and stay in control of it.",
        "{service}: узнайте, что о вас хранится, и управляйте этим.",
    ),
    "portal.home.open": _w("Açıq sorğular", "Open requests", "Открытые запросы"),
    "portal.home.data": _w(
        "Son 12 ayın məlumatlarına baxın",
        "See your data of the last 12 months",
        "Ваши данные за последние 12 месяцев",
    ),
    "portal.home.data_held": _w(
        "Nə saxlanıldığını görün", "See what is held about you", "Что о вас хранится"
    ),
    "portal.home.export": _w(
        "Bütün məlumatlarınızı JSON və PDF məktub kimi alın",
        "Get all your data as JSON and a PDF letter",
        "Получите все данные в JSON и письмо в PDF",
    ),
    "portal.home.rights": _w(
        "Düzəliş, bloklama və ya məhv tələb edin",
        "Ask for rectification, blocking or destruction",
        "Потребуйте исправления, блокирования или уничтожения",
    ),
    "portal.home.activity": _w(
        "Kim, nə vaxt və niyə baxıb",
        "Who saw your data, when and why",
        "Кто, когда и зачем смотрел ваши данные",
    ),
    "portal.home.sources": _w(
        "Məlumatlar haradan gəlir və kimə verilir",
        "Where your data comes from and who gets it",
        "Откуда ваши данные и кому они передаются",
    ),
    "portal.home.choices": _w(
        "Bildirişlər, yer və kukilər",
        "Notifications, location and cookies",
        "Уведомления, геолокация и cookie",
    ),
    "portal.home.policy": _w(
        "Sizə tətbiq olunan versiya: {version}",
        "The version that applies to you: {version}",
        "Действующая для вас версия: {version}",
    ),
    "portal.home.requests": _w(
        "Sorğularınızın vəziyyəti", "Where your requests stand", "Статус ваших запросов"
    ),
    "portal.home.policy_new": _w(
        "Məxfilik siyasətinin yeni versiyası: {version}",
        "A new version of the privacy policy: {version}",
        "Новая версия политики конфиденциальности: {version}",
    ),
    "portal.home.policy_read": _w("Oxuyun və qəbul edin", "Read and accept", "Прочитать и принять"),
    "portal.status.blocked": _w(
        "Məlumatlarınızın emalı bloklanıb.",
        "Processing of your data is blocked.",
        "Обработка ваших данных заблокирована.",
    ),
    "portal.status.prohibited": _w(
        "Məlumatlarınızın toplanması və emalı qadağan edilib.",
        "Collecting and processing your data is prohibited.",
        "Сбор и обработка ваших данных запрещены.",
    ),
    # my data
    "portal.data.title": _w("Məlumatlarım", "My data", "Мои данные"),
    "portal.data.lead": _w(
        "Aktiv saxlancdan, {since} tarixindən bəri: «{purpose}» məqsədi üçün sizə açıq olanlar.",
        "From the active store, since {since}: what is open to you for “{purpose}”.",
        "Из активного хранилища, начиная с {since}: то, что доступно вам для цели «{purpose}».",
    ),
    "portal.data.by_request": _w(
        "Məlumatlarınız sorğu ilə təqdim olunur",
        "Your data is given to you on request",
        "Ваши данные предоставляются по запросу",
    ),
    "portal.data.by_request_text": _w(
        "Siyasət sürücüyə öz məlumatlarını birbaşa oxumaq məqsədi vermir: hüquqlarınız sorğu ilə "
        "həyata keçirilir. Aşağıda nə saxlanıldığını (yalnız saylar) görürsünüz; məzmunu "
        "yükləmə sorğusu ilə alın.",
        "The policy gives your role no purpose to read your data directly: your rights are "
        "exercised by request. Below you see what is held (counts only); ask for the export to "
        "get its contents.",
        "Политика не даёт вашей роли цели для прямого чтения данных: права осуществляются по "
        "запросу. Ниже показано, что хранится (только количество); содержимое можно получить, "
        "запросив выгрузку.",
    ),
    "portal.data.ask_export": _w("Yükləmə istəyin", "Ask for my export", "Запросить выгрузку"),
    "portal.data.denied": _w(
        "Məlumatlar indi göstərilə bilməz",
        "Your data cannot be shown now",
        "Данные сейчас нельзя показать",
    ),
    "portal.data.denied_text": _w(
        "Siyasət bu oxumanı indi rədd edir (məsələn, emal bloklanıb). Yükləmə sorğusu hələ də "
        "mümkündür.",
        "The policy refuses this read now (for example, processing is blocked). You can still "
        "ask for the export.",
        "Политика сейчас отклоняет это чтение (например, обработка заблокирована). Выгрузку "
        "по-прежнему можно запросить.",
    ),
    "portal.data.empty": _w(
        "Son 12 ayda heç nə yoxdur.",
        "Nothing in the last 12 months.",
        "За последние 12 месяцев ничего нет.",
    ),
    "portal.data.shown_of": _w(
        "{total} qeyddən son {shown}", "latest {shown} of {total}", "последние {shown} из {total}"
    ),
    "portal.data.collected": _w("Toplanıb", "Collected", "Собрано"),
    "portal.data.masked": _w(
        "Kart nömrələri və IBAN-lar burada gizlədilir; tam dəyərlər yükləmədədir.",
        "Card numbers and IBANs are masked here; the export holds the full values.",
        "Номера карт и IBAN здесь скрыты; полные значения есть в выгрузке.",
    ),
    "portal.data.binary": _w("fayl, {size} bayt", "file, {size} bytes", "файл, {size} байт"),
    "portal.data.held": _w("Nə saxlanılır", "What is held", "Что хранится"),
    "portal.data.held_help": _w(
        "Kateqoriyalar və qeydlərin sayı, heç nə deşifrə edilmədən sayılıb.",
        "Categories and record counts, counted without decrypting anything.",
        "Категории и число записей, подсчитанные без расшифровки.",
    ),
    "portal.data.category": _w("Kateqoriya", "Category", "Категория"),
    "portal.data.tier": _w("Saxlanc", "Store", "Хранилище"),
    "portal.data.records": _w("Qeydlər", "Records", "Записи"),
    "portal.data.period": _w("Dövr", "Period", "Период"),
    "portal.data.nothing_held": _w(
        "Sizin haqqınızda heç nə saxlanılmır.",
        "Nothing is held about you.",
        "О вас ничего не хранится.",
    ),
    "portal.tier.active": _w("aktiv", "active", "активное"),
    "portal.tier.passive": _w("passiv (arxiv)", "passive (archive)", "пассивное (архив)"),
    # sources
    "portal.source.subject": _w("Siz verdiniz", "You gave it", "Вы указали"),
    "portal.source.device": _w("Cihazınızdan", "From your device", "С вашего устройства"),
    "portal.source.operator": _w("Operator yaradıb", "Made by the operator", "Создано оператором"),
    "portal.source.counterpart": _w(
        "Xidmətin digər iştirakçısından", "From another participant", "От другого участника"
    ),
    "portal.source.acquirer": _w("Bankdan", "From the bank", "От банка"),
    "portal.source_text.subject": _w(
        "Qeydiyyatda və ya tətbiqdə özünüz daxil etdiniz.",
        "You entered it yourself, at registration or in the app.",
        "Вы ввели это сами при регистрации или в приложении.",
    ),
    "portal.source_text.device": _w(
        "Tətbiqdən istifadə edərkən telefonunuz göndərir.",
        "Your phone sends it while you use the app.",
        "Ваш телефон передаёт это, пока вы пользуетесь приложением.",
    ),
    "portal.source_text.operator": _w(
        "Operatorun sistemi xidmət göstərərkən yaradır (sifarişlər, ödənişlər, qeydlər).",
        "The operator's system makes it while serving you (orders, payments, records).",
        "Система оператора создаёт это при оказании услуг (заказы, платежи, записи).",
    ),
    "portal.source_text.counterpart": _w(
        "Xidmətin digər iştirakçısı (məsələn, sifarişçi) verir.",
        "Another participant of the service (such as a customer) gives it.",
        "Это передаёт другой участник сервиса (например, заказчик).",
    ),
    "portal.source_text.acquirer": _w(
        "Ödənişi emal edən bank-ekvayer göndərir.",
        "The acquiring bank that processes the payment sends it.",
        "Это передаёт банк-эквайер, обрабатывающий платёж.",
    ),
    "portal.sources.title": _w(
        "Məlumatlar haradan gəlir", "Where my data comes from", "Откуда мои данные"
    ),
    "portal.sources.lead": _w(
        "Hər məlumat növünün mənbəyi, nə üçün istifadə olunduğu və kimə verildiyi.",
        "The source of each kind of data, what it is used for and who receives it.",
        "Источник каждого вида данных, для чего он используется и кому передаётся.",
    ),
    "portal.sources.used_for": _w("İstifadə", "Used for", "Используется для"),
    "portal.sources.given_to": _w("Alanlar", "Given to", "Получатели"),
    "portal.sources.nobody": _w("heç kim", "nobody", "никто"),
    # activity
    "portal.activity.title": _w(
        "Məlumatlarıma kim baxıb", "Who saw my data", "Кто смотрел мои данные"
    ),
    "portal.activity.lead": _w(
        "Məlumatlarınızla edilən hər əməliyyat: kim (rol və identifikator), nə, nə vaxt və niyə.",
        "Every operation on your data: who (role and id), what, when and why.",
        "Каждая операция с вашими данными: кто (роль и идентификатор), что, когда и зачем.",
    ),
    "portal.activity.latest": _w(
        "Son {count} qeyd göstərilir; tam jurnal yükləmədədir.",
        "The latest {count} entries; the export holds the full log.",
        "Показаны последние {count} записей; полный журнал есть в выгрузке.",
    ),
    "portal.activity.filter": _w("Göstər", "Show", "Показать"),
    "portal.activity.by_others": _w(
        "Məlumatlarla əməliyyatlar", "Operations on my data", "Операции с моими данными"
    ),
    "portal.activity.everything": _w(
        "Hamısı, öz addımlarım da", "Everything, my own steps too", "Всё, включая мои действия"
    ),
    "portal.activity.why": _w("Niyə", "Why", "Зачем"),
    "portal.activity.what": _w("Nə", "What", "Что"),
    "portal.activity.refused": _w("rədd edildi", "refused", "отказано"),
    "portal.activity.empty": _w("Hələ heç nə yoxdur.", "Nothing yet.", "Пока ничего нет."),
    "portal.who.you": _w("Siz", "You", "Вы"),
    "portal.who.portal": _w(
        "Portal (sorğunuza avtomatik cavab)",
        "The portal (answering your request)",
        "Портал (ответ на ваш запрос)",
    ),
    "portal.action.create": _w("yazıldı", "recorded", "записано"),
    "portal.action.read": _w("oxundu", "read", "прочитано"),
    "portal.action.update": _w("dəqiqləşdirildi", "corrected", "уточнено"),
    "portal.action.block": _w("bloklandı", "blocked", "заблокировано"),
    "portal.action.unblock": _w("blokdan çıxarıldı", "unblocked", "разблокировано"),
    "portal.action.delete": _w("silindi", "deleted", "удалено"),
    "portal.action.depersonalize": _w("şəxsiyyətsizləşdirildi", "depersonalized", "обезличено"),
    "portal.action.destroy": _w("məhv edildi", "destroyed", "уничтожено"),
    "portal.action.disclose": _w("ötürüldü", "disclosed", "передано"),
    "portal.action.export": _w("yükləmə hazırlandı", "exported", "выгружено"),
    "portal.action.deny": _w("giriş rədd edildi", "access refused", "в доступе отказано"),
    "portal.action.refuse": _w("daxiletmə rədd edildi", "input refused", "ввод отклонён"),
    "portal.action.tier": _w("arxivə köçürüldü", "moved to the archive", "перенесено в архив"),
    "portal.action.quarantine": _w("karantinə alındı", "quarantined", "помещено в карантин"),
    "portal.action.restore": _w("bərpa edildi", "restored", "восстановлено"),
    "portal.action.request": _w("sorğu", "request", "запрос"),
    "portal.action.consent": _w("razılıq", "consent", "согласие"),
    "portal.action.withdraw": _w(
        "razılıq geri götürüldü", "consent withdrawn", "согласие отозвано"
    ),
    "portal.action.register": _w("qeydiyyat", "registration", "регистрация"),
    "portal.action.order_open": _w("sifariş başladı", "order started", "заказ начат"),
    "portal.action.order_close": _w("sifariş bitdi", "order ended", "заказ завершён"),
    "portal.action.key_rotate": _w("açar yeniləndi", "key rotated", "ключ обновлён"),
    "portal.action.key_retire": _w("açar ləğv edildi", "key retired", "ключ выведен"),
    "portal.action.api_key_create": _w("API açarı yaradıldı", "API key made", "создан API-ключ"),
    "portal.action.api_key_revoke": _w(
        "API açarı ləğv edildi", "API key revoked", "API-ключ отозван"
    ),
    "portal.action.session": _w("portala giriş", "portal sign-in", "вход в портал"),
    # export
    "portal.export.title": _w("Məlumatlarımı yükləyin", "Download my data", "Скачать мои данные"),
    "portal.export.lead": _w(
        "Sizin haqqınızda saxlanılan hər şey: hər qeyd, mənbəyi, məqsədləri, alanları və kimin "
        "baxdığı.",
        "Everything kept about you: every record, its source, its purposes, who receives it "
        "and who read it.",
        "Всё, что о вас хранится: каждая запись, её источник, цели, получатели и кто её читал.",
    ),
    "portal.export.how": _w("Necə işləyir", "How it works", "Как это работает"),
    "portal.export.step1": _w(
        "Sorğunu göndərirsiniz; bu, yazılı sorğudur və jurnalda qeydə alınır.",
        "You send the request: it is a written request, and it is recorded in the log.",
        "Вы отправляете запрос: это письменный запрос, он записывается в журнал.",
    ),
    "portal.export.step2": _w(
        "Telefonunuza gələn kodu daxil edərək onu təsdiqləyir və imzalayırsınız.",
        "You confirm and sign it with the code we send to your phone.",
        "Вы подтверждаете и подписываете его кодом, который мы отправим на телефон.",
    ),
    "portal.export.step3": _w(
        "Dərhal iki fayl alırsınız: JSON faylı və PDF məktub.",
        "You get two files straight away: the JSON file and the PDF letter.",
        "Вы сразу получаете два файла: JSON-файл и письмо в PDF.",
    ),
    "portal.export.nocopy": _w(
        "Saxlanc bu faylların surətini saxlamır: göstərildikdə hər ikisini yükləyin.",
        "The store keeps no copy of these files: download both when they are shown.",
        "Хранилище не сохраняет копию этих файлов: скачайте оба, когда они появятся.",
    ),
    "portal.export.ask": _w("Yükləmə sorğusu", "Ask for the export", "Запрос выгрузки"),
    "portal.export.button": _w(
        "Sorğu göndərin və kod alın",
        "Send the request and get a code",
        "Отправить запрос и получить код",
    ),
    "portal.export.not_offered": _w(
        "Bu xidmətin siyasəti məlumatlara giriş hüququ vermir.",
        "This service's policy offers no right of access.",
        "Политика этого сервиса не предусматривает права доступа.",
    ),
    # written details (TX-11)
    "portal.written.legend": _w(
        "Şəxsiyyətinizi təsdiq edən məlumatlar",
        "Your identity details",
        "Данные, удостоверяющие личность",
    ),
    "portal.written.help": _w(
        "Yazılı sorğuda olmalıdır (TX-11). Yalnız yoxlanılır, saxlanılmır.",
        "A written request must carry them (TX-11). They are checked, not kept.",
        "Письменный запрос должен их содержать (TX-11). Они проверяются и не хранятся.",
    ),
    "portal.written.series": _w("Sənədin seriyası", "Document series", "Серия документа"),
    "portal.written.number": _w("Sənədin nömrəsi", "Document number", "Номер документа"),
    "portal.written.issue_date": _w("Verilmə tarixi", "Date of issue", "Дата выдачи"),
    "portal.written.authority": _w("Verən orqan", "Issued by", "Кем выдан"),
    "portal.written.fin": _w("FİN kod", "FIN (PIN) code", "FIN (ПИН) код"),
    "portal.written.fin_help": _w(
        "Yeni növ vəsiqə üçün; yoxdursa, ünvanınızı yazın.",
        "For a new-type ID card; if you have none, give your address.",
        "Для удостоверения нового образца; если его нет, укажите адрес.",
    ),
    "portal.written.address": _w("Yaşayış ünvanı", "Home address", "Адрес проживания"),
    "portal.sign.short": _w("İmza", "Signature", "Подпись"),
    "portal.sign.label": _w(
        "Bu sorğu mənimdir. Telefonuma göndərilən kodla onu imzalayıram.",
        "This request is mine. I sign it with the code sent to my phone.",
        "Этот запрос мой. Я подписываю его кодом, отправленным на мой телефон.",
    ),
    # form messages
    "portal.form.service": _w("Xidməti seçin.", "Choose the service.", "Выберите сервис."),
    "portal.form.phone_missing": _w(
        "Telefon nömrəsini daxil edin.", "Enter your phone number.", "Введите номер телефона."
    ),
    "portal.form.phone_invalid": _w(
        "Bu telefon nömrəsi kimi görünmür (7–15 rəqəm).",
        "That does not look like a phone number (7–15 digits).",
        "Это не похоже на номер телефона (7–15 цифр).",
    ),
    "portal.form.required": _w("Bu sahəni doldurun.", "Fill in this field.", "Заполните это поле."),
    "portal.form.fin_or_address": _w(
        "FİN kodu və ya ünvanı yazın.",
        "Give your FIN code or your address.",
        "Укажите FIN-код или адрес.",
    ),
    "portal.form.too_long": _w("Çox uzundur.", "Too long.", "Слишком длинно."),
    "portal.form.sign": _w(
        "Sorğunu imzalamaq üçün qutunu işarələyin.",
        "Tick the box to sign the request.",
        "Отметьте поле, чтобы подписать запрос.",
    ),
    "portal.form.kind": _w(
        "Nə istədiyinizi seçin.", "Choose what you ask for.", "Выберите, что вы просите."
    ),
    "portal.form.category": _w(
        "Bu kateqoriya bu sorğu üçün seçilə bilməz.",
        "That category cannot be chosen for this request.",
        "Эту категорию нельзя выбрать для этого запроса.",
    ),
    "portal.form.category_needed": _w(
        "Düzəldilməli məlumatı seçin.",
        "Choose the data to correct.",
        "Выберите данные для исправления.",
    ),
    # rights
    "portal.rights.title": _w("Hüquqlarım", "My rights", "Мои права"),
    "portal.rights.lead": _w(
        "Bu xidmətin siyasəti bunları təklif edir: {offered}.",
        "This service's policy offers: {offered}.",
        "Политика этого сервиса предусматривает: {offered}.",
    ),
    "portal.rights.ask": _w("Sorğu göndərin", "Make a request", "Отправить запрос"),
    "portal.rights.what": _w("Nə istəyirsiniz?", "What do you ask for?", "Что вы просите?"),
    "portal.rights.not_offered": _w(
        "Bu xidmətin siyasəti bu hüququ təklif etmir.",
        "Not offered by this service's policy.",
        "Политика этого сервиса не предусматривает это право.",
    ),
    "portal.rights.categories": _w("Hansı məlumatlar?", "Which data?", "Какие данные?"),
    "portal.rights.categories_help": _w(
        "Bloklama və məhv üçün boş qoysanız, bütün məlumatlarınıza aiddir. Düzəliş üçün ən azı "
        "birini seçin.",
        "Leave empty for blocking or destruction to cover all your data. For rectification "
        "choose at least one.",
        "Если оставить пустым, блокирование и уничтожение касаются всех данных. Для "
        "исправления выберите хотя бы одну категорию.",
    ),
    "portal.rights.not_rectifiable": _w(
        "düzəliş üçün deyil", "not for rectification", "не для исправления"
    ),
    "portal.rights.next": _w(
        "Kodla təsdiqlədikdən sonra məlumatların mühafizəsinə cavabdeh şəxs {days} iş günü ərzində "
        "cavab verir; vəziyyəti «Sorğularım» bölməsində görəcəksiniz.",
        "Once you confirm it with the code, the data protection officer answers within {days} "
        "working days; you follow it under “My requests”.",
        "После подтверждения кодом ответственный за защиту данных отвечает в течение {days} "
        "рабочих дней; статус виден в разделе «Мои запросы».",
    ),
    "portal.rights.instant": _w(
        "Kodla təsdiqlədikdən dərhal sonra bu səhifədə cavablanır.",
        "Answered on the page as soon as you confirm it with the code.",
        "Ответ на странице сразу после подтверждения кодом.",
    ),
    "portal.rights.button": _w(
        "Sorğu göndərin və kod alın",
        "Send the request and get a code",
        "Отправить запрос и получить код",
    ),
    "portal.rights.refused_title": _w(
        "Sorğu qəbul edilmədi: {kind}",
        "Request not accepted: {kind}",
        "Запрос не принят: {kind}",
    ),
    "portal.rights.refused": _w(
        "{service}: məxfilik siyasəti yalnız bunları təklif edir: {offered} ({clauses}). Bu sorğu "
        "onun əsasında edilə bilməz; heç nə dəyişdirilmədi.",
        "{service}: its privacy policy offers only: {offered} ({clauses}). This request cannot "
        "be made under it; nothing was changed.",
        "{service}: политика конфиденциальности предусматривает только: {offered} ({clauses}). "
        "Такой запрос по ней сделать нельзя; ничего не изменено.",
    ),
    "portal.rights.refused_audit": _w(
        "Cəhd audit jurnalında qeydə alındı.",
        "The attempt is recorded in the audit log.",
        "Попытка записана в журнал аудита.",
    ),
    "portal.kind.access": _w("Məlumatlarımın surəti", "A copy of my data", "Копия моих данных"),
    "portal.kind.rectification": _w("Düzəliş", "Rectification", "Исправление"),
    "portal.kind.blocking": _w("Bloklama", "Blocking", "Блокирование"),
    "portal.kind.destruction": _w("Məhv", "Destruction", "Уничтожение"),
    "portal.kind.unblocking": _w("Blokdan çıxarma", "Unblocking", "Разблокирование"),
    "portal.kind.existence": _w("Məlumatların mövcudluğu", "Existence of data", "Наличие данных"),
    "portal.kind.legal_basis": _w("Hüquqi əsas", "Legal basis", "Правовое основание"),
    "portal.kind.processing_info": _w("Emal haqqında", "About processing", "Об обработке"),
    "portal.kind.prohibition": _w("Emalın qadağası", "Ban on processing", "Запрет обработки"),
    "portal.kind.sources": _w("Mənbələr", "Sources", "Источники"),
    "portal.kind.withdraw_consent": _w(
        "Razılığın geri götürülməsi", "Withdrawing consent", "Отзыв согласия"
    ),
    "portal.kind.operator_info": _w("Operator haqqında", "About the operator", "Об операторе"),
    # requests
    "portal.requests.title": _w("Sorğularım", "My requests", "Мои запросы"),
    "portal.requests.lead": _w(
        "Göndərdiyiniz hər sorğu və onun vəziyyəti.",
        "Every request you made and where it stands.",
        "Все ваши запросы и их статус.",
    ),
    "portal.requests.empty": _w(
        "Hələ sorğunuz yoxdur.", "You have made no request yet.", "У вас пока нет запросов."
    ),
    "portal.state.received": _w("qəbul edildi", "received", "получен"),
    "portal.state.verifying": _w("təsdiq gözləyir", "awaiting your code", "ждёт вашего кода"),
    "portal.state.locked": _w("kilidləndi", "locked", "заблокирован"),
    "portal.state.in_progress": _w("icradadır", "in progress", "в работе"),
    "portal.state.answered": _w("cavablandı", "answered", "выполнен"),
    "portal.state.rejected": _w("rədd edildi", "refused", "отклонён"),
    "portal.state.on_hold": _w("saxlanılır", "on hold", "приостановлен"),
    "portal.state.withdrawn": _w("geri götürüldü", "withdrawn", "отозван"),
    "portal.request.number": _w("Nömrə", "Number", "Номер"),
    "portal.request.received": _w("göndərilib {date}", "sent {date}", "отправлен {date}"),
    "portal.request.due": _w("son tarix {date}", "due {date}", "срок {date}"),
    "portal.request.received_at": _w("Göndərilib", "Sent", "Отправлен"),
    "portal.request.due_at": _w("Cavab müddəti", "Answer due", "Срок ответа"),
    "portal.request.days_left": _w(
        "{days} iş günü qalıb", "{days} working days left", "осталось рабочих дней: {days}"
    ),
    "portal.request.overdue": _w("gecikir", "overdue", "просрочен"),
    "portal.request.categories": _w("Məlumatlar", "Data", "Данные"),
    "portal.request.answered_at": _w("Cavablandı", "Answered", "Выполнен"),
    "portal.request.confirm_title": _w(
        "Sorğunu təsdiqləyin", "Confirm your request", "Подтвердите запрос"
    ),
    "portal.request.confirm_text": _w(
        "Qeydiyyatdan keçdiyiniz telefona bu sorğu üçün kod göndərdik. Onu daxil etməklə "
        "sorğunu imzalayırsınız.",
        "We sent a code for this request to the phone you registered with. Entering it signs "
        "the request.",
        "Мы отправили код для этого запроса на телефон, указанный при регистрации. Вводя его, "
        "вы подписываете запрос.",
    ),
    "portal.request.confirm_button": _w("Təsdiqləyin", "Confirm", "Подтвердить"),
    "portal.request.resend": _w("Yeni kod göndərin", "Send a new code", "Отправить новый код"),
    "portal.request.code_sent": _w(
        "Telefonunuza kod göndərdik.",
        "We sent a code to your phone.",
        "Мы отправили код на ваш телефон.",
    ),
    "portal.request.too_many": _w(
        "Son bir saatda çox kod göndərilib; {time}-dan sonra yenidən istəyin.",
        "Too many codes in the last hour; ask again after {time}.",
        "Слишком много кодов за последний час; запросите снова после {time}.",
    ),
    "portal.request.no_phone": _w(
        "Telefonunuz qeydlərdə yoxdur: şəxsiyyətinizi məlumatların mühafizəsinə cavabdeh şəxs "
        "başqa yolla təsdiqləyəcək.",
        "No phone of yours is on record: the data protection officer will verify you another way.",
        "Вашего телефона нет в записях: ответственный за защиту данных подтвердит вашу личность "
        "иначе.",
    ),
    "portal.request.not_sent": _w(
        "Kodu indi göndərə bilmədik; bir az sonra «Yeni kod göndərin» düyməsini basın.",
        "We could not send the code now; press “Send a new code” shortly.",
        "Не удалось отправить код; чуть позже нажмите «Отправить новый код».",
    ),
    "portal.request.code_expired": _w(
        "Kodun vaxtı bitib: yeni kod istəyin.",
        "The code has expired: ask for a new one.",
        "Срок кода истёк: запросите новый.",
    ),
    "portal.request.no_code": _w(
        "Bu sorğu üçün hələ kod göndərilməyib: yeni kod istəyin.",
        "No code was sent for this request yet: ask for one.",
        "Код для этого запроса ещё не отправлен: запросите его.",
    ),
    "portal.request.locked": _w(
        "Çox sayda yanlış kod: sorğu kilidləndi.",
        "Too many wrong codes: the request is locked.",
        "Слишком много неверных кодов: запрос заблокирован.",
    ),
    "portal.request.locked_text": _w(
        "Çox sayda yanlış kod daxil edildiyi üçün sorğu kilidləndi. Məlumatların mühafizəsinə "
        "cavabdeh şəxs şəxsiyyətinizi başqa yolla təsdiqləyə bilər, ya da yeni sorğu göndərin.",
        "The request is locked after too many wrong codes. The data protection officer can "
        "verify you another way, or you can make a new request.",
        "Запрос заблокирован после слишком многих неверных кодов. Ответственный за защиту "
        "данных может подтвердить вашу личность иначе, или вы можете отправить новый запрос.",
    ),
    "portal.request.confirmed": _w(
        "Sorğu təsdiqləndi.", "Your request is confirmed.", "Запрос подтверждён."
    ),
    "portal.request.rejected": _w(
        "Sorğu qəbul edilmədi: səbəblər aşağıdadır.",
        "The request was not accepted: see why below.",
        "Запрос не принят: причины ниже.",
    ),
    "portal.request.access_ready": _w(
        "Sorğu təsdiqlənib. Yükləməni indi hazırlaya bilərsiniz.",
        "Your request is confirmed. You can prepare the export now.",
        "Запрос подтверждён. Выгрузку можно подготовить сейчас.",
    ),
    "portal.request.prepare": _w(
        "Yükləməni hazırlayın", "Prepare my export", "Подготовить выгрузку"
    ),
    "portal.request.with_dpo": _w(
        "Sorğu təsdiqlənib və məlumatların mühafizəsinə cavabdeh şəxsdədir. Cavab {days} iş günü "
        "ərzində, {date} tarixinədək veriləcək.",
        "Your request is confirmed and with the data protection officer, who answers within "
        "{days} working days, by {date}.",
        "Запрос подтверждён и передан ответственному за защиту данных; ответ будет дан в "
        "течение {days} рабочих дней, до {date}.",
    ),
    "portal.request.answered_title": _w("Cavablandı", "Answered", "Выполнен"),
    "portal.request.answered.access": _w(
        "Məlumatlarınızın surəti cavab verildiyi anda təqdim olundu. Yeni surət üçün yeni sorğu "
        "göndərin.",
        "The copy of your data was handed out when the request was answered. For a fresh copy, "
        "make a new request.",
        "Копия ваших данных выдана при ответе на запрос. Для новой копии отправьте новый запрос.",
    ),
    "portal.request.answered.rectification": _w(
        "Məlumatlarınız düzəldildi.", "Your data was corrected.", "Ваши данные исправлены."
    ),
    "portal.request.answered.blocking": _w(
        "Məlumatlarınızın emalı bloklandı.",
        "Processing of your data is blocked.",
        "Обработка ваших данных заблокирована.",
    ),
    "portal.request.answered.destruction": _w(
        "Məlumatlarınız geri qaytarılmaz şəkildə məhv edildi.",
        "Your data was destroyed irreversibly.",
        "Ваши данные безвозвратно уничтожены.",
    ),
    "portal.request.answered.info": _w(
        "Cavab təqdim olunduğu anda verildi. Yenisi üçün yeni sorğu göndərin.",
        "The answer was handed out when the request was answered. For a fresh one, make a new "
        "request.",
        "Ответ выдан при ответе на запрос. Для нового ответа отправьте новый запрос.",
    ),
    "portal.request.answered.unblocking": _w(
        "Məlumatlarınızın bloku götürüldü.",
        "Your data is unblocked.",
        "Ваши данные разблокированы.",
    ),
    "portal.request.answered.prohibition": _w(
        "Məlumatlarınızın emalı qadağan edildi.",
        "Processing of your data is prohibited.",
        "Обработка ваших данных запрещена.",
    ),
    "portal.request.answered.withdraw_consent": _w(
        "Razılığınız geri götürüldü.",
        "Your consent is withdrawn.",
        "Ваше согласие отозвано.",
    ),
    "portal.request.answer_ready": _w(
        "Sorğu təsdiqlənib. Cavabı indi ala bilərsiniz.",
        "Your request is confirmed. You can get the answer now.",
        "Запрос подтверждён. Ответ можно получить сейчас.",
    ),
    "portal.request.destroyed": _w(
        "Məhv edilmiş qeydlər: {count}.",
        "Records destroyed: {count}.",
        "Уничтожено записей: {count}.",
    ),
    "portal.request.on_hold": _w(
        "Məlumatlarınızın bir hissəsini hüquqi saxlama qoruyur; müddət saxlama götürülənədək "
        "dayandırılıb.",
        "A legal hold keeps part of your data; the deadline is suspended until it is lifted.",
        "Часть ваших данных удерживается по закону; срок приостановлен до снятия удержания.",
    ),
    "portal.request.rejected_title": _w(
        "Sorğu rədd edildi", "The request was refused", "Запрос отклонён"
    ),
    "portal.request.rejected_next": _w(
        "Düzəldib yeni sorğu göndərə bilərsiniz.",
        "You can correct it and make a new request.",
        "Вы можете исправить данные и отправить новый запрос.",
    ),
    "portal.reason.channel_not_accepted_written": _w(
        "Bu xidmət yazılı sorğu qəbul etmir.",
        "This service takes no written request.",
        "Этот сервис не принимает письменные запросы.",
    ),
    "portal.reason.subject_not_found": _w(
        "Hesabınız tapılmadı.", "Your account was not found.", "Ваша учётная запись не найдена."
    ),
    # download
    "portal.download.title": _w(
        "Yükləməniz hazırdır", "Your export is ready", "Ваша выгрузка готова"
    ),
    "portal.download.lead": _w(
        "Sorğunuz cavablandı: {records} qeyd, mənbələri, məqsədləri və kimin baxdığı ilə.",
        "Your request is answered: {records} records, with their sources, purposes and who "
        "read them.",
        "Ваш запрос выполнен: записей {records}, с источниками, целями и историей доступа.",
    ),
    "portal.download.answer_title": _w(
        "Cavabınız hazırdır", "Your answer is ready", "Ваш ответ готов"
    ),
    "portal.download.answered": _w(
        "Sorğunuz cavablandı: cavab aşağıdakı fayllardadır.",
        "Your request is answered: the answer is in the files below.",
        "Ваш запрос выполнен: ответ в файлах ниже.",
    ),
    "portal.download.refused": _w(
        "Sorğunuz əsaslandırılmış imtina ilə cavablandı: məktubda səbəblər var.",
        "Your request was answered with a reasoned refusal: the letter gives the reasons.",
        "На ваш запрос дан мотивированный отказ: причины указаны в письме.",
    ),
    "portal.download.files": _w("Fayllarınız", "Your files", "Ваши файлы"),
    "portal.download.json": _w(
        "Məlumatları yükləyin (JSON)", "Download the data (JSON)", "Скачать данные (JSON)"
    ),
    "portal.download.json_help": _w(
        "Bütün qeydlər, maşınla oxunan, ~{size} KB",
        "Every record, machine-readable, ~{size} KB",
        "Все записи в машиночитаемом виде, ~{size} КБ",
    ),
    "portal.download.pdf": _w(
        "Məktubu yükləyin (PDF)", "Download the letter (PDF)", "Скачать письмо (PDF)"
    ),
    "portal.download.pdf_help": _w(
        "Operatorun imzalı cavabı, ~{size} KB",
        "The operator's answer, ~{size} KB",
        "Ответ оператора, ~{size} КБ",
    ),
    "portal.download.once": _w(
        "Bu səhifə yeganə surətdir: səhifədən çıxmazdan əvvəl hər iki faylı yükləyin.",
        "This page holds the only copy: download both files before you leave it.",
        "Эта страница содержит единственную копию: скачайте оба файла, прежде чем уйти.",
    ),
    "portal.download.request": _w("Sorğu {number}", "Request {number}", "Запрос {number}"),
    # choices
    "portal.choices.title": _w("Seçimlərim", "My choices", "Мои настройки"),
    "portal.choices.lead": _w(
        "Hər dəyişiklik razılıq reyestrində qeydə alınır.",
        "Every change is recorded in the consent ledger.",
        "Каждое изменение записывается в реестр согласий.",
    ),
    "portal.choices.push": _w("Push bildirişlər", "Push notifications", "Push-уведомления"),
    "portal.choices.push_help": _w(
        "Hansı bildirişləri almaq istədiyinizi seçin.",
        "Choose which notifications you get.",
        "Выберите, какие уведомления получать.",
    ),
    "portal.choices.default_on": _w(
        "Standart olaraq açıqdır.", "On unless you turn it off.", "Включено, пока вы не отключите."
    ),
    "portal.choices.optin": _w(
        "Yalnız razılığınızla.", "Only if you opt in.", "Только с вашего согласия."
    ),
    "portal.choices.geo": _w("Yer məlumatı", "Location", "Геолокация"),
    "portal.choices.geo.title": _w(
        "Yerimin toplanması", "Collect my location", "Собирать мою геолокацию"
    ),
    "portal.choices.geo.app_in_use": _w(
        "Yalnız tətbiq açıq olanda. Söndürsəniz, yer toplanmır.",
        "Only while the app is in use. Turned off, no location is collected.",
        "Только пока приложение используется. Если выключить, геолокация не собирается.",
    ),
    "portal.choices.geo.order": _w(
        "Yalnız sifariş zamanı.", "Only during an order.", "Только во время заказа."
    ),
    "portal.choices.geo.always": _w("Həmişə.", "Always.", "Всегда."),
    "portal.choices.cookies": _w(
        "Bu cihazın kukiləri", "This device's cookies", "Cookie этого устройства"
    ),
    "portal.choices.cookies_help": _w(
        "Bu seçimlər bu brauzerə aiddir, hesabınıza yox.",
        "These choices belong to this browser, not to your account.",
        "Эти настройки относятся к этому браузеру, а не к учётной записи.",
    ),
    "portal.choices.always_on": _w(
        "(həmişə açıq: xidmət onsuz işləmir)",
        "(always on: the service needs them)",
        "(всегда включены: без них сервис не работает)",
    ),
    "portal.choices.no_device": _w(
        "Bu cihazda hələ kuki seçimi yoxdur. Kuki pəncərəsində seçim edin.",
        "This device has made no cookie choice yet. Make one in the cookie window.",
        "На этом устройстве ещё нет выбора cookie. Сделайте его в окне cookie.",
    ),
    "portal.choices.open_banner": _w(
        "Kuki parametrlərini açın", "Open the cookie settings", "Открыть настройки cookie"
    ),
    "portal.cookies.title": _w(
        "Bu cihazda kukilər", "Cookies on this device", "Cookie на этом устройстве"
    ),
    "portal.cookies.lead": _w(
        "Seçiminiz bu brauzerə aiddir və razılıq reyestrində qeydə alınır.",
        "Your choice belongs to this browser and is recorded in the consent ledger.",
        "Ваш выбор относится к этому браузеру и записывается в реестр согласий.",
    ),
    "portal.cookies.how": _w(
        "Kuki pəncərəsində kateqoriyaları seçin, sonra seçimlərinizə qayıdın: orada onları "
        "istənilən vaxt dəyişə bilərsiniz.",
        "Choose the categories in the cookie window, then return to your choices: you can "
        "change them there at any time.",
        "Выберите категории в окне cookie и вернитесь к настройкам: там их можно изменить в "
        "любой момент.",
    ),
    "portal.cookies.back": _w("Seçimlərimə qayıt", "Back to my choices", "Вернуться к настройкам"),
    "portal.cookies.noscript": _w(
        "Kuki pəncərəsi JavaScript tələb edir.",
        "The cookie window needs JavaScript.",
        "Для окна cookie нужен JavaScript.",
    ),
    "portal.choices.save": _w("Yadda saxlayın", "Save my choices", "Сохранить"),
    "portal.choices.saved": _w(
        "Yadda saxlanıldı: {count} dəyişiklik reyestrdədir.",
        "Saved: {count} change(s) recorded in the ledger.",
        "Сохранено: изменений в реестре — {count}.",
    ),
    "portal.choices.unchanged": _w(
        "Heç nə dəyişməyib.", "Nothing changed.", "Ничего не изменилось."
    ),
    "portal.choices.none": _w(
        "Bu xidmətdə seçiləcək heç nə yoxdur.",
        "This service has no choices to make.",
        "В этом сервисе нечего настраивать.",
    ),
    # policy
    "portal.policy.title": _w("Məxfilik siyasəti", "Privacy policy", "Политика конфиденциальности"),
    "portal.policy.versions": _w("Versiyalar", "Versions", "Версии"),
    "portal.policy.governing": _w("Sizə tətbiq olunan", "Applies to you", "Действует для вас"),
    "portal.policy.current": _w("Qüvvədə olan", "In force", "Действующая"),
    "portal.policy.effective": _w("{date} tarixindən", "since {date}", "с {date}"),
    "portal.policy.accepted": _w("Qəbul etdikləriniz", "You accepted", "Вы приняли"),
    "portal.policy.accepted_none": _w(
        "portalda hələ heç biri", "none yet in the portal", "пока ни одной в портале"
    ),
    "portal.policy.rule.when_posted": _w(
        "Bu siyasətin yeni versiyası tətbiqdə dərc edildiyi andan qüvvəyə minir (BK-7.3); "
        "qəbulunuz qeydə alınır.",
        "A new version of this policy takes effect when it is posted in the app (BK-7.3); "
        "your acceptance is recorded.",
        "Новая версия этой политики вступает в силу с момента публикации в приложении (BK-7.3); "
        "ваше согласие записывается.",
    ),
    "portal.policy.rule.on_acceptance": _w(
        "Yeni versiya siz onu qəbul etdikdən sonra sizə tətbiq olunur; o vaxtadək əvvəlki "
        "qüvvədədir.",
        "A new version applies to you once you accept it; until then the previous one does.",
        "Новая версия действует для вас после того, как вы её примете; до этого — прежняя.",
    ),
    "portal.policy.accept_text": _w(
        "Aşağıdakı mətni oxudum və {version} versiyasını qəbul edirəm.",
        "I have read the text below and accept version {version}.",
        "Я прочитал(а) текст ниже и принимаю версию {version}.",
    ),
    "portal.policy.accept": _w(
        "{version} versiyasını qəbul edirəm", "Accept version {version}", "Принять версию {version}"
    ),
    "portal.policy.accepted.flash": _w(
        "{version} versiyası qəbul edildi.",
        "Version {version} accepted.",
        "Версия {version} принята.",
    ),
    "portal.policy.up_to_date": _w(
        "Qüvvədə olan {version} versiyasını qəbul etmisiniz.",
        "You have accepted version {version}, the one in force.",
        "Вы приняли действующую версию {version}.",
    ),
    "portal.policy.text": _w(
        "{version} versiyasının mətni", "The text of version {version}", "Текст версии {version}"
    ),
    "portal.policy.reload": _w(
        "Səhifə köhnəlib: yeniləyin və yenidən qəbul edin.",
        "The page is out of date: reload it and accept again.",
        "Страница устарела: обновите её и примите снова.",
    ),
}


def _union(*tables: Mapping[str, W]) -> dict[str, W]:
    merged: dict[str, W] = {}
    for table in tables:
        merged.update(table)
    return merged


STRINGS: dict[str, W] = _union(_COMMON, _CONSOLE, _PORTAL)


def is_lang(value: object) -> TypeGuard[Lang]:
    """Whether `value` is one of the pages' languages."""
    return value in LANGS


def translate(key: str, lang: str, /, **slots: object) -> str:
    """The text of `key` in `lang` with its `{slots}` filled; the key itself if unknown (a
    missing key shows on the page, and `tests/web/test_i18n.py` finds it)."""
    words = STRINGS.get(key)
    if words is None:
        return key
    text = words.get(lang) or words["en"]
    return text.format(**slots) if slots else text


def accepted_lang(header: str | None) -> Lang | None:
    """The first of the pages' languages an `Accept-Language` header accepts, by weight."""
    if not header:
        return None
    ranked: list[tuple[float, int, Lang]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                weight = 0.0
        primary = tag.strip().lower().split("-")[0]
        if is_lang(primary) and weight > 0:
            ranked.append((-weight, index, primary))
    return min(ranked)[2] if ranked else None


#: A time on a page: day first, to the minute, local time (as the answer letters print it).
TIME_FORMAT: Final = "%d.%m.%Y %H:%M"
DATE_FORMAT: Final = "%d.%m.%Y"


def format_when(value: datetime | None, zone: tzinfo, *, date_only: bool = False) -> str:
    """`value` in `zone` (Baku for both policies) as the letters print it, "" for None."""
    if value is None:
        return ""
    if value.tzinfo is None:  # the stores keep UTC
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime(DATE_FORMAT if date_only else TIME_FORMAT)

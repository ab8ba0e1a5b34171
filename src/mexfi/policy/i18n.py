"""The fixed wording of privacy notices in Azerbaijani, English and Russian.

Everything a notice says that does not come from the policy file lives here:
headings, labels, the names of the schema's enums, and the words for durations
and dates. Policy texts (`Text`) carry their own three languages; proper names
(the operator's name, address, e-mail) are printed as written.

The Azerbaijani wording follows the vocabulary of the Taxsee Driver original
(`Fərdi məlumatlar`, `Hüquq sahibi`, `məhv edilir`, `iş günü`, `kuki faylları`);
the Russian one that of Russian-language privacy policies of the region.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from mexfi.errors import Invalid
from mexfi.policy.schema import (
    LANGS,
    Acceptance,
    Lang,
    LegalBasis,
    RecipientBasis,
    RecipientKind,
    RequestChannel,
    RequestRequirement,
    RetentionAction,
    RetentionTrigger,
    RightKind,
    RoleKind,
    Sensitivity,
)

__all__ = [
    "ENUM_LABELS",
    "MESSAGES",
    "Case",
    "check_lang",
    "duration_words",
    "enum_label",
    "format_date",
    "jurisdiction_name",
    "message",
    "ru_plural",
]

Case = Literal["nom", "acc", "gen"]
"""The grammatical case of a duration phrase (only Russian inflects it here)."""

W = dict[Lang, str]


def _w(az: str, en: str, ru: str) -> W:
    return {"az": az, "en": en, "ru": ru}


# --------------------------------------------------------------------------- messages

MESSAGES: dict[str, W] = {
    # title block
    "notice": _w("Məxfilik siyasəti", "Privacy notice", "Политика конфиденциальности"),
    "version_line": _w(
        "Versiya {version}, {date} tarixindən qüvvədədir",
        "Version {version}, effective {date}",
        "Редакция {version}, действует с {date}",
    ),
    "generated_note": _w(
        "Bu bildiriş “{id}” siyasətinin {version} versiyasından yaradılıb. Hər müddəa "
        "kvadrat mötərizədə əsaslandığı siyasət bəndlərinə istinad edir.",
        "This notice is generated from the policy “{id}”, version {version}. Each statement "
        "cites in square brackets the clauses of the policy it comes from.",
        "Это уведомление сформировано из политики «{id}», редакция {version}. Каждое "
        "положение ссылается в квадратных скобках на пункты политики, из которых оно следует.",
    ),
    "original_az": _w(
        "Siyasətin orijinalı azərbaycan dilindədir.",
        "The original of the policy is in Azerbaijani.",
        "Оригинал политики составлен на азербайджанском языке.",
    ),
    "original_en": _w(
        "Siyasətin orijinalı ingilis dilindədir.",
        "The original of the policy is in English.",
        "Оригинал политики составлен на английском языке.",
    ),
    "original_ru": _w(
        "Siyasətin orijinalı rus dilindədir.",
        "The original of the policy is in Russian.",
        "Оригинал политики составлен на русском языке.",
    ),
    "original_at": _w("Orijinal mətn", "Original text", "Оригинальный текст"),
    "contents": _w("Mündəricat", "Contents", "Содержание"),
    # section headings
    "h_operator": _w("Hüquq sahibi", "Operator", "Оператор"),
    "h_data": _w("Toplanan məlumatlar", "Data collected", "Собираемые данные"),
    "h_purposes": _w(
        "Fərdi məlumatların işlənməsinin məqsədləri və hüquqi əsasları",
        "Purposes of processing and legal bases",
        "Цели обработки и правовые основания",
    ),
    "h_access": _w(
        "Məlumatlara çıxışı olan şəxslər",
        "Who has access to the data",
        "Кто имеет доступ к данным",
    ),
    "h_storage": _w("Məlumatların saxlanması", "How data is stored", "Хранение данных"),
    "h_retention": _w(
        "Saxlama müddətləri və məhv edilmə",
        "Retention and destruction",
        "Сроки хранения и уничтожение",
    ),
    "h_recipients": _w(
        "Fərdi məlumatların ötürülməsi",
        "Transfer to recipients",
        "Передача данных получателям",
    ),
    "h_geolocation": _w("Geolokasiya məlumatları", "Geolocation data", "Данные геолокации"),
    "h_mobile_operator": _w(
        "Mobil rabitə operatoru haqqında məlumatlar",
        "Mobile operator data",
        "Сведения об операторе мобильной связи",
    ),
    "h_payments": _w("Ödəniş məlumatları", "Payment data", "Платёжные данные"),
    "h_claims": _w(
        "Siyasətin digər bəyanatları",
        "Other statements of the policy",
        "Иные заявления политики",
    ),
    "h_cookies": _w("Kuki faylları", "Cookies", "Файлы cookie"),
    "h_notifications": _w("Push bildirişlər", "Push notifications", "Push-уведомления"),
    "h_rights": _w("İstifadəçinin hüquqları", "The user's rights", "Права Пользователя"),
    "h_how_to": _w(
        "Hüquqların həyata keçirilməsi qaydası",
        "How to exercise the rights",
        "Порядок реализации прав",
    ),
    "h_consent": _w(
        "Razılıq və siyasətə dəyişikliklər",
        "Consent and changes to the policy",
        "Согласие и изменения политики",
    ),
    # operator
    "operator_intro": _w(
        "Fərdi məlumatları toplayan, işləyən və mühafizə edən şəxs:",
        "The person who collects, processes and protects the personal data:",
        "Лицо, которое собирает, обрабатывает и защищает персональные данные:",
    ),
    "f_name": _w("Adı", "Name", "Наименование"),
    "f_tin": _w("VÖEN", "TIN", "ИНН"),
    "f_address": _w("Ünvan", "Address", "Адрес"),
    "f_email": _w("E-poçt", "E-mail", "Эл. почта"),
    "f_phone": _w("Telefon", "Phone", "Телефон"),
    "f_website": _w("Veb-sayt", "Website", "Веб-сайт"),
    "f_law": _w("Tətbiq olunan qanunvericilik", "Governing law", "Применимое право"),
    # data collected
    "data_intro": _w(
        "Xidmət aşağıdakı məlumatları toplayır və işləyir.",
        "The service collects and processes the following data.",
        "Сервис собирает и обрабатывает следующие данные.",
    ),
    "data_subject": _w("Məlumatların subyekti", "Data subject", "Субъект данных"),
    "mandatory": _w("Təqdim edilməsi məcburidir", "Mandatory", "Обязательны к предоставлению"),
    "optional": _w("Könüllü təqdim edilir", "Optional", "Предоставляются по желанию"),
    "personal_yes": _w("Fərdi məlumatlardır", "Personal data", "Персональные данные"),
    "personal_no": _w(
        "Siyasətə görə fərdi məlumat sayılmır və şəxsiyyəti müəyyən etməyə imkan vermir",
        "Declared by the policy as not personal and not identifying the user",
        "Согласно политике не являются персональными данными и не позволяют установить личность",
    ),
    "sensitivity": _w("Həssaslıq səviyyəsi", "Sensitivity", "Уровень чувствительности"),
    "source": _w("Mənbə", "Source", "Источник"),
    "field": _w("Məlumat", "Item", "Сведения"),
    "field_required": _w("Məcburidir", "Required", "Обязательно"),
    "yes": _w("bəli", "yes", "да"),
    "no": _w("xeyr", "no", "нет"),
    # purposes and access
    "purposes_intro": _w(
        "Məlumatlar yalnız aşağıdakı məqsədlər üçün işlənilir; hər oxunuş bu məqsədlərdən "
        "birinə istinad etməlidir.",
        "Data is processed only for the following purposes; every use names one of them.",
        "Данные обрабатываются только в следующих целях; каждое обращение к ним указывает "
        "одну из этих целей.",
    ),
    "purpose": _w("Məqsəd", "Purpose", "Цель"),
    "legal_basis": _w("Hüquqi əsas", "Legal basis", "Правовое основание"),
    "data": _w("Məlumatlar", "Data", "Данные"),
    "access": _w("Çıxış", "Access", "Доступ"),
    "exclusive": _w(
        "bu məlumatlar yalnız bu məqsəd üçün istifadə olunur",
        "these data are used for this purpose only",
        "эти данные используются только для этой цели",
    ),
    "active_order": _w(
        "yalnız aktiv sifariş zamanı",
        "only during an active order",
        "только во время активного заказа",
    ),
    "when_blocked": _w(
        "bloklaşdırılmış məlumatlara yalnız onların dəqiqləşdirilməsi üçün çıxış var",
        "reaches blocked data, only to rectify it",
        "допускается к заблокированным данным только для их уточнения",
    ),
    "passive_tier": _w(
        "passiv saxlanmadakı məlumatlara çıxışı var",
        "may reach data in passive storage",
        "имеет доступ к данным пассивного хранения",
    ),
    "access_intro": _w(
        "Məlumatlara yalnız aşağıdakı şəxslər, yalnız göstərilən məqsədlər üçün çıxış əldə "
        "edə bilər.",
        "Only the following may access the data, and only for the purposes stated.",
        "Доступ к данным имеют только следующие лица и только в указанных целях.",
    ),
    # storage
    "storage_where": _w("Saxlanma yeri", "Where", "Место хранения"),
    "storage_level": _w("Məxfilik səviyyəsi", "Confidence level", "Уровень конфиденциальности"),
    "storage_encrypted": _w(
        "Saxlanma zamanı şifrələnir", "Encrypted at rest", "Шифруются при хранении"
    ),
    "storage_processing": _w(
        "Fərdi məlumatlara hər bir müraciət (oxunuş, dəyişdirmə, ötürmə, məhv etmə) "
        "məqsədi göstərilməklə qeydə alınır.",
        "Every access to personal data (reading, changing, transferring, destroying) is "
        "recorded together with its purpose.",
        "Каждое обращение к персональным данным (чтение, изменение, передача, уничтожение) "
        "регистрируется с указанием цели.",
    ),
    # retention
    "retention_none": _w(
        "Siyasət saxlama müddətləri müəyyən etmir.",
        "The policy sets no retention periods.",
        "Политика не устанавливает сроков хранения.",
    ),
    "passive_note": _w(
        "Passiv saxlanmadakı məlumatlar xidmətin adi işində istifadə olunmur; onlara yalnız "
        "bu məqsədlər üçün müraciət edilir: {purposes}.",
        "Data in passive storage is not used in the ordinary work of the service; only "
        "these purposes reach it: {purposes}.",
        "Данные в пассивном хранении не используются в обычной работе сервиса; к ним "
        "обращаются только в следующих целях: {purposes}.",
    ),
    "passive_note_none": _w(
        "Passiv saxlanmadakı məlumatlar xidmətin adi işində istifadə olunmur.",
        "Data in passive storage is not used in the ordinary work of the service.",
        "Данные в пассивном хранении не используются в обычной работе сервиса.",
    ),
    # recipients
    "recipients_none": _w(
        "Siyasət heç bir alıcı müəyyən etmir: məlumatlar heç kimə ötürülmür.",
        "The policy names no recipients: data is not transferred to anyone.",
        "Политика не называет получателей: данные никому не передаются.",
    ),
    "recipients_intro": _w(
        "Məlumatlar yalnız aşağıdakı alıcılara, göstərilən məqsədlər üçün və göstərilən "
        "əsasla ötürülə bilər. Hər ötürmə qeydə alınır və İstifadəçiyə bildirilə bilər.",
        "Data may be transferred only to the following recipients, for the purposes and on "
        "the basis stated. Every transfer is recorded and can be reported to the user.",
        "Данные могут передаваться только следующим получателям, в указанных целях и на "
        "указанном основании. Каждая передача регистрируется и может быть сообщена "
        "Пользователю.",
    ),
    "recipient_kind": _w("Alıcı", "Recipient", "Получатель"),
    "purposes": _w("Məqsədlər", "Purposes", "Цели"),
    "basis": _w("Əsas", "Basis", "Основание"),
    "condition": _w("Şərt", "Condition", "Условие"),
    # geolocation
    "geo_sentence": _w(
        "Xidmət mobil tətbiq vasitəsi ilə İstifadəçinin olduğu yer barədə məlumatlar{data} "
        "əldə edir; bu məlumatlar {window} Hüquq sahibinə ötürülür.",
        "The service receives the user's location{data} through the app, {window}.",
        "Сервис получает сведения о местоположении Пользователя{data} через приложение {window}.",
    ),
    "geo_app_in_use": _w(
        "yalnız mobil tətbiqdən istifadə olunan zaman",
        "only while the app is in use",
        "только во время использования приложения",
    ),
    "geo_order": _w(
        "yalnız sifariş icra olunan zaman",
        "only while an order is being carried out",
        "только во время выполнения заказа",
    ),
    "geo_always": _w(
        "daim, o cümlədən tətbiqdən istifadə olunmadıqda",
        "at all times, also when the app is not in use",
        "постоянно, в том числе когда приложение не используется",
    ),
    "geo_switch_off": _w(
        "İstifadəçi mobil cihazının müvafiq parametrlərini dəyişdirərək geolokasiya "
        "məlumatlarının ötürülməsini qadağan edə bilər; bu, mobil tətbiqdən istifadə edilə "
        "bilməməsi ilə nəticələnə bilər.",
        "The user can stop the transmission of location in the device settings; the app "
        "may then not work.",
        "Пользователь может запретить передачу геолокации в настройках устройства; в этом "
        "случае приложение может не работать.",
    ),
    "geo_no_switch_off": _w(
        "Xidmətdən istifadə edilərkən geolokasiya məlumatlarının ötürülməsi söndürülə bilməz.",
        "The transmission of location cannot be switched off while the service is used.",
        "Передачу геолокации нельзя отключить во время использования сервиса.",
    ),
    # mobile operator
    "mobile_sentence": _w(
        "Hüquq sahibi mobil tətbiq vasitəsi ilə İstifadəçiyə mobil rabitə xidmətlərini "
        "göstərən operator barəsində məlumatlar{data} əldə edir. Bu məlumatların "
        "toplanılmasının yeganə məqsədi aşağıdakıların avtomatik quraşdırılmasıdır: {derives}.",
        "The operator receives through the app data about the user's mobile network "
        "operator{data}. Its only purpose is to set automatically: {derives}.",
        "Оператор получает через приложение сведения об операторе мобильной связи "
        "Пользователя{data}. Единственная цель их сбора — автоматическая настройка: "
        "{derives}.",
    ),
    "derive_country": _w("İstifadəçinin olduğu ölkə", "the user's country", "страны Пользователя"),
    "derive_language": _w(
        "mobil tətbiqin interfeysinin dili",
        "the language of the app's interface",
        "языка интерфейса приложения",
    ),
    # payments
    "payments_data": _w(
        "Ödənişlərlə bağlı məlumatlar", "Payment-related data", "Данные, связанные с платежами"
    ),
    # cookies
    "cookie_no_consent": _w(
        "razılıq olmadan istifadə olunur: xidmətin işləməsi üçün zəruridir",
        "used without consent: needed for the service to work",
        "используются без согласия: необходимы для работы сервиса",
    ),
    "cookie_consent": _w(
        "yalnız İstifadəçinin razılığı ilə istifadə olunur; razılıq istənilən vaxt geri "
        "götürülə bilər",
        "used only with the user's consent, which can be withdrawn at any time",
        "используются только с согласия Пользователя, которое можно отозвать в любое время",
    ),
    "cookie_third_party": _w(
        "üçüncü tərəflər tərəfindən yerləşdirilir",
        "set by third parties",
        "устанавливаются третьими лицами",
    ),
    "cookies_intro": _w(
        "Razılıq hər bir kuki faylı növü üçün ayrıca verilir və cihaz üzrə qeydə alınır.",
        "Consent is given for each category of cookies separately and recorded per device.",
        "Согласие даётся отдельно для каждой категории файлов cookie и фиксируется для "
        "каждого устройства.",
    ),
    # notifications
    "notif_default_on": _w(
        "susmaya görə aktivdir; İstifadəçi onu söndürə bilər",
        "on by default; the user can switch it off",
        "включено по умолчанию; Пользователь может его отключить",
    ),
    "notif_opt_in": _w(
        "yalnız İstifadəçinin razılığı ilə göndərilir",
        "sent only if the user opts in",
        "отправляется только с согласия Пользователя",
    ),
    "notif_default_off": _w(
        "susmaya görə deaktivdir; İstifadəçi onu aktivləşdirə bilər",
        "off by default; the user can switch it on",
        "по умолчанию отключено; Пользователь может его включить",
    ),
    # rights
    "rights_intro": _w(
        "Fərdi məlumatların işlənməsi zamanı İstifadəçinin aşağıdakı hüquqları var:",
        "When personal data is processed, the user has the following rights:",
        "При обработке персональных данных Пользователь имеет следующие права:",
    ),
    "channels": _w("Sorğular qəbul edilir", "Requests are accepted", "Запросы принимаются"),
    "requirements_intro": _w(
        "Yazılı sorğuda (tələbdə) aşağıdakılar göstərilməlidir:",
        "A written request must contain:",
        "Письменный запрос (требование) должен содержать:",
    ),
    "deadline_sentence": _w(
        "Hüquq sahibi sorğunun alındığı tarixdən {duration} ərzində əsaslandırılmış cavab verir.",
        "The operator gives a reasoned answer within {duration} of receiving the request.",
        "Оператор даёт мотивированный ответ в течение {duration} со дня получения запроса.",
    ),
    "working_days_calendar": _w(
        "İş günləri {country} iş təqviminə (qeyri-iş və bayram günləri nəzərə alınmaqla) "
        "əsasən hesablanır.",
        "Working days are counted by the calendar of {country}, public holidays excluded.",
        "Рабочие дни считаются по производственному календарю {country} с учётом "
        "нерабочих праздничных дней.",
    ),
    # consent
    "acceptance_implicit_by_use": _w(
        "Mobil tətbiqin quraşdırılması və ya ondan istifadə edilməsi İstifadəçinin bu "
        "siyasətin şərtləri ilə, o cümlədən fərdi məlumatlarının işlənilməsinə razı olması "
        "deməkdir.",
        "Installing or using the app means that the user agrees to this policy, including "
        "the processing of their personal data.",
        "Установка или использование приложения означает согласие Пользователя с настоящей "
        "политикой, в том числе на обработку его персональных данных.",
    ),
    "acceptance_explicit": _w(
        "İstifadəçi bu siyasətlə razılığını açıq şəkildə bildirir.",
        "The user agrees to this policy explicitly.",
        "Пользователь выражает согласие с настоящей политикой явно.",
    ),
    "recorded_registration": _w(
        "Razılıq qeydiyyat zamanı siyasətin versiyası ilə birlikdə qeydə alınır.",
        "Consent is recorded at registration, together with the version of the policy.",
        "Согласие фиксируется при регистрации вместе с редакцией политики.",
    ),
    "recorded_first_use": _w(
        "Razılıq ilk istifadə zamanı siyasətin versiyası ilə birlikdə qeydə alınır.",
        "Consent is recorded at first use, together with the version of the policy.",
        "Согласие фиксируется при первом использовании вместе с редакцией политики.",
    ),
    "changes_when_posted": _w(
        "Siyasətin yeni versiyası mobil tətbiqdə yerləşdirildiyi andan qüvvəyə minir.",
        "A new version of the policy takes effect when it is posted in the app.",
        "Новая редакция политики вступает в силу с момента её размещения в приложении.",
    ),
    "changes_on_acceptance": _w(
        "Siyasətin yeni versiyası İstifadəçi onu qəbul etdikdən sonra qüvvəyə minir.",
        "A new version of the policy takes effect for the user once the user accepts it.",
        "Новая редакция политики вступает в силу для Пользователя после её принятия.",
    ),
    # retention phrases: {action}, {duration}, {trigger}
    "retention_within": _w(
        "{trigger} {duration} ərzində {action}",
        "{action} within {duration} of {trigger}",
        "{action} в течение {duration} с момента {trigger}",
    ),
    "retention_after": _w(
        "{trigger} {duration} sonra {action}",
        "{action} {duration} after {trigger}",
        "{action} через {duration} после {trigger}",
    ),
    "retention_immediately": _w(
        "{trigger} dərhal sonra {action}",
        "{action} immediately after {trigger}",
        "{action} сразу после {trigger}",
    ),
}
"""Every fixed sentence and label, by key, in each language; `{name}` marks a slot."""


# --------------------------------------------------------------------------- enum names

_ENUMS: dict[type, dict[str, W]] = {
    LegalBasis: {
        "consent": _w("İstifadəçinin razılığı", "Consent of the user", "Согласие Пользователя"),
        "contract": _w(
            "Müqavilənin (lisenziya müqaviləsinin) bağlanması və icrası",
            "Conclusion and performance of a contract",
            "Заключение и исполнение договора",
        ),
        "legal_obligation": _w(
            "Qanunvericilikdən irəli gələn vəzifə",
            "Obligation under the law",
            "Обязанность, установленная законом",
        ),
        "legitimate_interests": _w(
            "Hüquq sahibinin qanuni maraqları",
            "Legitimate interests of the operator",
            "Законные интересы оператора",
        ),
    },
    Sensitivity: {
        "low": _w("aşağı", "low", "низкий"),
        "medium": _w("orta", "medium", "средний"),
        "high": _w("yüksək", "high", "высокий"),
        "critical": _w("kritik", "critical", "критический"),
    },
    RoleKind: {
        "staff": _w(
            "Hüquq sahibinin əməkdaşları", "the operator's employees", "сотрудники оператора"
        ),
        "system": _w(
            "Hüquq sahibinin informasiya sistemi (avtomatlaşdırılmış işlənmə)",
            "the operator's information system (automated processing)",
            "информационная система оператора (автоматизированная обработка)",
        ),
        "subject": _w("İstifadəçinin özü", "the user themself", "сам Пользователь"),
        "counterpart": _w(
            "xidmətin digər iştirakçısı",
            "another participant of the service",
            "другой участник сервиса",
        ),
        "third_party": _w("üçüncü şəxs", "a third party", "третье лицо"),
        "authority": _w(
            "səlahiyyətli dövlət orqanı",
            "a competent public authority",
            "уполномоченный государственный орган",
        ),
    },
    RecipientKind: {
        "authority": _w(
            "səlahiyyətli dövlət orqanı",
            "competent public authority",
            "уполномоченный государственный орган",
        ),
        "processor": _w(
            "Hüquq sahibinin tapşırığı ilə məlumatları işləyən şəxs",
            "processor acting on the operator's instructions",
            "лицо, обрабатывающее данные по поручению оператора",
        ),
        "third_party": _w("üçüncü şəxs", "third party", "третье лицо"),
        "counterpart": _w(
            "xidmətin digər iştirakçısı",
            "another participant of the service",
            "другой участник сервиса",
        ),
    },
    RecipientBasis: {
        "law": _w(
            "qüvvədə olan qanunvericiliyə əsasən səlahiyyətli dövlət orqanının sorğusu",
            "a request of a competent authority under the law in force",
            "запрос уполномоченного государственного органа на основании действующего "
            "законодательства",
        ),
        "written_consent": _w(
            "İstifadəçinin əvvəlcədən alınmış yazılı razılığı",
            "the user's prior written consent",
            "предварительное письменное согласие Пользователя",
        ),
        "contract": _w(
            "İstifadəçi ilə müqavilənin icrası üçün zəruridir",
            "needed to perform the contract with the user",
            "необходимо для исполнения договора с Пользователем",
        ),
    },
    RightKind: {
        "existence": _w("Məlumatların mövcudluğu", "Existence of data", "Наличие данных"),
        "legal_basis": _w("Hüquqi əsas", "Legal basis", "Правовое основание"),
        "access": _w("Məlumatlarla tanış olmaq", "Access", "Ознакомление с данными"),
        "processing_info": _w(
            "İşlənmə haqqında məlumat", "Information about processing", "Сведения об обработке"
        ),
        "rectification": _w("Dəqiqləşdirmə", "Rectification", "Уточнение"),
        "destruction": _w("Məhv edilmə", "Destruction", "Уничтожение"),
        "prohibition": _w(
            "Toplanmanın və işlənmənin qadağan edilməsi",
            "Prohibition of collection and processing",
            "Запрет сбора и обработки",
        ),
        "sources": _w("Məlumatların mənbələri", "Sources of data", "Источники данных"),
        "protection": _w("Mühafizə", "Protection", "Защита"),
        "blocking": _w("Bloklaşdırma", "Blocking", "Блокирование"),
        "withdraw_consent": _w(
            "Razılığın geri götürülməsi", "Withdrawal of consent", "Отзыв согласия"
        ),
        "operator_info": _w(
            "Hüquq sahibi haqqında məlumat",
            "Information about the operator",
            "Сведения об операторе",
        ),
        "other": _w("Digər hüquqlar", "Other rights", "Иные права"),
    },
    RequestChannel: {
        "written": _w("yazılı şəkildə", "in writing", "в письменной форме"),
        "electronic": _w("elektron qaydada", "electronically", "в электронной форме"),
        "in_person": _w(
            "Hüquq sahibinin olduğu yer üzrə şəxsən",
            "in person at the operator's address",
            "лично по месту нахождения оператора",
        ),
        "registered_mail": _w(
            "sifarişli poçt göndərişi ilə", "by registered mail", "заказным почтовым отправлением"
        ),
    },
    RequestRequirement: {
        "id_document": _w(
            "İstifadəçinin və ya onun nümayəndəsinin şəxsiyyətini təsdiq edən əsas sənədin "
            "nömrəsi və seriyası",
            "the number and series of the main identity document of the user or their "
            "representative",
            "номер и серия основного документа, удостоверяющего личность Пользователя или его "
            "представителя",
        ),
        "id_issue": _w(
            "göstərilən sənədin verilmə tarixi və onu vermiş orqan",
            "the date of issue of that document and the authority that issued it",
            "дата выдачи указанного документа и выдавший его орган",
        ),
        "address_or_fin": _w(
            "İstifadəçinin yaşayış yerinin ünvanı (yeni növ şəxsiyyət vəsiqələrində PİN kod "
            "(FIN kod))",
            "the user's address of residence (for new-type identity cards, the PIN (FIN) code)",
            "адрес места жительства Пользователя (для удостоверений личности нового образца — "
            "PIN-код (FIN-код))",
        ),
        "relationship_proof": _w(
            "İstifadəçinin Hüquq sahibi ilə münasibətlərdə iştirakını təsdiq edən məlumatlar "
            "(müqavilə nömrəsi, müqavilənin bağlanma tarixi və (və ya) digər məlumatlar) və ya "
            "Hüquq sahibi tərəfindən fərdi məlumatların işlənməsi faktını başqa şəkildə təsdiq "
            "edən məlumatlar",
            "information confirming the user's relationship with the operator (contract number, "
            "contract date and/or other information), or otherwise confirming that the "
            "operator processes the personal data",
            "сведения, подтверждающие участие Пользователя в отношениях с оператором (номер "
            "договора, дата его заключения и (или) иные сведения), либо иным образом "
            "подтверждающие факт обработки персональных данных оператором",
        ),
        "signature": _w(
            "İstifadəçinin və ya onun nümayəndəsinin imzası",
            "the signature of the user or their representative",
            "подпись Пользователя или его представителя",
        ),
    },
    RetentionAction: {
        "destroy": _w(
            "bərpası imkanı olmadan məhv edilir",
            "destroyed irrecoverably",
            "безвозвратно уничтожаются",
        ),
        "passive": _w(
            "passiv saxlanmaya keçirilir",
            "moved to passive storage",
            "переводятся в пассивное хранение",
        ),
    },
    # As the `{trigger}` of the retention phrases: az ablative "from the moment of",
    # en a noun phrase, ru the genitive after "с момента" / "после".
    RetentionTrigger: {
        "registration": _w("qeydiyyat anından", "registration", "регистрации"),
        "collection": _w("toplandığı andan", "collection", "сбора"),
        "order_end": _w(
            "sifarişin başa çatdığı andan", "the end of the order", "завершения заказа"
        ),
        "account_closure": _w(
            "hesabın bağlandığı andan", "the closure of the account", "закрытия учётной записи"
        ),
    },
    Acceptance: {
        "implicit_by_use": _w(
            "istifadə ilə razılıq", "agreement by use", "согласие путём использования"
        ),
        "explicit": _w("açıq razılıq", "explicit agreement", "явное согласие"),
    },
}

#: Where each category's data comes from (`Category.source`).
_SOURCES: dict[str, W] = {
    "subject": _w("İstifadəçi", "the user", "Пользователь"),
    "device": _w(
        "İstifadəçinin mobil cihazı",
        "the user's mobile device",
        "мобильное устройство Пользователя",
    ),
    "operator": _w("Hüquq sahibi", "the operator", "оператор"),
    "counterpart": _w(
        "xidmətin digər iştirakçısı",
        "another participant of the service",
        "другой участник сервиса",
    ),
    "acquirer": _w("bank-ekvayer", "the acquiring bank", "банк-эквайер"),
}

ENUM_LABELS: dict[str, dict[str, W]] = {cls.__name__: labels for cls, labels in _ENUMS.items()}
ENUM_LABELS["CategorySource"] = _SOURCES
"""The name of every enum value in each language, by enum class name."""


# --------------------------------------------------------------------------- durations

# en: (singular, plural)
_EN_UNITS: dict[str, tuple[str, str]] = {
    "min": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "d": ("day", "days"),
    "w": ("week", "weeks"),
    "mo": ("month", "months"),
    "y": ("year", "years"),
    "working_days": ("working day", "working days"),
    "calendar_days": ("calendar day", "calendar days"),
}

# az: a noun after a numeral stays singular ("24 saat", "7 iş günü").
_AZ_UNITS: dict[str, str] = {
    "min": "dəqiqə",
    "h": "saat",
    "d": "gün",
    "w": "həftə",
    "mo": "ay",
    "y": "il",
    "working_days": "iş günü",
    "calendar_days": "təqvim günü",
}

# ru: nominative one/few/many, accusative one (few and many equal the nominative for these
# inanimate nouns), genitive one/many ("в течение 1 года", "в течение 5 лет").
_RU_UNITS: dict[str, tuple[str, str, str, str, str, str]] = {
    "min": ("минута", "минуты", "минут", "минуту", "минуты", "минут"),
    "h": ("час", "часа", "часов", "час", "часа", "часов"),
    "d": ("день", "дня", "дней", "день", "дня", "дней"),
    "w": ("неделя", "недели", "недель", "неделю", "недели", "недель"),
    "mo": ("месяц", "месяца", "месяцев", "месяц", "месяца", "месяцев"),
    "y": ("год", "года", "лет", "год", "года", "лет"),
    "working_days": (
        "рабочий день",
        "рабочих дня",
        "рабочих дней",
        "рабочий день",
        "рабочего дня",
        "рабочих дней",
    ),
    "calendar_days": (
        "календарный день",
        "календарных дня",
        "календарных дней",
        "календарный день",
        "календарного дня",
        "календарных дней",
    ),
}

UNITS = frozenset(_EN_UNITS)


def ru_plural(count: int) -> Literal["one", "few", "many"]:
    """The Russian plural category of a whole number (CLDR rules for integers)."""
    if count % 10 == 1 and count % 100 != 11:
        return "one"
    if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        return "few"
    return "many"


def duration_words(count: int, unit: str, lang: str, *, case: Case = "nom") -> str:
    """`count` of `unit` in words: "24 saat", "1 year", "5 лет", "7 рабочих дней"."""
    lang = check_lang(lang)
    if unit not in UNITS:
        raise Invalid(f"unknown duration unit {unit!r}; allowed: {', '.join(sorted(UNITS))}")
    if count < 0:
        raise Invalid(f"a duration cannot be negative, got {count}")
    if lang == "az":
        return f"{count} {_AZ_UNITS[unit]}"
    if lang == "en":
        singular, plural = _EN_UNITS[unit]
        return f"{count} {singular if count == 1 else plural}"
    nom_one, nom_few, nom_many, acc_one, gen_one, gen_many = _RU_UNITS[unit]
    form = ru_plural(count)
    if case == "gen":
        word = gen_one if form == "one" else gen_many
    elif form == "one":
        word = acc_one if case == "acc" else nom_one
    else:
        word = nom_few if form == "few" else nom_many
    return f"{count} {word}"


# --------------------------------------------------------------------------- dates, places

_MONTHS: dict[Lang, tuple[str, ...]] = {
    "az": (
        "yanvar", "fevral", "mart", "aprel", "may", "iyun",
        "iyul", "avqust", "sentyabr", "oktyabr", "noyabr", "dekabr",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "ru": (
        "января", "февраля", "марта", "апреля", "мая", "июня",
        "июля", "августа", "сентября", "октября", "ноября", "декабря",
    ),
}  # fmt: skip


def format_date(value: date, lang: str) -> str:
    """A date in words: "1 yanvar 2025", "1 January 2025", "1 января 2025 г."."""
    lang = check_lang(lang)
    text = f"{value.day} {_MONTHS[lang][value.month - 1]} {value.year}"
    return text + " г." if lang == "ru" else text


# The country whose calendar counts working days; az and ru in the genitive
# ("Azərbaycan Respublikasının iş təqvimi", "календарь Азербайджанской Республики").
_COUNTRIES: dict[str, W] = {
    "AZ": _w(
        "Azərbaycan Respublikasının", "the Republic of Azerbaijan", "Азербайджанской Республики"
    ),
    "GE": _w("Gürcüstanın", "Georgia", "Грузии"),
    "KZ": _w("Qazaxıstan Respublikasının", "the Republic of Kazakhstan", "Республики Казахстан"),
    "RU": _w("Rusiya Federasiyasının", "the Russian Federation", "Российской Федерации"),
    "TR": _w("Türkiyə Respublikasının", "the Republic of Türkiye", "Турецкой Республики"),
    "UZ": _w("Özbəkistan Respublikasının", "the Republic of Uzbekistan", "Республики Узбекистан"),
}


def jurisdiction_name(code: str, lang: str) -> str:
    """The country of an ISO 3166 code, as the owner of a calendar; the code if unknown."""
    names = _COUNTRIES.get(code)
    return names[check_lang(lang)] if names else code


# --------------------------------------------------------------------------- lookups


def check_lang(lang: str) -> Lang:
    """`lang` if it is a notice language, else `Invalid` naming the allowed ones."""
    for known in LANGS:
        if lang == known:
            return known
    raise Invalid(f"unknown notice language {lang!r}; allowed: {', '.join(LANGS)}")


def message(key: str, lang: str, **slots: str) -> str:
    """The fixed sentence `key` in `lang`, its `{slots}` filled."""
    text = MESSAGES[key][check_lang(lang)]
    return text.format(**slots) if slots else text


def enum_label(enum_name: str, value: str, lang: str) -> str:
    """The name of one enum value (`enum_label("LegalBasis", "contract", "az")`)."""
    return ENUM_LABELS[enum_name][value][check_lang(lang)]

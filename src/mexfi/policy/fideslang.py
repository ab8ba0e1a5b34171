"""The fideslang default taxonomy: the keys a Fides data map may use.

Source: github.com/ethyca/fideslang, tag 2.2.2 (commit 1fabbf90cd27, 2023-11-16),
files src/fideslang/default_taxonomy/data_categories.py, data_uses.py and
data_subjects.py: every `fides_key` declared there. `personalize.profiling` is left
out: it is deprecated since 2.1.1 (replaced by `personalize.content.profiling`).
fideslang 3.x (checked up to 3.1.4a1) adds one data use,
`functional.storage.privacy_preferences`, and changes nothing else in these lists.
Only the keys are kept (no names or descriptions), so Fides itself is not needed.
"""

from __future__ import annotations

import re

__all__ = [
    "DATA_CATEGORIES",
    "DATA_SUBJECTS",
    "DATA_USES",
    "FIDESLANG_VERSION",
    "is_fides_key",
]

FIDESLANG_VERSION = "2.2.2"

#: fideslang `FidesKey` (validation.py): letters, digits and `_ . < > -`.
_FIDES_KEY_RE = re.compile(r"^[a-zA-Z0-9_.<>-]+$")

DATA_CATEGORIES: frozenset[str] = frozenset(
    {
        "system",
        "system.authentication",
        "system.operations",
        "user",
        "user.account",
        "user.account.settings",
        "user.account.username",
        "user.authorization",
        "user.authorization.biometric",
        "user.authorization.credentials",
        "user.authorization.password",
        "user.behavior",
        "user.behavior.browsing_history",
        "user.behavior.media_consumption",
        "user.behavior.purchase_history",
        "user.behavior.search_history",
        "user.biometric",
        "user.biometric.fingerprint",
        "user.biometric.health",
        "user.biometric.retinal",
        "user.biometric.voice",
        "user.childrens",
        "user.contact",
        "user.contact.address",
        "user.contact.address.city",
        "user.contact.address.country",
        "user.contact.address.postal_code",
        "user.contact.address.state",
        "user.contact.address.street",
        "user.contact.email",
        "user.contact.fax_number",
        "user.contact.organization",
        "user.contact.phone_number",
        "user.contact.url",
        "user.content",
        "user.content.private",
        "user.content.public",
        "user.content.self_image",
        "user.criminal_history",
        "user.demographic",
        "user.demographic.age_range",
        "user.demographic.date_of_birth",
        "user.demographic.gender",
        "user.demographic.language",
        "user.demographic.marital_status",
        "user.demographic.political_opinion",
        "user.demographic.profile",
        "user.demographic.race_ethnicity",
        "user.demographic.religious_belief",
        "user.demographic.sexual_orientation",
        "user.device",
        "user.device.cookie",
        "user.device.cookie_id",
        "user.device.device_id",
        "user.device.ip_address",
        "user.financial",
        "user.financial.bank_account",
        "user.financial.credit_card",
        "user.government_id",
        "user.government_id.birth_certificate",
        "user.government_id.drivers_license_number",
        "user.government_id.immigration",
        "user.government_id.national_identification_number",
        "user.government_id.passport_number",
        "user.government_id.vehicle_registration",
        "user.health_and_medical",
        "user.health_and_medical.genetic",
        "user.health_and_medical.insurance_beneficiary_id",
        "user.health_and_medical.record_id",
        "user.job_title",
        "user.location",
        "user.location.imprecise",
        "user.location.precise",
        "user.name",
        "user.name.first",
        "user.name.last",
        "user.payment",
        "user.privacy_preferences",
        "user.sensor",
        "user.social",
        "user.telemetry",
        "user.unique_id",
        "user.unique_id.pseudonymous",
        "user.user_sensor",
        "user.workplace",
    }
)
"""The 85 default data category keys."""

DATA_USES: frozenset[str] = frozenset(
    {
        "analytics",
        "analytics.reporting",
        "analytics.reporting.ad_performance",
        "analytics.reporting.campaign_insights",
        "analytics.reporting.content_performance",
        "analytics.reporting.system",
        "analytics.reporting.system.performance",
        "collect",
        "employment",
        "employment.recruitment",
        "essential",
        "essential.fraud_detection",
        "essential.legal_obligation",
        "essential.service",
        "essential.service.authentication",
        "essential.service.notifications",
        "essential.service.notifications.email",
        "essential.service.notifications.sms",
        "essential.service.operations",
        "essential.service.operations.improve",
        "essential.service.operations.support",
        "essential.service.payment_processing",
        "essential.service.security",
        "essential.service.upgrades",
        "finance",
        "functional",
        "functional.service",
        "functional.service.improve",
        "functional.storage",
        "marketing",
        "marketing.advertising",
        "marketing.advertising.first_party",
        "marketing.advertising.first_party.contextual",
        "marketing.advertising.first_party.targeted",
        "marketing.advertising.frequency_capping",
        "marketing.advertising.negative_targeting",
        "marketing.advertising.profiling",
        "marketing.advertising.serving",
        "marketing.advertising.third_party",
        "marketing.advertising.third_party.targeted",
        "marketing.communications",
        "marketing.communications.email",
        "marketing.communications.sms",
        "operations",
        "personalize",
        "personalize.content",
        "personalize.content.limited",
        "personalize.content.profiled",
        "personalize.content.profiling",
        "personalize.system",
        "sales",
        "third_party_sharing",
        "third_party_sharing.legal_obligation",
        "train_ai_system",
    }
)
"""The 54 default, non-deprecated data use keys."""

DATA_SUBJECTS: frozenset[str] = frozenset(
    {
        "anonymous_user",
        "citizen_voter",
        "commuter",
        "consultant",
        "customer",
        "employee",
        "job_applicant",
        "next_of_kin",
        "passenger",
        "patient",
        "prospect",
        "shareholder",
        "supplier_vendor",
        "trainee",
        "visitor",
    }
)
"""The 15 default data subject keys."""


def is_fides_key(value: str) -> bool:
    """Whether `value` matches fideslang's `FidesKey` pattern."""
    return _FIDES_KEY_RE.match(value) is not None

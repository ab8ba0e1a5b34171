"""Data-subject requests: every right of TX-3, TX-4.1 and BK-3.2, the written-request checks
of TX-11, deadlines in Azerbaijani working days, answers in az, en and ru.

    MexfiError
    ├── NotFound     RequestNotFound
    ├── Conflict     RequestStateConflict, NoPhoneOnRecord
    ├── Invalid      InvalidRequest, UnknownCodeSender
    ├── Denied       RightNotOffered, VerificationFailed, VerificationDenied, TooManyCodes
    └── Unavailable  LetterUnavailable, CodeNotSent

A request is carried out only once its author is proven to be the subject (`verification`:
a one-time code through a `CodeSender`, or the DPO's out-of-band check).
"""

from mexfi.requests.answers import (
    Letter,
    answer_from_export,
    build_letter,
    export_access,
    export_json,
    find_fonts,
    render_letter,
    write_access_export,
)
from mexfi.requests.calendar import WorkingCalendar, due_at, due_date, working_calendar
from mexfi.requests.errors import (
    CodeNotSent,
    InvalidRequest,
    LetterUnavailable,
    NoPhoneOnRecord,
    RequestNotFound,
    RequestStateConflict,
    RightNotOffered,
    TooManyCodes,
    UnknownCodeSender,
    VerificationDenied,
    VerificationFailed,
)
from mexfi.requests.schemas import (
    Answer,
    DestructionPreview,
    RequestCheck,
    RequestKind,
    RequestRead,
    RequestState,
    WrittenDetails,
)
from mexfi.requests.service import (
    add_request,
    amend_request,
    answer_request,
    check_request,
    destruction_preview,
    get_request,
    list_requests,
    offered_kinds,
    reject_request,
    request_history,
    resume_released,
    withdraw_request,
)
from mexfi.requests.verification import (
    CODE_TTL,
    CODES_PER_HOUR,
    MAX_ATTEMPTS,
    CodeMessage,
    CodeSender,
    ConsoleSender,
    OutOfBand,
    VerificationRead,
    code_sender,
    send_code,
    verification_status,
    verify_code,
    verify_out_of_band,
)

__all__ = [
    "CODES_PER_HOUR",
    "CODE_TTL",
    "MAX_ATTEMPTS",
    "Answer",
    "CodeMessage",
    "CodeNotSent",
    "CodeSender",
    "ConsoleSender",
    "DestructionPreview",
    "InvalidRequest",
    "Letter",
    "LetterUnavailable",
    "NoPhoneOnRecord",
    "OutOfBand",
    "RequestCheck",
    "RequestKind",
    "RequestNotFound",
    "RequestRead",
    "RequestState",
    "RequestStateConflict",
    "RightNotOffered",
    "TooManyCodes",
    "UnknownCodeSender",
    "VerificationDenied",
    "VerificationFailed",
    "VerificationRead",
    "WorkingCalendar",
    "WrittenDetails",
    "add_request",
    "amend_request",
    "answer_from_export",
    "answer_request",
    "build_letter",
    "check_request",
    "code_sender",
    "destruction_preview",
    "due_at",
    "due_date",
    "export_access",
    "export_json",
    "find_fonts",
    "get_request",
    "list_requests",
    "offered_kinds",
    "reject_request",
    "render_letter",
    "request_history",
    "resume_released",
    "send_code",
    "verification_status",
    "verify_code",
    "verify_out_of_band",
    "withdraw_request",
    "working_calendar",
    "write_access_export",
]

"""Data-subject requests: every right of TX-3, TX-4.1 and BK-3.2, the written-request checks
of TX-11, deadlines in Azerbaijani working days, answers in az, en and ru.

    MexfiError
    ├── NotFound     RequestNotFound
    ├── Conflict     RequestStateConflict
    ├── Invalid      InvalidRequest
    ├── Denied       RightNotOffered
    └── Unavailable  LetterUnavailable
"""

from mexfi.requests.answers import (
    Letter,
    build_letter,
    export_access,
    export_json,
    find_fonts,
    render_letter,
    write_access_export,
)
from mexfi.requests.calendar import WorkingCalendar, due_at, due_date, working_calendar
from mexfi.requests.errors import (
    InvalidRequest,
    LetterUnavailable,
    RequestNotFound,
    RequestStateConflict,
    RightNotOffered,
)
from mexfi.requests.schemas import (
    Answer,
    RequestKind,
    RequestRead,
    RequestState,
    WrittenDetails,
)
from mexfi.requests.service import (
    add_request,
    answer_request,
    get_request,
    list_requests,
    offered_kinds,
    reject_request,
    request_history,
)

__all__ = [
    "Answer",
    "InvalidRequest",
    "Letter",
    "LetterUnavailable",
    "RequestKind",
    "RequestNotFound",
    "RequestRead",
    "RequestState",
    "RequestStateConflict",
    "RightNotOffered",
    "WorkingCalendar",
    "WrittenDetails",
    "add_request",
    "answer_request",
    "build_letter",
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
    "working_calendar",
    "write_access_export",
]

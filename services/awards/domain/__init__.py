"""Awards' rules, pure: who grants a form for a nominee, the nomination workflow, one achievement
one award, once-only forms, awards conferred and revoked, gifts.

Every function takes what it needs (the catalogue's form, the nominee's ancestry, the stored
aggregates) and returns new state plus the events to publish; nothing here does I/O."""

from services.awards.domain.authority import POLICE_FLAG, grantor_of, police_of, province_of, require_decider
from services.awards.domain.forms import check_form
from services.awards.domain.gifts import record_gift
from services.awards.domain.model import (
    Ancestor,
    Award,
    Decision,
    FileLimits,
    Gift,
    KnownFestival,
    Nomination,
    Revocation,
    Step,
    achievement_key,
    decision_id,
    keys,
    keys_for,
    nominee_key,
    sort_key,
)
from services.awards.domain.workflow import (
    OPEN,
    approve,
    check_decision_date,
    check_festival,
    confer,
    refuse_duplicate,
    refuse_once_only,
    reject,
    resubmit,
    return_,
    revoke,
    submit,
)

__all__ = [
    "OPEN",
    "POLICE_FLAG",
    "Ancestor",
    "Award",
    "Decision",
    "FileLimits",
    "Gift",
    "KnownFestival",
    "Nomination",
    "Revocation",
    "Step",
    "achievement_key",
    "approve",
    "check_decision_date",
    "check_festival",
    "check_form",
    "confer",
    "decision_id",
    "grantor_of",
    "keys",
    "keys_for",
    "nominee_key",
    "police_of",
    "province_of",
    "record_gift",
    "refuse_duplicate",
    "refuse_once_only",
    "reject",
    "require_decider",
    "resubmit",
    "return_",
    "revoke",
    "sort_key",
    "submit",
]

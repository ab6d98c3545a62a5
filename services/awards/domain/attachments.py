"""Files of a dossier (tờ trình, báo cáo thành tích, biên bản, photos): what a dossier takes — who adds
them, while it is open, the allow-listed types and their names, the limits of a file and of a dossier.
The upload itself (its bytes, digest and content) is checked by `services/awards/files.py`.

Pure: no I/O."""

from __future__ import annotations

import datetime as dt

from services.awards.domain.decisions import Chain, ids, known_chain, missing, refuse_unknown
from services.awards.domain.model import Attachment, FileLimits, Nomination
from shared.authz import Permission, require_scope
from shared.contract import awards as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, RuleViolation
from shared.contract.events import DomainEvent

EXTENSIONS = {  # the names a file of each allowed media type may have
    "application/pdf": ("pdf",),
    "image/jpeg": ("jpg", "jpeg"),
    "image/png": ("png",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
}
DOSSIER_OPEN = ("submitted", "returned", "resubmitted")  # files may join it until it is decided
MB = 1024 * 1024


def attachment(
    n: Nomination | None,
    cmd: c.AttachFile,
    attachment_id: str,
    chain: Chain,
    limits: FileLimits,
    actor: Actor,
    permission: Permission,
    today: dt.date,
) -> tuple[Nomination, DomainEvent]:
    """An officer of the nominee's unit or above, or of the granting unit (the council's minutes), adds a
    file to a dossier not yet decided, within the limits: the allow-listed media types, the size of a
    file and of the dossier, the number of files. The upload itself is checked by the handler after."""
    what = f"attach a file to nomination {cmd.nomination_id}"
    if n is None:
        raise refuse_unknown(actor, permission, what, missing(cmd.nomination_id))
    known = known_chain(chain, n.nominee.unit_id, today)
    require_scope(actor, [*ids(known), *([n.grantor.unit_id] if n.grantor.unit_id else [])], permission, what)
    if n.status not in DOSSIER_OPEN:
        raise Conflict(
            f"nomination {n.nomination_id} is {n.status}: files join a dossier until it is decided",
            [{"field": "status", "value": n.status, "rule": "dossier_open"}],
        )
    if cmd.media_type not in c.MEDIA_TYPES:
        allowed = ", ".join(f"{v} ({k})" for k, v in c.MEDIA_TYPES.items())
        raise RuleViolation(
            f"{cmd.name}: media type {cmd.media_type} is not accepted; a dossier takes {allowed}",
            [{"field": "media_type", "value": cmd.media_type, "rule": "media_type_allowed"}],
        )
    if "/" in cmd.name or "\\" in cmd.name or cmd.name.strip(". ") == "":
        raise RuleViolation(
            f"{cmd.name!r} is not a file name: no folders (/ or \\), not only dots",
            [{"field": "name", "value": cmd.name, "rule": "file_name"}],
        )
    suffix = cmd.name.rsplit(".", 1)[-1].lower() if "." in cmd.name else ""
    if suffix not in EXTENSIONS[cmd.media_type]:
        wanted = " or ".join(f".{x}" for x in EXTENSIONS[cmd.media_type])
        raise RuleViolation(
            f"{cmd.name}: a {c.MEDIA_TYPES[cmd.media_type]} file's name ends in {wanted}",
            [{"field": "name", "value": cmd.name, "rule": "name_matches_type"}],
        )
    if any(a.sha256 == cmd.sha256 for a in n.attachments):
        same = next(a for a in n.attachments if a.sha256 == cmd.sha256)
        raise Conflict(
            f"{cmd.name} is already in the dossier (attachment {same.attachment_id}, {same.name})",
            [{"field": "sha256", "rule": "attachment_repeated", "attachment_id": same.attachment_id}],
        )
    if cmd.size > limits.file_bytes:
        raise RuleViolation(
            f"{cmd.name} is {cmd.size / MB:.1f} MB; a file may be at most {limits.file_bytes / MB:.0f} MB",
            [{"field": "size", "value": cmd.size, "rule": "file_size", "limit": limits.file_bytes}],
        )
    if any(a.attachment_id == attachment_id for a in n.attachments):
        raise Conflict(f"attachment {attachment_id} already exists", [{"field": "attachment_id"}])
    if len(n.attachments) >= limits.files:
        raise RuleViolation(
            f"the dossier already has {len(n.attachments)} files, the most it may have",
            [{"rule": "dossier_files", "limit": limits.files}],
        )
    total = sum(a.size for a in n.attachments) + cmd.size
    if total > limits.dossier_bytes:
        raise RuleViolation(
            f"with {cmd.name} the dossier would hold {total / MB:.1f} MB; a dossier may hold at most "
            f"{limits.dossier_bytes / MB:.0f} MB",
            [{"field": "size", "value": cmd.size, "rule": "dossier_size", "limit": limits.dossier_bytes}],
        )
    kept = Attachment(
        attachment_id=attachment_id,
        kind=cmd.kind,
        name=cmd.name,
        media_type=cmd.media_type,
        size=cmd.size,
        sha256=cmd.sha256,
        attached_on=today,
        attached_by=actor.id,
    )
    new = n.model_copy(update={"attachments": [*n.attachments, kept], "version": n.version + 1})
    data = c.NominationAttached(nomination_id=n.nomination_id, attachment=kept)
    return new, DomainEvent("nomination", "attached", n.nomination_id, data, new.version)

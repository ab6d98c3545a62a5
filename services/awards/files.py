"""Dossier files: an upload in the JetStream object store `antq-uploads` checked against what the
command says of it (size, SHA-256, media type by its content) and copied into awards' own database
(GridFS bucket `attachments`, keyed by the SHA-256: one copy per content, the copy idempotent), where
backup and restore carry it with the dossier; read back in parts, in the readers' scope only.

The copy is made before the command's transaction writes the dossier, outside it (a file is many
chunks): a command refused afterwards leaves a copy nothing names, which costs space, never a wrong
answer."""

from __future__ import annotations

import base64
import hashlib
import tempfile
import zipfile
from typing import IO, Any

from gridfs import AsyncGridFSBucket, NoFile
from nats.js import JetStreamContext
from nats.js.errors import BadObjectMetaError, DigestMismatchError, NotFoundError, ObjectNotFoundError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contract import awards as c
from shared.contract.errors import NotFound, RuleViolation, Unavailable
from shared.contract.subjects import UPLOADS_BUCKET
from shared.runtime.mongo import Doc

BUCKET = "attachments"
SPOOL_BYTES = 1024 * 1024  # a larger upload is spooled to a temporary file, not held in memory
ZIP_PARTS = {  # an Office file is a ZIP holding this part
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "word/document.xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xl/workbook.xml",
}


def content_is(media_type: str, head: bytes, file: IO[bytes]) -> bool:
    """Whether the bytes are what the media type says (by their signature; an Office file by its part)."""
    if media_type == "application/pdf":
        return head.startswith(b"%PDF-")
    if media_type == "image/jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if media_type == "image/png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if media_type in ZIP_PARTS:
        if not head.startswith(b"PK\x03\x04"):
            return False
        file.seek(0)
        try:
            with zipfile.ZipFile(file) as z:
                return ZIP_PARTS[media_type] in z.namelist()
        except zipfile.BadZipFile:
            return False
    return False


def refuse(message: str, rule: str, field: str = "upload", **more: Any) -> RuleViolation:
    return RuleViolation(message, [{"field": field, "rule": rule, **more}])


class Files:
    def __init__(self, db: AsyncDatabase[Doc], js: JetStreamContext | None) -> None:
        self.db = db
        self.js = js
        self.bucket = AsyncGridFSBucket(db, bucket_name=BUCKET)

    async def has(self, sha256: str) -> bool:
        return await self.db[f"{BUCKET}.files"].find_one({"_id": sha256}, {"_id": 1}) is not None

    async def keep(self, cmd: c.AttachFile) -> None:
        """Check the upload `cmd` names and copy it in; a content already kept is not copied again (a
        retried command, or the same file in two dossiers), but the upload is read and hashed all the
        same: naming a digest proves nothing, holding the bytes does (else whoever learnt a file's
        digest could attach it to a dossier of their own and read it)."""
        if self.js is None:
            raise Unavailable("the broker is not connected yet; send the same command again")
        try:
            store = await self.js.object_store(UPLOADS_BUCKET)
            info = await store.get_info(cmd.upload)
        except BadObjectMetaError:
            raise refuse(f"upload {cmd.upload!r} has no readable record in {UPLOADS_BUCKET}", "upload_exists") from None
        except (ObjectNotFoundError, NotFoundError):
            raise NotFound(
                f"upload {cmd.upload!r} is not in the {UPLOADS_BUCKET} object store (put it there first; an "
                "upload not attached expires)",
                [{"field": "upload", "value": cmd.upload, "rule": "upload_exists"}],
            ) from None
        if info.size != cmd.size:
            raise refuse(
                f"upload {cmd.upload!r} is {info.size} bytes, not {cmd.size} as the command says", "size_matches"
            )
        digest = base64.urlsafe_b64encode(bytes.fromhex(cmd.sha256)).decode()
        given = info.digest or ""
        if given[:8].upper() != "SHA-256=" or given[8:] != digest:
            raise refuse(f"upload {cmd.upload!r} does not have the SHA-256 the command gives", "sha256_matches")
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            try:
                await store.get(cmd.upload, writeinto=spool)  # type: ignore[arg-type]
            except (DigestMismatchError, BadObjectMetaError):  # chunks that are not what the upload's record says
                said = f"upload {cmd.upload!r} does not have the SHA-256 the command gives"
                raise refuse(said, "sha256_matches") from None
            except (ObjectNotFoundError, NotFoundError):
                gone = f"upload {cmd.upload!r} expired while it was read"
                raise NotFound(gone, [{"field": "upload", "rule": "upload_exists"}]) from None
            spool.seek(0)
            h = hashlib.sha256()
            while chunk := spool.read(1024 * 1024):
                h.update(chunk)
            if h.hexdigest() != cmd.sha256 or spool.tell() != cmd.size:
                raise refuse(f"upload {cmd.upload!r} does not have the SHA-256 the command gives", "sha256_matches")
            spool.seek(0)
            head = spool.read(16)
            if not content_is(cmd.media_type, head, spool):
                raise refuse(
                    f"{cmd.name}: its content is not {c.MEDIA_TYPES.get(cmd.media_type, cmd.media_type)} as its media "
                    f"type {cmd.media_type} says",
                    "content_matches_type",
                    "media_type",
                )
            spool.seek(0)
            if await self.has(cmd.sha256):  # the same content, kept before
                return
            try:
                await self.bucket.upload_from_stream_with_id(
                    cmd.sha256, cmd.name, spool, metadata={"media_type": cmd.media_type, "size": cmd.size}
                )
            except DuplicateKeyError:  # the same content copied at the same moment by another command
                pass

    async def read(self, sha256: str, offset: int, length: int) -> bytes:
        try:
            stream = await self.bucket.open_download_stream(sha256)
        except NoFile:
            raise NotFound("the file's content is missing from awards' store", [{"rule": "file_kept"}]) from None
        try:
            await stream.seek(offset)
            return await stream.read(length)
        finally:
            await stream.close()

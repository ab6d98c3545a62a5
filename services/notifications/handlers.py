"""Notifications' commands: recipients. An actor adds a recipient for a unit they have authority over
(the unit or one of its ancestors, DESIGN §2), and removes or rotates the secret of one in that scope.
A webhook secret is generated when none is given and returned once; it never appears in an event. A
webhook URL must lead to a public address (services/notifications/egress.py). Each handler reads,
then decides, then saves."""

from __future__ import annotations

import datetime as dt

from services.notifications import egress, rules
from services.notifications.deps import Notifications
from services.notifications.store import NotificationsStore, Recipient, SecretEntry
from shared.authz import Permission, require_scope
from shared.contract import notifications as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, NotFound, RuleViolation
from shared.contract.events import DomainEvent
from shared.runtime.pipeline import CommandSpec, Handled
from shared.runtime.pipeline import Context as BaseContext

Context = BaseContext[NotificationsStore, Notifications]


# ------------------------------------------------------------------------------------ deciding (pure)


def scope_of(actor: Actor, permission: Permission, unit_id: str, known: bool, chain: list[str], today: dt.date) -> None:
    """The recipient's scope: a unit notifications knows (an unknown one is refused like one out of the
    actor's authority, in the same words; only a platform admin learns it is not known yet), in the
    actor's subtree, active today."""
    what = f"add a recipient for unit {unit_id}"
    require_scope(actor, chain if known else [], permission, what)
    if not known:
        raise NotFound(
            f"unit {unit_id} is not known to notifications (yet): it learns units from registry's events",
            [{"rule": "not_known_yet", "field": "scope_unit_id", "value": unit_id}],
        )
    if not chain:
        raise RuleViolation(
            f"unit {unit_id} does not exist on {today.isoformat()} (closed, or not yet valid)",
            [{"field": "scope_unit_id", "value": unit_id, "rule": "unit_active"}],
        )


def in_scope(
    actor: Actor, permission: Permission, r: Recipient | None, recipient_id: str, chain: list[str], what: str
) -> Recipient:
    """A recipient the actor manages: of a scope in the actor's subtree (a removed or unknown one reads the
    same as one out of scope, except to a platform admin)."""
    if r is None or r.status == "removed":
        require_scope(actor, [], permission, what)
        raise NotFound(f"recipient {recipient_id} does not exist", [{"field": "recipient_id", "value": recipient_id}])
    require_scope(actor, chain, permission, what)
    return r


async def recipient_of(ctx: Context, recipient_id: str) -> tuple[Recipient | None, list[str]]:
    """A recipient and its scope's ancestry today, read."""
    r = await ctx.store.recipient(recipient_id)
    chain = (await ctx.store.units.ancestry(r.scope_unit_id, ctx.today) or [r.scope_unit_id]) if r else []
    return r, chain


# ------------------------------------------------------------------------------------ commands


async def add_recipient(cmd: c.AddRecipient, ctx: Context) -> Handled:
    known = await ctx.store.units.get(cmd.scope_unit_id) is not None
    chain = await ctx.store.units.ancestry(cmd.scope_unit_id, ctx.today) if known else []
    addresses = None
    if cmd.channel == "webhook":  # where the URL leads, checked below: no webhook into the province's network
        target = egress.target_of(cmd.address)
        addresses = await ctx.deps.resolver(target.host, target.port)
    recipient_id = cmd.recipient_id or ctx.new_id()
    taken = cmd.recipient_id is not None and await ctx.store.recipient(recipient_id) is not None
    scope_of(ctx.actor, ctx.permission, cmd.scope_unit_id, known, chain, ctx.today)
    if addresses is not None:
        egress.check(cmd.address, addresses, ctx.deps.egress)
    if taken:
        raise Conflict(f"recipient {recipient_id} already exists", [{"field": "recipient_id", "value": recipient_id}])
    generated = cmd.channel == "webhook" and cmd.secret is None
    secret = rules.new_secret() if generated else cmd.secret
    r = Recipient(
        recipient_id=recipient_id,
        scope_unit_id=cmd.scope_unit_id,
        events=sorted(set(cmd.events)),
        channel=cmd.channel,
        address=cmd.address,
        mode=cmd.mode,
        language=cmd.language,
        secrets=[SecretEntry(secret=secret)] if secret else [],
        created_at=ctx.now,
    )
    await ctx.store.save_recipient(r, None)
    event = c.RecipientAdded(
        recipient_id=recipient_id,
        scope_unit_id=r.scope_unit_id,
        events=r.events,
        channel=r.channel,
        mode=r.mode,
        language=r.language,
    )
    result: dict[str, object] = {"recipient_id": recipient_id}
    if generated:
        result["secret"] = secret  # once: no query shows it again
    return Handled(result, [DomainEvent("recipient", "added", recipient_id, event, r.version)])


async def remove_recipient(cmd: c.RemoveRecipient, ctx: Context) -> Handled:
    found, chain = await recipient_of(ctx, cmd.recipient_id)
    r = in_scope(ctx.actor, ctx.permission, found, cmd.recipient_id, chain, f"remove recipient {cmd.recipient_id}")
    new = r.model_copy(update={"status": "removed", "version": r.version + 1, "secrets": []})
    await ctx.store.save_recipient(new, r.version)
    event = c.RecipientRemoved(recipient_id=r.recipient_id)
    return Handled(
        {"recipient_id": r.recipient_id}, [DomainEvent("recipient", "removed", r.recipient_id, event, new.version)]
    )


async def rotate_secret(cmd: c.RotateSecret, ctx: Context) -> Handled:
    found, chain = await recipient_of(ctx, cmd.recipient_id)
    what = f"rotate the secret of recipient {cmd.recipient_id}"
    r = in_scope(ctx.actor, ctx.permission, found, cmd.recipient_id, chain, what)
    if r.channel != "webhook":
        raise RuleViolation(
            f"recipient {r.recipient_id} is an email recipient: only webhooks have a secret",
            [{"field": "recipient_id", "rule": "webhook_only"}],
        )
    until = ctx.now + dt.timedelta(seconds=ctx.deps.settings.secret_overlap_seconds)
    secret = cmd.secret or rules.new_secret()
    kept = [
        SecretEntry(secret=s.secret, valid_until=until if s.valid_until is None else min(s.valid_until, until))
        for s in r.secrets
        if s.valid_until is None or s.valid_until > ctx.now
    ]
    new = r.model_copy(update={"secrets": [SecretEntry(secret=secret), *kept], "version": r.version + 1})
    await ctx.store.save_recipient(new, r.version)
    event = c.SecretRotated(recipient_id=r.recipient_id, old_valid_until=until)
    result: dict[str, object] = {"recipient_id": r.recipient_id, "old_valid_until": until.isoformat()}
    if cmd.secret is None:
        result["secret"] = secret
    return Handled(result, [DomainEvent("recipient", "secret-rotated", r.recipient_id, event, new.version)])


COMMANDS: list[CommandSpec] = [
    CommandSpec("add-recipient", c.AddRecipient, add_recipient, "Add a recipient of the events of a unit's subtree."),
    CommandSpec("remove-recipient", c.RemoveRecipient, remove_recipient, "Remove a recipient; nothing more is sent."),
    CommandSpec(
        "rotate-secret",
        c.RotateSecret,
        rotate_secret,
        "A new webhook secret; the old one keeps signing beside it for the overlap.",
    ),
]

"""A form's written conditions (the medal's: Thông tư 20/2025/TT-BCA), checked against the facts the
nominating unit declares, with the rule in force on the day: a refusal names the condition that
failed and quotes it; what the reference does not confirm, and what the platform cannot verify (a
commendation recorded elsewhere), is flagged on the nomination instead.

Pure: the handler reads the prior awards an eligibility names and passes them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from services.awards.domain.model import Award
from services.awards.rules import Condition, Form
from shared.contract import awards as c
from shared.contract.errors import RuleViolation

FLAG_WORDS = {
    "holds_excluding_award": "holds an award that excludes it (Huy chương Chiến sĩ vẻ vang or Vì an ninh Tổ quốc, "
    "or a Huân chương for service in the People's Public Security)",
    "prosecuted": "is being or was criminally prosecuted",
    "incident_in_area": "leads an area or unit with a complex social-evil hotspot or a serious security incident",
    "pending_discipline": "has a disciplinary sanction or a complaint pending",
}


def _refuse(form: Form, source: str, message: str, rule: str, field: str) -> RuleViolation:
    return RuleViolation(
        f"{form.name}: {message} ({source})",
        [{"field": f"eligibility.{field}", "rule": f"eligibility:{rule}", "source": source}],
    )


def check(
    form: Form,
    facts: c.Eligibility | None,
    day: dt.date,
    person_id: str | None,
    prior: Mapping[str, Award | None],
) -> list[str]:
    """Refuses a nomination whose declared facts fail the form's conditions on `day`; returns what stays
    unverified (empty for a form without written conditions). `prior`: the awards the facts name by
    id, as stored (None: no such award)."""
    rule = form.eligibility_on(day)
    if rule is None:
        return []
    src = rule.source
    roles = " or ".join(rule.roles)
    if facts is None or facts.role is None:
        raise _refuse(form, src, f"the nominee's role is required: {roles}", "role", "role")
    if facts.role not in rule.roles:
        raise _refuse(form, src, f"a {facts.role} is not among those it is given to ({roles})", "role", "role")
    for flag in [*rule.excluded_if, *rule.excluded_for.get(facts.role, [])]:
        if getattr(facts, flag):
            raise _refuse(form, src, f"not proposed for anyone who {FLAG_WORDS[flag]}", flag, flag)
    for flag in rule.deferred_if:
        if getattr(facts, flag):
            raise _refuse(form, src, f"deferred while the nominee {FLAG_WORDS[flag]}", flag, flag)
    unverified = [f"rule:{u}" for u in rule.unverified]
    for cond in rule.roles[facts.role]:
        if cond.when_sex is not None:
            if facts.sex is None:
                raise _refuse(form, src, f"the nominee's sex is required: the terms differ ({cond.says})", "sex", "sex")
            if facts.sex != cond.when_sex:
                continue
        have = _fact(form, src, cond, facts, person_id, prior, unverified, day)
        if have < cond.at_least:
            raise _refuse(form, src, f"{cond.fact} is {have}; it needs {cond.says}", cond.fact, cond.fact)
    return [*unverified, "declared_facts"]  # the facts are the nominating unit's declaration


def _fact(
    form: Form,
    src: str,
    cond: Condition,
    facts: c.Eligibility,
    person_id: str | None,
    prior: Mapping[str, Award | None],
    unverified: list[str],
    day: dt.date,
) -> int:
    if cond.fact == "prior_commendations":
        count = 0
        for i, p in enumerate(facts.prior_commendations):
            field = f"prior_commendations[{i}]"
            if p.award_id is None:  # recorded elsewhere: counted, flagged
                if p.decision_date is not None and p.decision_date > day:
                    said = f"prior commendation {p.decision_no} is dated {p.decision_date.isoformat()}, after today"
                    raise _refuse(form, src, said, "prior", field)
                unverified.append(f"prior_commendation:{p.decision_no}")
                count += 1
                continue
            award = prior.get(p.award_id)
            if award is None:
                raise _refuse(
                    form, src, f"prior commendation {p.award_id} is not an award recorded here", "prior", field
                )
            who = award.nominee.person.person_id if award.nominee.person else None
            if who != person_id:
                raise _refuse(form, src, f"award {p.award_id} is not this person's", "prior", field)
            if award.status == "revoked":
                raise _refuse(form, src, f"award {p.award_id} was revoked", "prior", field)
            count += 1
        return count
    value = getattr(facts, cond.fact)
    if value is None:
        raise _refuse(form, src, f"{cond.fact} is required: it needs {cond.says}", cond.fact, cond.fact)
    return int(value)

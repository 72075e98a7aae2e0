"""Upsert of reference data (staff, clients and contacts, DITs, exchange types).

Upsert by code or number; a value equal to what is stored changes nothing, so re-importing the
same file is a no-op. Every refusal names the row and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ditbot.core.i18n import N_, _
from ditbot.domain.errors import Clash, DomainError, UnknownReference, ValidationFailed
from ditbot.domain.records import (
    CODE_PATTERN,
    SLACK_USER_PATTERN,
    ClientRecord,
    CollaboratorRecord,
    DitRecord,
    ExchangeTypeRecord,
    ImportFile,
    TeamRecord,
)
from ditbot.domain.validation import check_document
from storage import repositories as repo
from storage.models import Client, Collaborator, Contact, Dit, ExchangeType, Team
from storage.types import utcnow


@dataclass
class Summary:
    """How many records an import created and changed, per kind."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool, changed: bool) -> None:
        if created:
            self.created[kind] = self.created.get(kind, 0) + 1
        elif changed:
            self.updated[kind] = self.updated.get(kind, 0) + 1


def _where(loc: tuple[Any, ...], root: str = "file") -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or root


# pydantic's error types, in words a user of the import or the API understands (translated).
PROBLEMS = {
    "missing": _("this field is required"),
    "extra_forbidden": _("unknown field (check its spelling)"),
    "string_too_long": N_(
        "at most {max_length} character", "at most {max_length} characters", "max_length"
    ),
    "string_too_short": N_(
        "at least {min_length} character", "at least {min_length} characters", "min_length"
    ),
    "string_pattern_mismatch": _("this value does not have the expected form ({pattern})"),
    "string_type": _("a text is expected here"),
    "bool_type": _("true or false is expected here"),
    "bool_parsing": _("true or false is expected here"),
    "int_type": _("a whole number is expected here"),
    "int_parsing": _("a whole number is expected here"),
    "datetime_type": _("a date and time is expected here, e.g. 2026-11-20T08:00:00Z"),
    "datetime_parsing": _("a date and time is expected here, e.g. 2026-11-20T08:00:00Z"),
    "datetime_from_date_parsing": _("a date and time is expected here, e.g. 2026-11-20T08:00:00Z"),
    "list_type": _("a list is expected here"),
    "dict_type": _("an object is expected here"),
    "model_type": _("an object is expected here"),
    "model_attributes_type": _("an object is expected here"),
    "literal_error": _("expected one of: {expected}"),
}


PATTERNS = {
    CODE_PATTERN: _("use only letters, digits, '.', '_' and '-', starting with a letter or digit"),
    SLACK_USER_PATTERN: _("a Slack user id looks like U024BE7LH (profile > ⋮ > Copy member ID)"),
}


def _problem(problem: Any) -> DomainError | str:
    """One pydantic problem as a translatable refusal (pydantic's English text if unknown)."""
    context = problem.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, ValueError) and cause.args and isinstance(cause.args[0], DomainError):
        return cause.args[0]
    if problem["type"] == "string_pattern_mismatch" and context.get("pattern") in PATTERNS:
        return DomainError(PATTERNS[context["pattern"]])
    message = PROBLEMS.get(problem["type"])
    if message is None:
        return str(problem["msg"]).removeprefix("Value error, ")
    names = re.findall(r"{(\w+)}", message)
    if any(name not in context for name in names):
        return str(problem["msg"])
    return DomainError(message, None, **{name: str(context[name]) for name in names})


def parse_records(model: type[Any], data: Any, prefix: str = "", root: str = "file") -> Any:
    """Validate `data` into `model`; every problem becomes a field error named by its path.

    `root` names the whole document when the problem is with it (an import file, a body).
    """
    try:
        return model.model_validate(data)
    except ValidationError as error:
        errors: dict[str, DomainError] = {}
        for problem in error.errors():
            where = _where(tuple(p for p in (prefix, *problem["loc"]) if p != ""), root)
            errors.setdefault(
                where,
                DomainError(_("{where}: {problem}"), where, where=where, problem=_problem(problem)),
            )
        raise ValidationFailed(errors) from None


def _set(obj: Any, values: Mapping[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _refuse(where: str, message: str, **params: Any) -> ValidationFailed:
    return ValidationFailed({where: DomainError(message, where, where=where, **params)})


def _clash(where: str, message: str, **params: Any) -> Clash:
    return Clash({where: DomainError(message, where, where=where, **params)})


def _unknown(where: str, message: str, **params: Any) -> UnknownReference:
    return UnknownReference({where: DomainError(message, where, where=where, **params)})


def upsert_exchange_type(session: Session, record: ExchangeTypeRecord, summary: Summary) -> None:
    kind = repo.exchange_type(session, record.code)
    created = kind is None
    if kind is None:
        kind = ExchangeType(code=record.code, position=100)
        session.add(kind)
    changed = _set(
        kind,
        {
            "label_fr": record.label_fr,
            "label_en": record.label_en,
            "is_relance": record.relance,
            "active": record.active,
        },
    )
    summary.count("exchange_types", created, changed)


def upsert_team(session: Session, record: TeamRecord, summary: Summary) -> Team:
    team = session.scalar(select(Team).where(Team.code == record.code))
    created = team is None
    if team is None:
        team = Team(code=record.code)
        session.add(team)
    changed = _set(
        team,
        {
            "name": record.name,
            "channel_portal": record.channel_portal,
            "channel_managers": record.channel_managers,
            "locale": record.locale,
        },
    )
    session.flush()
    summary.count("teams", created, changed)
    return team


def _team_id(session: Session, code: str | None, where: str) -> int | None:
    if code is None:
        return None
    team_id = session.scalar(select(Team.id).where(Team.code == code))
    if team_id is None:
        raise _refuse(f"{where}.team", _("{where}: unknown team code '{code}'."), code=code)
    return team_id


def upsert_collaborator(
    session: Session, record: CollaboratorRecord, summary: Summary, where: str = "collaborator"
) -> Collaborator:
    collaborator = repo.collaborator_by_code(session, record.code)
    if record.slack_user_id:
        holder = repo.collaborator_by_slack_id(session, record.slack_user_id)
        if holder is not None and holder is not collaborator:
            raise _clash(
                f"{where}.slack_user_id",
                _("{where}: Slack user {user} is already linked to collaborator {other}."),
                user=record.slack_user_id,
                other=holder.code,
            )
    if record.mail1:
        holder = repo.collaborator_by_mail1(session, record.mail1)
        if holder is not None and holder is not collaborator:
            raise _clash(
                f"{where}.mail1",
                _("{where}: {email} is already the Mail 1 of collaborator {other}."),
                email=record.mail1,
                other=holder.code,
            )
    created = collaborator is None
    if collaborator is None:
        collaborator = Collaborator(code=record.code)
        session.add(collaborator)
    changed = _set(
        collaborator,
        {
            "name": record.name,
            "mail1": record.mail1,
            "mail2": record.mail2,
            "slack_user_id": record.slack_user_id,
            "manager": record.manager,
            "team_id": _team_id(session, record.team, where),
        },
    )
    session.flush()
    summary.count("collaborators", created, changed)
    return collaborator


def upsert_client(
    session: Session, record: ClientRecord, summary: Summary, where: str = "client"
) -> Client:
    client = repo.client_by_code(session, record.code)
    created = client is None
    if client is None:
        client = Client(code=record.code)
        session.add(client)
    values = {
        "name": record.name,
        "team_id": _team_id(session, record.team, where),
        "first_response_hours": record.first_response_hours,
        "next_response_hours": record.next_response_hours,
    }
    summary.count("clients", created, _set(client, values))
    session.flush()
    seen: set[str] = set()
    for index, item in enumerate(record.contacts):
        here = f"{where}.contacts[{index}].code"
        if item.code.casefold() in seen:  # codes are unique without regard to case
            raise _refuse(here, _("{where}: contact code {code} appears twice."), code=item.code)
        seen.add(item.code.casefold())
        contact = repo.contact_by_code(session, item.code)
        if contact is not None and contact.client_id != client.id:
            raise _clash(
                here,
                _("{where}: contact {code} already belongs to another client ({other})."),
                code=item.code,
                other=contact.client.code,
            )
        made = contact is None
        if contact is None:
            contact = Contact(code=item.code, client_id=client.id)
            session.add(contact)
        changed = _set(contact, {"name": item.name, "mail1": item.mail1, "mail2": item.mail2})
        summary.count("contacts", made, changed)
    session.flush()
    return client


def upsert_dit(session: Session, record: DitRecord, summary: Summary, where: str = "dit") -> Dit:
    client = repo.client_by_code(session, record.client)
    if client is None:
        raise _unknown(
            f"{where}.client", _("{where}: unknown client code '{code}'."), code=record.client
        )
    contact = None
    if record.contact:
        contact = repo.contact_by_code(session, record.contact)
        if contact is None:
            raise _unknown(
                f"{where}.contact",
                _("{where}: unknown contact code '{code}'."),
                code=record.contact,
            )
        if contact.client_id != client.id:
            raise _clash(
                f"{where}.contact",
                _("{where}: contact {code} is not a contact of client {client}."),
                code=record.contact,
                client=record.client,
            )
    technician = None
    if record.technician:
        technician = repo.collaborator_by_code(session, record.technician)
        if technician is None:
            raise _unknown(
                f"{where}.technician",
                _("{where}: unknown collaborator code '{code}'."),
                code=record.technician,
            )
    dit = repo.dit_by_number(session, record.number)
    created = dit is None
    if dit is None:
        dit = Dit(number=record.number, created_at=record.created_at or utcnow())
        session.add(dit)
    values: dict[str, Any] = {
        "title": record.title,
        "state": record.state,
        "client_id": client.id,
        "contact_id": contact.id if contact else None,
        "technician_id": technician.id if technician else None,
    }
    if record.created_at is not None:
        values["created_at"] = record.created_at
    finished = record.state.finished
    if finished and dit.finished_at is None:
        values["finished_at"] = utcnow()
    if not finished and dit.finished_at is not None:
        values["finished_at"] = None
    changed = _set(dit, values)
    session.flush()
    session.refresh(dit)
    summary.count("dits", created, changed)
    return dit


def import_data(session: Session, data: Any) -> Summary:
    """Apply an import file; raises ValidationFailed naming the row and field of the first fault.

    Runs in the caller's transaction: on any refusal the caller rolls back and nothing is written.
    """
    check_document(data, "file")
    parsed: ImportFile = parse_records(ImportFile, data)
    for kind, rows, key in (
        ("teams", parsed.teams, "code"),
        ("exchange_types", parsed.exchange_types, "code"),
        ("collaborators", parsed.collaborators, "code"),
        ("clients", parsed.clients, "code"),
        ("dits", parsed.dits, "number"),
    ):
        first: dict[str, int] = {}
        for index, row in enumerate(rows):
            value = getattr(row, key)
            if value.casefold() in first:  # DIT-1 and dit-1 are the same DIT
                raise _refuse(
                    f"{kind}[{index}].{key}",
                    _("{where}: {value} appears twice in the file (first at row {first})."),
                    value=value,
                    first=first[value.casefold()],
                )
            first[value.casefold()] = index
    summary = Summary()
    for team in parsed.teams:
        upsert_team(session, team, summary)
    for kind_record in parsed.exchange_types:
        upsert_exchange_type(session, kind_record, summary)
    for index, collaborator in enumerate(parsed.collaborators):
        upsert_collaborator(session, collaborator, summary, f"collaborators[{index}]")
    for index, client in enumerate(parsed.clients):
        upsert_client(session, client, summary, f"clients[{index}]")
    for index, dit in enumerate(parsed.dits):
        upsert_dit(session, dit, summary, f"dits[{index}]")
    return summary

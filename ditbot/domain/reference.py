"""Upsert of reference data (staff, clients and contacts, DITs, exchange types).

Upsert by code or number; a value equal to what is stored changes nothing, so re-importing the
same file is a no-op. Every refusal names the row and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from ditbot.core.i18n import N_, _
from ditbot.domain.errors import DomainError, ValidationFailed
from ditbot.domain.records import (
    CODE_PATTERN,
    SLACK_USER_PATTERN,
    ClientRecord,
    CollaboratorRecord,
    DitRecord,
    ExchangeTypeRecord,
    ImportFile,
)
from storage import repositories as repo
from storage.models import Client, Collaborator, Contact, Dit, ExchangeType
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


def upsert_collaborator(
    session: Session, record: CollaboratorRecord, summary: Summary, where: str = "collaborator"
) -> Collaborator:
    collaborator = repo.collaborator_by_code(session, record.code)
    if record.slack_user_id:
        holder = repo.collaborator_by_slack_id(session, record.slack_user_id)
        if holder is not None and holder.code != record.code:
            raise _refuse(
                f"{where}.slack_user_id",
                _("{where}: Slack user {user} is already linked to collaborateur {other}."),
                user=record.slack_user_id,
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
    summary.count("clients", created, _set(client, {"name": record.name}))
    session.flush()
    seen: set[str] = set()
    for index, item in enumerate(record.contacts):
        here = f"{where}.contacts[{index}].code"
        if item.code in seen:
            raise _refuse(here, _("{where}: contact code {code} appears twice."), code=item.code)
        seen.add(item.code)
        contact = repo.contact_by_code(session, item.code)
        if contact is not None and contact.client_id != client.id:
            raise _refuse(
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
        raise _refuse(
            f"{where}.client", _("{where}: unknown client code '{code}'."), code=record.client
        )
    contact = None
    if record.contact:
        contact = repo.contact_by_code(session, record.contact)
        if contact is None:
            raise _refuse(
                f"{where}.contact",
                _("{where}: unknown contact code '{code}'."),
                code=record.contact,
            )
        if contact.client_id != client.id:
            raise _refuse(
                f"{where}.contact",
                _("{where}: contact {code} is not a contact of client {client}."),
                code=record.contact,
                client=record.client,
            )
    technician = None
    if record.technician:
        technician = repo.collaborator_by_code(session, record.technician)
        if technician is None:
            raise _refuse(
                f"{where}.technician",
                _("{where}: unknown collaborateur code '{code}'."),
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


def refuse_repeats(kind: str, rows: Sequence[Any], key: str) -> None:
    """Raise ValidationFailed at the first row whose `key` an earlier row already has."""
    first: dict[str, int] = {}
    for index, row in enumerate(rows):
        value = getattr(row, key)
        if value in first:
            raise _refuse(
                f"{kind}[{index}].{key}",
                _("{where}: {value} appears twice in the file (first at row {first})."),
                value=value,
                first=first[value],
            )
        first[value] = index


def import_dits(session: Session, dits: list[DitRecord]) -> Summary:
    """Upsert many DITs at once (`PUT /api/v1/dits`): the import's rules and cost per row."""
    refuse_repeats("dits", dits, "number")
    summary = Summary()
    write_dits(session, plan_dits(session, dits), summary)
    return summary


def import_data(session: Session, data: Any) -> Summary:
    """Apply an import file; raises ValidationFailed naming the row and field of the first fault.

    Runs in the caller's transaction: on any refusal the caller rolls back and nothing is written.
    """
    parsed: ImportFile = parse_records(ImportFile, data)
    for kind, rows, key in (
        ("exchange_types", parsed.exchange_types, "code"),
        ("collaborators", parsed.collaborators, "code"),
        ("clients", parsed.clients, "code"),
        ("dits", parsed.dits, "number"),
    ):
        refuse_repeats(kind, rows, key)
    # The DITs are checked before anything is written (reads only: no write lock is taken
    # while a big file is validated), then written in bulk.
    plan = plan_dits(session, parsed.dits, parsed.clients, parsed.collaborators)
    summary = Summary()
    for kind_record in parsed.exchange_types:
        upsert_exchange_type(session, kind_record, summary)
    for index, collaborator in enumerate(parsed.collaborators):
        upsert_collaborator(session, collaborator, summary, f"collaborators[{index}]")
    for index, client in enumerate(parsed.clients):
        upsert_client(session, client, summary, f"clients[{index}]")
    write_dits(session, plan, summary)
    return summary


@dataclass
class DitPlan:
    """What an import of DITs will write: new rows and changed rows, with codes for ids."""

    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)


# The columns an import sets, in the order of `repo.dits_as_imported` (after the id).
IMPORTED = ("title", "state", "client", "contact", "technician", "created_at", "finished_at")


def plan_dits(
    session: Session,
    dits: list[DitRecord],
    clients: list[ClientRecord] | None = None,
    collaborators: list[CollaboratorRecord] | None = None,
    prefix: str = "dits",
) -> DitPlan:
    """Check every DIT row against what is stored and what the same file adds (`clients`,
    `collaborators`), and work out what to write; raises ValidationFailed naming the first
    faulty row. Reads only: `upsert_dit`'s rules, for many rows at the cost of a few queries.
    """
    client_codes = set(repo.codes_to_ids(session, Client))
    client_codes.update(c.code for c in clients or ())
    contact_client = {
        code: client for code, client in repo.contact_clients(session) if code is not None
    }
    for client in clients or ():
        contact_client.update((item.code, client.code) for item in client.contacts)
    technicians = set(repo.codes_to_ids(session, Collaborator))
    technicians.update(c.code for c in collaborators or ())
    stored = repo.dits_as_imported(session, [d.number for d in dits])
    now = utcnow()
    plan = DitPlan()
    for index, record in enumerate(dits):
        where = f"{prefix}[{index}]"
        if record.client not in client_codes:
            raise _refuse(
                f"{where}.client", _("{where}: unknown client code '{code}'."), code=record.client
            )
        if record.contact:
            owner = contact_client.get(record.contact)
            if owner is None:
                raise _refuse(
                    f"{where}.contact",
                    _("{where}: unknown contact code '{code}'."),
                    code=record.contact,
                )
            if owner != record.client:
                raise _refuse(
                    f"{where}.contact",
                    _("{where}: contact {code} is not a contact of client {client}."),
                    code=record.contact,
                    client=record.client,
                )
        if record.technician and record.technician not in technicians:
            raise _refuse(
                f"{where}.technician",
                _("{where}: unknown collaborateur code '{code}'."),
                code=record.technician,
            )
        before = stored.get(record.number)
        finished = record.state.finished
        if before is None:
            created_at = record.created_at or now
            finished_at = now if finished else None
        else:
            created_at = record.created_at or before[6]
            finished_at = before[7]
            if finished and finished_at is None:
                finished_at = now
            elif not finished:
                finished_at = None
        row = {
            "title": record.title,
            "state": record.state,
            "client": record.client,
            "contact": record.contact or None,
            "technician": record.technician or None,
            "created_at": created_at,
            "finished_at": finished_at,
        }
        if before is None:
            plan.new.append({"number": record.number, **row})
        elif tuple(row[name] for name in IMPORTED) != before[1:]:
            plan.changed.append({"dit_id": before[0], **row})
    return plan


def write_dits(session: Session, plan: DitPlan, summary: Summary) -> None:
    """Write a checked plan (`plan_dits`) in bulk; the codes it names exist by now."""
    if not plan.new and not plan.changed:
        return
    session.flush()
    clients = repo.codes_to_ids(session, Client)
    contacts = repo.codes_to_ids(session, Contact)
    technicians = repo.codes_to_ids(session, Collaborator)

    def with_ids(row: dict[str, Any]) -> dict[str, Any]:
        values = {k: v for k, v in row.items() if k not in ("client", "contact", "technician")}
        values["client_id"] = clients[row["client"]]
        values["contact_id"] = contacts[row["contact"]] if row["contact"] else None
        values["technician_id"] = technicians[row["technician"]] if row["technician"] else None
        return values

    repo.insert_dits(session, [with_ids(row) for row in plan.new])
    repo.update_dits(session, [with_ids(row) for row in plan.changed])
    if plan.new:
        summary.created["dits"] = summary.created.get("dits", 0) + len(plan.new)
    if plan.changed:
        summary.updated["dits"] = summary.updated.get("dits", 0) + len(plan.changed)

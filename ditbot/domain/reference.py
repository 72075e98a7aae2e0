"""Upsert of reference data (staff, clients and contacts, DITs, exchange types).

Upsert by code or number; a value equal to what is stored changes nothing, so re-importing the
same file is a no-op. Every refusal names the row and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ditbot.core.i18n import N_, _
from ditbot.domain.errors import Clash, DomainError, UnknownReference, ValidationFailed
from ditbot.domain.records import (
    CODE_MAX,
    CODE_PATTERN,
    NUMBER_MAX,
    SLACK_USER_PATTERN,
    TITLE_MAX,
    ClientRecord,
    CollaboratorRecord,
    DitRecord,
    ExchangeTypeRecord,
    ImportFile,
    TeamRecord,
)
from ditbot.domain.validation import check_document, check_rows, clean_moment, is_clean_line
from storage import repositories as repo
from storage.models import Client, Collaborator, Contact, Dit, ExchangeType, Team
from storage.spill import Spill
from storage.types import utcnow
from storage.vocabulary import DitState


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
    "float_type": _("a number is expected here, e.g. 4 or 2.5"),
    "float_parsing": _("a number is expected here, e.g. 4 or 2.5"),
    "greater_than": _("a number greater than {gt} is expected here"),
    "greater_than_equal": _("a number of at least {ge} is expected here"),
    "less_than": _("a number less than {lt} is expected here"),
    "less_than_equal": _("a number of at most {le} is expected here"),
    "too_short": N_("at least {min_length} item", "at least {min_length} items", "min_length"),
    "too_long": N_("at most {max_length} item", "at most {max_length} items", "max_length"),
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
    return DomainError(message, None, **{name: _shown(context[name]) for name in names})


def _shown(value: Any) -> str:
    """A limit from pydantic's context as a user reads it: 8784, not 8784.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_records(model: type[Any], data: Any, prefix: str = "", root: str = "file") -> Any:
    """Validate `data` into `model`; every problem becomes a field error named by its path.

    `root` names the whole document when the problem is with it (an import file, a body).
    """
    return _validated(model.model_validate, data, (prefix,), root)


DIT_ROWS: TypeAdapter[list[DitRecord]] = TypeAdapter(list[DitRecord])


class PlainDit(NamedTuple):
    """A DIT row read by `plain_dit`: what `DitRecord` would hold, at a fraction of its cost."""

    number: str
    client: str
    contact: str | None
    title: str
    state: DitState
    technician: str | None
    created_at: datetime | None


DitRow = DitRecord | PlainDit
_DIT_FIELDS = frozenset(DitRecord.model_fields)
_PLAIN_CODE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{CODE_MAX - 1}}}")  # nothing to trim
_PLAIN_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)?")
_STATES = {state.value: state for state in DitState}


def _plain_code(value: Any) -> bool:
    return value is None or (type(value) is str and _PLAIN_CODE.fullmatch(value) is not None)


def plain_dit(row: Any) -> PlainDit | None:
    """The row as `DitRecord` would read it, when it holds exactly what the rules accept with
    nothing to correct (codes and texts trimmed, a moment in ISO form, in range); None for any
    other row: pydantic then reads it and names what is wrong. The import's common case
    without pydantic's per-field calls (a third of a no-change re-import)."""
    if type(row) is not dict or not row.keys() <= _DIT_FIELDS:
        return None
    number, client, title = row.get("number"), row.get("client"), row.get("title")
    contact, technician = row.get("contact"), row.get("technician")
    state = row.get("state", DitState.EN_COURS.value)
    state = _STATES.get(state) if type(state) is str else None
    if (
        state is None
        or type(number) is not str
        or type(title) is not str
        or len(number) > NUMBER_MAX
        or len(title) > TITLE_MAX
        or not is_clean_line(number)
        or not is_clean_line(title)
        or client is None
        or not _plain_code(client)
        or not _plain_code(contact)
        or not _plain_code(technician)
    ):
        return None
    moment = row.get("created_at")
    if moment is not None:
        if type(moment) is not str or _PLAIN_MOMENT.fullmatch(moment) is None:
            return None
        try:
            moment = clean_moment(datetime.fromisoformat(moment))
        except (ValueError, DomainError):
            return None
    return PlainDit(number, client, contact, title, state, technician, moment)


def read_dit_rows(rows: list[Any], offset: int, kind: str = "dits") -> list[DitRow]:
    """Check and read a chunk of DIT rows whose first is row `offset` of `kind` (errors name
    it): the rows `plain_dit` reads are sound; the others go through `check_rows` (text that
    cannot be stored, depth) and pydantic, which name the first fault as for a whole chunk."""
    read: list[DitRow | None] = [plain_dit(row) for row in rows]
    others = [index for index, plain in enumerate(read) if plain is None]
    if others:
        for index in others:
            check_rows([rows[index]], "file", kind, offset + index, depth=2)
        records = _parse_some(rows, others, offset, kind)
        for index, record in zip(others, records, strict=True):
            read[index] = record
    return cast(list[DitRow], read)


def _parse_some(rows: list[Any], indexes: list[int], offset: int, kind: str) -> list[DitRecord]:
    def shifted(loc: tuple[Any, ...]) -> tuple[Any, ...]:
        if loc and isinstance(loc[0], int):
            return (kind, offset + indexes[loc[0]], *loc[1:])
        return loc

    picked = [rows[index] for index in indexes]
    records: list[DitRecord] = _validated(DIT_ROWS.validate_python, picked, (), "file", shifted)
    return records


def _validated(
    validate: Any,
    data: Any,
    prefix: tuple[Any, ...],
    root: str,
    relocate: Any = None,
) -> Any:
    try:
        return validate(data)
    except ValidationError as error:
        errors: dict[str, DomainError] = {}
        for problem in error.errors():
            loc = relocate(tuple(problem["loc"])) if relocate else tuple(problem["loc"])
            where = _where(tuple(p for p in (*prefix, *loc) if p != ""), root)
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
    team_id = session.scalar(select(Team.id).where(repo.same_key(Team.code, code)))
    if team_id is None:
        raise _unknown(f"{where}.team", _("{where}: unknown team code '{code}'."), code=code)
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
    team_id = _team_id(session, record.team, where)  # before a new row could be autoflushed
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
            "team_id": team_id,
        },
    )
    session.flush()
    summary.count("collaborators", created, changed)
    return collaborator


def upsert_client(
    session: Session, record: ClientRecord, summary: Summary, where: str = "client"
) -> Client:
    client = repo.client_by_code(session, record.code)
    team_id = _team_id(session, record.team, where)  # before a new row could be autoflushed
    created = client is None
    if client is None:
        client = Client(code=record.code)
        session.add(client)
    values = {
        "name": record.name,
        "team_id": team_id,
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


def refuse_repeats(kind: str, rows: Sequence[Any], key: str, request: bool = False) -> None:
    """Raise ValidationFailed at the first row whose `key` an earlier row already has
    (`request`: the rows came in an API request, not a file)."""
    Repeats(kind, request=request).check(rows, key)


class Repeats:
    """The first row of each key seen so far, over the chunks of one kind of rows: in memory,
    or in a `Spill` for a file's DITs (a dict of 200,000 keys would hold 20 MB)."""

    def __init__(self, kind: str, spill: Spill | None = None, request: bool = False) -> None:
        self.kind = kind
        self.spill = spill
        self.request = request
        self.first: dict[str, int] = {}

    def check(self, rows: Sequence[Any], key: str, offset: int = 0) -> None:
        keys = [getattr(row, key).lower() for row in rows]  # DIT-1 and dit-1: one DIT
        earlier = self.spill.first_rows(keys) if self.spill else self.first
        here: dict[str, int] = {}
        for index, (row, value) in enumerate(zip(rows, keys, strict=True), offset):
            first = earlier.get(value)
            if first is None:
                first = here.setdefault(value, index)
            if first != index:
                twice = (
                    _("{where}: {value} appears twice in the request (first at row {first}).")
                    if self.request
                    else _("{where}: {value} appears twice in the file (first at row {first}).")
                )
                raise _refuse(
                    f"{self.kind}[{index}].{key}", twice, value=getattr(row, key), first=first
                )
        if self.spill:
            self.spill.remember(here.items())
        else:
            self.first.update(here)


def import_dits(session: Session, dits: list[DitRecord]) -> Summary:
    """Upsert many DITs at once (`PUT /api/v1/dits`): the import's rules and cost per row."""
    refuse_repeats("dits", dits, "number", request=True)
    summary = Summary()
    checker = DitChecker(session)
    plan = DitPlan()
    checker.check(dits, 0, plan)
    write_dits(session, [plan], summary)
    return summary


def import_data(session: Session, data: Any) -> Summary:
    """Apply an import file; raises ValidationFailed naming the row and field of the first fault.

    Runs in the caller's transaction: on any refusal the caller rolls back and nothing is written.
    """
    dits = data.get("dits", []) if isinstance(data, dict) else None
    if not isinstance(dits, list):
        parse_records(ImportFile, data)  # says what is wrong with the file or its "dits"
        raise AssertionError("unreachable: an ImportFile's dits is a list")
    head = {name: value for name, value in data.items() if name != "dits"}
    return import_stream(session, head, [dits])


def import_stream(
    session: Session,
    head: Any,
    dits: Iterable[list[Any]],
    commit: Callable[[], None] | None = None,
) -> Summary:
    """An import file read a piece at a time: `head` is the file without its "dits" member,
    `dits` its DIT rows in chunks, in file order (a big file never sits whole in memory).

    Every row is checked before anything is written (reads only: no write lock is held while
    a big file is validated); what the check found waits on disk (storage/spill.py: memory
    does not grow with the file), then what changed is written in bulk. A re-import that
    changes nothing writes nothing. Raises ValidationFailed naming the row and field of the
    first fault.

    Without `commit`, everything is written in the caller's one transaction. With it, the DITs
    are written `WRITE_CHUNK` at a time, `commit` ending each transaction (SQLite locks the
    whole database while a transaction writes: 200,000 new rows hold it for seconds). No
    refusal can come between them (every row was checked); what a crash or a database error
    between two of them leaves is the head and the first chunks, each whole: importing the same
    file again writes the rest and changes nothing of what is there.
    """
    if isinstance(head, dict) and "dits" in head:
        head = {name: value for name, value in head.items() if name != "dits"}
    check_document(head, "file")
    parsed: ImportFile = parse_records(ImportFile, head)
    for kind, rows, key in (
        ("teams", parsed.teams, "code"),
        ("exchange_types", parsed.exchange_types, "code"),
        ("collaborators", parsed.collaborators, "code"),
        ("clients", parsed.clients, "code"),
    ):
        refuse_repeats(kind, rows, key)
    clients = plan_clients(session, parsed.clients, teams=(t.code for t in parsed.teams))
    checker = DitChecker(session, parsed.clients, parsed.collaborators)
    with Spill() as spill:
        repeats = Repeats("dits", spill)
        offset = 0
        for chunk in dits:
            records = read_dit_rows(chunk, offset)  # NUL, surrogates, depth, fields: per row
            repeats.check(records, "number", offset)
            plan = DitPlan()
            checker.check(records, offset, plan)
            if plan.new or plan.changed:
                spill.keep((plan.new, plan.changed))
            offset += len(chunk)
        summary = Summary()
        for team in parsed.teams:
            upsert_team(session, team, summary)
        for kind_record in parsed.exchange_types:
            upsert_exchange_type(session, kind_record, summary)
        for index, collaborator in enumerate(parsed.collaborators):
            upsert_collaborator(session, collaborator, summary, f"collaborators[{index}]")
        write_clients(session, clients, summary)
        write_dits(session, (DitPlan(*piece) for piece in spill.kept()), summary, commit)
    return summary


@dataclass
class ClientPlan:
    """What an import of clients and their contacts will write (codes for ids)."""

    new_clients: list[dict[str, Any]] = field(default_factory=list)
    changed_clients: list[dict[str, Any]] = field(default_factory=list)
    new_contacts: list[dict[str, Any]] = field(default_factory=list)
    changed_contacts: list[dict[str, Any]] = field(default_factory=list)


def plan_clients(
    session: Session,
    clients: list[ClientRecord],
    prefix: str = "clients",
    teams: Iterable[str] = (),
) -> ClientPlan:
    """`upsert_client`'s rules for many clients, reading only: raises ValidationFailed at the
    first faulty row, else says what to write. `teams`: the codes the same file adds."""
    stored_clients = repo.clients_as_imported(session)
    known_teams = set(repo.team_codes_to_ids(session)) | {code.lower() for code in teams}
    stored_contacts = repo.contacts_as_imported(session)
    owners: dict[str, str] = {}  # contact code -> the client the file puts it under
    plan = ClientPlan()
    for index, record in enumerate(clients):
        where = f"{prefix}[{index}]"
        if record.team is not None and record.team.lower() not in known_teams:
            raise _unknown(
                f"{where}.team", _("{where}: unknown team code '{code}'."), code=record.team
            )
        before = stored_clients.get(record.code.lower())
        facts = {
            "name": record.name,
            "team": record.team,
            "first_response_hours": record.first_response_hours,
            "next_response_hours": record.next_response_hours,
        }
        stored_team = before[2] if before else None
        same_team = (stored_team or "").lower() == (record.team or "").lower()
        if before is None:
            plan.new_clients.append({"code": record.code, **facts})
        elif (
            before[1] != record.name
            or not same_team
            or before[3:]
            != (
                record.first_response_hours,
                record.next_response_hours,
            )
        ):
            plan.changed_clients.append({"row_id": before[0], **facts})
        seen: set[str] = set()
        for number, item in enumerate(record.contacts):
            here = f"{where}.contacts[{number}].code"
            if item.code.lower() in seen:
                raise _refuse(
                    here, _("{where}: contact code {code} appears twice."), code=item.code
                )
            seen.add(item.code.lower())
            stored = stored_contacts.get(item.code.lower())
            owner = owners.get(item.code.lower()) or (stored[1] if stored else None)
            if owner is not None and owner.lower() != record.code.lower():
                raise _refuse(
                    here,
                    _("{where}: contact {code} already belongs to another client ({other})."),
                    code=item.code,
                    other=owner,
                )
            owners[item.code.lower()] = record.code
            values = {"name": item.name, "mail1": item.mail1, "mail2": item.mail2}
            if stored is None:
                plan.new_contacts.append({"code": item.code, "client": record.code, **values})
            elif stored[2:] != (item.name, item.mail1, item.mail2):
                plan.changed_contacts.append({"row_id": stored[0], **values})
    return plan


def write_clients(session: Session, plan: ClientPlan, summary: Summary) -> None:
    """Write a checked plan (`plan_clients`) in bulk (the file's teams are written by now)."""
    team_ids = repo.team_codes_to_ids(session)

    def with_team_id(row: dict[str, Any]) -> dict[str, Any]:
        team = row["team"]
        return {k: v for k, v in row.items() if k != "team"} | {
            "team_id": team_ids[team.lower()] if team else None
        }

    repo.insert_rows(session, Client, [with_team_id(row) for row in plan.new_clients])
    repo.update_rows(session, Client, [with_team_id(row) for row in plan.changed_clients])
    if plan.new_contacts:
        ids = repo.codes_to_ids(session, Client)
        rows = [
            {k: v for k, v in row.items() if k != "client"}
            | {"client_id": ids[row["client"].lower()]}
            for row in plan.new_contacts
        ]
        repo.insert_rows(session, Contact, rows)
    repo.update_rows(session, Contact, plan.changed_contacts)
    for kind, new, changed in (
        ("clients", plan.new_clients, plan.changed_clients),
        ("contacts", plan.new_contacts, plan.changed_contacts),
    ):
        if new:
            summary.created[kind] = summary.created.get(kind, 0) + len(new)
        if changed:
            summary.updated[kind] = summary.updated.get(kind, 0) + len(changed)


@dataclass
class DitPlan:
    """What an import of DITs will write, as compact tuples (codes for ids): `new` rows are
    (number, *IMPORTED), `changed` rows (id, *IMPORTED)."""

    new: list[tuple[Any, ...]] = field(default_factory=list)
    changed: list[tuple[Any, ...]] = field(default_factory=list)


# The columns an import sets, in the order of `repo.dits_as_imported` (after the id).
IMPORTED = ("title", "state", "client", "contact", "technician", "created_at", "finished_at")


class DitChecker:
    """`upsert_dit`'s rules for many rows at the cost of a few queries: the codes a DIT may
    name (stored, or added by the same file's `clients` and `collaborators`) are read once,
    the stored DITs a chunk at a time. Reads only."""

    def __init__(
        self,
        session: Session,
        clients: list[ClientRecord] | None = None,
        collaborators: list[CollaboratorRecord] | None = None,
    ) -> None:
        self.session = session
        self.clients = set(repo.codes_to_ids(session, Client))
        self.clients.update(c.code.lower() for c in clients or ())
        self.contact_client = dict(repo.contact_clients(session))
        for client in clients or ():
            self.contact_client.update(
                (item.code.lower(), client.code.lower()) for item in client.contacts
            )
        self.technicians = set(repo.codes_to_ids(session, Collaborator))
        self.technicians.update(c.code.lower() for c in collaborators or ())
        self.now = utcnow()

    def check(self, dits: Sequence[DitRow], offset: int, plan: DitPlan) -> None:
        """Check rows `offset`... and add what they change to `plan` (raises at a fault)."""
        stored = repo.dits_as_imported(self.session, [d.number for d in dits])
        now = self.now
        for index, record in enumerate(dits, offset):
            self._refs(record, f"dits[{index}]")
            before = stored.get(record.number.lower())
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
            row = (
                record.title,
                record.state,
                record.client,
                record.contact or None,
                record.technician or None,
                created_at,
                finished_at,
            )
            if before is None:
                plan.new.append((record.number, *row))
            elif row != before[1:]:
                plan.changed.append((before[0], *row))

    def _refs(self, record: DitRow, where: str) -> None:
        if record.client.lower() not in self.clients:
            raise _unknown(
                f"{where}.client", _("{where}: unknown client code '{code}'."), code=record.client
            )
        if record.contact:
            owner = self.contact_client.get(record.contact.lower())
            if owner is None:
                raise _unknown(
                    f"{where}.contact",
                    _("{where}: unknown contact code '{code}'."),
                    code=record.contact,
                )
            if owner != record.client.lower():
                raise _clash(
                    f"{where}.contact",
                    _("{where}: contact {code} is not a contact of client {client}."),
                    code=record.contact,
                    client=record.client,
                )
        if record.technician and record.technician.lower() not in self.technicians:
            raise _unknown(
                f"{where}.technician",
                _("{where}: unknown collaborator code '{code}'."),
                code=record.technician,
            )


WRITE_CHUNK = 20_000  # DITs per transaction when the import commits as it goes


def write_dits(
    session: Session,
    plans: Iterable[DitPlan],
    summary: Summary,
    commit: Callable[[], None] | None = None,
) -> None:
    """Write checked plans in bulk, in order; the codes they name exist by now. `commit`:
    called after every `WRITE_CHUNK` rows or so, to end the transaction (import_stream)."""
    step = WRITE_CHUNK if commit else repo.BULK_CHUNK
    new: list[tuple[Any, ...]] = []
    changed: list[tuple[Any, ...]] = []
    codes: _Codes | None = None

    def write() -> None:
        nonlocal codes
        if codes is None:
            session.flush()
            codes = _Codes(session)
        repo.insert_rows(session, Dit, [{"number": row[0], **codes.values(row[1:])} for row in new])
        repo.update_rows(
            session, Dit, [{"row_id": row[0], **codes.values(row[1:])} for row in changed]
        )
        for kind, rows in (("created", new), ("updated", changed)):
            if rows:
                counts = getattr(summary, kind)
                counts["dits"] = counts.get("dits", 0) + len(rows)
        new.clear()
        changed.clear()
        if commit:
            commit()

    for plan in plans:
        new.extend(plan.new)
        changed.extend(plan.changed)
        if len(new) + len(changed) >= step:
            write()
    if new or changed:
        write()


class _Codes:
    """The ids of the codes a DIT row names, read once for a whole write."""

    def __init__(self, session: Session) -> None:
        self.clients = repo.codes_to_ids(session, Client)
        self.contacts = repo.codes_to_ids(session, Contact)
        self.technicians = repo.codes_to_ids(session, Collaborator)

    def values(self, row: tuple[Any, ...]) -> dict[str, Any]:
        title, state, client, contact, technician, created_at, finished_at = row
        return {
            "title": title,
            "state": state,
            "client_id": self.clients[client.lower()],
            "contact_id": self.contacts[contact.lower()] if contact else None,
            "technician_id": self.technicians[technician.lower()] if technician else None,
            "created_at": created_at,
            "finished_at": finished_at,
        }

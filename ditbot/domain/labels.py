"""What people read for each word of the vocabulary: message ids, translated where shown."""

from __future__ import annotations

from ditbot.core.i18n import _
from storage.vocabulary import DitState, MailStatus, Source

# In lower case, as they read inside a sentence; `capitalized()` for a heading or a badge.
STATE = {
    DitState.SAISIE_EXTERNE: _("registered"),
    DitState.EN_COURS: _("in progress"),
    DitState.TRAVAIL_TERMINE: _("work finished"),
    DitState.TRAVAIL_NON_TERMINE: _("work not finished"),
    DitState.CLOTUREE: _("closed"),
    DitState.ANNULEE: _("cancelled"),
}
MAIL_STATUS = {
    MailStatus.QUEUED: _("mail queued"),
    MailStatus.SENT: _("mail sent"),
    MailStatus.FAILED: _("mail failed"),
}
SOURCE = {
    Source.SLACK: _("Slack"),
    Source.PORTAL: _("client portal"),
    Source.MAIL: _("mail"),
    Source.API: _("API"),
}


def capitalized(label: str) -> str:
    """`en cours` -> `En cours` (only the first letter changes)."""
    return label[:1].upper() + label[1:]

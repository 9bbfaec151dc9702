"""The buttons of the children's records, declared once (bot.payloads): opening a record, editing it field by
field, its history and audit log, and the /newchild form. Other features put `OpenRecord` under what they
send ("Open the record"). Every press is checked again by the service against the presser's rights."""

from __future__ import annotations

from typing import Annotated, Literal

from bot.payloads import payload
from bot.records.fields import BY_KEY, GROUPS

# typing.Literal of the declared keys: anything else is refused by the codec, before a handler sees it.
Group = Literal[GROUPS]
FieldKey = Literal[tuple(BY_KEY)]


@payload("child")
class OpenRecord:
    child: int


@payload("kids")
class RecordsPage:
    """/children's list, one page of names further."""

    page: int


@payload("editg")
class EditGroup:
    """Edit: which part of the record (no group yet), then which field of the group."""

    child: int
    group: Group | None = None


@payload("editf")
class EditField:
    """Edit this field: opens the edit dialogue, which waits for the new value."""

    child: int
    field: FieldKey


@payload("editv")
class EditChoice:
    """A choice field's new value, pressed while its edit dialogue is open."""

    child: int
    field: FieldKey
    # The longest choice key (parent_unable) fits; 16 would pass Telegram's 64 bytes with the longest field key.
    value: Annotated[str, 14]


@payload("vill")
class ChildVillage:
    """Where the child's home is: no village yet shows the township's villages; a village (0: none) records it."""

    child: int
    village: int | None = None


@payload("hist")
class RecordHistory:
    child: int


@payload("audit")
class AuditLog:
    """/audit: who saw or changed this child's record."""

    child: int


@payload("ncc")
class NewChildClass:
    """/newchild: the class the child is in (for someone who may add children to several)."""

    klass: int


@payload("nc")
class NewChildAnswer:
    """/newchild: the answer to question `step` (a choice's value), or skipping it. A button of an earlier
    question no longer matches the form's step, and is stale."""

    step: int
    answer: Literal["v", "skip"]
    value: Annotated[str, 16] | None = None


@payload("ncd")
class NewChildDone:
    """/newchild: the last step, save the record or drop it."""

    action: Literal["save", "cancel"]


@payload("ent")
class EntrustedOpen:
    """/entrusted with several children: this child's written notice of entrusted care."""

    child: int


@payload("entok")
class EntrustedConfirm:
    """✅ under a notice: confirms the notice shown, named by its fields' hash (bot.records.entrusted)."""

    child: int
    hash: Annotated[str, 12]


@payload("entc")
class EntrustedCopy:
    """Under the notice to the class teacher and the child director: the confirmed notice as a PDF."""

    notice: int

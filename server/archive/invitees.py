"""The group invited to an inspection: each person in one role with a personal link, which
staff can add, revoke, and the host remove from the room."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import clock
from ..errors import NotFound
from .db import Database, Row, Tx, writer


@dataclass(frozen=True)
class Invitee:
    """A person invited to one inspection in one role, holding a personal link."""

    id: int
    inspection_id: int
    role: str
    name: str
    unit: str
    phone: str
    link_gen: int
    revoked_at: str | None
    revoked_reason: str | None
    created_at: str
    email: str = ""
    no_reminders: bool = False  # the person asked not to be reminded

    @classmethod
    def from_row(cls, row: Row) -> Invitee:
        return cls(
            row["id"],
            row["inspection_id"],
            row["role"],
            row["name"],
            row["unit"],
            row["phone"],
            row["link_gen"],
            row["revoked_at"],
            row["revoked_reason"],
            row["created_at"],
            row["email"],
            bool(row["no_reminders"]),
        )


@dataclass(frozen=True)
class GroupMember:
    """A person to invite when scheduling; `user_id` when they are staff with an account."""

    role: str
    name: str
    unit: str = ""
    phone: str = ""
    user_id: int | None = None
    email: str = ""
    no_reminders: bool = False

    def describe(self) -> dict[str, Any]:
        return {"role": self.role, "name": self.name, "unit": self.unit, "user_id": self.user_id}


async def inspection_state(tx: Tx, inspection_id: int) -> Row:
    row = await tx.one(
        "SELECT case_id, state, scheduled_at, previous_inspection_id FROM inspections WHERE id = ?",
        (inspection_id,),
    )
    if row is None:
        raise NotFound(f"勘验不存在 / no inspection {inspection_id}")
    return row


async def insert_member(tx: Tx, inspection_id: int, member: GroupMember, now: str) -> int:
    return await tx.insert(
        """INSERT INTO invitees (inspection_id, role, name, unit, phone, created_at, user_id,
               email, no_reminders)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            inspection_id,
            member.role,
            member.name,
            member.unit,
            member.phone,
            now,
            member.user_id,
            member.email,
            int(member.no_reminders),
        ),
    )


class GroupQueries:
    """The inspection store's part for its groups (InspectionStore includes it)."""

    _db: Database

    async def invitee(self, invitee_id: int) -> Invitee:
        row = await self._db.one("SELECT * FROM invitees WHERE id = ?", (invitee_id,))
        if row is None:
            raise NotFound(f"参与人不存在 / no invitee {invitee_id}")
        return Invitee.from_row(row)

    async def invitees(self, inspection_id: int) -> list[Invitee]:
        rows = await self._db.all(
            "SELECT * FROM invitees WHERE inspection_id = ? ORDER BY id", (inspection_id,)
        )
        return [Invitee.from_row(row) for row in rows]

    async def invitee_accounts(self, inspection_id: int) -> dict[int, int]:
        """invitee id → staff account id, for the members who are staff with accounts."""
        rows = await self._db.all(
            "SELECT id, user_id FROM invitees WHERE inspection_id = ? AND user_id IS NOT NULL",
            (inspection_id,),
        )
        return {row[0]: row[1] for row in rows}

    @writer
    async def add_member(self, inspection_id: int, member: GroupMember, *, actor: str) -> Invitee:
        async with self._db.transaction() as tx:
            row = await inspection_state(tx, inspection_id)
            invitee_id = await insert_member(tx, inspection_id, member, clock.now_iso())
            await tx.event(
                "invitee.added",
                actor=actor,
                case_id=row["case_id"],
                inspection_id=inspection_id,
                data={"invitee_id": invitee_id, **member.describe()},
            )
        return await self.invitee(invitee_id)

    @writer
    async def revoke_member(self, invitee_id: int, reason: str, *, actor: str) -> None:
        """A staff member withdrew the invitation: the person's link stops working."""
        async with self._db.transaction() as tx:
            case_id, inspection_id = await _revoke(tx, invitee_id, reason)
            await tx.event(
                "invitee.revoked",
                actor=actor,
                case_id=case_id,
                inspection_id=inspection_id,
                data={"invitee_id": invitee_id, "reason": reason},
            )

    @writer
    async def set_reminders(self, invitee_id: int, wanted: bool, *, actor: str) -> bool:
        """Whether the person is reminded before the inspection (they may opt out); False when
        nothing changed. The notice rules add or withdraw the waiting reminder."""
        async with self._db.transaction() as tx:
            row = await tx.one("SELECT * FROM invitees WHERE id = ?", (invitee_id,))
            if row is None:
                raise NotFound(f"参与人不存在 / no invitee {invitee_id}")
            if bool(row["no_reminders"]) == (not wanted):
                return False
            await tx.execute(
                "UPDATE invitees SET no_reminders = ? WHERE id = ?", (int(not wanted), invitee_id)
            )
            inspection = await tx.row(
                "SELECT case_id FROM inspections WHERE id = ?", (row["inspection_id"],)
            )
            await tx.event(
                "invitee.reminders",
                actor=actor,
                case_id=inspection["case_id"],
                inspection_id=row["inspection_id"],
                data={"invitee_id": invitee_id, "wanted": wanted},
            )
        return True

    @writer
    async def remove_from_room(self, invitee_id: int, *, actor: str) -> None:
        """The host removed the person from the room: their link stops working at once."""
        async with self._db.transaction() as tx:
            case_id, inspection_id = await _revoke(
                tx, invitee_id, f"removed by participant {actor}"
            )
            await tx.event(
                "participant.removed",
                actor=actor,
                case_id=case_id,
                inspection_id=inspection_id,
                data={"participant": invitee_id},
            )


async def _revoke(tx: Tx, invitee_id: int, reason: str) -> tuple[int, int]:
    """Revoke one person's link; (case id, inspection id)."""
    row = await tx.one(
        """SELECT i.id, i.case_id FROM invitees v JOIN inspections i ON i.id = v.inspection_id
           WHERE v.id = ?""",
        (invitee_id,),
    )
    if row is None:
        raise NotFound(f"参与人不存在 / no invitee {invitee_id}")
    await tx.execute(
        "UPDATE invitees SET revoked_at = ?, revoked_reason = ? "
        "WHERE id = ? AND revoked_at IS NULL",
        (clock.now_iso(), reason, invitee_id),
    )
    return row["case_id"], row["id"]

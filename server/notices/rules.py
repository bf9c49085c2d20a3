"""Who hears of what: events become outbox messages, inside the event's own transaction.

A listener on the archive's event log (archive.db.listeners): when a change appends its event,
the messages it causes are written in the same transaction, so a change that rolls back never
sends anything, and the same event can never be sent twice (each message's key is the event,
the topic and the recipient).

    inspection.scheduled / invitee.added   invitations: each person their own link and the time
                                           (a self-recorded video: the applicant's upload link)
    video.asked_again                      the applicant: shoot again, the status link
    inspection.rescheduled / .cancelled    the new link and time / the cancellation
    the time before a live inspection      reminders (unless the person opted out)
    conclusion.pronounced                  the applicant: the result and the status link; the
                                           webhook receivers: case.concluded; for 整改 a reminder
                                           before the deadline
    reinspection.requested, video.accepted, case.archived     the webhook receivers
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from .. import clock
from ..archive import Event, Inspection, Invitee
from ..archive.db import Row, Tx
from ..archive.outbox import (
    cancel_for_invitee,
    cancel_waiting,
    case_row,
    enqueue,
    inspection_of,
    invitee_of,
    live_invitees,
    webhooks_for,
)
from ..cases.identifiers import is_mobile
from ..cases.links import Links
from ..cases.status_links import StatusLinks
from ..config import Settings
from ..states import InspectionState, Method
from . import texts

# Webhook topics and the events they come from (docs/api.md documents each payload).
TOPICS = {
    "conclusion.pronounced": "case.concluded",
    "reinspection.requested": "reinspection.requested",
    "video.accepted": "video.accepted",
    "case.archived": "case.archived",
}
REMINDERS = ("reminder",)
STAFF_ROLES = ("host", "clerk", "expert")


class Rules:
    def __init__(self, settings: Settings, links: Links, status_links: StatusLinks) -> None:
        self.settings = settings
        self.links = links
        self.status_links = status_links

    @property
    def base(self) -> str:
        return self.settings.server.public_url.rstrip("/")

    async def __call__(self, tx: Tx, event: Event) -> None:
        handler = {
            "inspection.scheduled": self._scheduled,
            "invitee.added": self._added,
            "inspection.rescheduled": self._rescheduled,
            "inspection.cancelled": self._cancelled,
            "conclusion.pronounced": self._concluded,
            "invitee.reminders": self._reminders,
            "invitee.revoked": self._left,
            "participant.removed": self._left,
            "session.started": self._started,
            "video.asked_again": self._video_again,
        }.get(event.type)
        if handler is not None:
            await handler(tx, event)
        if event.type in TOPICS and event.case_id is not None:
            await self._webhooks(tx, event, TOPICS[event.type])

    # -- people ----------------------------------------------------------------------------------

    async def _scheduled(self, tx: Tx, event: Event) -> None:
        inspection, case = await inspection_of(tx, event.inspection_id)
        for invitee in await live_invitees(tx, inspection.id):
            await self._invite(tx, event, inspection, case, invitee, "invitation")

    async def _added(self, tx: Tx, event: Event) -> None:
        inspection, case = await inspection_of(tx, event.inspection_id)
        invitee = await invitee_of(tx, event.data["invitee_id"])
        await self._invite(tx, event, inspection, case, invitee, "invitation")

    async def _rescheduled(self, tx: Tx, event: Event) -> None:
        inspection, case = await inspection_of(tx, event.inspection_id)
        await cancel_waiting(tx, inspection.id, REMINDERS)
        for invitee in await live_invitees(tx, inspection.id):
            await self._invite(tx, event, inspection, case, invitee, "rescheduled")

    async def _cancelled(self, tx: Tx, event: Event) -> None:
        inspection, case = await inspection_of(tx, event.inspection_id)
        await cancel_waiting(tx, inspection.id, REMINDERS)
        for invitee in await live_invitees(tx, inspection.id):
            text = texts.cancelled(case["item_name"], inspection.scheduled_at)
            await self._tell(tx, event, invitee, "cancelled", text, case_id=case["id"])

    async def _reminders(self, tx: Tx, event: Event) -> None:
        """The person opted out of reminders, or back in."""
        invitee = await invitee_of(tx, event.data["invitee_id"])
        await cancel_for_invitee(tx, invitee.id, REMINDERS)
        inspection, case = await inspection_of(tx, event.inspection_id)
        if event.data["wanted"] and inspection.method != Method.VIDEO:
            if inspection.state == InspectionState.SCHEDULED and invitee.revoked_at is None:
                url = self.links.room_url(invitee, inspection)
                await self._remind(tx, event, inspection, case, invitee, url)

    async def _left(self, tx: Tx, event: Event) -> None:
        """Their link was revoked: nothing more is sent to them about it."""
        invitee_id = event.data.get("invitee_id", event.data.get("participant"))
        if isinstance(invitee_id, int):
            await cancel_for_invitee(tx, invitee_id, REMINDERS)

    async def _video_again(self, tx: Tx, event: Event) -> None:
        """Reviewers want another video: the applicant hears why on the status page."""
        inspection, case = await inspection_of(tx, event.inspection_id)
        for invitee in await live_invitees(tx, inspection.id):
            if invitee.role == "applicant":
                url = await self._status_url(tx, case)
                # A deadline that passed while the video was reviewed is no date to give.
                future = clock.parse(inspection.scheduled_at) > clock.now()
                deadline = inspection.scheduled_at if future else None
                text = texts.video_again(case["item_name"], deadline, url)
                await self._tell(tx, event, invitee, "video_again", text, case_id=case["id"])

    async def _started(self, tx: Tx, event: Event) -> None:
        """Nobody is reminded of a session that is under way."""
        if event.inspection_id is not None:
            await cancel_waiting(tx, event.inspection_id, REMINDERS)

    async def _invite(
        self, tx: Tx, event: Event, inspection: Inspection, case: Row, invitee: Invitee, topic: str
    ) -> None:
        if inspection.method == Method.VIDEO:
            if invitee.role == "applicant":
                url = await self._status_url(tx, case)
                text = texts.video_request(
                    invitee.name, case["item_name"], inspection.scheduled_at, url
                )
                await self._tell(tx, event, invitee, topic, text, case_id=case["id"])
            elif invitee.role in STAFF_ROLES:
                url = f"{self.base}/cases/{case['id']}"
                text = texts.video_request(
                    invitee.name, case["item_name"], inspection.scheduled_at, url
                )
                await self._tell(tx, event, invitee, topic, text, case_id=case["id"])
            return
        url = self.links.room_url(invitee, inspection)
        if topic == "rescheduled":
            text = texts.rescheduled(case["item_name"], inspection.scheduled_at, url)
        else:
            text = texts.invitation(invitee.name, case["item_name"], inspection.scheduled_at, url)
        await self._tell(tx, event, invitee, topic, text, case_id=case["id"])
        await self._remind(tx, event, inspection, case, invitee, url)

    async def _remind(
        self, tx: Tx, event: Event, inspection: Inspection, case: Row, invitee: Invitee, url: str
    ) -> None:
        minutes = self.settings.notices.reminder_minutes
        if not minutes or invitee.no_reminders:
            return
        due = clock.parse(inspection.scheduled_at) - timedelta(minutes=minutes)
        if due <= clock.now():
            return  # too late to remind: the invitation is the reminder
        text = texts.reminder(case["item_name"], inspection.scheduled_at, url)
        await self._tell(
            tx, event, invitee, "reminder", text, case_id=case["id"], due_at=clock.iso(due)
        )

    async def _concluded(self, tx: Tx, event: Event) -> None:
        inspection, case = await inspection_of(tx, event.inspection_id)
        applicant = next(
            (i for i in await live_invitees(tx, inspection.id) if i.role == "applicant"), None
        )
        if applicant is None:
            return
        url = await self._status_url(tx, case)
        verdict, deadline = event.data.get("verdict", ""), event.data.get("deadline")
        text = texts.concluded(case["case_no"], verdict, deadline, url)
        await self._tell(tx, event, applicant, "concluded", text, case_id=case["id"])
        days = self.settings.notices.deadline_reminder_days
        if verdict == "rectify" and deadline and days:
            morning = datetime.combine(
                datetime.fromisoformat(deadline).date() - timedelta(days=days),
                time(9, 0),
                tzinfo=clock.SHANGHAI,
            )
            if morning > clock.now():
                note = texts.deadline_near(case["case_no"], deadline, url)
                await self._tell(
                    tx,
                    event,
                    applicant,
                    "deadline",
                    note,
                    case_id=case["id"],
                    due_at=clock.iso(morning),
                )

    async def _tell(
        self,
        tx: Tx,
        event: Event,
        invitee: Invitee,
        topic: str,
        text: str,
        *,
        case_id: int,
        due_at: str | None = None,
    ) -> None:
        """One message per channel the person can be reached on."""
        targets = []
        if self.settings.sms.url and is_mobile(invitee.phone):
            targets.append(("sms", invitee.phone))
        if self.settings.mail.host and invitee.email:
            targets.append(("email", invitee.email))
        for channel, target in targets:
            await enqueue(
                tx,
                key=f"{topic}:{event.id}:{channel}:{invitee.id}",
                channel=channel,
                receiver=invitee.name,
                target=target,
                topic=topic,
                body={"subject": texts.SUBJECTS[topic], "text": text},
                case_id=case_id,
                inspection_id=invitee.inspection_id,
                invitee_id=invitee.id,
                due_at=due_at,
            )

    async def _status_url(self, tx: Tx, case: Row) -> str:
        token = self.status_links.token(case["id"], case["status_gen"])
        return f"{self.base}/s/{token}"

    # -- webhooks --------------------------------------------------------------------------------

    async def _webhooks(self, tx: Tx, event: Event, topic: str) -> None:
        receivers = await webhooks_for(tx, topic)
        if not receivers:
            return
        case = await case_row(tx, event.case_id)
        body = self.payload(event, topic, case)
        for webhook in receivers:
            await enqueue(
                tx,
                key=f"{topic}:{event.id}:webhook:{webhook.id}",
                channel="webhook",
                receiver=webhook.name,
                target=webhook.url,
                topic=topic,
                body=body,
                case_id=event.case_id,
                inspection_id=event.inspection_id,
            )

    def payload(self, event: Event, topic: str, case: Row) -> dict[str, Any]:
        """The JSON a receiver gets (docs/api.md): never the applicant's ID number."""
        api = f"{self.base}/api/v1/cases/{case['id']}"
        body: dict[str, Any] = {
            "topic": topic,
            "occurred_at": event.at,
            "event_id": event.id,
            "case": {
                "id": case["id"],
                "case_no": case["case_no"],
                "application_no": case["application_no"],
                "item_code": case["item_code"],
                "item_name": case["item_name"],
                "section": case["section"],
                "state": case["state"],
            },
            "links": {
                "case": api,
                "record_pdf": f"{api}/record.pdf",
                "package": f"{api}/package.zip",
            },
        }
        data = event.data
        if topic == "case.concluded":
            body["conclusion"] = {
                "inspection_id": event.inspection_id,
                "verdict": data.get("verdict"),
                "reasons": data.get("reasons"),
                "deadline": data.get("deadline"),
                "rectifications": [
                    {"point": r.get("point", ""), "text": r.get("text", "")}
                    for r in data.get("rectifications", [])
                ],
            }
        elif topic == "reinspection.requested":
            body["request"] = {"note": data.get("note", "")}
        elif topic == "video.accepted":
            body["video"] = {"sha256": data.get("sha256"), "facts": data.get("facts", {})}
        return body

"""The roles people hold in an inspection (SPEC §2): one vocabulary for scheduling, the room and
the record. Staff accounts have their own roles (server.staff.roles)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    HOST = "host"
    CLERK = "clerk"
    EXPERT = "expert"
    OBSERVER = "observer"
    APPLICANT = "applicant"
    RECORDER = "recorder"  # the system participant that records; never has a seat


ROLE_NAMES_ZH = {
    Role.HOST: "主持人",
    Role.CLERK: "业务审批人员",
    Role.EXPERT: "专家审查员",
    Role.OBSERVER: "观察员",
    Role.APPLICANT: "申请人",
    Role.RECORDER: "录制",
}

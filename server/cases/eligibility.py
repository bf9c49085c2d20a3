"""Whether a case may be inspected by video: the five exclusions of the policy (SPEC §3).

Pure rules, no storage. (1) state security or trade secrets, (2) a site without the conditions
for video, (3) content unsuited to video and (5) exclusion by law are declarations that a person
records with a reason, on the case or on its catalog item; (4) is a lookup of the applicant in
the dishonesty list (失信名单) that the bureau imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Ground(StrEnum):
    SECURITY = "security"
    SITE = "site"
    CONTENT = "content"
    DISHONEST = "dishonest"
    LAW = "law"


GROUND_NAMES: dict[Ground, tuple[str, str]] = {
    Ground.SECURITY: ("涉及国家安全或商业秘密", "Involves state security or trade secrets"),
    Ground.SITE: ("现场不具备视频勘验条件", "The site lacks the conditions for video"),
    Ground.CONTENT: ("勘验内容不适宜视频勘验", "The content to verify is unsuited to video"),
    Ground.DISHONEST: ("申请人被列入失信名单", "The applicant is on the dishonesty list"),
    Ground.LAW: ("法律法规规定不适用视频勘验", "A law or regulation excludes video inspection"),
}

# Grounds a person may declare; DISHONEST comes only from the list.
DECLARABLE = (Ground.SECURITY, Ground.SITE, Ground.CONTENT, Ground.LAW)
# Grounds that belong to a licence item as a whole (a site is always one applicant's).
ITEM_GROUNDS = (Ground.SECURITY, Ground.CONTENT, Ground.LAW)


@dataclass(frozen=True)
class Exclusion:
    """Why a case cannot be inspected by video, who said so and when."""

    ground: Ground
    reason: str
    declared_by: str
    declared_at: str

    def summary(self) -> str:
        zh, en = GROUND_NAMES[self.ground]
        return f"{zh}：{self.reason} / {en}"


def ground_label(ground: str, lang: str = "zh") -> str:
    zh, en = GROUND_NAMES[Ground(ground)]
    return zh if lang == "zh" else en

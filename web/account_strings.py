"""UI strings of staff accounts' sections (业务股室): zh-CN first, English second.

Merged into `web.i18n.STRINGS` like `staff_strings`.
"""

from __future__ import annotations

ACCOUNT_STRINGS: dict[str, tuple[str, str]] = {
    "sections": ("业务股室", "Sections"),
    "sections_hint": ("多个用顿号或逗号分隔", "several: separate with commas"),
    "sections_all": ("全部", "All"),
    "sections_saved": ("业务股室已保存。", "The sections were saved."),
    "sections_none": ("未分配股室：看不到任何案件", "No section: sees no case"),
    "sections_mine": ("您负责的业务股室", "Your sections"),
    "sections_none_mine": (
        "您的账号尚未分配业务股室，因此看不到任何案件。请联系系统管理员。",
        "Your account has no section yet, so you see no case. Ask the administrator.",
    ),
    "sections_rule_clerks": (
        "业务审批人员只能查看和办理本人所在业务股室（案件的承办股室）的案件；勘验人员、档案管理员可查看全部案件。",
        "Approval clerks see and act on the cases of their own sections (the case's owning "
        "section) only; inspectors and archivists see every case.",
    ),
    "sections_rule": (
        "业务审批人员和勘验人员只能查看和办理本人所在业务股室（案件的承办股室）的案件；档案管理员可查看全部案件。",
        "Approval clerks and inspectors see and act on the cases of their own sections (the "
        "case's owning section) only; archivists see every case.",
    ),
}

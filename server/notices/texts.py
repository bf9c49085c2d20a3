"""What people are told, in zh-CN: short enough for one SMS where a link allows, never an ID
number. Pure functions of the facts they need."""

from __future__ import annotations

from .. import clock

SIGN = "【勘验】"


def when(value: str) -> str:
    return clock.shanghai(value, "%m月%d日 %H:%M")


def day(value: str) -> str:
    """A YYYY-MM-DD date as 12月20日."""
    return f"{int(value[5:7])}月{int(value[8:10])}日"


def invitation(name: str, item: str, at: str, url: str) -> str:
    return f"{SIGN}{name}您好：{item}现场视频勘验定于{when(at)}（北京时间）进行，届时请打开：{url}"


def video_request(name: str, item: str, deadline: str, url: str) -> str:
    return (
        f"{SIGN}{name}您好：{item}需自行录制现场视频，请于{when(deadline)}前按拍摄要求一次拍摄并"
        f"上传：{url}"
    )


def video_again(item: str, deadline: str | None, url: str) -> str:
    by = f"请于{when(deadline)}前上传" if deadline else "请尽快上传"
    return f"{SIGN}{item}现场视频需重新拍摄（原因见链接），{by}：{url}"


def rescheduled(item: str, at: str, url: str) -> str:
    return f"{SIGN}{item}现场勘验改期至{when(at)}，原链接已失效，请使用新链接：{url}"


def cancelled(item: str, at: str) -> str:
    return f"{SIGN}{item}现场勘验（原定{when(at)}）已取消，原链接已失效。"


def reminder(item: str, at: str, url: str) -> str:
    return f"{SIGN}提醒：{item}现场视频勘验将于{when(at)}开始，请准时打开：{url}"


def concluded(case_no: str, verdict: str, deadline: str | None, url: str) -> str:
    if verdict == "pass":
        return f"{SIGN}案件{case_no}现场勘验结论：通过。详情：{url}"
    if verdict == "rectify":
        return (
            f"{SIGN}案件{case_no}现场勘验结论：需整改，请于{day(deadline or '')}前完成整改并申请"
            f"复勘。详情：{url}"
        )
    return f"{SIGN}案件{case_no}现场勘验结论：不通过。详情：{url}"


def deadline_near(case_no: str, deadline: str, url: str) -> str:
    return f"{SIGN}案件{case_no}整改期限为{day(deadline)}，整改完成后请通过此链接申请复勘：{url}"


SUBJECTS = {
    "invitation": "现场视频勘验邀请",
    "video_request": "请上传现场视频",
    "video_again": "请重新拍摄现场视频",
    "rescheduled": "现场勘验改期通知",
    "cancelled": "现场勘验取消通知",
    "reminder": "现场勘验提醒",
    "concluded": "现场勘验结论",
    "deadline": "整改期限提醒",
}

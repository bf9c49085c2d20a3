// The outcome of an inspection as the pages show it: pure helpers shared by the desktop room
// and the applicant's phone. No DOM and no page config in here, so any page of the server can
// import this module and test it (tests/e2e/test_outcome_room_browser.py does).

// What a point may be marked, by its kind (server/cases/checklist.py ALLOWED_MARKS).
export const MARKS_BY_KIND = {
  identity: ["verified", "not_conforms"],
  point: ["conforms", "not_conforms", "rectify"],
  rectification: ["conforms", "not_conforms", "rectify"],
};

export const VERDICTS = ["pass", "rectify", "fail"];

// "第 3 项" / "Point 3": `t` is the page's string lookup.
export function pointName(seq, t) {
  return t("room_point_n").replace("{n}", String(seq));
}

export function itemById(checklist, id) {
  if (!checklist || id == null) return null;
  return checklist.items.find((item) => item.id === id) || null;
}

// Server times are UTC ISO strings; people read Beijing time (HH:MM:SS).
export function beijingTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString("en-GB", {
    timeZone: "Asia/Shanghai", hourCycle: "h23", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

// A deadline (YYYY-MM-DD, a Beijing date) in plain words: 2026年12月3日 / 2026-12-03.
export function formatDate(iso, lang) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
  if (!match) return iso || "";
  if (lang === "en") return iso;
  return `${match[1]}年${Number(match[2])}月${Number(match[3])}日`;
}

// Today's date in Beijing plus `days`, as YYYY-MM-DD: the bounds of a deadline input.
export function beijingDate(days = 0, now = Date.now()) {
  const shifted = new Date(now + 8 * 3600 * 1000 + days * 86400 * 1000);
  return shifted.toISOString().slice(0, 10);
}

// The rectifications a rectify conclusion probably lists: every point (not the identity step)
// whose latest mark says it needs rectifying or does not conform, with the mark's note.
export function suggestRectifications(checklist) {
  if (!checklist) return [];
  return checklist.items
    .filter((item) => item.kind !== "identity" && item.mark && ["rectify", "not_conforms"].includes(item.mark.verdict))
    .map((item) => ({ item: item.id, text: item.mark.note || "" }));
}

// What a conclusion form says, checked before it is sent (the server checks again and says
// more): the message keys of what is missing, empty when it may be sent.
export function conclusionProblems({ verdict, reasons, deadline, rectifications }) {
  const problems = [];
  if (!VERDICTS.includes(verdict)) problems.push("room_need_verdict");
  if (!reasons || reasons.trim().length < 2) problems.push("room_need_reasons");
  if (verdict === "rectify") {
    if (!deadline) problems.push("room_need_deadline");
    if (!rectifications.some((r) => r.text.trim())) problems.push("room_need_rect");
  }
  return problems;
}

// Which point each screenshot belongs to. A `screenshot` message says where a new one went;
// every `checklist` view after it says where each one is now (someone may have moved it), and
// a shot no point lists any more belongs to none.
export class ShotPlacement {
  constructor() {
    this.items = new Map(); // screenshot id → checklist item id, or null
  }

  fromChecklist(checklist) {
    const listed = new Map();
    for (const item of checklist.items) {
      for (const shot of item.screenshots || []) listed.set(shot, item.id);
    }
    for (const shot of this.items.keys()) this.items.set(shot, listed.get(shot) ?? null);
    for (const [shot, item] of listed) this.items.set(shot, item);
  }

  fromShot(shot) {
    if (!this.items.has(shot.id)) this.items.set(shot.id, shot.item ?? null);
  }

  itemOf(shotId) {
    return this.items.get(shotId) ?? null;
  }

  count(itemId) {
    let n = 0;
    for (const item of this.items.values()) if (item === itemId) n += 1;
    return n;
  }
}

// A conclusion's rectifications with the number of the point each concerns (null for none).
export function rectificationRows(conclusion, checklist) {
  return (conclusion.rectifications || []).map((r) => {
    const item = itemById(checklist, r.item);
    return { seq: item ? item.seq : null, point: r.point || (item ? item.text : ""), text: r.text };
  });
}

// Desktop room: the checklist (逐项核实), the screenshot strip with each screenshot's point, and
// the work record (工作记录). room.js feeds them the server's messages; the pure rules live in
// outcome.js.
import { $, config, fmt, roleName, t } from "./ui.js";
import { MARKS_BY_KIND, beijingTime, itemById, pointName } from "./outcome.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function button(text, className, onClick) {
  const node = el("button", className, text);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

function markedBy(mark) {
  return [mark.by, roleName(mark.role), beijingTime(mark.at)].filter(Boolean).join(" · ");
}

// The points, each with its latest mark as a coloured badge, who marked it and the note, how
// many screenshots belong to it; the current point highlighted. The host moves the current
// point; host, clerks and experts mark. Rows are built once and updated in place, so a note
// being typed survives every update.
export class ChecklistPanel {
  constructor(client, { can, placement }) {
    this.client = client;
    this.can = can;
    this.placement = placement;
    this.list = $("#checklist");
    this.rows = new Map(); // item id → {li, badge, info, shots, setCurrent}
    this.checklist = null;
    this.shape = "";
  }

  update(checklist) {
    const before = this.checklist ? this.checklist.current : null;
    this.checklist = checklist;
    const shape = checklist.items.map((item) => `${item.id}:${item.kind}`).join(",");
    if (shape !== this.shape) {
      this.shape = shape;
      this.build(checklist.items);
    }
    for (const item of checklist.items) this.fill(item);
    $("#checklist-empty").hidden = checklist.items.length > 0;
    const current = this.rows.get(checklist.current);
    if (current && checklist.current !== before) current.li.scrollIntoView({ block: "nearest" });
  }

  refreshCounts() {
    if (!this.checklist) return;
    for (const item of this.checklist.items) this.count(item);
  }

  build(items) {
    this.list.replaceChildren();
    this.rows.clear();
    for (const item of items) {
      const li = el("li", "point");
      li.dataset.item = item.id;
      li.dataset.seq = item.seq;
      li.dataset.kind = item.kind;
      const head = el("div", "point-head");
      const badge = el("span", "mark-badge");
      head.append(el("span", "seq", String(item.seq)), el("span", "point-text", item.text), badge);
      head.querySelector(".point-text").title = item.text;
      const info = el("span", "mark-info");
      const shots = el("span", "shot-count");
      const meta = el("div", "point-meta");
      meta.append(el("span", "current-tag", t("room_current")), info, shots);
      li.append(head, meta);
      const row = { li, badge, info, shots, setCurrent: null };
      if (this.can("set_current") || this.can("mark_item")) li.append(this.actions(item, row));
      this.list.append(li);
      this.rows.set(item.id, row);
    }
  }

  actions(item, row) {
    const actions = el("div", "point-actions");
    if (this.can("set_current")) {
      row.setCurrent = button(t("room_set_current"), "small set-current", () => this.client.setCurrent(item.id));
      actions.append(row.setCurrent);
    }
    if (this.can("mark_item")) {
      const note = el("input", "mark-note");
      note.type = "text";
      note.maxLength = 500;
      note.placeholder = t("room_mark_note");
      note.setAttribute("aria-label", `${pointName(item.seq, t)} ${t("room_mark_note")}`);
      for (const verdict of MARKS_BY_KIND[item.kind] || MARKS_BY_KIND.point) {
        const mark = button(t(`room_mark_${verdict}`), `small mark mark-${verdict}`, () => {
          if (this.client.mark(item.id, verdict, note.value.trim())) note.value = "";
        });
        mark.dataset.verdict = verdict;
        actions.append(mark);
      }
      actions.append(note);
    }
    return actions;
  }

  fill(item) {
    const row = this.rows.get(item.id);
    const current = this.checklist.current === item.id;
    row.li.classList.toggle("current", current);
    if (current) row.li.setAttribute("aria-current", "step");
    else row.li.removeAttribute("aria-current");
    if (row.setCurrent) row.setCurrent.disabled = current;
    const mark = item.mark || null;
    row.li.dataset.verdict = mark ? mark.verdict : "";
    row.badge.dataset.verdict = mark ? mark.verdict : "";
    row.badge.textContent = mark ? t(`room_mark_${mark.verdict}`) : t("room_unmarked");
    row.info.textContent = mark ? [mark.note, markedBy(mark)].filter(Boolean).join(" · ") : "";
    row.info.title = item.marks > 1 ? fmt("room_marks_count", { n: item.marks }) : "";
    this.count(item);
  }

  count(item) {
    const row = this.rows.get(item.id);
    const n = this.placement.count(item.id);
    row.shots.textContent = n ? fmt("room_shots_count", { n }) : "";
    row.li.dataset.shots = String(n);
  }
}

// Screenshots, newest first: each says which point it belongs to; staff who may move them
// choose another point (or none) from a small select.
export class ShotStrip {
  constructor(client, { can, placement }) {
    this.client = client;
    this.can = can;
    this.placement = placement;
    this.strip = $("#shot-strip");
    this.checklist = null;
  }

  url(id) {
    return `/room/${config.inspection}/${encodeURIComponent(config.token)}/screenshots/${id}.jpg`;
  }

  add(shot) {
    if (!this.strip || this.strip.querySelector(`[data-shot="${shot.id}"]`)) return;
    const li = el("li");
    li.dataset.shot = shot.id;
    const link = el("a");
    link.href = this.url(shot.id);
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    const img = el("img");
    img.src = this.url(shot.id);
    img.alt = `${t("screenshot")} ${shot.participant_name}`;
    img.loading = "lazy";
    link.append(img);
    const caption = el("span", "shot-caption", `${beijingTime(shot.taken_at)} · ${shot.participant_name}`);
    caption.title = `${shot.taker_name} · ${shot.width}×${shot.height}${shot.note ? " · " + shot.note : ""}`;
    li.append(link, caption);
    if (this.can("move_screenshot")) {
      const select = el("select", "shot-point");
      select.setAttribute("aria-label", t("room_move_shot"));
      select.addEventListener("change", () => {
        this.client.moveScreenshot(shot.id, select.value ? Number(select.value) : null);
      });
      li.append(select);
    } else {
      li.append(el("span", "shot-point"));
    }
    this.strip.prepend(li);
    $("#shots-empty").hidden = true;
    this.fill(li);
  }

  setChecklist(checklist) {
    this.checklist = checklist;
    if (this.strip) this.strip.querySelectorAll("li[data-shot]").forEach((li) => this.fill(li));
  }

  fill(li) {
    const item = this.placement.itemOf(Number(li.dataset.shot));
    li.dataset.item = item ?? "";
    const point = item != null ? itemById(this.checklist, item) : null;
    let label = t("room_no_point");
    if (point) label = pointName(point.seq, t);
    else if (item != null) label = "…"; // the checklist has not arrived yet
    const target = li.querySelector(".shot-point");
    if (target.tagName !== "SELECT") {
      target.textContent = label;
      return;
    }
    const options = [["", t("room_no_point")]];
    for (const each of this.checklist ? this.checklist.items : []) {
      options.push([String(each.id), `${pointName(each.seq, t)} ${each.text.slice(0, 14)}`]);
    }
    if (item != null && !point) options.push([String(item), label]);
    const wanted = options.map(([value, text]) => value + "\u0000" + text).join("\u0001");
    if (target.dataset.options !== wanted) {
      target.replaceChildren(...options.map(([value, text]) => {
        const option = el("option", null, text);
        option.value = value;
        return option;
      }));
      target.dataset.options = wanted;
    }
    target.value = item != null ? String(item) : "";
    target.title = label;
  }
}

// The work record: every entry with its Beijing time, author and point; staff add lines,
// tied to the current point unless they untick it.
export class RecordPanel {
  constructor(client) {
    this.client = client;
    this.list = $("#record-list");
    this.form = $("#record-form");
    this.entries = [];
    this.checklist = null;
    if (this.form) {
      this.form.addEventListener("submit", (e) => {
        e.preventDefault();
        this.submit();
      });
      $("#record-text").addEventListener("keydown", (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          this.submit();
        }
      });
    }
  }

  submit() {
    const text = $("#record-text").value.trim();
    if (!text) return;
    const current = this.checklist ? this.checklist.current : null;
    const item = $("#record-tie").checked && current != null ? current : null;
    if (this.client.note(text, item)) {
      $("#record-text").value = "";
      $("#record-error").hidden = true;
    }
  }

  showError(message) {
    const error = $("#record-error");
    if (!error) return false;
    error.textContent = message;
    error.hidden = false;
    return true;
  }

  setChecklist(checklist) {
    this.checklist = checklist;
    if (this.form) {
      const current = itemById(checklist, checklist.current);
      $("#record-tie-point").textContent = current ? pointName(current.seq, t) : "";
      $("#record-tie").disabled = !current;
    }
    this.render();
  }

  update(entries) {
    this.entries = entries;
    this.render();
  }

  render() {
    const atBottom = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 8;
    this.list.replaceChildren(...this.entries.map((entry) => {
      const li = el("li");
      li.dataset.entry = entry.id;
      const head = el("div", "entry-head");
      head.append(el("span", "time", beijingTime(entry.at)), el("span", "by", `${entry.by} · ${roleName(entry.role)}`));
      const point = itemById(this.checklist, entry.item);
      if (point) head.append(el("span", "point-tag", pointName(point.seq, t)));
      li.append(head, el("p", "entry-text", entry.text));
      return li;
    }));
    $("#record-empty").hidden = this.entries.length > 0;
    $("#record-count").textContent = this.entries.length ? String(this.entries.length) : "";
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
  }
}

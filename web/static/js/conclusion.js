// Desktop room: the conclusion (结论). The host fills the form — 通过 / 整改 / 不通过, reasons,
// for 整改 a deadline and the rectifications, each tied to a point or to none — and pronounces
// it once; then everyone sees it read-only, with whether the applicant confirmed it.
import { $, config, fmt, t } from "./ui.js";
import {
  beijingDate, beijingTime, conclusionProblems, formatDate, pointName, rectificationRows,
  suggestRectifications,
} from "./outcome.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

export class ConclusionPanel {
  constructor(client) {
    this.client = client;
    this.checklist = null;
    this.conclusion = null;
    this.form = $("#conclusion-form");
    if (this.form) this.wire();
  }

  // -- the form (host) -------------------------------------------------------------------------

  wire() {
    const deadline = $("#conclusion-deadline");
    deadline.min = beijingDate(1);
    deadline.max = beijingDate(180);
    for (const radio of this.form.querySelectorAll("input[name=verdict]")) {
      radio.addEventListener("change", () => this.verdictChanged());
    }
    $("#rect-add").addEventListener("click", () => this.addRow({ item: null, text: "" }).querySelector(".rect-text").focus());
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.pronounce();
    });
  }

  verdict() {
    const checked = this.form.querySelector("input[name=verdict]:checked");
    return checked ? checked.value : "";
  }

  verdictChanged() {
    const rectify = this.verdict() === "rectify";
    $("#rectify-fields").hidden = !rectify;
    if (rectify && !$("#rect-list").children.length) {
      const suggested = suggestRectifications(this.checklist);
      for (const row of suggested.length ? suggested : [{ item: null, text: "" }]) this.addRow(row);
    }
  }

  addRow({ item, text }) {
    const li = el("li", "rect-row");
    const select = el("select", "rect-item");
    select.setAttribute("aria-label", t("room_rectifications"));
    const input = el("input", "rect-text");
    input.type = "text";
    input.maxLength = 300;
    input.placeholder = t("room_rect_text");
    input.value = text;
    const remove = el("button", "small rect-remove", t("room_rect_remove"));
    remove.type = "button";
    remove.addEventListener("click", () => li.remove());
    li.append(select, input, remove);
    $("#rect-list").append(li);
    this.fillSelect(select, item);
    return li;
  }

  fillSelect(select, item) {
    const options = [["", t("room_no_point")]];
    for (const point of this.checklist ? this.checklist.items : []) {
      if (point.kind === "identity") continue;
      options.push([String(point.id), `${pointName(point.seq, t)} ${point.text.slice(0, 16)}`]);
    }
    select.replaceChildren(...options.map(([value, text]) => {
      const option = el("option", null, text);
      option.value = value;
      return option;
    }));
    select.value = item != null ? String(item) : "";
  }

  values() {
    return {
      verdict: this.verdict(),
      reasons: $("#conclusion-reasons").value.trim(),
      deadline: $("#conclusion-deadline").value,
      rectifications: [...$("#rect-list").querySelectorAll(".rect-row")]
        .map((row) => ({
          item: row.querySelector(".rect-item").value ? Number(row.querySelector(".rect-item").value) : null,
          text: row.querySelector(".rect-text").value.trim(),
        }))
        .filter((r) => r.text),
    };
  }

  pronounce() {
    const values = this.values();
    const problems = conclusionProblems(values);
    if (problems.length) {
      this.showError(problems.map((key) => t(key)).join("；"));
      return;
    }
    if (!confirm(fmt("room_announce_confirm", { verdict: t(`room_verdict_${values.verdict}`) }))) return;
    $("#conclusion-error").hidden = true;
    if (this.client.conclude(values)) $("#announce").disabled = true;
  }

  showError(message) {
    const error = $("#conclusion-error");
    if (!error) return false;
    error.textContent = message;
    error.hidden = false;
    $("#announce").disabled = false;
    return true;
  }

  // -- what everyone sees ----------------------------------------------------------------------

  setChecklist(checklist) {
    this.checklist = checklist;
    if (this.form) {
      for (const select of this.form.querySelectorAll(".rect-item")) {
        this.fillSelect(select, select.value ? Number(select.value) : null);
      }
    }
    if (this.conclusion) this.render();
  }

  update(conclusion) {
    this.conclusion = conclusion;
    if (this.form) this.form.hidden = true;
    $("#conclusion-none").hidden = true;
    this.render();
  }

  render() {
    const c = this.conclusion;
    const view = $("#conclusion-view");
    view.dataset.verdict = c.verdict;
    const parts = [el("p", `verdict verdict-${c.verdict}`, t(`room_verdict_${c.verdict}`))];
    parts.push(el("p", "reasons", c.reasons));
    if (c.verdict === "rectify") {
      parts.push(el("p", "deadline", `${t("room_deadline")}：${formatDate(c.deadline, config.lang)}`));
      const list = el("ol", "rectifications");
      for (const row of rectificationRows(c, this.checklist)) {
        const li = el("li");
        if (row.seq != null) {
          const tag = el("span", "point-tag", pointName(row.seq, t));
          tag.title = row.point;
          li.append(tag, " ");
        }
        li.append(row.text);
        list.append(li);
      }
      parts.push(list);
    }
    parts.push(el("p", "muted small", `${c.by} · ${beijingTime(c.at)}`));
    const state = c.confirmation || "waiting";
    const confirmation = el("p", "confirmation", t(`room_confirmation_${state}`));
    confirmation.id = "confirmation";
    confirmation.dataset.state = state;
    if (c.confirmed_at) confirmation.textContent += ` · ${beijingTime(c.confirmed_at)}`;
    parts.push(confirmation);
    view.replaceChildren(...parts);
    view.hidden = false;
    const mark = $("#conclusion-mark");
    mark.textContent = t(`room_verdict_${c.verdict}`);
    mark.dataset.verdict = c.verdict;
  }
}

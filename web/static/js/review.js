// The review of a self-recorded site video on the case page (web/views/review.py): the video in
// the evidence player with its timeline, and — while it is under review, for those who may —
// the checklist walked against the video (current point, marks with notes), 截图 of the frame
// shown at the player's instant, the work record, the conclusion and 要求重新拍摄.
//
// Every change is sent as JSON with the player's current time (`at`), so it sits at that
// instant on the timeline; the server answers with the whole review, which is drawn again.
import { EvidencePlayer, formatClock } from "./player.js";
import {
  MARKS_BY_KIND, beijingDate, beijingTime, conclusionProblems, itemById, pointName,
  suggestRectifications,
} from "./outcome.js";

const config = JSON.parse(document.getElementById("review-config").textContent);
const t = (key) => config.strings[key] ?? key;
const fmt = (key, values) => t(key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function button(className, text, onClick) {
  const b = el("button", className, text);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

// A JSON request with the staff session's form token; the server's message on refusal.
export async function call(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": config.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // A redirect to the login page, or any answer that is not JSON: the session expired.
  if (!(response.headers.get("Content-Type") || "").includes("json")) throw new Error(t("video_reload"));
  let data = null;
  try {
    data = await response.json();
  } catch {
    // not JSON after all
  }
  if (!response.ok) {
    const message = data && data.error ? data.error.message : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return data;
}

class Review {
  constructor(section) {
    this.section = section;
    this.id = section.dataset.inspection;
    this.base = `/inspections/${this.id}`;
    this.view = null;
    this.player = null;
    this.fresh = null; // the screenshot just taken
    this.q = (selector) => section.querySelector(selector);
  }

  get may() {
    return this.view ? this.view.may : { review: false, conclude: false };
  }

  // The player's instant, in seconds (to the millisecond).
  at() {
    return this.player ? Math.round(this.player.time * 1000) / 1000 : 0;
  }

  async load() {
    try {
      this.apply(await call("GET", `${this.base}/review`));
    } catch (error) {
      this.say(error.message, "error");
    }
  }

  apply(view) {
    this.view = view;
    if (!this.player) this.makePlayer(view);
    else this.player.setTimeline(view.timeline);
    this.section.dataset.shots = String(view.screenshots.length);
    this.drawGallery();
    if (this.q(".review-points")) this.drawPoints();
    if (this.q(".review-record")) this.drawRecord();
    this.fillRectificationSelects();
  }

  makePlayer(view) {
    const root = this.q(".review-player");
    this.player = new EvidencePlayer(root, view.timeline, { words: { seek: t("video_seek") } });
    if (root.dataset.poster) this.player.video.poster = root.dataset.poster;
    const at = this.q(".review-at");
    const show = () => {
      if (at) at.textContent = fmt("video_at", { time: formatClock(this.player.time), ms: String(Math.round((this.player.time % 1) * 1000)).padStart(3, "0") });
    };
    this.player.addEventListener("time", show);
    this.player.video.addEventListener("seeked", show);
    show();
    const strip = this.q(".review-strip");
    if (strip) {
      strip.addEventListener("click", (e) => {
        const box = strip.getBoundingClientRect();
        this.player.seek(((e.clientX - box.left) / box.width) * (view.timeline.duration || 0));
      });
    }
    const shot = this.q(".review-shot");
    if (shot) shot.addEventListener("click", () => this.screenshot());
    const note = this.q(".review-note");
    if (note) note.addEventListener("submit", (e) => { e.preventDefault(); this.addNote(note); });
    const conclusion = this.q(".review-conclusion");
    if (conclusion) this.wireConclusion(conclusion);
    const again = this.q(".ask-again-form");
    if (again) again.addEventListener("submit", (e) => { e.preventDefault(); this.askAgain(again); });
  }

  say(text, kind = "ok") {
    const line = this.q(".review-message");
    if (!line) {
      if (kind === "error") window.alert(text);
      return;
    }
    line.textContent = text;
    line.dataset.kind = kind;
  }

  async act(path, body, done) {
    try {
      const view = await call("POST", `${this.base}/review/${path}`, { ...body, at: this.at() });
      this.apply(view);
      if (done) this.say(done);
      return view;
    } catch (error) {
      this.say(error.message, "error");
      return null;
    }
  }

  // -- screenshots -------------------------------------------------------------------------------

  async screenshot() {
    const b = this.q(".review-shot");
    b.disabled = true;
    this.player.video.pause();
    this.say(t("video_screenshot_taking"));
    const view = await this.act("screenshots", {});
    b.disabled = false;
    if (view) {
      this.fresh = view.screenshot;
      this.drawGallery();
      this.say(t("video_screenshot_saved"));
    }
  }

  drawGallery() {
    const gallery = this.q(".review-gallery");
    const checklist = this.view.checklist;
    gallery.replaceChildren(...this.view.screenshots.map((shot) => {
      const figure = el("figure", shot.id === this.fresh ? "shot fresh" : "shot");
      figure.dataset.screenshot = String(shot.id);
      figure.dataset.at = String(shot.offset_s ?? "");
      const img = el("img");
      img.src = shot.url;
      img.alt = `${t("video_screenshot")} ${shot.id}`;
      img.loading = "lazy";
      const item = itemById(checklist, shot.item);
      const caption = el("figcaption", null, `${formatClock(shot.offset_s || 0)}${item ? ` · ${pointName(item.seq, t)}` : ""}`);
      figure.title = t("video_seek");
      figure.append(img, caption);
      figure.addEventListener("click", () => this.player.seek(shot.offset_s || 0));
      return figure;
    }));
  }

  // -- the checklist ---------------------------------------------------------------------------

  drawPoints() {
    const list = this.q(".review-points");
    const { checklist } = this.view;
    list.replaceChildren(...checklist.items.map((item) => {
      const li = el("li", item.id === checklist.current ? "point current" : "point");
      li.dataset.item = String(item.id);
      li.dataset.verdict = item.mark ? item.mark.verdict : "";
      const head = el("div", "point-head");
      head.append(el("span", "seq", String(item.seq)), el("span", "point-text", item.text));
      const badge = el("span", "mark-badge", item.mark ? t(`room_mark_${item.mark.verdict}`) : t("room_unmarked"));
      badge.dataset.verdict = item.mark ? item.mark.verdict : "";
      head.append(badge);
      li.append(head);
      const meta = el("div", "point-meta");
      meta.append(el("span", "current-tag", t("room_current")));
      if (item.mark) {
        if (item.mark.note) meta.append(el("span", "mark-note-text", item.mark.note));
        meta.append(el("span", null, `${item.mark.by} · ${beijingTime(item.mark.at)}`));
        if (item.mark.offset_s != null) {
          meta.append(button("seek", formatClock(item.mark.offset_s), () => this.player.seek(item.mark.offset_s)));
        }
        if (item.marks > 1) meta.append(el("span", null, fmt("room_marks_count", { n: item.marks })));
      }
      if (item.screenshots.length) meta.append(el("span", null, fmt("room_shots_count", { n: item.screenshots.length })));
      li.append(meta);
      if (this.may.review) li.append(this.pointActions(item));
      return li;
    }));
  }

  pointActions(item) {
    const actions = el("div", "point-actions");
    if (item.id !== this.view.checklist.current) {
      actions.append(button("small set-current", t("room_set_current"), () => this.act("current", { item: item.id }, t("video_saved"))));
    }
    const note = el("input", "mark-note");
    note.type = "text";
    note.maxLength = 500;
    note.placeholder = t("room_mark_note");
    note.setAttribute("aria-label", t("room_mark_note"));
    for (const verdict of MARKS_BY_KIND[item.kind] || []) {
      const b = button(`small mark-${verdict}`, t(`room_mark_${verdict}`), () => this.act("marks", { item: item.id, verdict, note: note.value.trim() }, t("video_saved")));
      b.dataset.verdict = verdict;
      actions.append(b);
    }
    actions.append(note);
    return actions;
  }

  // -- the work record ---------------------------------------------------------------------------

  drawRecord() {
    const list = this.q(".review-record");
    const { checklist } = this.view;
    if (!this.view.entries.length) {
      list.replaceChildren(el("li", "muted empty", t("room_record_empty")));
      return;
    }
    list.replaceChildren(...this.view.entries.map((entry) => {
      const li = el("li");
      const item = itemById(checklist, entry.item);
      if (entry.offset_s != null) li.append(button("seek", formatClock(entry.offset_s), () => this.player.seek(entry.offset_s)), " ");
      if (item) li.append(el("span", "point-tag", pointName(item.seq, t)), " ");
      li.append(el("span", null, entry.text), el("span", "muted small", ` — ${entry.by} ${beijingTime(entry.at)}`));
      return li;
    }));
  }

  async addNote(form) {
    const text = form.elements.text.value.trim();
    if (!text) return;
    const tie = form.elements.tie.checked ? this.view.checklist.current : null;
    if (await this.act("notes", { text, item: tie }, t("video_saved"))) form.elements.text.value = "";
  }

  // -- the conclusion and 要求重新拍摄 ------------------------------------------------------------

  wireConclusion(form) {
    const deadline = form.elements.deadline;
    deadline.min = beijingDate(1);
    deadline.max = beijingDate(180);
    for (const radio of form.querySelectorAll("input[name=verdict]")) {
      radio.addEventListener("change", () => {
        const rectify = radio.value === "rectify" && radio.checked;
        form.querySelector(".rectify-fields").hidden = !rectify;
        if (rectify && !form.querySelector(".rect-list").children.length) {
          const suggested = suggestRectifications(this.view.checklist);
          for (const row of suggested.length ? suggested : [{ item: null, text: "" }]) this.addRectification(row);
        }
      });
    }
    form.querySelector(".rect-add").addEventListener("click", () => this.addRectification({ item: null, text: "" }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.conclude(form);
    });
  }

  addRectification({ item, text }) {
    const li = el("li", "rect-row");
    const select = el("select", "rect-item");
    select.setAttribute("aria-label", t("room_rectifications"));
    select.dataset.value = item == null ? "" : String(item);
    const input = el("input", "rect-text");
    input.type = "text";
    input.maxLength = 300;
    input.placeholder = t("room_rect_text");
    input.value = text;
    li.append(select, input, button("small rect-remove", t("room_rect_remove"), () => li.remove()));
    this.q(".rect-list").append(li);
    this.fillRectificationSelects();
  }

  fillRectificationSelects() {
    for (const select of this.section.querySelectorAll(".rect-item")) {
      const wanted = select.value || select.dataset.value || "";
      const options = [["", t("room_no_point")]];
      for (const point of this.view.checklist.items) {
        if (point.kind !== "identity") options.push([String(point.id), `${pointName(point.seq, t)} ${point.text.slice(0, 16)}`]);
      }
      select.replaceChildren(...options.map(([value, text]) => {
        const option = el("option", null, text);
        option.value = value;
        return option;
      }));
      select.value = wanted;
    }
  }

  async conclude(form) {
    const checked = form.querySelector("input[name=verdict]:checked");
    const values = {
      verdict: checked ? checked.value : "",
      reasons: form.elements.reasons.value.trim(),
      deadline: form.elements.deadline.value,
      rectifications: [...form.querySelectorAll(".rect-row")]
        .map((row) => ({
          item: row.querySelector(".rect-item").value ? Number(row.querySelector(".rect-item").value) : null,
          text: row.querySelector(".rect-text").value.trim(),
        }))
        .filter((r) => r.text),
    };
    const error = form.querySelector(".conclusion-error");
    const problems = conclusionProblems(values);
    if (problems.length) {
      error.textContent = problems.map((key) => t(key)).join("；");
      error.hidden = false;
      return;
    }
    if (!window.confirm(fmt("video_conclude_confirm", { verdict: t(`room_verdict_${values.verdict}`) }))) return;
    if (values.verdict !== "rectify") {
      values.deadline = null;
      values.rectifications = [];
    }
    error.hidden = true;
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      await call("POST", `${this.base}/review/conclusion`, { ...values, at: this.at() });
      window.location.reload(); // the concluded inspection, its conclusion and its record
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
      submit.disabled = false;
    }
  }

  async askAgain(form) {
    const reason = form.elements.reason.value.trim();
    const error = form.querySelector(".ask-again-error");
    if (reason.length < 2) {
      error.textContent = t("video_ask_again_need_reason");
      error.hidden = false;
      return;
    }
    if (!window.confirm(t("video_ask_again_confirm"))) return;
    try {
      await call("POST", `${this.base}/review/ask-again`, { reason });
      window.location.reload();
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  }
}

for (const section of document.querySelectorAll(".video-review[data-video]")) {
  const review = new Review(section);
  section.review = review;
  review.load();
}

// Page helpers shared by the desktop and phone pages: strings, tiles, toasts, camera, quality.
import { FREEZE_AFTER_S, FrameWatch, LEVELS } from "./signal.js";

export const config = JSON.parse(document.getElementById("kanyan-config").textContent);
export const t = (key) => config.strings[key] ?? key;
export const $ = (selector) => document.querySelector(selector);
// A string with {name} placeholders filled in.
export const fmt = (key, values) => t(key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));

export function roleName(role) {
  return t(`role_${role}`);
}

let toastTimer = null;
export function toast(text, ms = 4000) {
  const el = $("#toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, ms);
}

export function setStatus(key) {
  const el = $("#status-line");
  el.textContent = t(key);
  el.dataset.status = key;
}

// Camera and microphone. `facing` is "environment" (rear, the applicant) or "user".
export async function openMedia({ facing = "user", width = 640, height = 480 } = {}) {
  const video = { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: 15, max: 30 } };
  if (facing) video.facingMode = { ideal: facing };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true }, video });
  } catch (videoError) {
    // An observer may have no camera at all: join with the microphone, or with nothing.
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      toast(t("no_camera") + videoError.name);
      return stream;
    } catch {
      toast(t("no_camera") + videoError.name);
      return new MediaStream();
    }
  }
}

// One tile per participant: a <video> playing their camera and microphone.
export class Tiles {
  constructor(container, { selfId, onTile } = {}) {
    this.container = container;
    this.selfId = selfId;
    this.onTile = onTile;
    this.tiles = new Map(); // participant id → {el, video, stream, member}
  }

  ensure(member) {
    let tile = this.tiles.get(member.id);
    if (!tile) {
      const el = document.createElement("figure");
      el.className = "tile";
      el.dataset.participant = member.id;
      el.dataset.role = member.role;
      const video = document.createElement("video");
      video.autoplay = true;
      video.playsInline = true;
      video.setAttribute("playsinline", "");
      if (member.id === this.selfId) video.muted = true;
      const placeholder = document.createElement("div");
      placeholder.className = "placeholder";
      const caption = document.createElement("figcaption");
      caption.innerHTML = '<span class="quality" title=""></span><span class="name"></span><span class="role"></span><span class="flags"></span>';
      // What is happening when the picture is not moving: in the background, stalled, frozen.
      const alert = document.createElement("p");
      alert.className = "tile-alert";
      alert.setAttribute("role", "status");
      alert.hidden = true;
      el.append(video, placeholder, alert, caption);
      tile = { el, video, placeholder, alert, stream: null, member, frozen: 0 };
      this.tiles.set(member.id, tile);
      this.container.append(el);
      if (this.onTile) this.onTile(tile);
    }
    tile.member = member;
    tile.el.querySelector(".name").textContent = member.id === this.selfId ? `${member.name}（${t("you")}）` : member.name;
    tile.el.querySelector(".role").textContent = roleName(member.role);
    const flags = [];
    if (member.status === "dropped") flags.push(t("disconnected"));
    else if (member.reconnected) flags.push(t("reconnected"));
    const uplink = member.device && member.device.uplink;
    if (uplink === "fair" || uplink === "poor") flags.push(t(`cue_uplink_${uplink}`));
    if (member.audio === false) flags.push("🔇");
    tile.el.querySelector(".flags").textContent = flags.join(" ");
    tile.el.classList.toggle("dropped", member.status === "dropped");
    tile.el.dataset.uplink = uplink || "";
    this._alert(tile);
    return tile;
  }

  // Seconds the tile's picture has stood still (from the receiver's statistics).
  setFrozen(id, seconds) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.frozen = seconds;
    this._alert(tile);
  }

  _alert(tile) {
    const m = tile.member;
    const device = m.device || {};
    let text = "";
    // In the background, even once the phone has let its connection go: that is why.
    if (device.background) {
      text = t(m.role === "applicant" ? "cue_background_applicant" : "cue_background");
      if (m.status === "dropped") text += `（${t("disconnected")}）`;
    } else if (m.status !== "dropped") {
      if (tile.frozen >= FREEZE_AFTER_S && m.video !== false) {
        const why = m.stalled ? "cue_frozen_stalled" : device.uplink === "poor" ? "cue_frozen_poor" : "cue_frozen_wait";
        text = fmt("cue_frozen", { n: Math.round(tile.frozen) }) + t(why);
      } else if (m.stalled) text = t("cue_stalled");
    }
    tile.alert.textContent = text;
    tile.alert.hidden = !text;
    tile.el.dataset.alert = text ? "shown" : "";
    this._placeholder(tile);
    if (text) tile.placeholder.textContent = ""; // one message over the picture, not two
  }

  _placeholder(tile) {
    const hasVideo = tile.stream && tile.stream.getVideoTracks().length > 0 && tile.member.video !== false;
    tile.placeholder.textContent = tile.member.status === "dropped" ? t("disconnected") : (hasVideo ? "" : `${tile.member.name} · ${t("no_video")}`);
    tile.placeholder.hidden = hasVideo && tile.member.status !== "dropped";
  }

  // Replace the tracks a tile plays. Never give a <video> an empty stream (it blocks `load`).
  setTracks(id, tracks) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    const current = tile.stream ? tile.stream.getTracks() : [];
    const same = current.length === tracks.length && tracks.every((track) => current.includes(track));
    if (!same) {
      if (tracks.length) {
        tile.stream = new MediaStream(tracks);
        tile.video.srcObject = tile.stream;
        tile.video.play().catch(() => {});
      } else {
        tile.stream = null;
        tile.video.srcObject = null;
      }
    }
    this._alert(tile);
  }

  retain(ids) {
    for (const [id, tile] of this.tiles) {
      if (!ids.has(id)) {
        tile.el.remove();
        this.tiles.delete(id);
      }
    }
  }

  get(id) { return this.tiles.get(id); }
}

// Mark each remote tile's connection quality from the receiver's statistics.
export function watchQuality(client, tiles, midOwner) {
  const previous = new Map();
  const still = new FrameWatch();
  setInterval(async () => {
    const stats = await client.inboundStats();
    still.retain(new Set(stats.keys()));
    for (const [mid, s] of stats) {
      if (s.kind !== "video") continue;
      const owner = midOwner(mid);
      const tile = owner != null && tiles.get(owner);
      if (!tile) continue;
      const before = previous.get(mid);
      previous.set(mid, s);
      if (!before) continue;
      const seconds = (s.timestamp - before.timestamp) / 1000 || 1;
      const fps = (s.framesDecoded - before.framesDecoded) / seconds;
      const received = s.packetsReceived - before.packetsReceived;
      const lost = Math.max(0, s.packetsLost - before.packetsLost);
      const loss = received + lost > 0 ? lost / (received + lost) : 0;
      let level = "good";
      if (loss > 0.08 || fps < 5) level = "poor";
      else if (loss > 0.02 || fps < 10) level = "fair";
      // The sender's own judgement of its uplink (the phone reports it): the worse one shows.
      const reported = tile.member.device && tile.member.device.uplink;
      if (LEVELS.indexOf(reported) > LEVELS.indexOf(level)) level = reported;
      tiles.setFrozen(owner, still.update(mid, s.framesDecoded, Date.now()));
      const mark = tile.el.querySelector(".quality");
      mark.dataset.level = level;
      mark.title = `${t("quality_" + level)} · ${fps.toFixed(0)} fps · ${(loss * 100).toFixed(1)}%`;
      tile.el.dataset.fps = fps.toFixed(1);
    }
  }, 2000);
}

// Final states: say why the session is over, in words.
export function finalMessage(code) {
  return {
    ended: t("ended_message"), removed: t("removed_message"), denied: t("denied_message"),
    replaced: t("replaced_message"), interrupted: t("interrupted_message"), revoked: t("revoked_message"),
  }[code] || t("status_closed");
}

// A small modal question with a text answer (the reason for 中止, for declining): resolves to
// the text, or null when cancelled. `required`: the OK button waits for an answer.
export function ask({ title, label, hint = "", required = false, ok = t("room_ok") }) {
  return new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = "ask";
    const form = document.createElement("form");
    form.method = "dialog";
    const heading = document.createElement("h2");
    heading.textContent = title;
    const field = document.createElement("label");
    const caption = document.createElement("span");
    caption.textContent = label;
    const text = document.createElement("textarea");
    text.rows = 3;
    text.maxLength = 300;
    text.required = required;
    if (required) text.minLength = 2;
    field.append(caption, text);
    const note = document.createElement("p");
    note.className = "muted small";
    note.textContent = hint;
    note.hidden = !hint;
    const buttons = document.createElement("div");
    buttons.className = "ask-buttons";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = t("room_cancel");
    const confirmButton = document.createElement("button");
    confirmButton.type = "submit";
    confirmButton.className = "primary";
    confirmButton.textContent = ok;
    buttons.append(cancel, confirmButton);
    form.append(heading, field, note, buttons);
    dialog.append(form);
    document.body.append(dialog);
    let answer = null;
    form.addEventListener("submit", () => { answer = text.value.trim(); });
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(answer);
    });
    dialog.showModal();
    text.focus();
  });
}

// The page's last word when the connection is over for good. After 中止 the same link opens the
// next session, so the page offers to rejoin (a reload) instead of reconnecting by itself.
export function showClosed(code, message = finalMessage(code)) {
  const line = $("#status-line");
  line.textContent = message;
  line.dataset.status = "status_closed";
  const panel = $("#closed");
  if (!panel || code !== "interrupted") return;
  const text = $("#closed-message");
  if (text) {
    text.textContent = message; // the banner says it; the header line stays short
    line.textContent = t("state_interrupted");
  }
  $("#rejoin").hidden = false;
  $("#rejoin").onclick = () => location.reload();
  panel.hidden = false;
}

// The "录制中 hh:mm:ss" mark. The server says how long the session has been recorded when it
// tells us; the page counts on from there with its own clock (no dependence on its date).
export class RecordingMark {
  constructor(el) {
    this.el = el;
    this.base = null;
    this.timer = null;
  }

  // The session ended or was interrupted: nothing records any more, whatever was last heard.
  stop() {
    if (this.el.dataset.state === "recording") this.update({ state: "stopped", elapsed_s: 0 });
  }

  update({ state, elapsed_s }) {
    this.el.dataset.state = state;
    this.el.hidden = state === "idle";
    clearInterval(this.timer);
    if (state === "recording") {
      this.base = performance.now() - elapsed_s * 1000;
      const tick = () => {
        const s = Math.max(0, Math.floor((performance.now() - this.base) / 1000));
        const hms = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, "0")).join(":");
        this.el.textContent = `● ${t("recording")} ${hms}`;
      };
      tick();
      this.timer = setInterval(tick, 1000);
    } else {
      this.el.textContent = t(state === "interrupted" ? "recording_interrupted" : "recording_stopped");
    }
  }
}

// A big, short-lived message over the page (the applicant sees "截图已保存").
export function flash(text, ms = 1600) {
  const el = $("#flash");
  if (!el) return;
  el.textContent = text;
  el.hidden = false;
  el.classList.remove("show");
  void el.offsetWidth; // restart the animation
  el.classList.add("show");
  clearTimeout(el._timer);
  el._timer = setTimeout(() => { el.hidden = true; }, ms);
}

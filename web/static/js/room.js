// Desktop room page: staff and observers. The protocol lives in protocol.js; the checklist,
// screenshot strip and work record in checklist.js, the conclusion in conclusion.js.
import { KanyanClient } from "./protocol.js";
import { $, RecordingMark, Tiles, ask, config, openMedia, setStatus, showClosed, t, toast, watchQuality } from "./ui.js";
import { ChecklistPanel, RecordPanel, ShotStrip } from "./checklist.js";
import { ConclusionPanel } from "./conclusion.js";
import { ShotPlacement } from "./outcome.js";
import { addCameraRequests } from "./camera-requests.js";

const client = new KanyanClient({ inspection: config.inspection, token: config.token });
const can = (action) => config.permissions.includes(action);
let selfId = null;
let localStream = null;
let roster = [];
let remoteByParticipant = new Map(); // participant id → [tracks]
let midOwner = new Map();
const tiles = new Tiles($("#grid"), { onTile: addTileControls });
const recordingMark = new RecordingMark($("#rec-mark"));
let hovered = null; // the tile under the pointer: what the S key captures
const placement = new ShotPlacement();
const seesChecklist = can("see_checklist");
const checklist = seesChecklist ? new ChecklistPanel(client, { can, placement }) : null;
const record = seesChecklist ? new RecordPanel(client) : null;
const conclusion = seesChecklist ? new ConclusionPanel(client) : null;
const shots = new ShotStrip(client, { can, placement });
window.kanyan = { client, tiles }; // for tests and the curious

async function preview() {
  localStream = await openMedia({ facing: "user" });
  if (localStream.getVideoTracks().length) $("#preview").srcObject = localStream;
}

function addTileControls(tile) {
  const id = tile.member.id;
  tile.el.addEventListener("mouseenter", () => { hovered = id; });
  tile.el.addEventListener("mouseleave", () => { if (hovered === id) hovered = null; });
  if (can("screenshot")) {
    const shot = document.createElement("button");
    shot.className = "tile-shot small";
    shot.type = "button";
    shot.textContent = t("screenshot");
    shot.title = t("screenshot_key");
    shot.addEventListener("click", () => takeScreenshot(id));
    tile.el.append(shot);
  }
  if (can("ask_camera") && tile.member.role === "applicant") addCameraRequests(tile, client);
  if (!can("remove") || tile.member.id === selfId) return;
  const button = document.createElement("button");
  button.className = "tile-remove small";
  button.type = "button";
  button.textContent = t("remove");
  button.addEventListener("click", () => {
    if (confirm(t("remove_confirm"))) client.remove(tile.member.id);
  });
  tile.el.append(button);
}

function render() {
  const seated = roster.filter((m) => m.status === "admitted" || m.status === "dropped");
  tiles.selfId = selfId;
  for (const member of seated) {
    tiles.ensure(member);
    if (member.id === selfId) {
      const own = localStream ? localStream.getVideoTracks() : [];
      tiles.setTracks(member.id, own);
    } else {
      tiles.setTracks(member.id, remoteByParticipant.get(member.id) || []);
    }
  }
  tiles.retain(new Set(seated.map((m) => m.id)));
  $("#grid").dataset.count = String(seated.length);
  if (can("admit")) renderLobby(roster.filter((m) => m.status === "lobby" || m.status === "denied"));
}

// The lobby list also holds the people the host denied: their knocks are refused until the
// host admits them here, after which they walk in when they next open their link.
function renderLobby(people) {
  const list = $("#lobby-list");
  list.replaceChildren();
  const waiting = people.filter((m) => m.status === "lobby");
  for (const member of people) {
    const li = document.createElement("li");
    li.dataset.participant = member.id;
    li.innerHTML = '<span class="name"></span> <span class="role muted"></span> ';
    li.querySelector(".name").textContent = member.name;
    li.querySelector(".role").textContent = t(`role_${member.role}`);
    const admit = document.createElement("button");
    admit.className = "primary small admit";
    admit.textContent = t("admit");
    admit.addEventListener("click", () => client.admit(member.id));
    if (member.status === "denied") {
      li.classList.add("denied");
      li.querySelector(".role").textContent += ` · ${t("denied_mark")}`;
      admit.className = "small admit";
      li.append(admit);
      list.append(li);
      continue;
    }
    const deny = document.createElement("button");
    deny.className = "small deny";
    deny.textContent = t("deny");
    deny.addEventListener("click", () => client.deny(member.id));
    li.append(admit, deny);
    list.append(li);
  }
  $("#lobby-empty").hidden = waiting.length > 0;
  announceLobby(waiting);
}

// A host busy with the site camera must notice someone knocking: the tab title counts the
// waiting, and a short chime sounds when someone new arrives.
const baseTitle = document.title;
let knownWaiting = new Set();
function announceLobby(waiting) {
  const ids = new Set(waiting.map((m) => m.id));
  const newcomer = [...ids].some((id) => !knownWaiting.has(id));
  knownWaiting = ids;
  document.title = waiting.length ? `（${waiting.length}）${t("lobby")} · ${baseTitle}` : baseTitle;
  if (newcomer) chime();
}

function chime() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.4);
    tone.onended = () => audio.close();
  } catch { /* no audio output: the title still says it */ }
}

// Screenshots: the server captures the person's own video at full resolution; the strip
// shows what staff have taken, newest first.
function takeScreenshot(id) {
  if (client.screenshot(id)) toast(t("screenshot_taking"), 1500);
}

document.addEventListener("keydown", (e) => {
  if (e.key !== "s" && e.key !== "S") return;
  if (e.ctrlKey || e.metaKey || e.altKey || !can("screenshot")) return;
  if (e.target.closest && e.target.closest("input, textarea, select, [contenteditable]")) return;
  const applicant = roster.find((m) => m.role === "applicant" && m.status === "admitted");
  const target = hovered ?? applicant?.id;
  if (target != null) takeScreenshot(target);
});

function showState(state) {
  const badge = $("#state-badge");
  badge.className = `badge state-${state}`;
  badge.textContent = t(`state_${state}`);
  const start = $("#start-session");
  if (start) start.hidden = state !== "open";
  for (const id of ["#end-session", "#interrupt-session"]) {
    const button = $(id);
    if (button) button.hidden = state !== "live";
  }
}

// The side panel's tabs: checklist, work record, conclusion.
function showTab(name) {
  for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
    const selected = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(selected));
    $(`#${tab.getAttribute("aria-controls")}`).hidden = !selected;
  }
}
for (const tab of document.querySelectorAll(".tabs [role=tab]")) {
  tab.addEventListener("click", () => showTab(tab.id.replace("tab-", "")));
}

// Errors about the outcome are shown where they were made; the rest as a toast.
function showError(error) {
  if (error.ref === "conclude" && conclusion && conclusion.showError(error.message)) {
    showTab("conclusion");
    return;
  }
  if (error.ref === "note" && record && record.showError(error.message)) return;
  if (error.code === "no_conclusion" && conclusion) showTab("conclusion");
  toast(error.message, 8000);
}

client.addEventListener("welcome", (e) => { selfId = e.detail.you.id; });
client.addEventListener("status", (e) => {
  const { status, code } = e.detail;
  if (status === "closed") {
    showClosed(code, code === "interrupted" ? t("room_interrupted_staff") : undefined);
    if (code === "ended" || code === "interrupted") recordingMark.stop();
    $("#controls").hidden = true;
    return;
  }
  setStatus({ connecting: "status_connecting", lobby: "status_lobby", connected: "status_connected", reconnecting: "status_reconnecting" }[status] || "status_connecting");
});
client.addEventListener("roster", (e) => { roster = e.detail.members; showState(e.detail.state); render(); });
client.addEventListener("state", (e) => showState(e.detail.state));
client.addEventListener("media", (e) => {
  remoteByParticipant = new Map();
  midOwner = new Map();
  for (const { mid, participant, track } of e.detail.remote) {
    midOwner.set(mid, participant);
    if (!remoteByParticipant.has(participant)) remoteByParticipant.set(participant, []);
    remoteByParticipant.get(participant).push(track);
  }
  render();
});
client.addEventListener("recording", (e) => recordingMark.update(e.detail));
function addShot(shot) {
  placement.fromShot(shot);
  shots.add(shot);
  if (checklist) checklist.refreshCounts();
}
client.addEventListener("screenshots", (e) => e.detail.screenshots.forEach(addShot));
client.addEventListener("screenshot", (e) => {
  const shot = e.detail.screenshot;
  addShot(shot);
  const tile = tiles.get(shot.participant);
  if (tile) {
    tile.el.classList.remove("shot-taken");
    void tile.el.offsetWidth;
    tile.el.classList.add("shot-taken");
  }
  toast(`${t("screenshot_saved")} · ${shot.participant_name}`, 2000);
});
client.addEventListener("notice", (e) => toast(e.detail.message, e.detail.level === "error" ? 8000 : 4000));
client.addEventListener("checklist", (e) => {
  placement.fromChecklist(e.detail);
  shots.setChecklist(e.detail);
  if (!checklist) return;
  checklist.update(e.detail);
  record.setChecklist(e.detail);
  conclusion.setChecklist(e.detail);
});
client.addEventListener("record", (e) => { if (record) record.update(e.detail); });
client.addEventListener("conclusion", (e) => {
  if (!conclusion) return;
  const first = !conclusion.conclusion;
  conclusion.update(e.detail);
  if (first) {
    toast(t("room_concluded"));
    showTab("conclusion");
  }
});
client.addEventListener("error", (e) => showError(e.detail));
client.addEventListener("bye", (e) => toast(e.detail.message));

$("#join").addEventListener("click", async () => {
  $("#join").disabled = true;
  if (!localStream) await preview();
  client.setLocalTracks({ audio: localStream.getAudioTracks()[0], video: localStream.getVideoTracks()[0] });
  $("#prejoin").hidden = true;
  $("#room").hidden = false;
  $("#controls").hidden = false;
  client.connect();
  watchQuality(client, tiles, (mid) => midOwner.get(mid));
});

$("#toggle-mic").addEventListener("click", (e) => {
  const track = localStream && localStream.getAudioTracks()[0];
  if (!track) return;
  track.enabled = !track.enabled;
  e.target.textContent = track.enabled ? t("mute") : t("unmute");
  e.target.setAttribute("aria-pressed", String(!track.enabled));
  sendMediaState();
});
$("#toggle-camera").addEventListener("click", (e) => {
  const track = localStream && localStream.getVideoTracks()[0];
  if (!track) return;
  track.enabled = !track.enabled;
  e.target.textContent = track.enabled ? t("camera_off") : t("camera_on");
  e.target.setAttribute("aria-pressed", String(!track.enabled));
  sendMediaState();
});
function sendMediaState() {
  const audio = localStream.getAudioTracks()[0];
  const video = localStream.getVideoTracks()[0];
  client.setMedia(Boolean(audio && audio.enabled), Boolean(video && video.enabled));
}
$("#start-session")?.addEventListener("click", () => client.start());
// Ending needs the conclusion first: without one the server says so (shown by showError).
$("#end-session")?.addEventListener("click", () => {
  if (!client.conclusion || confirm(t("end_confirm"))) client.end();
});
$("#interrupt-session")?.addEventListener("click", async () => {
  const reason = await ask({
    title: t("room_interrupt_title"), label: t("room_interrupt_reason"), hint: t("room_interrupt_hint"),
    required: true, ok: t("room_interrupt"),
  });
  if (reason) client.interrupt(reason);
});
$("#leave").addEventListener("click", () => { client.leave(); });

preview().catch((err) => {
  const el = $("#prejoin-error");
  el.hidden = false;
  el.textContent = t("no_camera") + err;
});

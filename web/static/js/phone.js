// Applicant's phone page: rear camera by default, host large, others small, big buttons; a
// one-line banner says which point is being verified, and the conclusion is shown at once for
// the applicant to confirm (or decline).
import { KanyanClient } from "./protocol.js";
import { $, RecordingMark, Tiles, ask, config, fmt, openMedia, setStatus, showClosed, t, toast, flash } from "./ui.js";
import { formatDate, itemById, pointName, rectificationRows } from "./outcome.js";

const client = new KanyanClient({ inspection: config.inspection, token: config.token });
let selfId = null;
let localStream = null;
let facing = "environment";
let roster = [];
let remoteByParticipant = new Map();
const stage = new Tiles($("#stage"));
const strip = new Tiles($("#strip"));
const self = new Tiles($("#self-view"));
const recordingMark = new RecordingMark($("#rec-mark"));
let checklist = null;
let conclusion = null;
let closed = false;
window.kanyan = { client, stage, strip };

async function preview() {
  localStream = await openMedia({ facing, width: 1280, height: 720 });
  if (localStream.getVideoTracks().length) $("#preview").srcObject = localStream;
}

function render() {
  const seated = roster.filter((m) => m.status === "admitted" || m.status === "dropped");
  const others = seated.filter((m) => m.id !== selfId);
  const host = others.find((m) => m.role === "host");
  const small = others.filter((m) => m !== host);
  for (const [tiles, members] of [[stage, host ? [host] : []], [strip, small]]) {
    for (const member of members) {
      tiles.ensure(member);
      tiles.setTracks(member.id, remoteByParticipant.get(member.id) || []);
    }
    tiles.retain(new Set(members.map((m) => m.id)));
  }
  const me = seated.find((m) => m.id === selfId);
  if (me) {
    self.selfId = selfId;
    self.ensure(me);
    self.setTracks(me.id, localStream ? localStream.getVideoTracks() : []);
  }
}

// Rear ↔ front without renegotiation: stop the old camera first (many phones cannot open two),
// open the other, then replaceTrack on the same sender.
async function switchCamera() {
  const old = localStream.getVideoTracks()[0];
  const oldDevice = old ? old.getSettings().deviceId : null;
  facing = facing === "environment" ? "user" : "environment";
  if (old) { old.stop(); localStream.removeTrack(old); }
  let fresh;
  try {
    fresh = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { exact: facing }, width: { ideal: 1280 }, height: { ideal: 720 } } });
  } catch {
    const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
    const index = cameras.findIndex((d) => d.deviceId === oldDevice);
    const next = cameras[(index + 1) % Math.max(cameras.length, 1)];
    fresh = await navigator.mediaDevices.getUserMedia({ video: next ? { deviceId: { exact: next.deviceId } } : true });
  }
  const track = fresh.getVideoTracks()[0];
  localStream.addTrack(track);
  await client.replaceVideoTrack(track);
  render();
}

// "正在核实：第 3 项 …" on one line under the status; a tap shows the whole point.
function renderBanner() {
  const banner = $("#now-verifying");
  const item = itemById(checklist, checklist && checklist.current);
  banner.hidden = !item || closed;
  if (!item) return;
  banner.textContent = `${t("room_now_verifying")}${pointName(item.seq, t)} ${item.text}`;
  banner.dataset.item = item.id;
  banner.title = item.text;
}
$("#now-verifying").addEventListener("click", (e) => {
  const expanded = e.currentTarget.classList.toggle("expanded");
  e.currentTarget.setAttribute("aria-expanded", String(expanded));
});

// The conclusion in plain words, with the answer buttons until the applicant has confirmed.
function renderResult() {
  const c = conclusion;
  $("#result").dataset.verdict = c.verdict;
  $("#result-verdict").textContent = t(`room_result_${c.verdict}`);
  $("#result-words").textContent = c.verdict === "rectify"
    ? fmt("room_result_rectify_words", { deadline: formatDate(c.deadline, config.lang) })
    : t(`room_result_${c.verdict}_words`);
  const list = $("#result-rectifications");
  list.replaceChildren(...rectificationRows(c, checklist).map((row) => {
    const li = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = row.text;
    li.append(text);
    if (row.seq != null || row.point) {
      const point = document.createElement("small");
      point.textContent = [row.seq != null ? pointName(row.seq, t) : "", row.point].filter(Boolean).join(" ");
      li.append(point);
    }
    return li;
  }));
  list.hidden = c.verdict !== "rectify";
  $("#result-reasons").textContent = `${t("room_result_reasons")}${c.reasons}`;
  const answered = c.confirmation;
  $("#result-confirm").hidden = answered === "confirmed";
  $("#result-decline").hidden = Boolean(answered);
  for (const id of ["#result-confirm", "#result-decline"]) $(id).disabled = closed;
  const recorded = $("#result-recorded");
  recorded.hidden = !answered;
  recorded.dataset.state = answered || "";
  if (answered) recorded.textContent = t(`room_result_${answered}`);
}

function showResult(visible) {
  $("#result").hidden = !visible;
  $("#result-show").hidden = visible || !conclusion;
}

function answer(accepted, note) {
  if (client.confirm(accepted, note)) {
    for (const id of ["#result-confirm", "#result-decline"]) $(id).disabled = true;
  }
}
$("#result-confirm").addEventListener("click", () => answer(true));
$("#result-decline").addEventListener("click", async () => {
  const note = await ask({
    title: t("room_result_decline_title"), label: t("room_result_decline_reason"), ok: t("room_result_decline"),
  });
  if (note !== null) answer(false, note);
});
$("#result-hide").addEventListener("click", () => showResult(false));
$("#result-show").addEventListener("click", () => showResult(true));

client.addEventListener("checklist", (e) => {
  checklist = e.detail;
  renderBanner();
  if (conclusion) renderResult();
});
client.addEventListener("conclusion", (e) => {
  const first = !conclusion;
  conclusion = e.detail;
  renderResult();
  if (first) showResult(true);
});
// The connection is over for good: ended, interrupted (中止: offer to rejoin), removed, ….
function closeWith(code) {
  closed = true;
  showClosed(code);
  if (code === "ended" || code === "interrupted") recordingMark.stop();
  $("#controls").hidden = true;
  renderBanner();
  if (conclusion) renderResult();
}

client.addEventListener("welcome", (e) => { selfId = e.detail.you.id; });
client.addEventListener("status", (e) => {
  const { status, code } = e.detail;
  if (status === "closed") {
    closeWith(code);
    return;
  }
  setStatus({ connecting: "status_connecting", lobby: "status_lobby", connected: "status_connected", reconnecting: "status_reconnecting" }[status] || "status_connecting");
});
client.addEventListener("roster", (e) => { roster = e.detail.members; render(); });
client.addEventListener("media", (e) => {
  remoteByParticipant = new Map();
  for (const { participant, track } of e.detail.remote) {
    if (!remoteByParticipant.has(participant)) remoteByParticipant.set(participant, []);
    remoteByParticipant.get(participant).push(track);
  }
  render();
});
client.addEventListener("recording", (e) => recordingMark.update(e.detail));
client.addEventListener("notice", (e) => {
  // The staff captured the picture: tell the person filming, so they hold still for it.
  if (e.detail.code === "screenshot_saved") flash(t("screenshot_saved"));
  else toast(e.detail.message);
});
client.addEventListener("error", (e) => {
  if (e.detail.ref === "confirm" && conclusion) renderResult(); // the buttons again
  toast(e.detail.message);
});
client.addEventListener("bye", (e) => toast(e.detail.message));

$("#join").addEventListener("click", async () => {
  $("#join").disabled = true;
  if (!localStream) await preview();
  client.setLocalTracks({ audio: localStream.getAudioTracks()[0], video: localStream.getVideoTracks()[0] });
  $("#prejoin").hidden = true;
  $("#room").hidden = false;
  $("#controls").hidden = false;
  client.connect();
});
$("#switch-camera").addEventListener("click", () => switchCamera().catch((err) => toast(String(err))));
$("#toggle-mic").addEventListener("click", (e) => {
  const track = localStream.getAudioTracks()[0];
  if (!track) return;
  track.enabled = !track.enabled;
  e.target.textContent = track.enabled ? t("mute") : t("unmute");
  client.setMedia(track.enabled, Boolean(localStream.getVideoTracks()[0]));
});
$("#leave").addEventListener("click", () => client.leave());

preview().catch((err) => {
  const el = $("#prejoin-error");
  el.hidden = false;
  el.textContent = t("no_camera") + err;
});

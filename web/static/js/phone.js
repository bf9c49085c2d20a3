// Applicant's phone page. First the browser is checked (web/static/js/browsers.js) and, only
// then, the camera opened; the lobby (lobby.js) shows the live preview, the microphone level,
// what to prepare and whether the host is online. Once admitted the phone is a viewfinder
// (viewfinder.js): the site camera fills the screen, the host is a small picture, the torch and
// zoom are there when the camera has them (camera-tools.js), the screen stays on (wakelock.js)
// and the applicant is told plainly when the network is the problem (signal.js). A one-line
// banner names the point being verified; the conclusion is shown at once to confirm.
import { KanyanClient } from "./protocol.js";
import { $, RecordingMark, ask, config, flash, fmt, setStatus, showClosed, t, toast } from "./ui.js";
import { formatDate, itemById, pointName, rectificationRows } from "./outcome.js";
import { cameraProblem, missingFeatures } from "./browsers.js";
import { Camera, CameraToolbar } from "./camera-tools.js";
import { Lobby } from "./lobby.js";
import { Viewfinder } from "./viewfinder.js";
import { FREEZE_AFTER_S, SignalMonitor } from "./signal.js";
import { ScreenKeeper } from "./wakelock.js";

const client = new KanyanClient({ inspection: config.inspection, token: config.token });
const camera = new Camera();
const lobby = new Lobby(camera);
const viewfinder = new Viewfinder({ room: $("#room"), finder: $("#viewfinder"), video: $("#own-video"), pip: $("#pip") });
const toolbar = new CameraToolbar(camera, {
  torch: $("#torch"), zoomBox: $("#zoom-box"), zoom: $("#zoom"), surface: $("#viewfinder"), ring: $("#focus-ring"),
  onError: (err) => toast(`${t("phone_camera_tool_failed")}${err.name || err}`),
});
const signal = new SignalMonitor(client);
const screen = new ScreenKeeper();
const recordingMark = new RecordingMark($("#rec-mark"));
let selfId = null;
let roster = [];
let remoteByParticipant = new Map();
let checklist = null;
let conclusion = null;
let closed = false;
let seated = false; // admitted at least once: the viewfinder is up
let frozenSince = { own: 0, link: 0 };
window.kanyan = { client, camera, viewfinder, signal, screen, lobby, toolbar }; // for tests

// -- before anything: can this browser do it, and may we use the camera? ----------------------

function showHelp(id, reason) {
  $("#prejoin").hidden = true;
  $("#status-line").hidden = true; // nothing is connecting: the help says what to do
  const help = $(id);
  help.dataset.reason = reason;
  for (const el of help.querySelectorAll("[data-for]")) el.hidden = el.dataset.for !== reason;
  help.hidden = false;
}

async function openCamera() {
  $("#camera-help").hidden = true;
  try {
    await camera.open();
  } catch (err) {
    showHelp("#camera-help", cameraProblem(err));
    $("#camera-error-detail").textContent = `${err.name || ""} ${err.message || ""}`.trim();
    return;
  }
  $("#prejoin").hidden = false;
  $("#status-line").hidden = false;
  if (client.status === "idle") setStatus("phone_status_prepare");
  lobby.start();
  lobby.screenAdvice(screen.supported ? screen.state : "unsupported");
  toolbar.refresh();
  $("#join").disabled = false;
}

function start() {
  const missing = missingFeatures(window);
  if (missing.length) {
    showHelp("#browser-help", missing.join(" "));
    return;
  }
  openCamera();
}
$("#camera-retry").addEventListener("click", openCamera);

// -- the lobby ---------------------------------------------------------------------------------

$("#join").addEventListener("click", () => {
  $("#join").disabled = true;
  $("#join").textContent = t("phone_waiting_button");
  client.setLocalTracks({ audio: camera.audio, video: camera.video });
  screen.hold().then(() => lobby.screenAdvice(screen.state));
  client.connect();
});
client.addEventListener("lobby", () => lobby.hostOnline(client.hostOnline));

async function switchCamera() {
  const track = await camera.switch();
  await client.replaceVideoTrack(track);
  if (seated) viewfinder.showOwn(camera);
}
$("#preview-switch").addEventListener("click", () => switchCamera().catch((err) => toast(String(err))));
$("#switch-camera").addEventListener("click", () => switchCamera().catch((err) => toast(String(err))));
camera.addEventListener("change", () => client.setDevice({ torch: camera.tools.torch }));
// Some phones tell what their camera can do only once it delivers pictures.
$("#own-video").addEventListener("loadedmetadata", () => client.setDevice({ torch: toolbar.refresh().torch }));

// -- the viewfinder ----------------------------------------------------------------------------

function enterRoom() {
  if (seated) return;
  seated = true;
  lobby.stop();
  $("#prejoin").hidden = true;
  $("#room").hidden = false;
  $("#controls").hidden = false;
  document.body.classList.add("in-room");
  viewfinder.showOwn(camera);
  toolbar.refresh();
  signal.start();
  client.setDevice({ background: document.visibilityState === "hidden", torch: camera.tools.torch });
}

function render() {
  const inRoom = roster.filter((m) => m.status === "admitted" || m.status === "dropped");
  const others = inRoom.filter((m) => m.id !== selfId);
  others.sort((a, b) => (b.role === "host") - (a.role === "host"));
  viewfinder.setMembers(others, (id) => remoteByParticipant.get(id) || []);
  showFreeze();
}

function me() { return roster.find((m) => m.id === selfId); }

signal.addEventListener("uplink", (e) => {
  client.setDevice({ uplink: e.detail.level });
  showFreeze();
});
signal.addEventListener("speaking", (e) => viewfinder.setSpeaking(e.detail.ids));
signal.addEventListener("frozen", (e) => {
  const { own, link, remote } = e.detail;
  frozenSince = { own, link };
  for (const id of viewfinder.tiles.tiles.keys()) viewfinder.tiles.setFrozen(id, remote[id] || 0);
  if (own >= FREEZE_AFTER_S) recoverCamera();
  showFreeze();
});

// Say what is happening instead of leaving a still picture: nothing reaches the server (the
// network), the server has had no picture for a while, or the camera itself stopped.
function showFreeze() {
  const { own, link } = frozenSince;
  let text = "";
  if (link >= FREEZE_AFTER_S) text = fmt("phone_link_frozen", { n: Math.round(link) });
  else if (me()?.stalled) text = t("phone_server_stalled");
  else if (own >= FREEZE_AFTER_S) text = fmt("phone_camera_frozen", { n: Math.round(own) });
  const cue = $("#freeze-cue");
  cue.textContent = text;
  cue.hidden = !text || closed;
  // One band is enough: a frozen picture already says the network is poor.
  $("#signal-cue").hidden = closed || signal.uplink !== "poor" || !cue.hidden;
}

let recovering = false;
async function recoverCamera() {
  const track = camera.video;
  if (recovering || (track && track.readyState === "live" && !track.muted)) return;
  recovering = true;
  try {
    await client.replaceVideoTrack(await camera.reopen());
    viewfinder.showOwn(camera);
  } catch (err) {
    toast(`${t("no_camera")}${err.name || err}`);
  } finally {
    recovering = false;
  }
}

// -- in the background and back ------------------------------------------------------------------

document.addEventListener("visibilitychange", () => {
  const hidden = document.visibilityState === "hidden";
  client.setDevice({ background: hidden });
  if (!hidden) returned();
});

// Back in the foreground: the camera may have been taken away and the connection may have died
// while the phone slept. Reconnect at once rather than after the back-off.
async function returned() {
  if (closed || client.status === "idle") return;
  if (seated && camera.stopped) await recoverCamera();
  if (!client.healthy) client.reconnectNow("page returned");
}

// -- the host's requests -------------------------------------------------------------------------

function showRequest({ what, by }) {
  const box = $("#camera-request");
  box.dataset.what = what;
  $("#camera-request-text").textContent = fmt(`phone_request_${what}`, { name: by });
  const button = $("#camera-request-do");
  const hint = $("#camera-request-hint");
  if (what === "torch") {
    const torch = camera.tools.torch;
    button.hidden = !torch;
    button.textContent = t(camera.torchOn ? "phone_torch_off" : "phone_torch_on");
    hint.textContent = torch ? "" : t("phone_no_torch");
  } else {
    button.hidden = false;
    button.textContent = t("switch_camera");
    hint.textContent = "";
  }
  box.hidden = false;
  if (navigator.vibrate) navigator.vibrate(150);
}
client.addEventListener("camera_request", (e) => showRequest(e.detail));
$("#camera-request-do").addEventListener("click", async () => {
  const what = $("#camera-request").dataset.what;
  $("#camera-request").hidden = true;
  if (what === "torch") await toolbar.toggleTorch();
  else await switchCamera().catch((err) => toast(String(err)));
});
$("#camera-request-dismiss").addEventListener("click", () => { $("#camera-request").hidden = true; });

// -- the point being verified, and the conclusion ---------------------------------------------

// "正在核实：第 3 项 …" on one line; a tap shows the whole point.
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

// -- the connection --------------------------------------------------------------------------

// The connection is over for good: ended, interrupted (中止: offer to rejoin), removed, ….
function closeWith(code) {
  closed = true;
  showClosed(code);
  if (code === "ended" || code === "interrupted") recordingMark.stop();
  $("#controls").hidden = true;
  signal.stop();
  screen.release();
  // Nothing is sent any more: let the camera go (its light goes out).
  for (const track of camera.stream ? camera.stream.getTracks() : []) track.stop();
  renderBanner();
  showFreeze();
  if (conclusion) renderResult();
}

client.addEventListener("welcome", (e) => { selfId = e.detail.you.id; });
client.addEventListener("status", (e) => {
  const { status, code } = e.detail;
  if (status === "closed") {
    closeWith(code);
    return;
  }
  if (status === "connected") enterRoom();
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

$("#toggle-mic").addEventListener("click", (e) => {
  const track = camera.audio;
  if (!track) return;
  track.enabled = !track.enabled;
  e.target.textContent = track.enabled ? t("mute") : t("unmute");
  e.target.setAttribute("aria-pressed", String(!track.enabled));
  client.setMedia(track.enabled, Boolean(camera.video));
});
$("#leave").addEventListener("click", () => client.leave());

start();

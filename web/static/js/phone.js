// Applicant's phone page: rear camera by default, host large, others small, big buttons.
import { KanyanClient } from "./protocol.js";
import { $, RecordingMark, Tiles, config, finalMessage, openMedia, setStatus, t, toast, flash } from "./ui.js";

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

client.addEventListener("welcome", (e) => { selfId = e.detail.you.id; });
client.addEventListener("status", (e) => {
  const { status, code } = e.detail;
  if (status === "closed") {
    $("#status-line").textContent = finalMessage(code);
    $("#controls").hidden = true;
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
client.addEventListener("error", (e) => toast(e.detail.message));
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

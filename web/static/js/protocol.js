// Kanyan signalling protocol, version 1 (docs/protocol.md). No UI in here.
//
// The server is the only offerer. Each offer says which mids carry our own microphone and
// camera (we attach them with replaceTrack and make those transceivers sendonly) and whose
// media every other mid carries. A dropped connection is rebuilt from scratch with a new
// RTCPeerConnection (aiortc has no ICE restart); the same link brings us back in.

import { POLICY, heartbeat, reconnectDelay } from "./reconnect.js";

export const PROTOCOL_VERSION = 1;

// Close codes after which reconnecting cannot help.
const FINAL_CLOSES = new Map([
  [4000, "malformed"], [4001, "forged"], [4002, "expired"], [4003, "revoked"],
  [4004, "wrong_inspection"], [4005, "ended"], [4006, "removed"], [4007, "denied"],
  [4008, "replaced"], [4009, "bad_version"],
  // 中止: this session is over; the same link opens the next one, so the page offers to rejoin.
  [4012, "interrupted"],
]);

const MOVED = 4030; // the room is on another node

export class KanyanClient extends EventTarget {
  constructor({ inspection, token, url }) {
    super();
    this.inspection = inspection;
    this.token = token;
    this.url = url || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    this.status = "idle"; // connecting | lobby | connected | reconnecting | closed
    this.local = { audio: null, video: null };
    this.welcome = null;
    this.media = { own: {}, remote: {} };
    this.offers = 0;
    this.pc = null;
    this.ws = null;
    this._attempt = 0;
    this._closedForGood = false;
    this._lastHeard = 0;
    this._heartbeat = null;
    this._retry = null; // the timer of the next reconnect attempt
    this._senderParams = null;
    this.hostOnline = null; // in the lobby: whether the host is connected (null: not told)
    this.device = {}; // what this page last reported of itself (`device`), sent again when seated
    this._checklistVersion = -1;
    this.checklist = null; // the latest checklist view, record and conclusion the server sent
    this.record = [];
    this.conclusion = null;
    this.nodes = []; // a province's nodes (welcome.nodes), where to knock when ours is silent
    this._failedOpens = 0; // WebSockets in a row that never opened
    window.addEventListener("online", () => this._reconnectNow("network changed"));
    // `change` also fires for every new bandwidth estimate; only another kind of network
    // (Wi-Fi to cellular) makes the old connection useless.
    const connection = navigator.connection;
    if (connection && connection.type !== undefined) {
      let kind = connection.type;
      connection.addEventListener("change", () => {
        if (connection.type === kind) return;
        kind = connection.type;
        this._reconnectNow("network changed");
      });
    }
  }

  // -- public API ------------------------------------------------------------------------------

  setLocalTracks({ audio, video }) {
    this.local.audio = audio || null;
    this.local.video = video || null;
  }

  connect() {
    this._closedForGood = false;
    this._open();
  }

  admit(id) { this.send("admit", { participant: id }); }
  deny(id) { this.send("deny", { participant: id }); }
  remove(id) { this.send("remove", { participant: id }); }
  start() { this.send("start"); }
  end() { this.send("end"); }
  setMedia(audio, video) { this.send("media", { audio, video }); }
  screenshot(participant, note) {
    return this.send("screenshot", note ? { participant, note } : { participant });
  }

  // The outcome of the inspection: checklist points, marks, the work record, the conclusion.
  setCurrent(item) { return this.send("current", { item }); }
  mark(item, verdict, note) {
    return this.send("mark", note ? { item, verdict, note } : { item, verdict });
  }
  moveScreenshot(screenshot, item) { return this.send("move_screenshot", { screenshot, item: item ?? null }); }
  note(text, item) { return this.send("note", item != null ? { text, item } : { text }); }
  conclude({ verdict, reasons, deadline, rectifications }) {
    const fields = { verdict, reasons };
    if (verdict === "rectify") {
      fields.deadline = deadline;
      fields.rectifications = (rectifications || []).map((r) => ({ item: r.item ?? null, text: r.text }));
    }
    return this.send("conclude", fields);
  }
  interrupt(reason) { return this.send("interrupt", { reason }); }
  confirm(accepted, note) {
    return this.send("confirm", note ? { accepted, note } : { accepted });
  }
  // The host asks someone's phone for the torch or the other camera (what: torch | switch_camera).
  askCamera(participant, what) { return this.send("camera_request", { participant, what }); }

  // What this page says of itself: {background, uplink, torch}. Only changes are sent; the
  // whole report again after every admission (a reconnect starts a new connection).
  setDevice(report) {
    const changed = Object.fromEntries(Object.entries(report).filter(([key, value]) => this.device[key] !== value));
    if (!Object.keys(changed).length) return;
    Object.assign(this.device, changed);
    if (this.status === "connected") this.send("device", changed);
  }

  // Reconnect now rather than after the back-off: the page came back from the background.
  reconnectNow(why = "page returned") {
    if (this._closedForGood) return;
    if (this._retry) {
      clearTimeout(this._retry);
      this._retry = null;
      this._open();
      return;
    }
    this._reconnectNow(why);
  }

  // Signalling open, and (when seated) media not known to be broken.
  get healthy() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.status === "lobby") return true;
    const media = this.pc ? this.pc.connectionState : "new";
    return this.status === "connected" && !["failed", "disconnected", "closed"].includes(media);
  }

  leave() {
    this._closedForGood = true;
    this.send("leave");
    this._teardown();
    this._setStatus("closed", { code: "left" });
  }

  // Switch the camera without renegotiating: same m-line, new source.
  async replaceVideoTrack(track) {
    this.local.video = track;
    const sender = this._ownSender("video");
    // A closed connection cannot take it; the next one will (it sends this.local).
    if (sender && this.pc.signalingState !== "closed") await sender.replaceTrack(track);
    await this._applySenderParams();
  }

  send(type, fields = {}) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type, ...fields }));
      return true;
    }
    return false;
  }

  // -- connection lifecycle --------------------------------------------------------------------

  _open() {
    this._setStatus(this._attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    // A server that is starting (or a network that is still down) may leave the handshake
    // hanging: give up on it and knock again.
    const giveUp = setTimeout(() => {
      if (ws.readyState === WebSocket.CONNECTING) ws.close();
    }, POLICY.connectTimeoutMs);
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this._failedOpens = 0;
      clearTimeout(giveUp);
      this._lastHeard = Date.now();
      this.send("hello", { version: PROTOCOL_VERSION, inspection: this.inspection, token: this.token });
      this._startHeartbeat();
    };
    ws.onmessage = (event) => {
      this._lastHeard = Date.now();
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      this._handle(message).catch((err) => this._emit("error", { code: "client", message: String(err) }));
    };
    ws.onclose = (event) => {
      clearTimeout(giveUp);
      if (this.ws !== ws) return;
      this._teardown();
      const final = FINAL_CLOSES.get(event.code);
      if (this._closedForGood || final) {
        this._closedForGood = true;
        this._setStatus("closed", { code: final || "left", reason: event.reason });
        return;
      }
      if (event.code === MOVED) {
        // The room is on another node (the `moved` message said where): go there at once.
        this._attempt = 0;
        this._open();
        return;
      }
      if (!opened && ++this._failedOpens >= 2 && this.nodes.length > 1) {
        // Our node does not answer: try the next one, which sends us on to the room's node
        // or, once the lease of a dead node ran out, holds the room itself.
        const here = this.nodes.indexOf(this.url); // -1: we came in by another name, as nodes[0]
        const next = (Math.max(here, 0) + 1) % this.nodes.length;
        this.url = this.nodes[next];
        this._failedOpens = 0;
      }
      this._attempt += 1;
      const delay = reconnectDelay(this._attempt, event.code);
      this._setStatus("reconnecting");
      this._retry = setTimeout(() => {
        this._retry = null;
        if (!this._closedForGood) this._open();
      }, delay);
    };
  }

  _reconnectNow(why) {
    if (this._closedForGood || !this.ws) return;
    if (this.status === "connected" || this.status === "lobby") {
      try { this.ws.close(4100, why); } catch { /* already closing */ }
    }
  }

  _startHeartbeat() {
    clearInterval(this._heartbeat);
    const beat = heartbeat(this.welcome?.heartbeat?.ping_after_s);
    this._heartbeat = setInterval(() => {
      if (Date.now() - this._lastHeard > beat.silentMs) {
        this._reconnectNow("server silent"); // the socket is dead even if the OS has not noticed
      } else {
        this.send("ping");
      }
    }, beat.everyMs);
  }

  _teardown() {
    clearInterval(this._heartbeat);
    if (this.pc) {
      this.pc.onconnectionstatechange = null;
      this.pc.close();
      this.pc = null;
    }
    this.media = { own: {}, remote: {} };
    this._emit("media", { remote: [] });
  }

  _setStatus(status, detail = {}) {
    this.status = status;
    if (status === "connected") this._attempt = 0;
    this._emit("status", { status, ...detail });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // -- messages --------------------------------------------------------------------------------

  async _handle(message) {
    switch (message.type) {
      case "moved":
        this.url = message.url; // the server closes with 4030 next
        break;
      case "welcome":
        this.welcome = message;
        if (Array.isArray(message.nodes) && message.nodes.length) this.nodes = message.nodes;
        this._checklistVersion = -1; // a restarted server may count versions afresh
        this.record = [];
        this._startHeartbeat();
        this._emit("welcome", message);
        break;
      case "lobby":
        this.hostOnline = message.host_online ?? null;
        this._setStatus("lobby");
        this._emit("lobby", message);
        break;
      case "admitted":
        this._setStatus("connected");
        if (Object.keys(this.device).length) this.send("device", this.device);
        break;
      case "offer":
        await this._onOffer(message);
        break;
      case "roster":
        this._emit("roster", message);
        break;
      case "state":
        this._emit("state", message);
        break;
      case "ping":
        this.send("pong");
        break;
      case "bye":
        this._emit("bye", message);
        break;
      case "notice":
        this._emit("notice", message);
        break;
      case "checklist":
        // Views can overtake each other; only a newer one replaces what the page shows.
        if (message.checklist.version <= this._checklistVersion) break;
        this._checklistVersion = message.checklist.version;
        this.checklist = message.checklist;
        this._emit("checklist", message.checklist);
        break;
      case "record":
        if (message.entries.length < this.record.length) break; // the record only grows
        this.record = message.entries;
        this._emit("record", message.entries);
        break;
      case "conclusion":
        this.conclusion = message.conclusion;
        this._emit("conclusion", message.conclusion);
        break;
      case "recording":
      case "screenshot":
      case "screenshots":
      case "camera_request":
        this._emit(message.type, message);
        break;
      case "error":
        this._emit("error", message);
        break;
      default:
        this._emit("message", message);
    }
  }

  _createPc() {
    const pc = new RTCPeerConnection({
      iceServers: this.welcome?.ice_servers || [],
      bundlePolicy: "max-bundle",
    });
    pc.onicecandidate = (event) => {
      const c = event.candidate;
      this.send("candidate", {
        candidate: c ? c.candidate : null,
        sdpMid: c ? c.sdpMid : null,
        sdpMLineIndex: c ? c.sdpMLineIndex : null,
      });
    };
    let disconnectedTimer = null;
    pc.onconnectionstatechange = () => {
      this._emit("connectionstate", { state: pc.connectionState });
      clearTimeout(disconnectedTimer);
      if (pc.connectionState === "failed") this._reconnectNow("media failed");
      if (pc.connectionState === "disconnected") {
        disconnectedTimer = setTimeout(() => this._reconnectNow("media lost"), POLICY.mediaLostMs);
      }
    };
    this.pc = pc;
    return pc;
  }

  async _onOffer(message) {
    const pc = this.pc || this._createPc();
    this.media = message.media;
    await pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
    for (const kind of ["audio", "video"]) {
      const transceiver = this._transceiver(message.media.own[kind]);
      if (!transceiver) continue;
      const track = this.local[kind];
      if (track) {
        if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
        transceiver.direction = "sendonly";
      } else {
        transceiver.direction = "inactive";
      }
    }
    for (const transceiver of pc.getTransceivers()) {
      const mid = transceiver.mid;
      if (mid === message.media.own.audio || mid === message.media.own.video) continue;
      // A slot the server stopped using must not keep a recv direction of its own.
      transceiver.direction = message.media.remote[mid] ? "recvonly" : "inactive";
    }
    await pc.setLocalDescription(await pc.createAnswer());
    this.send("answer", { sdp: pc.localDescription.sdp });
    this.offers += 1;
    await this._applySenderParams();
    this._emitMedia();
  }

  _emitMedia() {
    const remote = [];
    for (const [mid, info] of Object.entries(this.media.remote || {})) {
      const transceiver = this._transceiver(mid);
      if (transceiver) remote.push({ mid, participant: info.participant, kind: info.kind, track: transceiver.receiver.track });
    }
    this._emit("media", { remote });
  }

  _transceiver(mid) {
    if (!this.pc || mid == null) return null;
    return this.pc.getTransceivers().find((t) => t.mid === mid) || null;
  }

  _ownSender(kind) {
    const transceiver = this._transceiver(this.media.own?.[kind]);
    return transceiver ? transceiver.sender : null;
  }

  // Cap the camera's bitrate; the applicant's site camera keeps its resolution under pressure.
  async _applySenderParams() {
    const sender = this._ownSender("video");
    if (!sender || !sender.track || !this.welcome) return;
    try {
      const params = sender.getParameters();
      if (!params.encodings || !params.encodings.length) params.encodings = [{}];
      params.encodings[0].maxBitrate = this.welcome.video_kbps * 1000;
      if (this.welcome.you.role === "applicant") params.degradationPreference = "maintain-resolution";
      await sender.setParameters(params);
    } catch (err) {
      console.warn("setParameters failed", err);
    }
  }

  // Receive-side statistics per remote mid: for the connection-quality mark on each tile.
  async inboundStats() {
    if (!this.pc) return new Map();
    const report = await this.pc.getStats();
    const byMid = new Map();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.mid != null) byMid.set(s.mid, s);
    });
    return byMid;
  }
}

// How the connection is doing, from the statistics the page already has (getStats): the
// applicant's uplink (loss, round-trip time, available outgoing bitrate, whether the server
// still reports back), pictures that stopped (a freeze), and who is speaking. The judging is
// pure (tested with node: tests/js/signal.test.mjs); SignalMonitor polls a client's
// RTCPeerConnection and says what changed.

export const LEVELS = ["good", "fair", "poor"];
export const FREEZE_AFTER_S = 10; // a picture still for this long is a freeze, and said so
const rank = (level) => LEVELS.indexOf(level);

// One reading of a stats report: the numbers the judgement needs, or undefined where the
// browser has not reported them (yet).
export function readSample(report, at = Date.now()) {
  let out, remote, pair, transport;
  const inbound = [];
  report.forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video") out = s;
    else if (s.type === "remote-inbound-rtp" && s.kind === "video") remote = s;
    else if (s.type === "transport") transport = s;
    else if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = pair || s;
    else if (s.type === "inbound-rtp" && s.mid != null) inbound.push(s);
  });
  if (transport && transport.selectedCandidatePairId && report.get) {
    pair = report.get(transport.selectedCandidatePairId) || pair;
  }
  return {
    at,
    framesEncoded: out?.framesEncoded,
    packetsSent: out?.packetsSent,
    limitedBy: out?.qualityLimitationReason,
    packetsLost: remote?.packetsLost,
    // Each RTCP receiver report from the server that measured the round trip counts here: it
    // stops when nothing of ours reaches the server any more.
    reports: remote?.roundTripTimeMeasurements ?? remote?.totalRoundTripTime,
    rtt: remote?.roundTripTime ?? pair?.currentRoundTripTime,
    outgoingBitrate: pair?.availableOutgoingBitrate,
    inbound: inbound.map((s) => ({
      mid: s.mid, kind: s.kind, frames: s.framesDecoded, audioLevel: s.audioLevel,
    })),
  };
}

// The uplink between two readings: good, fair or poor.
export function judgeUplink(now, before) {
  if (!before || now.packetsSent == null || before.packetsSent == null) return "good";
  const sent = now.packetsSent - before.packetsSent;
  let level = "good";
  const worse = (candidate) => { if (rank(candidate) > rank(level)) level = candidate; };
  if (now.packetsLost != null && before.packetsLost != null && sent > 0) {
    const loss = Math.max(0, now.packetsLost - before.packetsLost) / sent;
    if (loss >= 0.08) worse("poor");
    else if (loss >= 0.02) worse("fair");
  }
  // We kept sending but the server's reports stopped: nothing arrives there.
  if (sent > 0 && before.reports != null && now.reports === before.reports) worse("poor");
  if (now.rtt != null) {
    if (now.rtt >= 0.6) worse("poor");
    else if (now.rtt >= 0.3) worse("fair");
  }
  if (now.outgoingBitrate != null) {
    if (now.outgoingBitrate < 30000) worse("poor");
    else if (now.outgoingBitrate < 100000 && now.limitedBy === "bandwidth") worse("fair");
  }
  return level;
}

// Readings go up and down; the cue should not flicker. A worse level holds after two readings
// in a row at least that bad, a better one after three in a row at least that good.
export class Smoother {
  constructor({ worsenAfter = 2, improveAfter = 3 } = {}) {
    this.level = "good";
    this.worsenAfter = worsenAfter;
    this.improveAfter = improveAfter;
    this.history = [];
  }

  push(level) {
    this.history.push(rank(level));
    this.history = this.history.slice(-Math.max(this.worsenAfter, this.improveAfter));
    const current = rank(this.level);
    const last = (n) => (this.history.length >= n ? this.history.slice(-n) : null);
    const worse = last(this.worsenAfter);
    const better = last(this.improveAfter);
    if (worse && worse.every((r) => r > current)) this.level = LEVELS[Math.min(...worse)];
    else if (better && better.every((r) => r < current)) this.level = LEVELS[Math.max(...better)];
    return this.level;
  }
}

// How long each picture has stood still: frames counted per key (a mid, "own", …).
export class FrameWatch {
  constructor() { this.seen = new Map(); }

  // Seconds since `frames` last changed for `key` (0 while it moves). `now` in ms.
  update(key, frames, now) {
    const known = this.seen.get(key);
    if (!known || frames !== known.frames) {
      this.seen.set(key, { frames, since: now });
      return 0;
    }
    return (now - known.since) / 1000;
  }

  retain(keys) {
    for (const key of [...this.seen.keys()]) if (!keys.has(key)) this.seen.delete(key);
  }
}

// Speaking: an audio level above this, heard in the last few seconds.
const SPEAKING_LEVEL = 0.03;
const SPEAKING_HOLD_MS = 3000;

// Nothing heard back from the server for this long, and the uplink is poor whatever else says.
const SILENT_LINK_S = 5;

// Polls a KanyanClient's connection every `every` ms and dispatches:
//   "uplink"  {level}                 the smoothed uplink level changed
//   "frozen"  {own, link, remote}     seconds each picture has stood still: own camera (frames
//                                     encoded), link (since the server last reported back on
//                                     our video — across reconnects, which cannot bring it back
//                                     while the network is down), remote (participant id →
//                                     seconds of their video)
//   "speaking" {ids}                  participants heard in the last seconds
export class SignalMonitor extends EventTarget {
  constructor(client, { every = 2000 } = {}) {
    super();
    this.client = client;
    this.every = every;
    this.timer = null;
    this.smoother = new Smoother();
    this.heard = new Map();
    this.uplink = "good";
    this.heardBack = Date.now();
    this.newConnection(null);
  }

  // A reconnect starts the counters afresh; the uplink's level and the silence carry on.
  newConnection(pc) {
    this.pc = pc;
    this.before = null;
    this.reports = null;
    this.watch = new FrameWatch();
  }

  start() {
    if (this.timer) return;
    this.heardBack = Date.now();
    this.timer = setInterval(() => this.tick().catch(() => {}), this.every);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  async tick() {
    const pc = this.client.pc;
    if (!pc || this.client.status !== "connected") return;
    if (pc !== this.pc) this.newConnection(pc);
    const now = Date.now();
    const sample = readSample(await pc.getStats(), now);
    if (sample.reports != null && sample.reports !== this.reports) this.heardBack = now;
    this.reports = sample.reports ?? null;
    const link = (now - this.heardBack) / 1000;
    const judged = link >= SILENT_LINK_S ? "poor" : judgeUplink(sample, this.before);
    const level = this.smoother.push(judged);
    this.before = sample;
    if (level !== this.uplink) {
      this.uplink = level;
      this._emit("uplink", { level });
    }
    const owners = this.client.media.remote || {};
    const remote = {};
    const keys = new Set(["own"]);
    for (const s of sample.inbound) {
      const owner = owners[s.mid]?.participant;
      if (owner == null) continue;
      if (s.kind === "video" && s.frames != null) {
        keys.add(s.mid);
        remote[owner] = Math.max(remote[owner] || 0, this.watch.update(s.mid, s.frames, now));
      } else if (s.kind === "audio" && s.audioLevel > SPEAKING_LEVEL) {
        this.heard.set(owner, now);
      }
    }
    this.watch.retain(keys);
    const own = sample.framesEncoded == null ? 0 : this.watch.update("own", sample.framesEncoded, now);
    this._emit("frozen", { own, link, remote });
    const ids = [...this.heard].filter(([, at]) => now - at < SPEAKING_HOLD_MS).map(([id]) => id);
    this._emit("speaking", { ids });
  }

  _emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
}

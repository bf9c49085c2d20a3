// The uplink judgement, its smoothing and freeze counting (web/static/js/signal.js).
import test from "node:test";
import assert from "node:assert/strict";
import { FrameWatch, Smoother, judgeUplink, readSample } from "../../web/static/js/signal.js";

const base = { packetsSent: 1000, packetsLost: 0, reports: 10, rtt: 0.05, outgoingBitrate: 300000, limitedBy: "none" };
const next = (changes) => ({ ...base, packetsSent: 1100, reports: 12, ...changes });

test("the uplink from two readings", () => {
  const cases = [
    ["all well", next({}), "good"],
    ["1% lost", next({ packetsLost: 1 }), "good"],
    ["3% lost", next({ packetsLost: 3 }), "fair"],
    ["10% lost", next({ packetsLost: 10 }), "poor"],
    ["long round trip", next({ rtt: 0.35 }), "fair"],
    ["very long round trip", next({ rtt: 0.8 }), "poor"],
    ["no report back while sending", next({ reports: 10 }), "poor"],
    ["bandwidth-limited and low", next({ outgoingBitrate: 80000, limitedBy: "bandwidth" }), "fair"],
    ["low but not limited", next({ outgoingBitrate: 80000 }), "good"],
    ["almost nothing goes out", next({ outgoingBitrate: 20000 }), "poor"],
    ["nothing sent: nothing to judge", { ...base, reports: 10 }, "good"],
  ];
  for (const [what, now, expected] of cases) assert.equal(judgeUplink(now, base), expected, what);
  assert.equal(judgeUplink(next({}), null), "good", "a first reading");
  // Reports not yet seen (the first seconds of a call) are not a silence.
  assert.equal(judgeUplink(next({ reports: undefined }), { ...base, reports: undefined }), "good");
});

test("a worse level holds after two readings, a better one after three", () => {
  const smoother = new Smoother();
  const levels = ["poor", "good", "poor", "poor", "good", "good", "fair", "good", "good", "good"]
    .map((level) => smoother.push(level));
  assert.deepEqual(levels, ["good", "good", "good", "poor", "poor", "poor", "fair", "fair", "fair", "good"]);
});

test("a picture that stands still counts its seconds", () => {
  const watch = new FrameWatch();
  assert.equal(watch.update("own", 10, 0), 0);
  assert.equal(watch.update("own", 10, 4000), 4);
  assert.equal(watch.update("own", 10, 11000), 11);
  assert.equal(watch.update("own", 11, 12000), 0);
  watch.retain(new Set());
  assert.equal(watch.update("own", 11, 20000), 0, "forgotten keys start again");
});

test("a stats report read the way Chromium writes it", () => {
  const report = new Map([
    ["o", { type: "outbound-rtp", kind: "video", framesEncoded: 90, packetsSent: 400, qualityLimitationReason: "bandwidth" }],
    ["r", { type: "remote-inbound-rtp", kind: "video", packetsLost: 7, roundTripTime: 0.12, roundTripTimeMeasurements: 5 }],
    ["t", { type: "transport", selectedCandidatePairId: "p2" }],
    ["p1", { type: "candidate-pair", nominated: true, state: "succeeded", availableOutgoingBitrate: 1 }],
    ["p2", { type: "candidate-pair", nominated: true, state: "succeeded", availableOutgoingBitrate: 250000, currentRoundTripTime: 0.1 }],
    ["i", { type: "inbound-rtp", kind: "audio", mid: "2", audioLevel: 0.2 }],
  ]);
  const sample = readSample(report, 5);
  assert.equal(sample.at, 5);
  assert.equal(sample.framesEncoded, 90);
  assert.equal(sample.packetsLost, 7);
  assert.equal(sample.reports, 5);
  assert.equal(sample.rtt, 0.12);
  assert.equal(sample.outgoingBitrate, 250000, "the transport's selected pair");
  assert.equal(sample.limitedBy, "bandwidth");
  assert.deepEqual(sample.inbound, [{ mid: "2", kind: "audio", frames: undefined, audioLevel: 0.2 }]);
});

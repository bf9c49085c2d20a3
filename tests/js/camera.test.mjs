// Which camera tools a phone offers, and where a tap falls in the picture
// (web/static/js/camera-tools.js); what the page lacks (web/static/js/browsers.js).
import test from "node:test";
import assert from "node:assert/strict";
import { pictureAt, toolsOf } from "../../web/static/js/camera-tools.js";
import { batteryAdvice, cameraProblem, missingFeatures, networkAdvice } from "../../web/static/js/browsers.js";

test("tools from the camera's capabilities", () => {
  const cases = [
    ["Chromium's fake camera", { focusMode: ["manual", "continuous"], focusDistance: { min: 10, max: 100 } },
      { torch: false, zoom: null, focus: false }],
    ["an Android rear camera", { torch: true, zoom: { min: 1, max: 8, step: 0.1 }, focusMode: ["manual", "single-shot", "continuous"] },
      { torch: true, zoom: { min: 1, max: 8, step: 0.1 }, focus: true }],
    ["a front camera without zoom range", { torch: false, zoom: { min: 1, max: 1 } },
      { torch: false, zoom: null, focus: false }],
    ["nothing said", {}, { torch: false, zoom: null, focus: false }],
  ];
  for (const [what, capabilities, expected] of cases) assert.deepEqual(toolsOf(capabilities), expected, what);
});

test("a tap on a picture shown whole in its box", () => {
  const box = { left: 0, top: 0, width: 400, height: 800 };
  // A 480×640 picture in a 400×800 box: 400×533, centred (133 px above and below).
  assert.deepEqual(pictureAt(480, 640, box, 200, 400), { x: 0.5, y: 0.5 });
  assert.equal(pictureAt(480, 640, box, 200, 50), null, "on the black band");
  assert.equal(pictureAt(0, 0, box, 200, 400), null, "no picture yet");
});

test("what a page lacks for a video inspection", () => {
  const full = { isSecureContext: true, navigator: { mediaDevices: { getUserMedia() {} } }, RTCPeerConnection: function () {} };
  assert.deepEqual(missingFeatures(full), []);
  assert.deepEqual(missingFeatures({ ...full, RTCPeerConnection: undefined }), ["RTCPeerConnection"]);
  assert.deepEqual(missingFeatures({ isSecureContext: false, navigator: {} }), ["secure_context", "getUserMedia", "RTCPeerConnection"]);
});

test("why the camera did not open", () => {
  assert.equal(cameraProblem({ name: "NotAllowedError" }), "denied");
  assert.equal(cameraProblem({ name: "NotReadableError" }), "busy");
  assert.equal(cameraProblem({ name: "NotFoundError" }), "missing");
  assert.equal(cameraProblem(new Error("?")), "other");
});

test("what the phone says of its network and battery", () => {
  assert.equal(networkAdvice(undefined).key, "phone_prepare_network");
  assert.deepEqual(networkAdvice({ type: "wifi", effectiveType: "4g" }), { key: "phone_network_wifi", warn: false });
  assert.deepEqual(networkAdvice({ effectiveType: "2g" }), { key: "phone_network_slow", warn: true });
  assert.deepEqual(batteryAdvice({ level: 0.2, charging: false }), { key: "phone_battery_low", warn: true, percent: 20 });
  assert.deepEqual(batteryAdvice({ level: 0.2, charging: true }), { key: "phone_battery_ok", warn: false, percent: 20 });
});

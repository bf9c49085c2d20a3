// Can this page hold a video inspection, and what can the phone tell of itself? The server already sends the apps' own browsers
// (WeChat, QQ, Alipay, DingTalk, …) to a page on opening the link elsewhere (web/browsers.py);
// here the page checks what it needs before it asks for the camera: a secure page, the camera
// API and WebRTC. `win` is a parameter so that node can test it (tests/js/browsers.test.mjs).

export function missingFeatures(win = globalThis) {
  const missing = [];
  if (win.isSecureContext === false) missing.push("secure_context");
  const devices = win.navigator && win.navigator.mediaDevices;
  if (!devices || typeof devices.getUserMedia !== "function") missing.push("getUserMedia");
  if (typeof win.RTCPeerConnection !== "function") missing.push("RTCPeerConnection");
  return missing;
}

// What went wrong opening the camera, as the help page's reason.
export function cameraProblem(error) {
  const name = error && error.name;
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "denied";
  if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") return "missing";
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return "busy";
  return "other";
}

// What the phone says of its network: connection type and speed where the browser tells.
export function networkAdvice(connection) {
  if (!connection) return { key: "phone_prepare_network", warn: false };
  if (connection.saveData) return { key: "phone_network_save_data", warn: true };
  if (["slow-2g", "2g"].includes(connection.effectiveType)) return { key: "phone_network_slow", warn: true };
  if (connection.type === "wifi") return { key: "phone_network_wifi", warn: false };
  if (connection.type === "cellular") return { key: "phone_network_cellular", warn: false };
  return { key: "phone_prepare_network", warn: false };
}

export function batteryAdvice(battery) {
  if (!battery) return { key: "phone_prepare_battery", warn: false, percent: null };
  const percent = Math.round(battery.level * 100);
  const low = percent < 30 && !battery.charging;
  return { key: low ? "phone_battery_low" : "phone_battery_ok", warn: low, percent };
}

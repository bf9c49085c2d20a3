// The applicant's site video on the status page: a resumable upload over tus 1.0 with
// tus-js-client (web/static/vendor/tus.min.js, loaded before this module as the global `tus`).
//
// The phone records with its camera or picks a video from the gallery; the file goes up in
// pieces (config.chunkSize). A dropped network waits for the `online` event and goes on from
// the last byte the server kept; other failures are retried (retryDelays); a reload remembers
// the attempt (tus-js-client's fingerprint in localStorage) and choosing the same file again
// resumes it. Once every byte arrived the server checks the video; this page polls
// GET <endpoint>/<id> and shows 正在自动检查, then 已通过自动检查 or each failure's message with
// what to do next, and a button to upload another video.

const config = JSON.parse(document.getElementById("upload-config").textContent);
const t = (key) => config.strings[key] ?? key;
const fmt = (key, values) => t(key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
const $ = (selector) => document.querySelector(selector);

const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];
const STALL_MS = 45000; // no byte for this long on an "online" network: start the request again
const POLL_MS = 2000;

// -- pure helpers ------------------------------------------------------------------------------

export function formatBytes(n) {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${Math.max(0, Math.round(n / 1024))} KB`;
}

// Seconds as m:ss (or h:mm:ss).
export function formatClock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const parts = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  const [h, m, sec] = parts;
  return h ? `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}` : `${m}:${String(sec).padStart(2, "0")}`;
}

// The upload's speed over the last few seconds: bytes per second.
export class Rate {
  constructor(windowMs = 8000) {
    this.windowMs = windowMs;
    this.samples = [];
  }

  reset() {
    this.samples = [];
  }

  add(time, bytes) {
    this.samples.push([time, bytes]);
    while (this.samples.length > 2 && time - this.samples[0][0] > this.windowMs) this.samples.shift();
  }

  perSecond() {
    if (this.samples.length < 2) return 0;
    const [t0, b0] = this.samples[0];
    const [t1, b1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }
}

// The server's refusal in words: the JSON error's message, else the HTTP status.
export function refusal(error) {
  const response = error && error.originalResponse;
  if (!response) return "";
  try {
    const body = JSON.parse(response.getBody());
    if (body && body.error && body.error.message) return body.error.message;
  } catch {
    // not JSON
  }
  return `HTTP ${response.getStatus()}`;
}

// -- the page ----------------------------------------------------------------------------------

const box = $("#upload-box");
const statusLine = $("#upload-status");
const rate = new Rate();
let upload = null;
let state = "idle"; // idle | uploading | paused | offline | error | checking | accepted | rejected
let lastProgress = 0;

function setState(next, text) {
  state = next;
  box.dataset.state = next;
  statusLine.dataset.state = next;
  statusLine.textContent = text;
  $("#upload-pause").hidden = next !== "uploading";
  $("#upload-resume").hidden = !["paused", "error"].includes(next);
  $("#upload-pick").hidden = !["idle", "rejected"].includes(next);
  $("#upload-again").hidden = next !== "rejected";
}

function progress(sent, total) {
  const now = Date.now();
  lastProgress = now;
  rate.add(now, sent);
  const percent = total ? Math.floor((sent * 100) / total) : 0;
  $("#upload-bar").value = percent;
  $("#upload-percent").textContent = `${percent}%`;
  const speed = rate.perSecond();
  $("#upload-speed").textContent = speed > 0 ? `${formatBytes(speed)}/s` : "";
  $("#upload-left").textContent = speed > 0 ? fmt("video_time_left", { time: formatClock((total - sent) / speed) }) : "";
  $("#upload-file").dataset.sent = String(sent);
}

function start() {
  if (!upload) return;
  rate.reset();
  lastProgress = Date.now();
  setState("uploading", t("video_uploading"));
  upload.start();
}

async function restart() {
  // Cancel the request in flight and any retry waiting, then go on from the server's offset.
  if (!upload) return;
  await upload.abort();
  start();
}

async function choose(file) {
  if (!file) return;
  if (file.size > config.maxBytes) {
    setState("idle", fmt("video_too_big", { size: formatBytes(config.maxBytes) }));
    return;
  }
  showFailures([]);
  $("#upload-resume-hint").hidden = true;
  $("#upload-progress").hidden = false;
  $("#upload-file").textContent = `${file.name} · ${formatBytes(file.size)}`;
  $("#upload-bar").value = 0;
  $("#upload-percent").textContent = "0%";
  $("#upload-speed").textContent = "";
  $("#upload-left").textContent = "";
  upload = new window.tus.Upload(file, {
    endpoint: config.endpoint,
    chunkSize: config.chunkSize,
    retryDelays: RETRY_DELAYS,
    metadata: { filename: file.name, filetype: file.type || "video/mp4" },
    removeFingerprintOnSuccess: true,
    onProgress: progress,
    onSuccess: () => finished(),
    onError: (error) => failed(error),
  });
  // The same file chosen again after a reload or a dropped network: go on where it stopped.
  const previous = (await upload.findPreviousUploads()).filter(
    (p) => p.uploadUrl && new URL(p.uploadUrl, location.href).pathname.startsWith(`${config.endpoint}/`),
  );
  if (previous.length) {
    previous.sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)));
    upload.resumeFromPreviousUpload(previous[0]);
  }
  start();
}

function failed(error) {
  if (!navigator.onLine) {
    setState("offline", t("video_offline"));
    return;
  }
  const why = refusal(error);
  setState("error", why ? `${t("video_failed")}${why}` : t("video_failed_network"));
}

function uploadId() {
  return upload && upload.url ? new URL(upload.url, location.href).pathname.split("/").pop() : null;
}

function finished() {
  $("#upload-bar").value = 100;
  $("#upload-percent").textContent = "100%";
  $("#upload-speed").textContent = "";
  $("#upload-left").textContent = "";
  const id = uploadId();
  noteAttempt(id, "checking", []);
  poll(id);
}

async function poll(id) {
  setState("checking", t("video_checking"));
  for (;;) {
    try {
      const response = await fetch(`${config.endpoint}/${id}`, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.ok) {
        const attempt = await response.json();
        if (attempt.state === "accepted" || attempt.state === "rejected") {
          showResult(attempt);
          return;
        }
        if (!["checking", "uploading"].includes(attempt.state)) {
          noteAttempt(id, attempt.state, []);
          setState("idle", "");
          return;
        }
      }
    } catch {
      // the network again: keep asking
    }
    await new Promise((resolve) => { setTimeout(resolve, POLL_MS); });
  }
}

function showResult(attempt) {
  noteAttempt(attempt.id, attempt.state, attempt.failures);
  $("#upload-progress").hidden = true;
  if (attempt.state === "accepted") {
    setState("accepted", t("video_accepted"));
    const next = document.createElement("p");
    next.className = "notice ok";
    next.id = "upload-next";
    next.textContent = t("video_under_review");
    statusLine.after(next);
  } else {
    setState("rejected", t("video_rejected"));
    showFailures(attempt.failures);
  }
}

function showFailures(failures) {
  const list = $("#upload-failures");
  list.replaceChildren(...failures.map((failure) => {
    const li = document.createElement("li");
    li.dataset.code = failure.code;
    li.textContent = failure.message;
    return li;
  }));
  list.hidden = failures.length === 0;
}

// The list of attempts under the upload: this one added, or its result updated.
function noteAttempt(id, attemptState, failures) {
  if (!id) return;
  let list = $("#attempts");
  if (!list) {
    const section = document.createElement("section");
    section.className = "video-attempts";
    const title = document.createElement("h3");
    title.textContent = t("video_attempts");
    list = document.createElement("ol");
    list.id = "attempts";
    list.className = "attempts";
    list.reversed = true;
    section.append(title, list);
    $("#video-upload").after(section);
  }
  let li = list.querySelector(`li[data-upload="${CSS.escape(id)}"]`);
  if (!li) {
    li = document.createElement("li");
    li.dataset.upload = id;
    const file = document.createElement("span");
    file.className = "attempt-file";
    file.textContent = upload && upload.file ? upload.file.name : "";
    const result = document.createElement("strong");
    result.className = "attempt-result";
    li.append(file, " ", result);
    list.prepend(li);
  }
  li.className = `attempt state-${attemptState}`;
  li.dataset.state = attemptState;
  li.querySelector(".attempt-result").textContent = t(`video_attempt_${attemptState}`);
  li.querySelector(".attempt-failures")?.remove();
  if (failures.length) {
    const ul = document.createElement("ul");
    ul.className = "attempt-failures";
    for (const failure of failures) {
      const item = document.createElement("li");
      item.textContent = failure.message;
      ul.append(item);
    }
    li.append(ul);
  }
}

// -- wiring ------------------------------------------------------------------------------------

for (const input of [$("#video-record"), $("#video-choose")]) {
  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    input.value = "";
    choose(file);
  });
}
$("#upload-pause").addEventListener("click", async () => {
  if (!upload) return;
  await upload.abort();
  setState("paused", t("video_paused"));
});
$("#upload-resume").addEventListener("click", () => start());
$("#upload-again").addEventListener("click", () => {
  showFailures([]);
  upload = null;
  $("#upload-progress").hidden = true;
  document.querySelector("#upload-next")?.remove();
  setState("idle", "");
});

// A network change (Wi-Fi to 4G, a tunnel): stop the request that will not finish, and go on as
// soon as the phone is online again.
window.addEventListener("offline", async () => {
  if (!upload || !["uploading", "error"].includes(state)) return;
  setState("offline", t("video_offline"));
  await upload.abort();
});
window.addEventListener("online", () => {
  if (upload && ["offline", "error"].includes(state)) start();
});
// A connection that hangs without failing (a phone between cells).
setInterval(() => {
  if (state === "uploading" && navigator.onLine && Date.now() - lastProgress > STALL_MS) restart();
}, 5000);

// After a reload: an attempt tus remembers can go on once the same file is chosen again.
async function rememberedAttempt() {
  const storage = window.tus.defaultOptions && window.tus.defaultOptions.urlStorage;
  if (!window.tus.canStoreURLs || !storage) return;
  const all = await storage.findAllUploads();
  const ours = all.filter((p) => p.uploadUrl && new URL(p.uploadUrl, location.href).pathname.startsWith(`${config.endpoint}/`));
  if (!ours.length) return;
  const name = (ours[ours.length - 1].metadata || {}).filename || "";
  const hint = $("#upload-resume-hint");
  hint.textContent = fmt("video_resume_hint", { name });
  hint.hidden = false;
}

if (!window.tus || !window.tus.isSupported) {
  setState("error", t("video_unsupported"));
  $("#upload-pick").hidden = true;
} else {
  setState("idle", "");
  rememberedAttempt().catch(() => {});
  // An attempt the server was still checking when the page was (re)loaded.
  if (config.checking.length) poll(config.checking[config.checking.length - 1]);
}

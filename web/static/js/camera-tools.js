// The applicant's camera: opening it (rear by default), switching rear ↔ front, and the tools
// a phone camera may have — torch, zoom, tap to focus — shown only where the camera says it
// has them (MediaStreamTrack.getCapabilities). `toolsOf` is pure (tests/js/camera.test.mjs).

// Which tools a camera offers, from its capabilities.
export function toolsOf(capabilities = {}) {
  const zoom = capabilities.zoom;
  const hasZoom = Boolean(zoom && typeof zoom.max === "number" && zoom.max > (zoom.min ?? 1));
  const focusModes = capabilities.focusMode || [];
  return {
    torch: capabilities.torch === true || (Array.isArray(capabilities.torch) && capabilities.torch.includes(true)),
    zoom: hasZoom ? { min: zoom.min ?? 1, max: zoom.max, step: zoom.step || 0.1 } : null,
    // Chrome on Android: a single-shot focus at a point of interest.
    focus: focusModes.includes("single-shot"),
  };
}

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 15, max: 30 } };
const AUDIO = { echoCancellation: true, noiseSuppression: true };

export class Camera extends EventTarget {
  constructor() {
    super();
    this.stream = null;
    this.facing = "environment"; // the rear camera films the site
    this.torchOn = false;
  }

  get video() { return this.stream ? this.stream.getVideoTracks()[0] || null : null; }
  get audio() { return this.stream ? this.stream.getAudioTracks()[0] || null : null; }

  // The front camera is shown mirrored, as people expect of a selfie; the rear one as it is
  // filmed — and as the inspectors see it.
  get mirrored() {
    const settings = this.video && this.video.getSettings ? this.video.getSettings() : {};
    return (settings.facingMode || this.facing) === "user";
  }

  get tools() {
    const track = this.video;
    return toolsOf(track && track.getCapabilities ? track.getCapabilities() : {});
  }

  // Camera and microphone. Throws the browser's error (the page explains it).
  async open() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: AUDIO, video: { ...VIDEO, facingMode: { ideal: this.facing } },
    });
    this._changed();
    return this.stream;
  }

  // Rear ↔ front. Stop the old camera first: many phones cannot open two at once.
  async switch() {
    const old = this.video;
    const oldDevice = old ? old.getSettings().deviceId : null;
    this.facing = this.facing === "environment" ? "user" : "environment";
    this._drop(old);
    let fresh;
    try {
      fresh = await navigator.mediaDevices.getUserMedia({ video: { ...VIDEO, facingMode: { exact: this.facing } } });
    } catch {
      // No camera facing that way (a desktop, the fake camera): take the next one there is.
      const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
      const index = cameras.findIndex((d) => d.deviceId === oldDevice);
      const next = cameras[(index + 1) % Math.max(cameras.length, 1)];
      fresh = await navigator.mediaDevices.getUserMedia({ video: next ? { ...VIDEO, deviceId: { exact: next.deviceId } } : VIDEO });
    }
    return this._adopt(fresh.getVideoTracks()[0]);
  }

  // The camera stopped (the phone took it back in the background): open it again.
  async reopen() {
    this._drop(this.video);
    const fresh = await navigator.mediaDevices.getUserMedia({ video: { ...VIDEO, facingMode: { ideal: this.facing } } });
    return this._adopt(fresh.getVideoTracks()[0]);
  }

  get stopped() {
    const track = this.video;
    return !track || track.readyState === "ended";
  }

  async setTorch(on) {
    await this.video.applyConstraints({ advanced: [{ torch: on }] });
    this.torchOn = on;
    this._changed();
  }

  async setZoom(value) {
    await this.video.applyConstraints({ advanced: [{ zoom: value }] });
  }

  // Focus where the applicant tapped: x and y from 0 to 1 across the picture.
  async focusAt(x, y) {
    try {
      await this.video.applyConstraints({ advanced: [{ pointsOfInterest: [{ x, y }], focusMode: "single-shot" }] });
    } catch {
      await this.video.applyConstraints({ advanced: [{ focusMode: "single-shot" }] });
    }
  }

  _drop(track) {
    if (!track) return;
    track.stop();
    this.stream.removeTrack(track);
    this.torchOn = false;
  }

  _adopt(track) {
    this.stream.addTrack(track);
    this._changed();
    return track;
  }

  _changed() { this.dispatchEvent(new Event("change")); }
}

// Where in the picture (0–1 across and down) a tap at (clientX, clientY) falls, for a video
// shown whole in its box (object-fit: contain); null outside the picture.
export function pictureAt(width, height, box, clientX, clientY) {
  if (!width || !height) return null;
  const scale = Math.min(box.width / width, box.height / height);
  const left = box.left + (box.width - width * scale) / 2;
  const top = box.top + (box.height - height * scale) / 2;
  const x = (clientX - left) / (width * scale);
  const y = (clientY - top) / (height * scale);
  return x >= 0 && x <= 1 && y >= 0 && y <= 1 ? { x, y } : null;
}

function pointIn(video, box, clientX, clientY) {
  return video ? pictureAt(video.videoWidth, video.videoHeight, box, clientX, clientY) : null;
}

// The buttons over the viewfinder: torch and zoom, hidden when the camera has neither; a tap
// on the picture focuses there when the camera can.
export class CameraToolbar {
  constructor(camera, { torch, zoomBox, zoom, surface, ring, onError }) {
    Object.assign(this, { camera, torch, zoomBox, zoom, surface, ring, onError });
    torch.addEventListener("click", () => this.toggleTorch());
    zoom.addEventListener("input", () => {
      this.camera.setZoom(Number(zoom.value)).catch(onError);
    });
    surface.addEventListener("click", (e) => this._focus(e));
    camera.addEventListener("change", () => this.refresh());
  }

  // Capabilities can arrive a moment after the camera starts: ask again once it plays.
  refresh() {
    const tools = this.camera.tools;
    this.torch.hidden = !tools.torch;
    this.torch.setAttribute("aria-pressed", String(this.camera.torchOn));
    this.zoomBox.hidden = !tools.zoom;
    if (tools.zoom) {
      Object.assign(this.zoom, { min: tools.zoom.min, max: tools.zoom.max, step: tools.zoom.step });
      const current = this.camera.video.getSettings().zoom;
      if (current != null) this.zoom.value = current;
    }
    this.surface.dataset.focus = String(tools.focus);
    return tools;
  }

  async toggleTorch() {
    if (!this.camera.tools.torch) return false;
    try {
      await this.camera.setTorch(!this.camera.torchOn);
      return true;
    } catch (err) {
      this.onError(err);
      return false;
    }
  }

  _focus(event) {
    if (!this.camera.tools.focus || event.target.closest("button, input, .tile")) return;
    const box = this.surface.getBoundingClientRect();
    const point = pointIn(this.surface.querySelector("video"), box, event.clientX, event.clientY);
    if (!point) return;
    this.camera.focusAt(this.camera.mirrored ? 1 - point.x : point.x, point.y).catch(this.onError);
    this.ring.style.left = `${event.clientX - box.left}px`;
    this.ring.style.top = `${event.clientY - box.top}px`;
    this.ring.hidden = false;
    this.ring.classList.remove("show");
    void this.ring.offsetWidth;
    this.ring.classList.add("show");
    clearTimeout(this._ringTimer);
    this._ringTimer = setTimeout(() => { this.ring.hidden = true; }, 900);
  }
}

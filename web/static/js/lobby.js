// The applicant's lobby: the live preview with a camera switch, a microphone level meter, what
// to prepare (with what the phone can tell of its network and battery), and whether the host
// is online. Shown from opening the link until the host admits them.
import { $, t } from "./ui.js";
import { batteryAdvice, networkAdvice } from "./browsers.js";

// The microphone's loudness, 0–100, on a bar: the applicant sees they are heard.
export class MicMeter {
  constructor(el) {
    this.el = el;
    this.context = null;
    this.timer = null;
    this.peak = 0;
  }

  attach(track) {
    this.stop();
    if (!track || !window.AudioContext) return;
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.context = context;
    // A context made before any tap may start suspended (autoplay rules): the first tap wakes it.
    const resume = () => context.resume().catch(() => {});
    document.addEventListener("pointerdown", resume, { once: true });
    resume();
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const v of samples) sum += v * v;
      const rms = Math.sqrt(sum / samples.length);
      // Speech sits around 0.01–0.2 RMS: a square root spreads it over the bar.
      const level = Math.min(100, Math.round(Math.sqrt(rms) * 180));
      this.peak = Math.max(this.peak, level);
      this.el.dataset.level = String(level);
      this.el.dataset.peak = String(this.peak);
      this.el.style.setProperty("--level", `${level}%`);
    }, 100);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
  }
}

export class Lobby {
  constructor(camera) {
    this.camera = camera;
    this.meter = new MicMeter($("#mic-meter"));
    this.preview = $("#preview");
    camera.addEventListener("change", () => this.showPreview());
  }

  showPreview() {
    const track = this.camera.video;
    if (!track || this.stopped) return;
    if (this.shown !== track) {
      this.shown = track;
      this.preview.srcObject = new MediaStream([track]);
    }
    this.preview.classList.toggle("mirrored", this.camera.mirrored);
    this.preview.play().catch(() => {});
  }

  start() {
    this.stopped = false;
    this.showPreview();
    this.meter.attach(this.camera.audio);
    this.checkDevice();
  }

  stop() {
    this.stopped = true;
    this.meter.stop();
    this.shown = null;
    this.preview.srcObject = null;
  }

  // Before joining nothing is known; in the lobby the server says whether the host is here.
  hostOnline(online) {
    const line = $("#host-presence");
    line.dataset.online = online == null ? "unknown" : String(online);
    line.textContent = t(online == null ? "phone_host_unknown" : online ? "phone_host_online" : "phone_host_offline");
  }

  async checkDevice() {
    const connection = navigator.connection;
    const showNetwork = () => {
      const advice = networkAdvice(connection);
      this._line("#prep-network", t(advice.key), advice.warn);
    };
    showNetwork();
    if (connection) connection.addEventListener("change", showNetwork);
    if (navigator.getBattery) {
      try {
        const battery = await navigator.getBattery();
        const showBattery = () => {
          const advice = batteryAdvice(battery);
          this._line("#prep-battery", t(advice.key).replace("{n}", String(advice.percent)), advice.warn);
        };
        showBattery();
        battery.addEventListener("levelchange", showBattery);
        battery.addEventListener("chargingchange", showBattery);
      } catch { /* the generic advice stays */ }
    }
  }

  // The screen cannot be kept on by the page: ask for a longer lock time instead.
  screenAdvice(state) {
    $("#prep-screen").hidden = !(state === "unsupported" || state === "refused");
  }

  _line(selector, text, warn) {
    const el = $(selector);
    el.textContent = text;
    el.classList.toggle("warn", warn);
  }
}

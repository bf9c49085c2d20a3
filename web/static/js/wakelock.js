// Keep the phone's screen on while the applicant is in the room (Screen Wake Lock). The
// browser releases the lock whenever the page is hidden; it is asked for again as soon as the
// page is visible. `navigator` and `document` are parameters so that node can test this
// (tests/js/wakelock.test.mjs).

export class ScreenKeeper {
  constructor({ nav = globalThis.navigator, doc = globalThis.document } = {}) {
    this.nav = nav;
    this.doc = doc;
    this.sentinel = null;
    this.wanted = false;
    this.requests = 0; // how many times the lock was asked for
    this.state = "idle"; // idle | held | released | refused | unsupported
    this.error = null;
    doc.addEventListener("visibilitychange", () => {
      if (this.wanted && doc.visibilityState === "visible") this._acquire();
    });
  }

  get supported() {
    return Boolean(this.nav && this.nav.wakeLock && typeof this.nav.wakeLock.request === "function");
  }

  // Keep the screen on from now on (again after every return to the foreground).
  hold() {
    this.wanted = true;
    return this._acquire();
  }

  async release() {
    this.wanted = false;
    const sentinel = this.sentinel;
    this.sentinel = null;
    if (sentinel && !sentinel.released) await sentinel.release();
    if (this.state === "held") this.state = "released";
  }

  async _acquire() {
    if (!this.supported) {
      this.state = "unsupported";
      return false;
    }
    if (this.doc.visibilityState !== "visible") return false; // only a visible page may hold it
    if (this.sentinel && !this.sentinel.released) return true;
    this.requests += 1;
    try {
      const sentinel = await this.nav.wakeLock.request("screen");
      this.sentinel = sentinel;
      this.state = "held";
      sentinel.addEventListener("release", () => {
        if (this.sentinel === sentinel) this.state = "released";
      });
      return true;
    } catch (err) {
      // Refused (battery saver, a policy, an old WebView): the lobby tells the applicant to
      // turn automatic locking off for a while.
      this.state = "refused";
      this.error = err && err.name;
      return false;
    }
  }
}

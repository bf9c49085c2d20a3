// The phone as a viewfinder: what the applicant films fills the screen, as the inspectors see
// it (mirrored only for the front camera); the host — and whoever else is speaking — is a
// small picture-in-picture in a corner. A tap on the small picture swaps the two; a drag moves
// it out of the way. Works in portrait and landscape (the layout is in css/phone.css).
import { Tiles } from "./ui.js";

const DRAG_START_PX = 10; // a finger that moves less than this has tapped

export class Viewfinder {
  constructor({ room, finder, video, pip }) {
    Object.assign(this, { room, finder, video, pip });
    this.tiles = new Tiles(pip);
    this.swapped = false;
    this.offset = { x: 0, y: 0 };
    this.speaking = new Set();
    this.members = [];
    for (const el of [finder, pip]) this._gestures(el);
    window.addEventListener("resize", () => this._place());
  }

  // The applicant's own camera, large.
  showOwn(camera) {
    const track = camera.video;
    if (track && this.shown !== track) {
      this.shown = track;
      this.video.srcObject = new MediaStream([track]);
    }
    this.finder.dataset.mirrored = String(camera.mirrored);
    this.video.play().catch(() => {});
  }

  // The others in the room: the host first; who is shown small is decided in render().
  setMembers(members, tracksOf) {
    this.members = members;
    for (const member of members) {
      this.tiles.ensure(member);
      this.tiles.setTracks(member.id, tracksOf(member.id));
    }
    this.tiles.retain(new Set(members.map((m) => m.id)));
    this.render();
  }

  setSpeaking(ids) {
    this.speaking = new Set(ids);
    this.render();
  }

  // Shown small: the host, and whoever else spoke in the last seconds (at most two pictures).
  // The rest stay in the page unseen: their voices still play.
  render() {
    const host = this.members.find((m) => m.role === "host") || this.members[0];
    const speaker = this.members.find((m) => m !== host && this.speaking.has(m.id));
    const shown = new Set([host, speaker].filter(Boolean).map((m) => m.id));
    for (const member of this.members) {
      const tile = this.tiles.get(member.id);
      if (!tile) continue;
      tile.el.classList.toggle("shown", shown.has(member.id));
      tile.el.classList.toggle("main", member === host);
      tile.el.classList.toggle("speaking", this.speaking.has(member.id));
    }
    this.pip.hidden = shown.size === 0;
  }

  // Own picture large ↔ host large.
  swap(swapped = !this.swapped) {
    this.swapped = swapped;
    this.room.classList.toggle("swapped", swapped);
    this._place();
  }

  // The small element, wherever the finger left it (kept on screen).
  get small() { return this.swapped ? this.finder : this.pip; }

  _place() {
    const large = this.swapped ? this.pip : this.finder;
    large.style.translate = "";
    const small = this.small;
    small.style.translate = "";
    const box = small.getBoundingClientRect();
    const margin = 4;
    const x = clamp(this.offset.x, margin - box.left, window.innerWidth - margin - box.right);
    const y = clamp(this.offset.y, margin - box.top, window.innerHeight - margin - box.bottom);
    this.offset = { x, y };
    small.style.translate = `${x}px ${y}px`;
  }

  // One finger on the small picture: a tap swaps, a drag moves it.
  _gestures(el) {
    let start = null;
    el.addEventListener("pointerdown", (e) => {
      if (el !== this.small || e.target.closest("button, input")) return;
      start = { x: e.clientX, y: e.clientY, offset: { ...this.offset }, dragging: false };
      el.setPointerCapture(e.pointerId);
    });
    el.addEventListener("pointermove", (e) => {
      if (!start) return;
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      if (!start.dragging && Math.hypot(dx, dy) < DRAG_START_PX) return;
      start.dragging = true;
      el.classList.add("dragging");
      this.offset = { x: start.offset.x + dx, y: start.offset.y + dy };
      this._place();
    });
    const end = (e) => {
      if (!start) return;
      const tapped = !start.dragging && e.type === "pointerup";
      start = null;
      el.classList.remove("dragging");
      if (tapped) this.swap();
    };
    el.addEventListener("pointerup", end);
    el.addEventListener("pointercancel", end);
  }
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), Math.max(low, high));
}

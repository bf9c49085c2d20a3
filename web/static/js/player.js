// The evidence player: a recording (one or more segments on one clock) with its timeline of
// what happened — joins and leaves, gaps, checklist marks and the current point, screenshots,
// the conclusion. A click on the bar or on a marker seeks the video to that instant, loading
// the segment that holds it; segments play on as one session. Used by the archive's case page
// and by the review of a self-recorded video. No page strings in here: labels come with the
// timeline (server/cases/timeline.py) and the few words of its own from `words`.

const KINDS = ["session", "join", "leave", "gap", "current", "mark", "note", "screenshot", "conclusion"];

export function formatClock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, "0")).join(":");
}

// Which segment holds session time `t`, and where in it: the last segment starting at or
// before t; in a gap, the next segment's start.
export function locate(segments, t) {
  if (!segments.length) return null;
  let index = 0;
  for (let i = 0; i < segments.length; i += 1) if (segments[i].start <= t + 1e-6) index = i;
  const segment = segments[index];
  const into = t - segment.start;
  if (into > segment.duration && index + 1 < segments.length) return { index: index + 1, offset: 0 };
  return { index, offset: Math.max(0, Math.min(into, segment.duration)) };
}

export class EvidencePlayer extends EventTarget {
  // root: an element to fill. timeline: {segments: [{recording_id, start, duration, state,
  // label, url}], markers: [{at, kind, label, event_id, item, screenshot}], duration}.
  constructor(root, timeline, { words = {} } = {}) {
    super();
    this.root = root;
    this.timeline = timeline;
    this.words = words;
    this.index = -1;
    this.pending = null;
    this.video = document.createElement("video");
    this.video.controls = true;
    this.video.preload = "metadata";
    this.video.playsInline = true;
    this.video.className = "evidence-video";
    this.bar = document.createElement("div");
    this.bar.className = "timeline-bar";
    this.bar.setAttribute("role", "slider");
    this.bar.setAttribute("aria-valuemin", "0");
    this.bar.setAttribute("aria-valuemax", String(Math.round(timeline.duration || 0)));
    this.head = document.createElement("div");
    this.head.className = "timeline-head";
    this.clock = document.createElement("span");
    this.clock.className = "timeline-clock";
    this.list = document.createElement("ol");
    this.list.className = "timeline-list";
    root.replaceChildren(this.video, this.bar, this.clock, this.list);
    this._draw();
    this.bar.addEventListener("click", (e) => {
      const box = this.bar.getBoundingClientRect();
      this.seek(((e.clientX - box.left) / box.width) * (this.timeline.duration || 0));
    });
    this.video.addEventListener("timeupdate", () => this._tick());
    this.video.addEventListener("loadedmetadata", () => {
      if (this.pending != null) {
        this.video.currentTime = this.pending;
        this.pending = null;
      }
    });
    this.video.addEventListener("ended", () => {
      // Segments play as one session: on to the next.
      if (this.index + 1 < this.timeline.segments.length) {
        this._load(this.index + 1, 0);
        this.video.play().catch(() => {});
      }
    });
    if (timeline.segments.length) this._load(0, 0);
  }

  get time() {
    const segment = this.timeline.segments[this.index];
    return segment ? segment.start + (this.video.currentTime || 0) : 0;
  }

  // A newer timeline of the same recording (a mark or a screenshot was added): the markers
  // are drawn again, the video keeps playing where it is.
  setTimeline(timeline) {
    this.timeline = timeline;
    this.bar.setAttribute("aria-valuemax", String(Math.round(timeline.duration || 0)));
    this._draw();
    this._tick();
  }

  seek(t) {
    const where = locate(this.timeline.segments, t);
    if (!where) return;
    if (where.index !== this.index) this._load(where.index, where.offset);
    else this.video.currentTime = where.offset;
    this.dispatchEvent(new CustomEvent("seek", { detail: { at: t } }));
  }

  _load(index, offset) {
    this.index = index;
    const segment = this.timeline.segments[index];
    this.pending = offset;
    this.video.src = segment.url;
    this.video.dataset.segment = String(index);
  }

  _tick() {
    const t = this.time;
    const total = this.timeline.duration || 1;
    this.head.style.left = `${(100 * t) / total}%`;
    this.clock.textContent = `${formatClock(t)} / ${formatClock(total)}`;
    this.bar.setAttribute("aria-valuenow", String(Math.round(t)));
    this.dispatchEvent(new CustomEvent("time", { detail: { at: t } }));
  }

  _draw() {
    const total = this.timeline.duration || 1;
    const parts = [];
    for (const segment of this.timeline.segments) {
      const el = document.createElement("div");
      el.className = `timeline-segment state-${segment.state}`;
      el.style.left = `${(100 * segment.start) / total}%`;
      el.style.width = `${(100 * segment.duration) / total}%`;
      el.title = segment.label;
      parts.push(el);
    }
    for (const marker of this.timeline.markers) {
      const dot = document.createElement("button");
      dot.type = "button";
      dot.className = `timeline-marker kind-${KINDS.includes(marker.kind) ? marker.kind : "other"}`;
      dot.style.left = `${(100 * marker.at) / total}%`;
      dot.title = `${formatClock(marker.at)} ${marker.label}`;
      dot.dataset.event = String(marker.event_id);
      dot.dataset.at = String(marker.at);
      dot.addEventListener("click", (e) => {
        e.stopPropagation();
        this.seek(marker.at);
      });
      parts.push(dot);
    }
    this.bar.replaceChildren(...parts, this.head);
    this.list.replaceChildren(
      ...this.timeline.markers.map((marker) => {
        const li = document.createElement("li");
        li.className = `kind-${marker.kind}`;
        const jump = document.createElement("button");
        jump.type = "button";
        jump.className = "linkish";
        jump.dataset.event = String(marker.event_id);
        jump.textContent = formatClock(marker.at);
        jump.title = this.words.seek || "";
        jump.addEventListener("click", () => this.seek(marker.at));
        const text = document.createElement("span");
        text.textContent = ` ${marker.label}`;
        li.append(jump, text);
        return li;
      }),
    );
  }
}

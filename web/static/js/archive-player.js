// The archive's player page: the inspection's recording with its evidence timeline
// (player.js), and the screenshot gallery's "at hh:mm:ss" links seeking it in place.
// Reads its timeline from the page's JSON block (#archive-config); no inline script.

import { EvidencePlayer } from "./player.js";

const config = JSON.parse(document.getElementById("archive-config").textContent);
const root = document.getElementById("player");

if (root && config.timeline && config.timeline.segments.length) {
  const player = new EvidencePlayer(root, config.timeline, { words: config.words });
  root.dataset.ready = "1";
  if (config.start != null) player.seek(config.start);

  for (const link of document.querySelectorAll("a.seek-link[data-seek]")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      player.seek(Number(link.dataset.seek));
      root.scrollIntoView({ behavior: "smooth", block: "start" });
      player.video.play().catch(() => {});
    });
  }

  // The list under the bar follows the recording: the last marker passed is highlighted.
  const items = [...root.querySelectorAll(".timeline-list li")];
  player.addEventListener("time", (event) => {
    const at = event.detail.at;
    let current = -1;
    config.timeline.markers.forEach((marker, index) => {
      if (marker.at <= at + 0.25) current = index;
    });
    items.forEach((li, index) => li.classList.toggle("passed", index === current));
  });
}

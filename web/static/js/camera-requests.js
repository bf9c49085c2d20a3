// The host's one-click requests to the applicant's phone: light the torch, switch camera. The
// phone shows the request (phone.js); only the host may send it (the server refuses others).
import { t, toast } from "./ui.js";

const REQUESTS = ["torch", "switch_camera"];

export function addCameraRequests(tile, client) {
  const box = document.createElement("div");
  box.className = "tile-asks";
  for (const what of REQUESTS) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `small ask-${what}`;
    button.dataset.ask = what;
    button.textContent = t(`ask_${what}`);
    button.addEventListener("click", () => {
      if (!client.askCamera(tile.member.id, what)) return;
      // The phone said its camera has no torch it can light from a web page: the host knows
      // the applicant was told to switch a light on instead.
      const noTorch = what === "torch" && tile.member.device && tile.member.device.torch === false;
      toast(`${t("ask_sent")} · ${t(`ask_${what}`)}${noTorch ? ` · ${t("ask_torch_none")}` : ""}`, noTorch ? 5000 : 2000);
    });
    box.append(button);
  }
  tile.el.append(box);
}

// The "copy the link" button of the open-in-browser help (web/templates/_browser_help.html).
// The clipboard API is missing or refused in some apps' browsers: then the link is selected,
// and the legacy copy command tried.
const button = document.getElementById("copy-link");
const field = document.getElementById("room-link");
const done = document.getElementById("copy-done");

export async function copyLink() {
  let copied = false;
  try {
    await navigator.clipboard.writeText(field.value);
    copied = true;
  } catch {
    field.focus();
    field.select();
    field.setSelectionRange(0, field.value.length);
    try { copied = document.execCommand("copy"); } catch { copied = false; }
  }
  done.hidden = !copied;
  return copied;
}

if (button) {
  button.addEventListener("click", copyLink);
  field.addEventListener("focus", () => field.select());
}

// The package check page: the chosen ZIP goes to the server as the request body, streamed
// (the form's own multipart post would be read whole by the form-token check, and is capped),
// with the form token in a header; the answer is shown in place. Words come from #archive-config.

const config = JSON.parse(document.getElementById("archive-config").textContent);
const form = document.getElementById("verify-form");
const result = document.getElementById("verify-result");
const progress = document.getElementById("verify-progress");

function show(ok, text, name) {
  const line = document.createElement("p");
  line.className = ok ? "notice ok verdict-ok" : "error-message verdict-bad";
  line.dataset.ok = ok ? "1" : "0";
  line.textContent = text;
  const parts = [line];
  if (name) {
    const file = document.createElement("p");
    file.className = "muted small";
    file.textContent = name;
    parts.push(file);
  }
  result.replaceChildren(...parts);
}

function format(template, ...values) {
  let index = 0;
  return template.replace(/%s|%d/g, () => String(values[index++]));
}

form.addEventListener("submit", (event) => {
  const file = form.querySelector("input[type=file]").files[0];
  if (!file) return;
  event.preventDefault();
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.setRequestHeader("Content-Type", "application/zip");
  request.setRequestHeader("Accept", "application/json");
  request.setRequestHeader("X-CSRF-Token", form.querySelector("input[name=csrf]").value);
  request.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
  progress.hidden = false;
  progress.value = 0;
  request.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) progress.value = e.loaded / e.total;
  });
  request.upload.addEventListener("load", () => show(true, config.words.checking, file.name));
  request.addEventListener("load", () => {
    progress.hidden = true;
    let body = null;
    try {
      body = JSON.parse(request.responseText);
    } catch {
      body = null;
    }
    if (body && "ok" in body) {
      if (body.ok) show(true, format(config.words.ok, body.files, body.events), file.name);
      else show(false, `${config.words.bad} ${body.problem}`, file.name);
    } else {
      show(false, `${config.words.failed} ${body?.error?.message || request.status}`, file.name);
    }
  });
  request.addEventListener("error", () => {
    progress.hidden = true;
    show(false, config.words.failed, file.name);
  });
  request.send(file);
});

// Staff pages: small conveniences on top of forms that work without scripts.

// Copy a personal link to the clipboard (navigator.clipboard needs HTTPS, which Kanyan serves).
for (const button of document.querySelectorAll("button.copy")) {
  button.addEventListener("click", async () => {
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      button.textContent = document.documentElement.lang === "en" ? "Copied" : "已复制";
    } catch {
      const field = button.previousElementSibling;
      if (field && field.select) field.select();
    }
    setTimeout(() => { button.textContent = label; }, 1500);
  });
}

// Forms that end something (cancel, revoke, reset) ask first; so does a button that does
// (confirming a regulator's finding), whichever form it is in.
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
for (const button of document.querySelectorAll("button[data-confirm]")) {
  button.addEventListener("click", (event) => {
    if (!window.confirm(button.dataset.confirm)) event.preventDefault();
  });
}

// The applicant's notice sheet: print it (no inline handler: the pages' policy forbids them).
for (const button of document.querySelectorAll("button[data-print]")) {
  button.addEventListener("click", () => window.print());
}

// Scheduling: one more row of name, unit and phone for a role.
for (const button of document.querySelectorAll("button.add-row")) {
  button.addEventListener("click", () => {
    const rows = button.parentElement.querySelectorAll(".person-row");
    const copy = rows[rows.length - 1].cloneNode(true);
    for (const input of copy.querySelectorAll("input")) input.value = "";
    button.before(copy);
    copy.querySelector("input").focus();
  });
}

// Scheduling: the host is an inspector account or a person named below, not both.
const hostAccount = document.querySelector("#host-account");
const hostPerson = document.querySelector("#host-person");
if (hostAccount && hostPerson) {
  const sync = () => { hostPerson.hidden = hostAccount.value !== ""; };
  hostAccount.addEventListener("change", sync);
  sync();
}

// The case page's "in the room now": server-sent views of the inspection, from whichever
// node holds its room (web/views/live.py). Without scripts the event log below says the same.
const live = document.getElementById("live-view");
if (live && window.EventSource) {
  const roles = live.dataset.lang === "en"
    ? { host: "host", clerk: "clerk", expert: "expert", observer: "observer", applicant: "applicant" }
    : { host: "主持人", clerk: "办事员", expert: "专家", observer: "观察员", applicant: "申请人" };
  const role = (name) => roles[name] || name;
  const show = (view) => {
    const people = live.querySelector('[data-live="people"]');
    const marks = live.querySelector('[data-live="marks"]');
    live.querySelector('[data-live="none"]').hidden = view.people.length > 0;
    people.replaceChildren(...view.people.map((p) => {
      const li = document.createElement("li");
      li.dataset.presence = p.presence;
      li.textContent = `${p.name}（${role(p.role)}）· ${p.label}`;
      return li;
    }));
    marks.replaceChildren(...view.marks.map((m) => {
      const li = document.createElement("li");
      li.textContent = `${m.seq}. ${m.text}：${m.label}（${m.by}）${m.note ? " " + m.note : ""}`;
      return li;
    }));
  };
  const source = new EventSource(live.dataset.url);
  source.addEventListener("view", (event) => show(JSON.parse(event.data)));
}

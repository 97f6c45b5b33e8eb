// The web chat, live: forms are posted in the background and the page follows the transcript's events
// (server-sent events from /live). Without this script every form still works, one page at a time.
"use strict";
(function () {
  // A kiosk goes back to the start for the next person when left alone (no meta refresh: a person may still be reading).
  const kiosk = document.getElementById("kiosk");
  if (kiosk) {
    let timer = null;
    const idle = Number(kiosk.dataset.idle || "90") * 1000;
    const wake = () => { clearTimeout(timer); timer = setTimeout(() => { location.assign(kiosk.dataset.next); }, idle); };
    for (const name of ["click", "keydown", "input", "touchstart"]) document.addEventListener(name, wake, {passive: true});
    wake();
  }
  const retry = document.getElementById("retry");
  if (retry) setTimeout(() => { location.reload(); }, Number(retry.dataset.retry || "5") * 1000);
  const list = document.getElementById("messages");
  if (!list) return;
  let last = Number(list.dataset.last || "0");
  const mode = list.dataset.mode || "web";
  const seen = new Set();

  function words(node) { return node ? node.textContent : ""; }
  const you = words(document.querySelector(".message.customer .who")) || (document.documentElement.lang === "en" ? "You" : "Vous");
  const them = words(document.querySelector(".message.bot .who")) || (document.documentElement.lang === "en" ? "The team" : "L'équipe");

  function template() { return document.querySelector("form.answer, form.inline"); }

  function buttonsForm(messageId, rows) {
    const model = template();
    const form = document.createElement("form");
    form.method = "post";
    form.action = model ? model.getAttribute("action") : location.pathname;
    form.className = "buttons";
    form.dataset.chat = "";
    for (const name of ["csrf", "turn", "after"]) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      const from = model && model.querySelector(`input[name=${name}]`);
      input.value = from ? from.value : "";
      form.appendChild(input);
    }
    const message = document.createElement("input");
    message.type = "hidden"; message.name = "message"; message.value = String(messageId);
    form.appendChild(message);
    for (const row of rows) {
      const line = document.createElement("div");
      line.className = "row";
      for (const [label, data] of row) {
        const button = document.createElement("button");
        button.type = "submit"; button.name = "button"; button.value = data; button.textContent = label;
        line.appendChild(button);
      }
      form.appendChild(line);
    }
    form.addEventListener("submit", submit);
    return form;
  }

  function render(message, item) {
    message.textContent = "";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = item.from === "bot" ? them : you;
    const text = document.createElement("div");
    text.className = "text";
    if (item.from === "bot") text.innerHTML = item.html;  // made safe by the server (bot/channels/web/html.py)
    else text.textContent = item.html;
    message.append(who, text);
    if (item.file) {
      const p = document.createElement("p");
      const a = document.createElement("a");
      a.className = "file"; a.href = `/file/${item.file.token}`; a.textContent = item.file.filename;
      a.setAttribute("download", "");
      p.appendChild(a); message.appendChild(p);
    }
    const rows = Array.isArray(item.buttons) ? item.buttons : [];
    if (rows.length) message.appendChild(buttonsForm(item.id, rows));
  }

  function apply(item) {
    if (seen.has(item.n) || item.n <= Number(list.dataset.last || "0")) return;
    seen.add(item.n);
    last = Math.max(last, item.n);
    for (const input of document.querySelectorAll("input[name=after]")) input.value = String(last);
    if (item.op === "add") {
      const li = document.createElement("li");
      li.className = `message ${item.from}`;
      li.id = `m${item.id}`;
      render(li, item);
      list.appendChild(li);
      li.scrollIntoView({block: "end"});
    } else if (item.op === "replace") {
      const li = document.getElementById(`m${item.target}`);
      if (!li) return;
      const text = li.querySelector(".text");
      const old = { from: li.classList.contains("bot") ? "bot" : "customer", html: text ? text.innerHTML : "", id: item.target };
      render(li, { ...old, html: item.html === null || item.html === undefined ? old.html : item.html, buttons: item.buttons, file: null });
    }
  }

  function nextTurn(turn) {
    for (const input of document.querySelectorAll("input[name=turn]")) input.value = String(turn);
  }

  async function submit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form, event.submitter || undefined);
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const response = await fetch(form.getAttribute("action"), {
        method: "POST", body: new URLSearchParams(data), headers: {Accept: "application/json"}, credentials: "same-origin",
      });
      const body = await response.json();
      if (body.turn) nextTurn(body.turn);
      for (const item of body.events || []) apply(item);
      if (!body.ok && body.error) alert(body.error);
      const text = form.querySelector("textarea");
      if (text && body.ok) text.value = "";
    } catch (error) {
      form.submit();  // no live page: post it the old way
      return;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  for (const form of document.querySelectorAll("form[data-chat]")) form.addEventListener("submit", submit);
  const textarea = document.getElementById("text");
  if (textarea) {
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); textarea.form.requestSubmit(); }
    });
  }

  if ("EventSource" in window) {
    const source = new EventSource(`/live?mode=${encodeURIComponent(mode)}&after=${last}`);
    source.onmessage = (message) => { apply(JSON.parse(message.data)); };
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) document.getElementById("live-off").hidden = false; };
  } else {
    document.getElementById("live-off").hidden = false;
  }
  const mark = list.querySelector("[data-last-message]");
  if (mark) mark.scrollIntoView({block: "end"});
})();

// The editor's live preview: the text being typed, rendered as a customer sees it, or why it is refused.
// A file, not an inline script: the web admin's Content-Security-Policy runs no inline script.
(function () {
  const form = document.getElementById("editor");
  const text = document.getElementById("text");
  const problem = document.getElementById("preview-problem");
  if (!form || !text || !problem) return;
  const isFlow = form.dataset.kind === "flow";
  let timer = null;
  async function refresh() {
    const response = await fetch("/preview", { method: "POST", body: new FormData(form), credentials: "same-origin" });
    const result = await response.json();
    problem.hidden = result.ok;
    problem.textContent = result.ok ? "" : "Refusé" + (result.line ? " (ligne " + result.line + ")" : "") + " : " + result.problem;
    if (isFlow) {
      document.getElementById("flow-ok").hidden = !result.ok;
    } else if (result.ok) {
      document.getElementById("preview").innerHTML = result.html;
      const buttons = document.getElementById("buttons");
      buttons.replaceChildren();
      for (const row of result.buttons) {
        for (const label of row) {
          const button = document.createElement("span");
          button.textContent = label;
          buttons.appendChild(button);
        }
      }
    }
    form.dataset.previewed = String(Number(form.dataset.previewed || 0) + 1);
  }
  text.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
  refresh();
})();

// The flow editor keeps YAML's indentation: Tab indents the line (or the selected lines) by two spaces,
// Shift+Tab takes two away, Enter starts the new line at the indentation of the current one (two more after
// a line ending with ":"). Escape then Tab leaves the field, as the help under it says.
(function () {
  const form = document.getElementById("editor");
  const text = document.getElementById("text");
  if (!form || !text || form.dataset.kind !== "flow") return;
  const UNIT = "  ";
  let escaped = false;
  function replace(start, end, replacement, caretStart, caretEnd) {
    text.setRangeText(replacement, start, end, "end");
    text.setSelectionRange(caretStart, caretEnd === undefined ? caretStart : caretEnd);
    text.dispatchEvent(new Event("input", { bubbles: true }));  // the live check runs, as after typing
  }
  function indent(outdent) {
    const value = text.value;
    const start = text.selectionStart;
    const end = text.selectionEnd;
    const first = value.lastIndexOf("\n", start - 1) + 1;
    if (!outdent && start === end) {
      replace(start, end, UNIT, start + UNIT.length);
      return;
    }
    const last = end > start && value[end - 1] === "\n" ? end - 1 : end;
    const lines = value.slice(first, last).split("\n");
    let removedFirst = 0;
    const changed = lines.map(function (line, index) {
      if (!outdent) return UNIT + line;
      const cut = line.startsWith(UNIT) ? UNIT.length : line.startsWith(" ") ? 1 : 0;
      if (index === 0) removedFirst = cut;
      return line.slice(cut);
    });
    const result = changed.join("\n");
    const shift = outdent ? -removedFirst : UNIT.length;
    const caretStart = Math.max(first, start + shift);
    replace(first, last, result, start === end ? caretStart : first, start === end ? caretStart : first + result.length);
  }
  text.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { escaped = true; return; }
    const wasEscaped = escaped;
    escaped = false;
    if (event.key === "Tab" && !wasEscaped && !event.ctrlKey && !event.altKey && !event.metaKey) {
      event.preventDefault();
      indent(event.shiftKey);
    } else if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.altKey && !event.metaKey && !event.isComposing) {
      const value = text.value;
      const start = text.selectionStart;
      const line = value.slice(value.lastIndexOf("\n", start - 1) + 1, start);
      let spaces = (line.match(/^[ ]*/) || [""])[0];
      if (/:\s*$/.test(line)) spaces += UNIT;
      event.preventDefault();
      const insert = "\n" + spaces;
      replace(start, text.selectionEnd, insert, start + insert.length);
    }
  });
})();

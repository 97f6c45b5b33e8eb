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

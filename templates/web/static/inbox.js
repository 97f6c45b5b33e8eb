// The inbox's first page: asks every few seconds for the feedback stored since it was shown, and puts it on top.
(function () {
  "use strict";
  var rows = document.getElementById("rows");
  if (!rows || !rows.dataset.poll) { return; }
  var count = document.getElementById("count");
  var fresh = document.getElementById("fresh");
  var every = Number(rows.dataset.every || 5000);
  var added = 0;
  function poll() {
    var url = rows.dataset.poll + (rows.dataset.poll.indexOf("?") < 0 ? "?" : "&") + "after=" + rows.dataset.newest;
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (found) {
        if (!found) { return; }
        rows.dataset.newest = found.newest;
        if (!found.count) { return; }
        var empty = rows.querySelector("td[colspan]");
        if (empty) { empty.parentNode.remove(); }
        var holder = document.createElement("tbody");
        holder.innerHTML = found.rows;  // rendered and escaped by the server
        var anchor = rows.firstElementChild;
        while (holder.firstElementChild) { rows.insertBefore(holder.firstElementChild, anchor); }
        added += found.count;
        var total = Number(count.dataset.count) + found.count;
        count.dataset.count = String(total);
        count.textContent = total + (total === 1 ? " retour" : " retours");
        fresh.hidden = false;
        fresh.textContent = added + (added === 1 ? " nouveau retour" : " nouveaux retours") + " depuis l'ouverture de la page.";
      })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, every); });
  }
  window.setTimeout(poll, every);
})();

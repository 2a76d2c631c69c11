// Ferrodesk's agent pages, enhanced: keyboard shortcuts and the ticket page's presence
// notice. Everything here is optional: the pages work the same without it.
(function () {
  "use strict";

  // ------------------------------------------------------------ keyboard shortcuts

  // Never while typing, nor with a modifier (the browser's and screen readers' own keys).
  function typing(e) {
    var t = e.target;
    if (!t || !t.tagName) return false;
    var tag = t.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || t.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("table.tickets tbody tr.ticket-row"));
  }

  var current = -1;

  function choose(i) {
    var list = rows();
    if (!list.length) return;
    i = Math.max(0, Math.min(list.length - 1, i));
    if (current >= 0 && list[current]) {
      list[current].classList.remove("kb-current");
      list[current].removeAttribute("aria-current");
    }
    current = i;
    var row = list[i];
    row.classList.add("kb-current");
    row.setAttribute("aria-current", "true");
    // The row's link takes the focus, so screen readers say which ticket it is.
    var link = row.querySelector(".col-subject a");
    if (link) link.focus();
    row.scrollIntoView({ block: "nearest" });
  }

  function focusBox(id) {
    var box = document.getElementById(id);
    if (!box) return false;
    box.focus();
    box.scrollIntoView({ block: "center" });
    return true;
  }

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    var help = document.getElementById("shortcuts");
    if (help && help.open) return; // the dialog handles its own keys (Escape closes it)
    switch (e.key) {
      case "?":
        if (help && help.showModal) {
          help.showModal();
          e.preventDefault();
        }
        break;
      case "j":
        if (rows().length) {
          choose(current + 1);
          e.preventDefault();
        }
        break;
      case "k":
        if (rows().length) {
          choose(current < 0 ? 0 : current - 1);
          e.preventDefault();
        }
        break;
      case "Enter": {
        var row = rows()[current];
        // Only the chosen row, and only when the focus is on it (not on another control).
        if (row && (document.activeElement === document.body || row.contains(document.activeElement))) {
          var link = row.querySelector(".col-subject a");
          if (link) {
            e.preventDefault();
            window.location.assign(link.getAttribute("href"));
          }
        }
        break;
      }
      case "r":
        if (focusBox("reply_body")) e.preventDefault();
        break;
      case "n":
        if (focusBox("note_body")) e.preventDefault();
        break;
    }
  });

  // ------------------------------------------------------------ presence (ticket page)

  var presence = document.getElementById("presence");
  if (presence && presence.dataset.presence && window.fetch) {
    var url = presence.dataset.presence;
    var last = "";
    var poll = function () {
      if (document.hidden) return;
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          // Only a change is written, so screen readers hear each notice once.
          if (html.trim() !== last) {
            last = html.trim();
            var doc = new DOMParser().parseFromString("<div>" + last + "</div>", "text/html");
            var fresh = doc.body.firstChild;
            presence.replaceChildren.apply(presence, Array.prototype.slice.call(fresh.childNodes));
          }
        })
        .catch(function () { /* the next poll tries again */ });
    };
    poll();
    window.setInterval(poll, 15000);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) poll();
    });
  }
})();

// The unread count beside 通知 in the navigation bar, on every page.
"use strict";
(function () {
  const badge = document.getElementById("notice-count");
  if (!badge) return;
  fetch("/api/notices", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null))
    .then((data) => { if (data && data.unread) badge.textContent = "（" + data.unread + "）"; })
    .catch(() => {});
})();

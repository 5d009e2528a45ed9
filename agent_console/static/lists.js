// A list page that follows the database: the server's stream (listing.live_changes) says
// when the list the page shows has changed; the list is then read again in place, unless
// the user is busy with a form on it (the filter bar, an answer being typed) — then
// 列表有更新 with a link to reload, so nothing typed is lost. Streams close while the tab is
// hidden and open again when it shows.
"use strict";
(function () {
  const region = document.getElementById("live-list");
  const notice = document.getElementById("live-notice");
  if (!region || !notice || !window.EventSource) return;
  let source = null;

  const FILTERS = "form.filters input, form.filters select";

  function changedField(field) {
    if (field.type === "hidden" || field.type === "submit") return false;
    if (field.tagName === "SELECT") {
      // a select none of whose options is marked shows its first
      const options = [...field.options];
      const marked = options.findIndex((o) => o.defaultSelected);
      return field.selectedIndex !== (marked < 0 && !field.multiple ? 0 : marked);
    }
    if (field.type === "checkbox" || field.type === "radio") {
      return field.checked !== field.defaultChecked;
    }
    return field.value !== field.defaultValue;
  }

  function holdsText(field) {
    return field.tagName !== "SELECT" && !["hidden", "submit", "checkbox", "radio"]
      .includes(field.type) && field.value.trim() !== "";
  }

  // Busy: in the filter bar or a form of the list, a changed filter, text in a form of the
  // list (an answer typed, or given back with an error after a refused step).
  function busy() {
    const filters = [...document.querySelectorAll(FILTERS)];
    const forms = [...region.querySelectorAll("input, textarea, select")]
      .filter((field) => !field.closest("form.filters"));
    if ([...filters, ...forms].includes(document.activeElement)) return true;
    if (filters.some(changedField)) return true;
    if (forms.some((field) => changedField(field) || holdsText(field))) return true;
    return region.querySelector('[aria-invalid="true"]') !== null;
  }

  function stop() {
    if (source) source.close();
    source = null;
  }

  function tell() {
    stop();
    notice.hidden = false;
  }

  async function reload() {
    try {
      const r = await fetch(region.dataset.page, { credentials: "same-origin" });
      const page = r.ok ? new DOMParser().parseFromString(await r.text(), "text/html") : null;
      const fresh = page && page.getElementById("live-list");
      if (!fresh || busy()) return tell();
      region.innerHTML = fresh.innerHTML;
      region.dataset.stamp = fresh.dataset.stamp;
      region.dataset.page = fresh.dataset.page;
      document.body.dataset.listReloads = String(Number(document.body.dataset.listReloads || 0) + 1);
      listen();
    } catch (_) {
      tell();
    }
  }

  function listen() {
    stop();
    const query = new URLSearchParams(new URL(region.dataset.page, location.href).search);
    query.delete("page");
    query.set("since", region.dataset.stamp);
    source = new EventSource(region.dataset.live + "?" + query.toString());
    source.addEventListener("changed", () => {
      stop();
      if (busy()) tell(); else reload();
    });
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) stop();
    else if (notice.hidden && !source) listen();
  });
  listen();
})();

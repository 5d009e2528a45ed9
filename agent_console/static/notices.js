// On every page: the unread count beside 通知 in the navigation bar, and attention — a
// short chime (made with WebAudio, no sound file) and a desktop notification (asked for
// once, at the first click on a page) — when a notice arrives, when a duty judge is sent a
// consultation, and for the desk's ring (window.hotlineAttention.alert, used by desk.js).
"use strict";
(function () {
  const POLL_MS = 20000;
  const ASKED = "hotline-notification-asked";
  let audio = null;

  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
      const start = audio.currentTime;
      for (const [i, freq] of [880, 660, 880].entries()) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = "sine"; osc.frequency.value = freq;
        const t = start + i * 0.18;
        gain.gain.setValueAtTime(0.0001, t);
        gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.16);
        osc.connect(gain).connect(audio.destination);
        osc.start(t); osc.stop(t + 0.17);
      }
      document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
    } catch (_) { /* no audio device: the notification and the page still tell */ }
  }

  function notify(title, body) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try { new Notification(title, { body: body, tag: "hotline-" + title, lang: "zh-CN" }); }
    catch (_) { /* some browsers allow notifications from a service worker only */ }
  }

  function alertStaff(title, body) {
    chime(); notify(title, body);
    const log = (window.hotlineAlerts = window.hotlineAlerts || []);
    log.push({ title: title, body: body });
  }
  window.hotlineAttention = { alert: alertStaff };

  // Browsers ask for permission only from a user's gesture: the first click, once.
  document.addEventListener("click", () => {
    if (!("Notification" in window) || Notification.permission !== "default") return;
    if (localStorage.getItem(ASKED)) return;
    localStorage.setItem(ASKED, "1");
    Notification.requestPermission().catch(() => {});
  }, { once: true });

  const badge = document.getElementById("notice-count");
  if (!badge) return;
  const judge = !!document.querySelector('a[href="/judge/consultations"]');
  let unread = null;
  let consultations = null;

  async function poll() {
    try {
      const r = await fetch("/api/notices", { credentials: "same-origin" });
      const data = r.ok ? await r.json() : null;
      if (data) {
        badge.textContent = data.unread ? "（" + data.unread + "）" : "";
        if (unread !== null && data.unread > unread) {
          const newest = (data.notices || []).find((n) => !n.read);
          alertStaff("新通知", newest ? newest.text : "您有 " + data.unread + " 条未读通知");
        }
        unread = data.unread;
      }
      if (judge) {
        const c = await fetch("/api/consultations", { credentials: "same-origin" });
        const list = c.ok ? await c.json() : null;
        if (list) {
          const open = list.filter((t) => t.status === "open").length;
          if (consultations !== null && open > consultations) {
            alertStaff("新的座席员咨询", "有 " + open + " 条咨询待答复");
          }
          consultations = open;
        }
      }
    } catch (_) { /* the console is restarting: the next poll tells */ }
    document.body.dataset.attention = "polled";  // the counts to compare with are known
  }

  poll();
  setInterval(poll, POLL_MS);
})();

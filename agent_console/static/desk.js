// The agent's desk: listens to /api/desk/events and drives the seat through /api/desk/*.
// Every pop's arrival is kept in window.hotlinePops for the screen-pop benchmark.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const STATES = { out: "未签入", ready: "空闲", paused: "示忙" };
  const DEVICES = { idle: "空闲", in_use: "通话中", busy: "忙", ringing: "振铃",
                    ring_in_use: "振铃", on_hold: "保持", unavailable: "未注册",
                    invalid: "无效", unknown: "未知" };
  const CALL_STATES = { ringing: "振铃中", connected: "通话中", consulting: "咨询中" };
  const $ = (id) => document.getElementById(id);
  window.hotlinePops = [];

  function showError(text) { $("desk-error").textContent = text || ""; }

  async function post(path, body) {
    showError("");
    const response = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      showError(typeof data.detail === "string" ? data.detail : "操作失败（" + response.status + "）");
      return null;
    }
    return data;
  }

  function showPresence(p) {
    const el = $("presence-state");
    el.dataset.state = p.state;
    el.textContent = STATES[p.state] + (p.reason_label ? "（" + p.reason_label + "）" : "");
  }

  async function presence(action) {
    const body = { action: action };
    if (action === "pause") body.reason = $("pause-reason").value;
    const p = await post("/api/desk/presence", body);
    if (p) showPresence(p);
  }

  function fillList(el, items, render) {
    el.replaceChildren();
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "hint"; li.textContent = "无"; el.append(li);
    }
    for (const item of items) {
      const li = document.createElement("li"); li.textContent = render(item); el.append(li);
    }
  }

  function showCall(call) {
    const box = $("call");
    if (!call) { box.hidden = true; box.dataset.callId = ""; return; }
    box.hidden = false;
    box.dataset.callId = call.call_id;
    setCallState(call.state);
    $("call-number").textContent = call.caller_number || "（未显示号码）";
    $("call-id").textContent = call.call_id;
    $("call-log-link").href = "/calls/log?call=" + encodeURIComponent(call.call_id);
    fillList($("call-history"), call.history || [],
             (h) => h.started_at.replace("T", " ").slice(0, 16) + "　" + (h.agent ? "座席 " + h.agent : h.route));
    fillList($("call-tickets"), call.tickets || [],
             (t) => t.reference + "　" + t.type + "　" + t.status);
  }

  function showSeat(seat) {
    $("device-state").textContent = seat.member ? (DEVICES[seat.device] || seat.device) : "不在队列";
  }

  function listen() {
    const source = new EventSource("/api/desk/events");
    source.addEventListener("state", (e) => {
      const s = JSON.parse(e.data);
      showSeat(s.seat); showCall(s.call);
      $("pbx-state").textContent = s.pbx_connected ? "" : "交换机未连接";
    });
    source.addEventListener("ring", (e) => {
      const received = (performance.timeOrigin + performance.now()) / 1000;
      const call = JSON.parse(e.data);
      window.hotlinePops.push({ call_id: call.call_id, ami_time: call.ami_time, received: received });
      showCall(call);
    });
    for (const kind of ["history", "connected"]) {
      source.addEventListener(kind, (e) => showCall(JSON.parse(e.data)));
    }
    source.addEventListener("ended", (e) => {
      const call = JSON.parse(e.data);
      if ($("call").dataset.callId === call.call_id) showCall(null);
    });
    source.addEventListener("seat", (e) => showSeat(JSON.parse(e.data)));
    source.onopen = () => { document.body.dataset.live = "1"; };
  }

  function setCallState(state) {
    $("call").dataset.state = state;
    $("call-state").textContent = CALL_STATES[state] || state;
    $("btn-transfer-complete").hidden = state !== "consulting";
    $("btn-transfer-cancel").hidden = state !== "consulting";
  }

  async function transfer(mode) {
    const r = await post("/api/desk/transfer", { mode: mode });
    if (r && mode === "attended") setCallState("consulting");
  }

  $("btn-sign-in").addEventListener("click", () => presence("sign_in"));
  $("btn-pause").addEventListener("click", () => presence("pause"));
  $("btn-resume").addEventListener("click", () => presence("resume"));
  $("btn-sign-out").addEventListener("click", () => presence("sign_out"));
  $("btn-transfer-blind").addEventListener("click", () => transfer("blind"));
  $("btn-transfer-attended").addEventListener("click", () => transfer("attended"));
  $("btn-transfer-complete").addEventListener("click", () => post("/api/desk/transfer/complete"));
  $("btn-transfer-cancel").addEventListener("click", async () => {
    if (await post("/api/desk/transfer/cancel")) setCallState("connected");
  });
  listen();
})();

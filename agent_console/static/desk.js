// The agent's desk: listens to /api/desk/events and drives the seat through /api/desk/*;
// logs the call through POST /api/calllogs and searches GET /api/kb without leaving the page.
// Every pop's arrival is kept in window.hotlinePops for the screen-pop benchmark.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const desk = $("desk");
  const ZONE = desk.dataset.timezone || "Asia/Shanghai";
  const STATES = { out: "未签入", ready: "空闲", paused: "示忙", wrap_up: "话后处理" };
  const DEVICES = { idle: "空闲", in_use: "通话中", busy: "忙", ringing: "振铃",
                    ring_in_use: "振铃", on_hold: "保持", unavailable: "未注册",
                    invalid: "无效", unknown: "未知" };
  const UNREACHABLE = new Set(["unavailable", "invalid"]);
  const CALL_STATES = { ringing: "振铃中", connected: "通话中", consulting: "咨询中",
                        wrap_up: "话后处理" };
  const CALL_BADGES = { ringing: "ringing", connected: "talking", consulting: "busy",
                        wrap_up: "wrapup" };
  const LOG_FIELDS = ["caller_name", "caller_kind", "contact", "id_number", "case_number",
                      "category", "question", "answer", "outcome"];
  let presenceState = $("presence-state").dataset.state;
  let presenceReason = "";
  let seat = { member: false };
  let call = null;
  let queue = null;
  window.hotlinePops = [];

  // -- messages --------------------------------------------------------------------------
  function say(el, text) { el.textContent = text || ""; el.hidden = !text; }
  function showError(text) { say($("desk-error"), text); if (text) say($("desk-ok"), ""); }
  function showOk(text) { say($("desk-ok"), text); if (text) say($("desk-error"), ""); }

  function refusal(data, status) {
    const detail = data && data.detail;
    if (typeof detail === "string") return detail;
    if (detail && detail.message) return detail.message;
    return "操作失败（错误 " + status + "），请稍后重试。";
  }

  async function send(method, path, body) {
    const response = await fetch(path, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, data: data };
  }

  async function post(path, body) {
    showError("");
    const r = await send("POST", path, body || {});
    if (!r.ok) { showError(refusal(r.data, r.status)); return null; }
    return r.data;
  }

  // -- time --------------------------------------------------------------------------------
  const clockFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hour12: false });
  function localTime(epochSeconds) {
    const parts = {};
    for (const p of clockFormat.formatToParts(new Date(epochSeconds * 1000))) parts[p.type] = p.value;
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
  }
  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const mm = String(Math.floor(s / 60)).padStart(2, "0");
    return mm + ":" + String(s % 60).padStart(2, "0");
  }
  const now = () => Date.now() / 1000;

  // -- the seat: presence, phone, buttons ---------------------------------------------------
  function showPresence(p) {
    presenceState = p.state;
    presenceReason = p.reason_label || "";
    renderSeat();
  }

  function renderSeat() {
    const el = $("presence-state");
    el.dataset.state = presenceState;
    const unreachable = seat.member && UNREACHABLE.has(seat.device);
    let text = STATES[presenceState] || presenceState;
    if (presenceState === "paused" && presenceReason) text += "（" + presenceReason + "）";
    // 空闲 is never shown beside a phone that would not ring.
    if (presenceState === "ready" && unreachable) text = "已签入（话机未注册，接不到来电）";
    el.textContent = text;
    $("device-state").textContent = seat.member ? (DEVICES[seat.device] || "未知") : "不在队列";
    const signedIn = presenceState !== "out";
    $("btn-sign-in").disabled = signedIn;
    $("btn-sign-out").disabled = !signedIn;
    $("btn-pause").disabled = !signedIn || presenceState === "paused";
    $("btn-resume").disabled = !signedIn || presenceState === "ready";
  }

  async function presence(action) {
    const body = { action: action };
    if (action === "pause") body.reason = $("pause-reason").value;
    const p = await post("/api/desk/presence", body);
    if (p) showPresence(p);
  }

  async function refreshPresence() {
    const r = await send("GET", "/api/desk/state");
    if (r.ok && r.data.presence) showPresence(r.data.presence);
  }

  // -- the call ---------------------------------------------------------------------------
  function fillRows(tbody, items, columns, cells) {
    tbody.replaceChildren();
    if (!items.length) {
      const tr = document.createElement("tr"); const td = document.createElement("td");
      td.colSpan = columns; td.className = "hint"; td.textContent = "无";
      tr.append(td); tbody.append(tr); return;
    }
    for (const item of items) {
      const tr = document.createElement("tr");
      for (const text of cells(item)) {
        const td = document.createElement("td"); td.textContent = text; tr.append(td);
      }
      tbody.append(tr);
    }
  }

  function showCall(c) {
    const box = $("call");
    const isNew = c && (!call || call.call_id !== c.call_id);
    call = c;
    $("call-body").hidden = !c;
    $("call-none").hidden = !!c;
    box.dataset.callId = c ? c.call_id : "";
    setCallState(c ? c.state : "");
    if (!c) { tick(); return; }
    $("call-number").textContent = c.caller_number || "（未显示号码）";
    const who = c.caller_name ? c.caller_name + (c.caller_kind ? "（" + c.caller_kind + "）" : "") : "";
    const calls = (c.history || []).length;
    // The pop carries the latest HISTORY_LIMIT (10) calls: more are "10 次以上".
    const count = calls >= 10 ? "10 次以上" : calls + " 次";
    $("call-who").textContent = (who || "以往来电未登记姓名") + "　以往来电 " + count;
    $("call-origin").textContent = c.origin || "人工座席";
    // 3 calls or more in 7 days: flagged, never blocked (issue 15)
    $("call-repeat").hidden = !c.repeat_caller;
    $("call-repeat").textContent = c.repeat_caller ? "重复来电：7日内第 " + c.recent_calls + " 次" : "";
    fillRows($("call-history"), c.history || [], 3,
             (h) => [h.started_local, h.route_label, h.agent || "—"]);
    fillRows($("call-tickets"), c.tickets || [], 4,
             (t) => [t.reference, t.type_label, t.status_label, t.created_local]);
    if (isNew) startLog(c);
    tick();
  }

  function setCallState(state) {
    const box = $("call");
    box.dataset.state = state;
    const badge = $("call-state");
    badge.textContent = CALL_STATES[state] || "";
    badge.className = state ? "badge badge-" + (CALL_BADGES[state] || state) : "badge";
    const up = state === "connected";
    $("btn-transfer-blind").hidden = !up;
    $("btn-transfer-attended").hidden = !up;
    $("transfer-to").hidden = !up;
    $("btn-transfer-complete").hidden = state !== "consulting";
    $("btn-transfer-cancel").hidden = state !== "consulting";
    $("btn-wrap-up-end").hidden = state !== "wrap_up";
    $("wrap-up-note").hidden = state !== "wrap_up";
  }

  // The call timer: talk time while connected, time since hang-up in wrap-up.
  function tick() {
    const timer = $("call-timer");
    if (!call) { timer.textContent = ""; }
    else if (call.state === "wrap_up" && call.ended_at) {
      timer.textContent = "话后 " + duration(now() - call.ended_at);
      if (call.wrap_up_until) $("wrap-up-left").textContent = duration(call.wrap_up_until - now());
    } else if (call.answered_at) {
      timer.textContent = "通话 " + duration(now() - call.answered_at);
    } else {
      timer.textContent = "振铃 " + duration(now() - call.ami_time);
    }
    if (queue && queue.oldest_at) $("queue-longest").textContent = duration(now() - queue.oldest_at);
  }

  // The transfer targets: today's duty judge, or any department or staff member of the
  // court's directory (内外一号, GET /api/directory/targets), grouped by department.
  async function loadTargets() {
    const r = await fetch("/api/directory/targets", { credentials: "same-origin" });
    if (!r.ok) return;
    const select = $("transfer-target");
    const groups = {};
    for (const t of await r.json()) {
      const dept = t.department || t.name;
      if (!groups[dept]) {
        groups[dept] = document.createElement("optgroup");
        groups[dept].label = dept;
        select.appendChild(groups[dept]);
      }
      const option = document.createElement("option");
      option.value = String(t.id);
      option.textContent = t.label + "（" + t.number + "）";
      groups[dept].appendChild(option);
    }
  }

  async function transfer(mode) {
    const picked = $("transfer-target").value;
    const body = picked ? { mode: mode, entry_id: Number(picked) } : { mode: mode };
    const r = await post("/api/desk/transfer", body);
    if (r && mode === "attended") setCallState("consulting");
    if (r) showOk((mode === "attended" ? "正在咨询 " : "已转给 ") + r.judge);
  }

  // -- the queue's summary ----------------------------------------------------------------
  function showQueue(q) {
    queue = q;
    if (!q || !q.known) return;
    $("queue-summary").dataset.waiting = String(q.waiting);
    $("queue-waiting").textContent = String(q.waiting);
    $("queue-longest").textContent = q.oldest_at ? duration(now() - q.oldest_at) : "—";
    $("queue-free").textContent = q.free + " / " + q.members;
  }

  // -- the call log, beside the pop ---------------------------------------------------------
  const form = $("log-form");

  function startLog(c) {
    // A new call: its id goes with the log; the number is the contact unless one is typed.
    form.elements.call_id.value = c.call_id;
    if (!form.elements.contact.value && c.caller_number && !c.caller_number.includes("*")) {
      form.elements.contact.value = c.caller_number;
    }
    if (!form.elements.caller_name.value && c.caller_name) form.elements.caller_name.value = c.caller_name;
  }

  function clearFieldErrors() {
    for (const el of form.querySelectorAll(".field-error")) el.remove();
    for (const el of form.querySelectorAll("[aria-invalid]")) {
      el.removeAttribute("aria-invalid"); el.removeAttribute("aria-describedby");
    }
    for (const el of form.querySelectorAll(".field.invalid")) el.classList.remove("invalid");
  }

  function fieldError(name, text) {
    const input = form.elements[name];
    const label = input ? input.closest("label") : form.querySelector("label.check");
    if (!label) return false;
    label.classList.add("invalid");
    const span = document.createElement("span");
    span.className = "field-error"; span.id = name + "-error"; span.setAttribute("role", "alert");
    span.textContent = text;
    if (input) { input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", span.id); }
    label.append(span);
    return true;
  }

  async function saveLog() {
    clearFieldErrors();
    say($("log-error"), ""); say($("log-ok"), "");
    $("log-forward").hidden = true;
    const body = {};
    for (const name of LOG_FIELDS) body[name] = form.elements[name].value;
    if (form.elements.court) body.court = form.elements.court.value;  // more than one court
    body.call_id = form.elements.call_id.value || null;
    body.send_to_duty_judge = form.elements.consult.checked;
    const r = await send("POST", "/api/calllogs", body);
    if (!r.ok) {
      const detail = r.data && r.data.detail;
      const errors = (detail && detail.errors) || {};
      let shown = 0;
      for (const [name, text] of Object.entries(errors)) {
        if (fieldError(name === "consult" ? "consult" : name, text)) shown += 1;
      }
      say($("log-error"), refusal(r.data, r.status) + (errors.call ? " " + errors.call : ""));
      const first = form.querySelector("[aria-invalid=true]");
      if (first && shown) first.focus();
      return;
    }
    form.reset();
    form.elements.call_id.value = "";
    say($("log-ok"), "来电登记已保存。");
    if (body.outcome === "forwarded" && r.data && r.data.id) {
      // The matter is forwarded from its own page, where the department is chosen.
      const forward = $("log-forward");
      forward.action = "/calls/logs/" + r.data.id + "/forward";
      forward.hidden = false;
    }
    // Saving the log ends wrap-up (or, during the call, spares the wrap-up at hang-up).
    if (call) {
      const w = await send("POST", "/api/desk/wrap-up", {});
      if (w.ok) showPresence(w.data);
    }
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); saveLog(); });
  // A field corrected loses its error; the others keep theirs until the next save.
  form.addEventListener("input", (e) => {
    const label = e.target.closest("label");
    if (!label || !label.classList.contains("invalid")) return;
    label.classList.remove("invalid");
    for (const span of label.querySelectorAll(".field-error")) span.remove();
    e.target.removeAttribute("aria-invalid"); e.target.removeAttribute("aria-describedby");
  });

  // -- the knowledge base ----------------------------------------------------------------
  async function searchKb() {
    const q = $("kb-q").value.trim();
    const r = await send("GET", "/api/kb?q=" + encodeURIComponent(q));
    const list = $("kb-results");
    list.replaceChildren();
    if (!r.ok) { say($("kb-count"), refusal(r.data, r.status)); return; }
    $("kb-count").textContent = "共 " + r.data.length + " 条";
    for (const entry of r.data) {
      const li = document.createElement("li");
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = entry.title + (entry.category ? "（" + entry.category + "）" : "");
      const p = document.createElement("p"); p.textContent = entry.answer;
      details.append(summary, p); li.append(details); list.append(li);
    }
    if (r.data.length === 1) list.querySelector("details").open = true;
  }
  $("kb-form").addEventListener("submit", (e) => { e.preventDefault(); searchKb(); });

  // -- attention: sound and desktop notification (notices.js) ------------------------------
  function attention(title, body) {
    if (window.hotlineAttention) window.hotlineAttention.alert(title, body);
  }

  // -- the event stream ----------------------------------------------------------------------
  function listen() {
    const source = new EventSource("/api/desk/events");
    source.addEventListener("state", (e) => {
      const s = JSON.parse(e.data);
      seat = s.seat; renderSeat(); showCall(s.call); showQueue(s.queue);
      $("pbx-state").textContent = s.pbx_connected ? "" : "交换机未连接";
    });
    source.addEventListener("ring", (e) => {
      const received = (performance.timeOrigin + performance.now()) / 1000;
      const c = JSON.parse(e.data);
      window.hotlinePops.push({ call_id: c.call_id, ami_time: c.ami_time, received: received });
      showCall(c);
      attention("来电振铃", "来电号码 " + (c.caller_number || "未显示"));
    });
    for (const kind of ["history", "connected"]) {
      source.addEventListener(kind, (e) => showCall(JSON.parse(e.data)));
    }
    source.addEventListener("wrap_up", (e) => { showCall(JSON.parse(e.data)); refreshPresence(); });
    source.addEventListener("ended", (e) => {
      const c = JSON.parse(e.data);
      if ($("call").dataset.callId === c.call_id) { showCall(null); refreshPresence(); }
    });
    source.addEventListener("seat", (e) => { seat = JSON.parse(e.data); renderSeat(); });
    source.addEventListener("queue", (e) => showQueue(JSON.parse(e.data)));
    source.onopen = () => { document.body.dataset.live = "1"; };
  }

  // -- buttons and keys --------------------------------------------------------------------
  function togglePause() {
    if (presenceState === "wrap_up") endWrapUp();
    else if (presenceState === "paused") presence("resume");
    else if (presenceState === "ready") presence("pause");
  }
  async function endWrapUp() {
    const p = await post("/api/desk/wrap-up", {});
    if (p) { showPresence(p); showOk("话后处理已结束，座席已恢复接听。"); }
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
  $("btn-wrap-up-end").addEventListener("click", endWrapUp);

  const typing = (el) => el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
  document.addEventListener("keydown", (e) => {
    if (e.key === "F2") {
      e.preventDefault(); presence(presenceState === "out" ? "sign_in" : "sign_out");
    } else if (e.key === "F3") {
      e.preventDefault(); togglePause();
    } else if (e.key === "F4") {
      e.preventDefault();
      if (call && call.state === "connected") transfer("attended");
      else showError("当前没有正在通话的来电，无法转接。");
    } else if ((e.ctrlKey || e.metaKey) && (e.key === "s" || e.key === "S")) {
      e.preventDefault(); saveLog();
    } else if (e.key === "/" && !typing(e.target)) {
      e.preventDefault(); $("kb-q").focus();
    }
  });

  setInterval(tick, 1000);
  renderSeat();
  listen();
  loadTargets();
})();

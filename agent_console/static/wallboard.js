// The wallboard: figures pushed by /wallboard/events (server-sent events) as they change.
(function () {
  "use strict";
  function set(id, text) { document.getElementById(id).textContent = text; }
  function duration(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m ? m + "分" + s + "秒" : s + "秒";
  }
  var source = new EventSource("/wallboard/events");
  source.addEventListener("board", function (event) {
    var b = JSON.parse(event.data);
    set("wb-waiting", b.waiting);
    set("wb-longest", b.waiting ? duration(b.longest_wait) : "—");
    set("wb-signed", b.signed_in);
    set("wb-free", b.free);
    set("wb-oncall", b.on_call);
    set("wb-paused", b.paused);
    set("wb-reasons", Object.keys(b.paused_reasons).map(function (r) {
      return r + " " + b.paused_reasons[r];
    }).join("，"));
    set("wb-offered", b.offered);
    set("wb-answered", b.answered);
    set("wb-abandoned", b.abandoned);
    set("wb-rate", b.answer_rate === null ? "—" : (b.answer_rate * 100).toFixed(1) + "%");
    set("wb-due", b.due_today);
    set("wb-overdue", b.overdue);
    set("wb-state", "实时更新中");
    set("wb-source", b.live ? "排队与座席：交换机实时状态"
                            : "交换机未连接：排队与座席来自登记记录");
  });
  source.onerror = function () { set("wb-state", "连接中断，正在重连……"); };
}());

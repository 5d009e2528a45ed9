// The call's page: a call split into parts plays as one — when a part ends, the next starts.
(function () {
  "use strict";
  var parts = Array.prototype.slice.call(document.querySelectorAll("audio.part"));
  parts.forEach(function (audio, i) {
    audio.addEventListener("ended", function () {
      var next = parts[i + 1];
      if (next) { next.currentTime = 0; next.play(); }
    });
  });
})();

/* SPDX-License-Identifier: Apache-2.0 */
/* Sceau demo: the little JavaScript the pages use. Every page works without it (a refresh link
   stands in for the live updates); with it, countdowns tick, waiting pages and the simulated
   phone follow server-sent events from this site, and the PIN pad fills the code field. */
(function () {
  "use strict";

  var english = document.documentElement.lang === "en";
  var expiredWord = english ? "Operation expired" : "Opération expirée";

  /* Once a form is sent or the page is left, a live update must not reload the page: the
     reload would cancel the navigation under way (and the message it brings). */
  var leaving = false;
  document.addEventListener("submit", function () { leaving = true; }, true);
  window.addEventListener("pagehide", function () { leaving = true; });

  function reload() {
    if (!leaving) {
      leaving = true;
      window.location.reload();
    }
  }

  function pad(number) {
    return number < 10 ? "0" + number : String(number);
  }

  function duration(seconds) {
    if (seconds <= 0) {
      return expiredWord;
    }
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes ? minutes + " min " + pad(rest) + " s" : rest + " s";
  }

  /* Countdowns: <strong data-expires-at="UNIX" data-now="UNIX">; at zero, the expired word or
     data-done-text, and a reload with data-reload-on-expiry. */
  function startCountdowns() {
    var clocks = document.querySelectorAll("[data-expires-at]");
    if (!clocks.length) {
      return;
    }
    var items = [];
    clocks.forEach(function (element) {
      var offset = Number(element.dataset.now) - Date.now() / 1000;
      items.push({ element: element, expires: Number(element.dataset.expiresAt), offset: offset, done: false });
    });
    function tick() {
      items.forEach(function (item) {
        var left = Math.max(0, Math.round(item.expires - (Date.now() / 1000 + item.offset)));
        var text = left <= 0 && item.element.hasAttribute("data-done-text")
          ? item.element.getAttribute("data-done-text")
          : duration(left);
        if (item.element.textContent !== text) {
          item.element.textContent = text;
        }
        if (left <= 0 && !item.done) {
          item.done = true;
          if (item.element.hasAttribute("data-reload-on-expiry")) {
            window.setTimeout(reload, 1500);
          }
        }
      });
    }
    tick();
    window.setInterval(tick, 1000);
  }

  /* A waiting page: <div data-operation-events="/operations/ID/evenements">. */
  function followOperation() {
    var live = document.querySelector("[data-operation-events]");
    if (!live || !window.EventSource) {
      return;
    }
    var lock = document.getElementById("lock-message");
    var source = new EventSource(live.getAttribute("data-operation-events"));
    var signatures = document.getElementById("signatures");
    source.addEventListener("state", function (message) {
      var data = JSON.parse(message.data);
      if (signatures && data.signatures) {
        signatures.textContent = data.signatures;
      }
      if (!lock) {
        return;
      }
      if (data.lock) {
        lock.textContent = data.lock;
        lock.hidden = false;
      } else {
        lock.hidden = true;
        lock.textContent = "";
      }
    });
    source.addEventListener("final", function () {
      source.close();
      reload();
    });
  }

  /* The simulated phone: <div data-phone-events="URL" data-pending="ids" data-version="n">. */
  function followPhone() {
    var phone = document.querySelector("[data-phone-events]");
    if (!phone || !window.EventSource) {
      return;
    }
    var shown = phone.getAttribute("data-pending") || "";
    var version = phone.getAttribute("data-version") || "0";
    var notice = document.getElementById("phone-update");
    function busy() {
      var active = document.activeElement;
      var typing = active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA");
      var filled = Array.prototype.some.call(
        document.querySelectorAll("input[type=password], input[data-keep]"),
        function (input) { return input.value !== ""; }
      );
      return typing || filled;
    }
    var source = new EventSource(phone.getAttribute("data-phone-events"));
    source.addEventListener("state", function (message) {
      var data = JSON.parse(message.data);
      var now = data.pending.join(",");
      if (leaving || (now === shown && String(data.version) === version)) {
        return;
      }
      if (busy()) {
        if (notice) {
          notice.hidden = false;
        }
        return;
      }
      source.close();
      reload();
    });
  }

  /* The PIN pad: buttons [data-digit] and [data-pin-clear] inside [data-pin-pad="INPUT_ID"]. */
  function pinPads() {
    document.querySelectorAll("[data-pin-pad]").forEach(function (padElement) {
      var input = document.getElementById(padElement.getAttribute("data-pin-pad"));
      if (!input) {
        return;
      }
      var dots = document.querySelectorAll("[data-pin-dots='" + input.id + "'] span");
      function show() {
        dots.forEach(function (dot, index) {
          dot.classList.toggle("filled", index < input.value.length);
        });
      }
      padElement.hidden = false;
      padElement.querySelectorAll("[data-digit]").forEach(function (button) {
        button.addEventListener("click", function () {
          if (input.value.length < 4) {
            input.value += button.getAttribute("data-digit");
            show();
          }
        });
      });
      padElement.querySelectorAll("[data-pin-clear]").forEach(function (button) {
        button.addEventListener("click", function () {
          input.value = input.value.slice(0, -1);
          show();
        });
      });
      input.addEventListener("input", show);
      show();
    });
  }

  /* Copy buttons: <button data-copy="ELEMENT_ID">. */
  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (source && navigator.clipboard) {
          navigator.clipboard.writeText(source.textContent.trim()).then(function () {
            button.textContent = english ? "Copied" : "Copié";
          });
        }
      });
    });
  }

  function start() {
    startCountdowns();
    followOperation();
    followPhone();
    pinPads();
    copyButtons();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

/*
 * Peer Learning: small progressive enhancements. Every page works without this file.
 *
 * - Flash messages get a dismiss button; success messages fade after 6 seconds
 *   (unless the pointer or focus is inside them).
 * - data-confirm="Question?" on a link, button or form asks before going ahead.
 *   htmx requests use htmx's own hx-confirm; this covers plain forms and links.
 * - data-copy-target="#id" on a button copies that element's value or text.
 *
 * Loaded with defer, from 'self': nothing here needs inline script or eval.
 */
(function () {
  "use strict";

  var SUCCESS_TIMEOUT_MS = 6000;
  var reduceMotion = window.matchMedia &&
    window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function dismiss(message) {
    if (reduceMotion) {
      message.remove();
      return;
    }
    message.classList.add("is-hiding");
    window.setTimeout(function () { message.remove(); }, 320);
  }

  function enhanceMessages(root) {
    var messages = root.querySelectorAll(".messages .message:not([data-enhanced])");
    messages.forEach(function (message) {
      message.setAttribute("data-enhanced", "");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "message-dismiss";
      button.setAttribute("aria-label", "Dismiss message");
      button.textContent = "×";
      button.addEventListener("click", function () { dismiss(message); });
      message.appendChild(button);

      if (message.classList.contains("message-success")) {
        var hovered = false;
        message.addEventListener("mouseenter", function () { hovered = true; });
        message.addEventListener("mouseleave", function () { hovered = false; });
        var tick = function () {
          if (hovered || message.contains(document.activeElement)) {
            window.setTimeout(tick, SUCCESS_TIMEOUT_MS);
          } else {
            dismiss(message);
          }
        };
        window.setTimeout(tick, SUCCESS_TIMEOUT_MS);
      }
    });
  }

  // Confirm before following a link, pressing a button or submitting a form.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("a[data-confirm], button[data-confirm], input[data-confirm]");
    if (!el || el.hasAttribute("hx-confirm")) {
      return;
    }
    if (!window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-confirm]") || form.hasAttribute("hx-confirm")) {
      return;
    }
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Copy to clipboard: <button type="button" data-copy-target="#code">Copy</button>
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) {
      return;
    }
    // Accepts "#id" or a bare "id".
    var ref = button.getAttribute("data-copy-target");
    var target = document.getElementById(ref.replace(/^#/, ""));
    if (!target) {
      try { target = document.querySelector(ref); } catch (e) { target = null; }
    }
    if (!target) {
      return;
    }
    event.preventDefault();
    var text = "value" in target && typeof target.value === "string" ? target.value : target.textContent;
    text = text.trim();
    var copy = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(text)
      : fallbackCopy(text);
    var original = button.getAttribute("data-copy-label") || button.textContent;
    button.setAttribute("data-copy-label", original);
    copy.then(function () {
      button.textContent = "Copied";
      button.classList.add("copy-done");
    }, function () {
      button.textContent = "Copy failed: select and copy by hand";
    }).then(function () {
      window.setTimeout(function () {
        button.textContent = original;
        button.classList.remove("copy-done");
      }, 2000);
    });
  });

  function init() {
    enhanceMessages(document);
    // Copy buttons are rendered hidden so that pages without JavaScript show no dead button.
    document.querySelectorAll("[data-copy-target][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }

  // Messages can arrive in htmx responses (out-of-band swaps) too.
  document.addEventListener("htmx:afterSettle", function (event) {
    enhanceMessages(event.target.ownerDocument || document);
  });
})();

/*
 * Submissions: show only the parts of the submission form that apply.
 *
 * - "Type of discrepancy" only for discrepancies;
 * - the reader's name or e-mail only when the reader is not "Unknown";
 * - "Other action" only when "Other" is ticked.
 *
 * Without this file every part stays visible and the server still checks everything.
 * Inline validation (htmx) brings back a field's messages only; the rules run after each swap.
 */
(function () {
  "use strict";

  function checked(form, name) {
    return Array.prototype.map.call(
      form.querySelectorAll("input[name='" + name + "']:checked"),
      function (input) { return input.value; }
    );
  }

  function show(form, fieldName, visible) {
    var wrapper = form.querySelector("#live-" + fieldName);
    if (!wrapper) {
      return;
    }
    // A field with an error always stays in view.
    wrapper.hidden = !visible && !wrapper.querySelector(".field-error");
  }

  function apply(form) {
    var reason = checked(form, "reason")[0];
    show(form, "reason_detail", reason === "discrepancy");
    show(form, "reader", checked(form, "reader_kind")[0] !== "unknown");
    show(form, "action_other", checked(form, "required_actions").indexOf("other") !== -1);
  }

  // Inline validation swaps only a field's messages box; the field's error state (the red
  // frame, aria-invalid, aria-describedby) follows the box here.
  function syncErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll(".live-messages"), function (box) {
      var invalid = box.getAttribute("data-invalid") === "true";
      var errorId = box.getAttribute("data-error-id");
      var wrapper = box.closest(".field");
      if (wrapper) {
        wrapper.classList.toggle("field-error", invalid);
      }
      var live = box.closest(".live-field");
      var controls = live ? live.querySelectorAll("input, textarea, select, fieldset") : [];
      Array.prototype.forEach.call(controls, function (control) {
        if (control.type === "hidden") {
          return;
        }
        var described = (control.getAttribute("aria-describedby") || "").split(/\s+/)
          .filter(function (id) { return id && id !== errorId; });
        if (invalid && control.tagName !== "FIELDSET") {
          control.setAttribute("aria-invalid", "true");
        } else {
          control.removeAttribute("aria-invalid");
        }
        if (invalid) {
          described.push(errorId);
        }
        if (described.length) {
          control.setAttribute("aria-describedby", described.join(" "));
        } else {
          control.removeAttribute("aria-describedby");
        }
      });
    });
  }

  function init() {
    var form = document.getElementById("submission-form");
    if (!form) {
      return;
    }
    apply(form);
    form.addEventListener("change", function () { apply(form); });
    document.body.addEventListener("htmx:afterSettle", function () {
      syncErrors(form);
      apply(form);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

/*
 * Submissions: show only the parts of the submission form that apply.
 *
 * - "Type of discrepancy" only for discrepancies;
 * - the reader's name or e-mail only when the reader is not "Unknown";
 * - "Other action" only when "Other" is ticked.
 *
 * Without this file every part stays visible and the server still checks everything.
 * Fields come back from inline validation (htmx swaps), so the rules run after each swap.
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

  function init() {
    var form = document.getElementById("submission-form");
    if (!form) {
      return;
    }
    apply(form);
    form.addEventListener("change", function () { apply(form); });
    document.body.addEventListener("htmx:afterSettle", function () { apply(form); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

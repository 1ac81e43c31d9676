/*
 * Conferences: presentation mode, the agenda's drag and drop, the pixel blackout tool,
 * and the window preview on the images page.
 *
 * Everything works without this file too: slides are then one long page, the agenda has
 * up/down buttons, and rectangles are typed as numbers. No inline script or style
 * attribute is written (strict CSP): positions and zoom are set through the CSSOM.
 */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  function typing(target) {
    return target && target.closest && target.closest("input, textarea, select, [contenteditable]");
  }

  /* Presentation mode ------------------------------------------------------------------ */

  function deck(root) {
    var slides = Array.prototype.slice.call(root.querySelectorAll("[data-slide]"));
    var position = document.querySelector("[data-position]");
    var revealButton = document.querySelector("[data-reveal-button]");
    var fullscreenButton = document.querySelector("[data-fullscreen]");
    var index = 0;
    var zoom = null;

    root.classList.add("js-deck");

    function current() {
      return slides[index];
    }

    function update() {
      var slide = current();
      var revealable = slide.hasAttribute("data-has-reveal");
      var revealed = slide.classList.contains("revealed");
      if (position) {
        position.textContent = (index + 1) + " / " + slides.length +
          (revealable ? (revealed ? " · answer" : " · question") : "");
      }
      if (revealButton) {
        revealButton.disabled = !revealable || revealed;
      }
      root.setAttribute("data-current", slide.id);
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "#" + slide.id);
      }
    }

    function show(n) {
      index = Math.max(0, Math.min(slides.length - 1, n));
      slides.forEach(function (slide, i) {
        slide.hidden = i !== index;
      });
      update();
    }

    function reveal() {
      var slide = current();
      if (slide.hasAttribute("data-has-reveal") && !slide.classList.contains("revealed")) {
        slide.classList.add("revealed");
        update();
        return true;
      }
      return false;
    }

    function next() {
      if (!reveal()) {
        show(index + 1);
      }
    }

    function prev() {
      show(index - 1);
    }

    function toggleFullscreen() {
      if (document.fullscreenElement) {
        document.exitFullscreen();
      } else if (document.documentElement.requestFullscreen) {
        document.documentElement.requestFullscreen().catch(function () {});
      }
    }

    function openZoom(img) {
      closeZoom();
      zoom = { scale: 1, overlay: document.createElement("div"), img: img.cloneNode(false) };
      zoom.overlay.className = "zoom-overlay";
      zoom.overlay.setAttribute("role", "dialog");
      zoom.overlay.setAttribute("aria-label", "Zoomed image: + and − to zoom, Esc to close");
      zoom.img.removeAttribute("data-zoomable");
      zoom.img.removeAttribute("tabindex");
      zoom.overlay.appendChild(zoom.img);
      zoom.overlay.addEventListener("click", closeZoom);
      document.body.appendChild(zoom.overlay);
    }

    function closeZoom() {
      if (zoom) {
        zoom.overlay.remove();
        zoom = null;
      }
    }

    function scale(by) {
      if (!zoom) {
        var first = current().querySelector("[data-zoomable]");
        if (!first) {
          return;
        }
        openZoom(first);
      }
      zoom.scale = Math.max(1, Math.min(6, zoom.scale + by));
      zoom.img.style.transform = "scale(" + zoom.scale + ")";
    }

    function vote() {
      var button = current().querySelector("[data-vote-open], [data-vote-close]");
      if (button) {
        button.click();
      }
    }

    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) {
        return;
      }
      var onButton = event.target.closest && event.target.closest("button, a");
      switch (event.key) {
        case "ArrowRight":
        case "PageDown":
          next();
          break;
        case " ":
        case "Enter":
          if (onButton && !event.target.hasAttribute("data-next")) {
            return; // let the focused control act
          }
          if (event.key === "Enter" && event.target.hasAttribute("data-zoomable")) {
            openZoom(event.target);
            break;
          }
          next();
          break;
        case "ArrowLeft":
        case "PageUp":
        case "Backspace":
          prev();
          break;
        case "Home":
          show(0);
          break;
        case "End":
          show(slides.length - 1);
          break;
        case "r":
        case "R":
          reveal();
          break;
        case "f":
        case "F":
          toggleFullscreen();
          break;
        case "v":
        case "V":
          vote();
          break;
        case "+":
        case "=":
          scale(0.5);
          break;
        case "-":
        case "_":
          if (zoom) {
            scale(-0.5);
          }
          break;
        case "Escape":
          if (zoom) {
            closeZoom();
            break;
          }
          return;
        default:
          return;
      }
      event.preventDefault();
    });

    root.addEventListener("click", function (event) {
      var img = event.target.closest("[data-zoomable]");
      if (img) {
        openZoom(img);
      }
    });

    function on(selector, fn) {
      var element = document.querySelector(selector);
      if (element) {
        element.addEventListener("click", function (event) {
          event.preventDefault();
          fn();
          element.blur();
        });
      }
    }
    on("[data-next]", next);
    on("[data-prev]", prev);
    on("[data-reveal-button]", reveal);
    on("[data-fullscreen]", toggleFullscreen);

    document.addEventListener("fullscreenchange", function () {
      if (fullscreenButton) {
        fullscreenButton.textContent = document.fullscreenElement ? "Leave full screen" : "Full screen";
      }
      document.body.classList.toggle("is-fullscreen", !!document.fullscreenElement);
    });

    var start = slides.findIndex(function (slide) {
      return "#" + slide.id === window.location.hash;
    });
    show(start > 0 ? start : 0);
  }

  /* The agenda: HTML5 drag and drop, saved by htmx --------------------------------------- */

  var dragged = null;

  document.addEventListener("dragstart", function (event) {
    var item = event.target.closest && event.target.closest("[data-agenda-item]");
    if (!item) {
      return;
    }
    dragged = item;
    item.style.opacity = "0.5";
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.id);
  });

  document.addEventListener("dragover", function (event) {
    if (!dragged) {
      return;
    }
    var list = event.target.closest && event.target.closest("[data-agenda-list]");
    if (!list || list !== dragged.parentNode) {
      return;
    }
    event.preventDefault();
    var over = event.target.closest("[data-agenda-item]");
    if (over && over !== dragged) {
      var box = over.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    }
  });

  document.addEventListener("drop", function (event) {
    if (dragged) {
      event.preventDefault();
    }
  });

  document.addEventListener("dragend", function () {
    if (!dragged) {
      return;
    }
    var item = dragged;
    dragged = null;
    // No style attribute may stay behind: htmx copies it onto the swapped-in element with
    // setAttribute, which the Content-Security-Policy refuses.
    item.removeAttribute("style");
    var form = item.closest("form");
    var order = Array.prototype.map.call(
      form.querySelectorAll("[data-agenda-item]"),
      function (li) { return li.id; }
    ).join();
    if (form.getAttribute("data-saved-order") !== order && window.htmx) {
      form.setAttribute("data-saved-order", order);
      window.htmx.trigger(form, "agenda-reordered");
    }
  });

  /* The blackout tool: drag rectangles over the image; the textarea holds them -------------- */

  function blackout(root) {
    var stage = root.querySelector("[data-blackout-stage]");
    var img = stage.querySelector("img");
    var field = root.querySelector("textarea[name=rectangles]");
    var columns = parseInt(root.getAttribute("data-columns"), 10);
    var rows = parseInt(root.getAttribute("data-rows"), 10);
    var start = null;
    var drawing = null;

    function toImage(event) {
      var box = img.getBoundingClientRect();
      var x = (event.clientX - box.left) / box.width * columns;
      var y = (event.clientY - box.top) / box.height * rows;
      return {
        x: Math.max(0, Math.min(columns, Math.round(x))),
        y: Math.max(0, Math.min(rows, Math.round(y)))
      };
    }

    // Styled from here (not the site's stylesheet): the tool only exists with this script.
    stage.style.position = "relative";
    stage.style.display = "inline-block";
    stage.style.maxWidth = "100%";
    stage.style.cursor = "crosshair";
    stage.style.touchAction = "none";
    stage.style.userSelect = "none";
    img.style.display = "block";
    img.style.imageRendering = "pixelated";

    function rectangle(className) {
      var div = document.createElement("div");
      div.className = className;
      div.style.position = "absolute";
      div.style.pointerEvents = "none";
      div.style.background = "rgba(0, 0, 0, 0.85)";
      div.style.outline = "2px solid #e53e3e";
      return div;
    }

    function place(div, r) {
      div.style.left = (r.x / columns * 100) + "%";
      div.style.top = (r.y / rows * 100) + "%";
      div.style.width = (r.width / columns * 100) + "%";
      div.style.height = (r.height / rows * 100) + "%";
    }

    function parse() {
      return field.value.split("\n").map(function (line) {
        var n = line.split(/[\s,;]+/).filter(Boolean).map(Number);
        return n.length === 4 && n.every(isFinite) ? { x: n[0], y: n[1], width: n[2], height: n[3] } : null;
      }).filter(Boolean);
    }

    function draw() {
      stage.querySelectorAll(".blackout-rect").forEach(function (div) { div.remove(); });
      parse().forEach(function (r) {
        var div = rectangle("blackout-rect");
        place(div, r);
        stage.appendChild(div);
      });
    }

    function box(a, b) {
      return {
        x: Math.min(a.x, b.x), y: Math.min(a.y, b.y),
        width: Math.abs(a.x - b.x), height: Math.abs(a.y - b.y)
      };
    }

    stage.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      start = toImage(event);
      drawing = rectangle("blackout-rect drawing");
      drawing.style.background = "rgba(0, 0, 0, 0.5)";
      stage.appendChild(drawing);
      stage.setPointerCapture(event.pointerId);
    });
    stage.addEventListener("pointermove", function (event) {
      if (start) {
        place(drawing, box(start, toImage(event)));
      }
    });
    stage.addEventListener("pointerup", function (event) {
      if (!start) {
        return;
      }
      var r = box(start, toImage(event));
      start = null;
      drawing.remove();
      if (r.width >= 1 && r.height >= 1) {
        var text = field.value.replace(/\s+$/, "");
        field.value = (text ? text + "\n" : "") + [r.x, r.y, r.width, r.height].join(", ");
      }
      draw();
    });
    field.addEventListener("input", draw);
    var clear = root.querySelector("[data-blackout-clear]");
    if (clear) {
      clear.addEventListener("click", function () {
        field.value = "";
        draw();
      });
    }
    root.classList.add("js-blackout");
    draw();
  }

  /* Images page: the preview follows the chosen window ----------------------------------- */

  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("select[data-preview]");
    if (!select) {
      return;
    }
    var card = select.closest(".image-card");
    var img = card && card.querySelector("img");
    var frame = card && card.querySelector("input[name=frame]");
    if (img) {
      var n = frame ? Math.max(0, (parseInt(frame.value, 10) || 1) - 1) : 0;
      img.src = select.getAttribute("data-preview") + "&preset=" + encodeURIComponent(select.value) + "&frame=" + n;
    }
  });

  ready(function () {
    var root = document.querySelector("[data-deck]");
    if (root) {
      deck(root);
    }
    var tool = document.querySelector("[data-blackout]");
    if (tool) {
      blackout(tool);
    }
  });
})();

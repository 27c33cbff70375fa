// opsknowledge: the editing forms' enhancements. The forms work without it (the Preview
// button renders on the server; times default to UTC; positions are typed). Loaded with
// `defer` on editing pages only; no inline script (the Content-Security-Policy forbids it).
(function () {
  "use strict";

  var form = document.querySelector("form[data-editor]");
  if (!form) return;

  // -- the browser's time zone for the times typed ---------------------------------------
  var zoneInput = form.querySelector("input[name=time_zone]");
  var browserZone = "";
  try {
    browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    browserZone = "";
  }
  if (zoneInput && browserZone && zoneInput.value === "UTC" && browserZone !== "UTC" &&
      !form.hasAttribute("data-dirty")) {
    // The server shows stored times in the zone it is told: ask again in the browser's
    // (nothing is typed yet, so nothing is lost).
    var url = new URL(window.location.href);
    if (!url.searchParams.has("tz")) {
      url.searchParams.set("tz", browserZone);
      window.location.replace(url.toString());
      return;
    }
  }
  function showZone() {
    Array.prototype.forEach.call(form.querySelectorAll(".zone-name"), function (span) {
      span.textContent = zoneInput.value || "UTC";
    });
  }
  if (zoneInput) zoneInput.addEventListener("input", showZone);

  // -- the slug suggested from the title, until the editor types one ---------------------
  var title = form.querySelector("input[name=title]");
  var slug = form.querySelector("input[name=slug]");
  function slugify(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9\s-]/g, "").trim().replace(/[\s-]+/g, "-").slice(0, 100)
      .replace(/-+$/, "");
  }
  if (title && slug && form.hasAttribute("data-suggest-slug")) {
    var typed = slug.value !== "";
    slug.addEventListener("input", function () { typed = slug.value !== ""; });
    title.addEventListener("input", function () {
      if (!typed) slug.value = slugify(title.value);
    });
  }

  // -- live preview of Markdown, rendered by the server's one renderer -------------------
  var previewUrl = form.getAttribute("data-preview-url");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]");
  function preview(area, target) {
    var body = new FormData();
    body.append("text", area.value);
    fetch(previewUrl, {
      method: "POST",
      body: body,
      headers: { "X-CSRFToken": csrf ? csrf.value : "" },
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) throw new Error("preview " + response.status);
      return response.text();
    }).then(function (html) {
      // Sanitised by the server (opsknowledge.markdown), exactly as the page shows it.
      target.innerHTML = area.value.trim()
        ? '<h3 class="preview-heading">Preview</h3><div class="markdown">' + html + "</div>"
        : "";
    }).catch(function () {
      target.textContent = "The preview is not available; the Preview button still works.";
    });
  }
  Array.prototype.forEach.call(form.querySelectorAll("[data-preview-for]"), function (target) {
    var area = document.getElementById(target.getAttribute("data-preview-for"));
    if (!area) return;
    var timer = null;
    area.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { preview(area, target); }, 400);
    });
  });

  // -- up and down buttons on timeline rows and action items -----------------------------
  function renumber(list) {
    Array.prototype.forEach.call(list.querySelectorAll("[data-row]"), function (row, index) {
      var order = row.querySelector("input[name$='-ORDER']");
      if (order) order.value = index + 1;
    });
  }
  function addMoveButtons(row) {
    var box = document.createElement("div");
    box.className = "row-move";
    [["up", "Move up"], ["down", "Move down"]].forEach(function (pair) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = pair[0] === "up" ? "↑ Up" : "↓ Down";
      button.setAttribute("aria-label", pair[1]);
      button.addEventListener("click", function () {
        var list = row.parentNode;
        if (pair[0] === "up" && row.previousElementSibling) {
          list.insertBefore(row, row.previousElementSibling);
        } else if (pair[0] === "down" && row.nextElementSibling) {
          list.insertBefore(row.nextElementSibling, row);
        }
        renumber(list);
        button.focus();
        dirty = true;
      });
      box.appendChild(button);
    });
    row.appendChild(box);
  }
  Array.prototype.forEach.call(form.querySelectorAll("[data-row]"), addMoveButtons);

  // -- ask before leaving with unsaved changes -------------------------------------------
  var dirty = form.hasAttribute("data-dirty");
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("submit", function () { dirty = false; });
  // "Discard mine" means it: no question on the way out.
  Array.prototype.forEach.call(document.querySelectorAll("[data-discard]"), function (link) {
    link.addEventListener("click", function () { dirty = false; });
  });
  window.addEventListener("beforeunload", function (event) {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";
  });

  // The error summary takes the focus, so that it is read first.
  var summary = document.getElementById("form-errors");
  if (summary) summary.focus();
})();

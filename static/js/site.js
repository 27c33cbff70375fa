// opsknowledge: the few enhancements every page gets. The pages work without it.
// Loaded with `defer` from base.html; no inline script anywhere (the Content-Security-Policy
// forbids it), so everything is wired here.
(function () {
  "use strict";

  var live = document.getElementById("live-region");

  function announce(message) {
    if (!live) return;
    // Clear first, so that the same message twice is announced twice.
    live.textContent = "";
    window.setTimeout(function () {
      live.textContent = message;
    }, 50);
  }

  // -- "/" focuses the header's search box, unless the reader is typing somewhere ----------
  var searchBox = document.querySelector(".site-search input[type=search]");

  function isTyping(target) {
    if (!target) return false;
    var tag = target.tagName;
    return (
      tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable
    );
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (!searchBox || isTyping(event.target)) return;
    event.preventDefault();
    searchBox.focus();
    searchBox.select();
  });

  // -- a copy button on every code block of rendered Markdown ---------------------------
  function copyWithSelection(text) {
    // Where navigator.clipboard is missing (plain HTTP on a non-local address): copy
    // through a temporary, off-screen text area.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-source";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (error) {
      done = false;
    }
    document.body.removeChild(area);
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return copyWithSelection(text);
      });
    }
    return copyWithSelection(text);
  }

  function addCopyButton(pre) {
    // A code block wider than the screen scrolls sideways: keyboard users scroll it once
    // it can take the focus.
    pre.setAttribute("tabindex", "0");
    var wrapper = document.createElement("div");
    wrapper.className = "code-block";
    pre.parentNode.insertBefore(wrapper, pre);
    wrapper.appendChild(pre);

    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy this code block");
    wrapper.appendChild(button);

    button.addEventListener("click", function () {
      var code = pre.querySelector("code") || pre;
      copy(code.textContent.replace(/\n$/, "")).then(
        function () {
          button.textContent = "Copied";
          button.setAttribute("data-copied", "");
          announce("Copied");
          window.setTimeout(function () {
            button.textContent = "Copy";
            button.removeAttribute("data-copied");
          }, 2000);
        },
        function () {
          announce("Copying failed: select the text and copy it by hand");
        }
      );
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll(".markdown pre"), addCopyButton);

  // The same for tables that scroll sideways on a small screen.
  Array.prototype.forEach.call(document.querySelectorAll("main table"), function (table) {
    if (table.scrollWidth > table.clientWidth) table.setAttribute("tabindex", "0");
  });
})();

// Ask Convenor: sends the question over the page's live socket ("ask") and shows the answer.
// Everything the server sends is inserted with textContent, never as HTML.
(function () {
  "use strict";
  var panel = document.querySelector("[data-chat-token]");
  if (!panel) return;
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-question");
  var out = document.getElementById("chat-answer");

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function show(reply) {
    out.replaceChildren();
    out.appendChild(el("p", reply.text, "chat-text"));
    if (reply.items && reply.items.length) {
      var list = el("ul", "", "chat-items");
      reply.items.forEach(function (item) {
        var li = el("li");
        var head = [item.when, item.where].filter(Boolean).join(" · ");
        if (head) li.appendChild(el("span", head + " — ", "chat-when"));
        li.appendChild(el(item.status === "cancelled" ? "s" : "strong", item.title));
        if (item.status === "cancelled") li.appendChild(el("span", " (cancelled)"));
        if (item.detail) li.appendChild(el("span", " " + item.detail, "chat-detail"));
        list.appendChild(li);
      });
      out.appendChild(list);
    }
    (reply.links || []).forEach(function (link) {
      var a = el("a", link.label);
      a.href = link.url;
      out.appendChild(el("p")).appendChild(a);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    var live = window.ConvenorLive;
    if (!live || !live.socket || !live.socket.connected) {
      show({ text: "Not connected — try again in a moment." });
      return;
    }
    out.textContent = "…";
    live.socket.timeout(10000).emit("ask", { delegate_token: panel.dataset.chatToken, text: text },
      function (err, reply) {
        show(err ? { text: "No answer — try again in a moment." } : reply);
      });
  });
})();

/* Live ticket thread: new messages, events, typing, who is viewing, streamed AI text.
 *
 * Talks to /ws/tickets/<number>/ (protocol: docs/architecture.md, "Live ticket threads").
 * On every (re)connect it asks for what came after the last message and event it has, so nothing
 * is lost; messages are keyed by id, so nothing is shown twice. Reconnects with exponential
 * backoff and jitter; when websockets cannot be opened at all it polls the HTTP fallback
 * (GET .../messages/?after=<id>&after_event=<id>) every 10 s. Without JavaScript the page and
 * its reply form work as before.
 */
(function () {
  "use strict";

  var thread = document.getElementById("live-thread");
  if (!thread) return;

  var POLL_MS = 10000;
  var PING_MS = 25000;
  var TYPING_SHOW_MS = 4000;
  var TYPING_SEND_MS = 2000;
  var BACKOFF_MIN_MS = 1000;
  var BACKOFF_MAX_MS = 30000;
  var FAILED_OPENS_BEFORE_POLLING = 3;
  var FINAL_CODES = { 4401: "Signed out: reload the page to sign in again", 4403: "Live updates refused", 4404: "No access to this ticket" };

  var panel = document.getElementById("live-panel");
  var statusBadge = document.getElementById("live-status");
  var viewersLine = document.getElementById("live-viewers");
  var typingLine = document.getElementById("live-typing");
  var draftBox = document.getElementById("ai-draft");
  var form = document.querySelector("form[action$='/reply/']");

  var lastMessage = parseInt(thread.dataset.lastMessage || "0", 10);
  var lastEvent = parseInt(thread.dataset.lastEvent || "0", 10);
  var myId = parseInt(thread.dataset.userId || "0", 10);
  var socket = null;
  var opened = false;
  var failedOpens = 0;
  var attempt = 0;
  var reconnectTimer = null;
  var pingTimer = null;
  var pollTimer = null;
  var stopped = false;
  var typingSentAt = 0;
  var typists = {};
  var waitingBubbles = {}; // message id -> provisional bubble to replace when the message arrives
  var streams = {}; // stream id -> {kind, el, text}
  var doneStreams = {}; // stream ids whose bubble was replaced by the real message
  var pending = null; // {clientId, timer} while a reply sent over the socket waits for its ack
  var editor = null;

  document.addEventListener("prose-editor:ready", function (event) {
    if (form && form.contains(event.detail.textarea)) editor = event.detail.editor;
  });

  // --- connection state ---------------------------------------------------------------------
  var STATES = {
    connecting: ["text-bg-secondary", "Connecting…"],
    live: ["text-bg-success", "Live"],
    reconnecting: ["text-bg-warning", "Reconnecting…"],
    polling: ["text-bg-secondary", "Offline - checking every 10 s"],
    stopped: ["text-bg-danger", ""],
  };

  function setStatus(state, text) {
    panel.hidden = false;
    statusBadge.className = "badge rounded-pill " + STATES[state][0];
    statusBadge.textContent = text || STATES[state][1];
    statusBadge.dataset.state = state;
  }

  // --- thread -------------------------------------------------------------------------------
  function fromHtml(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function withCsrf(element) {
    // Cards rendered for the socket carry no CSRF token: use the page's own.
    var token = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (!token) return;
    element.querySelectorAll("form[method=post]").forEach(function (form) {
      if (form.querySelector("input[name=csrfmiddlewaretoken]")) return;
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "csrfmiddlewaretoken";
      input.value = token.value;
      form.prepend(input);
    });
  }

  // Cards pushed over the socket were rendered once for everyone (in UTC): show their times in
  // the viewer's timezone, as the page does ("Y-m-d H:i", or "H:i" on event lines).
  var timeParts = null;
  try {
    timeParts = new Intl.DateTimeFormat("en-GB", {
      timeZone: thread.dataset.timezone || undefined,
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
  } catch (error) {
    timeParts = null;
  }

  function localTimes(element) {
    if (!timeParts) return;
    element.querySelectorAll("time[datetime]").forEach(function (time) {
      var when = new Date(time.getAttribute("datetime"));
      if (isNaN(when)) return;
      var p = {};
      timeParts.formatToParts(when).forEach(function (part) {
        p[part.type] = part.value;
      });
      var clock = p.hour + ":" + p.minute;
      time.textContent = time.textContent.length > 5 ? p.year + "-" + p.month + "-" + p.day + " " + clock : clock;
    });
  }

  function addMessage(id, element) {
    if (!element || thread.querySelector('[data-message-id="' + id + '"]')) return false;
    withCsrf(element);
    localTimes(element);
    element.classList.add("live-new");
    var bubble = waitingBubbles[id];
    if (!bubble && element.dataset.messageKind === "ai") {
      // An AI message whose stream was not closed with its id: it replaces the oldest provisional
      // assistant bubble still on the page (one answer streams at a time per ticket).
      bubble = thread.querySelector("article.live-provisional[data-stream-id]");
      if (bubble) {
        delete streams[bubble.dataset.streamId];
        doneStreams[bubble.dataset.streamId] = true;
      }
    }
    if (bubble && bubble.parentNode) {
      bubble.replaceWith(element);
    } else {
      thread.appendChild(element);
    }
    delete waitingBubbles[id];
    lastMessage = Math.max(lastMessage, id);
    return true;
  }

  function addEvent(id, element, statusHtml) {
    if (!element || thread.querySelector('[data-event-id="' + id + '"]')) return;
    localTimes(element);
    thread.appendChild(element);
    lastEvent = Math.max(lastEvent, id);
    updateStatus(statusHtml);
  }

  function updateStatus(statusHtml) {
    if (!statusHtml) return;
    var badge = document.querySelector("div:has(> h1) > .badge.rounded-pill");
    var fresh = fromHtml(statusHtml);
    if (badge && fresh) badge.replaceWith(fresh);
  }

  // --- streamed AI text ---------------------------------------------------------------------
  // A chunk says at which offset of the text it starts (in UTF-16 units, a JS string's length) and
  // which attempt it belongs to (a model that failed over starts again, empty). A socket that joins
  // mid-stream is first sent the text so far, as a chunk at offset 0; duplicates and overlaps are
  // cut by offset, so nothing is shown twice, whatever arrives twice or late.
  function streamOpen(frame) {
    if (doneStreams[frame.stream_id]) return null;
    var attempt = frame.attempt || 1;
    var stream = streams[frame.stream_id];
    if (stream && stream.attempt >= attempt) return stream; // open already
    if (stream) {
      // A fresh start of the same stream: same bubble, empty text.
      stream.attempt = attempt;
      stream.text = "";
      stream.el.textContent = "";
      return stream;
    }
    if (frame.kind === "draft") {
      if (!draftBox) return null;
      var text = document.getElementById("ai-draft-text");
      text.textContent = "";
      text.classList.add("live-writing");
      document.getElementById("ai-draft-state").textContent = "writing…";
      document.getElementById("ai-draft-use").disabled = true;
      draftBox.hidden = false;
      streams[frame.stream_id] = { kind: "draft", el: text, text: "", attempt: attempt };
      return streams[frame.stream_id];
    }
    var bubble = fromHtml(
      '<article class="card mb-3 border-info live-provisional live-writing" aria-live="polite">' +
        '<div class="card-header small d-flex flex-wrap justify-content-between column-gap-3">' +
        '<span><span class="badge text-bg-info">AI</span> <strong>AI assistant</strong></span>' +
        '<span class="text-secondary live-provisional-note">writing… (provisional)</span></div>' +
        '<div class="card-body"><div class="live-stream-text"></div></div></article>'
    );
    bubble.dataset.streamId = frame.stream_id;
    thread.appendChild(bubble);
    streams[frame.stream_id] = { kind: "assistant", el: bubble.querySelector(".live-stream-text"), bubble: bubble, text: "", attempt: attempt };
    return streams[frame.stream_id];
  }

  function streamChunk(frame) {
    var stream = streamOpen(frame); // opens it if this page joined mid-stream
    if (!stream || (frame.attempt || 1) < stream.attempt) return;
    var have = stream.text.length;
    var offset = frame.offset || 0;
    if (offset > have) {
      // Text is missing (the server sends a late socket the text so far itself): ask for a catch-up, once.
      if (!stream.resyncing) stream.resyncing = send({ type: "sync", after: lastMessage, after_event: lastEvent });
      return;
    }
    if (offset + frame.delta.length <= have) return; // shown already
    stream.text += frame.delta.slice(have - offset);
    stream.el.textContent = stream.text;
    stream.resyncing = false;
  }

  function streamClose(frame) {
    var stream = streams[frame.stream_id];
    delete streams[frame.stream_id];
    if (!stream) return;
    if (stream.kind === "draft") {
      stream.el.classList.remove("live-writing");
      document.getElementById("ai-draft-state").textContent = frame.error ? "failed: " + frame.error : "ready";
      document.getElementById("ai-draft-use").disabled = !!frame.error || !stream.text.trim();
      return;
    }
    var bubble = stream.bubble;
    bubble.classList.remove("live-writing");
    var note = bubble.querySelector(".live-provisional-note");
    if (frame.error) {
      bubble.classList.replace("border-info", "border-danger");
      note.textContent = "stopped: " + frame.error;
      return;
    }
    if (frame.message_id) {
      if (thread.querySelector('[data-message-id="' + frame.message_id + '"]')) {
        bubble.remove(); // the real message is already there
      } else {
        note.textContent = "saving…";
        waitingBubbles[frame.message_id] = bubble;
      }
    } else {
      note.textContent = "provisional";
    }
  }

  function paragraphs(text) {
    var escape = function (s) {
      return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    };
    return text
      .trim()
      .split(/\n{2,}/)
      .map(function (block) {
        return "<p>" + escape(block).replace(/\n/g, "<br>") + "</p>";
      })
      .join("");
  }

  function setEditor(html) {
    if (editor && editor.commands) {
      editor.commands.setContent(html, true);
      editor.commands.focus("end");
      return;
    }
    var textarea = form && form.querySelector("textarea[name=body]");
    if (textarea) {
      textarea.value = html;
      textarea.focus();
    }
  }

  if (draftBox) {
    document.getElementById("ai-draft-use").addEventListener("click", function () {
      setEditor(paragraphs(document.getElementById("ai-draft-text").textContent));
    });
  }

  // --- presence and typing ------------------------------------------------------------------
  function showViewers(viewers) {
    var names = viewers.map(function (v) {
      return v.id === myId ? v.name + " (you)" : v.name;
    });
    viewersLine.textContent = names.length ? "Viewing now: " + names.join(", ") : "";
  }

  function showTyping() {
    var now = Date.now();
    var names = Object.keys(typists)
      .filter(function (id) {
        return typists[id].until > now;
      })
      .map(function (id) {
        return typists[id].name;
      });
    typingLine.textContent = names.length ? names.join(", ") + (names.length > 1 ? " are" : " is") + " typing…" : "";
  }

  function onTyping(frame) {
    typists[frame.user_id] = { name: frame.name, until: Date.now() + TYPING_SHOW_MS };
    showTyping();
    setTimeout(showTyping, TYPING_SHOW_MS + 50);
  }

  // --- socket -------------------------------------------------------------------------------
  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function handle(frame) {
    switch (frame.type) {
      case "ready":
        myId = frame.user_id;
        break;
      case "message":
        if (addMessage(frame.id, fromHtml(frame.html))) updateStatus(frame.status_html);
        break;
      case "event":
        addEvent(frame.id, fromHtml(frame.html), frame.status_html);
        break;
      case "synced":
        if (frame.more) window.location.reload();
        break;
      case "typing":
        onTyping(frame);
        break;
      case "presence":
        showViewers(frame.viewers);
        break;
      case "stream.open":
        streamOpen(frame);
        break;
      case "stream.chunk":
        streamChunk(frame);
        break;
      case "stream.close":
        streamClose(frame);
        break;
      case "ack":
        if (pending && pending.clientId === frame.client_id) finishSend(true);
        break;
      case "error":
        if (pending && frame.client_id === pending.clientId) finishSend(false, frame.detail);
        break;
    }
  }

  function connect() {
    clearTimeout(reconnectTimer);
    if (stopped) return;
    if (!pollTimer) setStatus(attempt ? "reconnecting" : "connecting");
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws;
    try {
      ws = new WebSocket(scheme + window.location.host + thread.dataset.liveUrl);
    } catch (error) {
      onClosed({ code: 1006 });
      return;
    }
    socket = ws;
    opened = false;
    ws.addEventListener("open", function () {
      opened = true;
    });
    ws.addEventListener("message", function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (frame.type === "ready") {
        attempt = 0;
        failedOpens = 0;
        stopPolling();
        setStatus("live");
        send({ type: "sync", after: lastMessage, after_event: lastEvent });
        clearInterval(pingTimer);
        pingTimer = setInterval(function () {
          send({ type: "ping" });
        }, PING_MS);
      }
      handle(frame);
    });
    ws.addEventListener("close", onClosed);
  }

  function onClosed(event) {
    clearInterval(pingTimer);
    socket = null;
    if (pending) finishSend(false, "The connection dropped before the reply was confirmed; check the thread before sending it again.");
    if (FINAL_CODES[event.code]) {
      stopped = true;
      stopPolling();
      setStatus("stopped", FINAL_CODES[event.code]);
      return;
    }
    failedOpens = opened ? 0 : failedOpens + 1;
    attempt += 1;
    if (failedOpens >= FAILED_OPENS_BEFORE_POLLING) {
      startPolling();
    } else {
      setStatus("reconnecting");
    }
    var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempt - 1));
    reconnectTimer = setTimeout(connect, delay / 2 + Math.random() * (delay / 2));
  }

  // --- polling fallback ---------------------------------------------------------------------
  function poll() {
    var url = thread.dataset.pollUrl + "?after=" + lastMessage + "&after_event=" + lastEvent;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) throw new Error("poll " + response.status);
        return response.text();
      })
      .then(function (html) {
        var box = fromHtml(html);
        if (!box) return;
        if (box.dataset.more === "1") window.location.reload();
        Array.prototype.forEach.call(box.children, function (element) {
          if (element.dataset.messageId) addMessage(parseInt(element.dataset.messageId, 10), element);
          else if (element.dataset.eventId) addEvent(parseInt(element.dataset.eventId, 10), element, "");
        });
      })
      .catch(function () {
        /* offline: the next round tries again */
      });
  }

  function startPolling() {
    setStatus("polling");
    if (pollTimer) return;
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  // --- sending replies over the socket ------------------------------------------------------
  function finishSend(ok, detail) {
    var button = form.querySelector("button:not([type=button])");
    clearTimeout(pending.timer);
    pending = null;
    button.disabled = false;
    var alert = form.querySelector(".live-send-error");
    if (alert) alert.remove();
    if (ok) {
      setEditor("");
      var internal = form.querySelector("input[name=internal]");
      if (internal) internal.checked = false;
      if (editor && editor.commands) editor.commands.blur();
    } else {
      alert = document.createElement("div");
      alert.className = "alert alert-danger live-send-error";
      alert.setAttribute("role", "alert");
      alert.textContent = detail || "The reply was not sent.";
      form.prepend(alert);
    }
  }

  // The socket carries a plain reply (body, internal). A form with anything more filled in (say
  // the AI draft it started from) posts normally, so the view records all of it.
  var SOCKET_FIELDS = { body: 1, internal: 1, attachments: 1, csrfmiddlewaretoken: 1 };

  function hasExtraFields() {
    var extra = false;
    new FormData(form).forEach(function (value, name) {
      if (!SOCKET_FIELDS[name] && value !== "" && !(value instanceof File)) extra = true;
    });
    return extra;
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      var files = form.querySelector("input[type=file]");
      if (pending) {
        event.preventDefault(); // the previous reply is still on its way
        return;
      }
      if (!socket || socket.readyState !== WebSocket.OPEN || (files && files.files.length) || hasExtraFields()) return; // the normal POST
      var body = editor && editor.getHTML ? editor.getHTML() : form.querySelector("[name=body]").value;
      var internal = form.querySelector("input[name=internal]");
      var clientId = String(Date.now()) + Math.random().toString(16).slice(2);
      if (!send({ type: "message", body: body, internal: !!(internal && internal.checked), client_id: clientId })) return;
      event.preventDefault();
      form.querySelector("button:not([type=button])").disabled = true;
      pending = {
        clientId: clientId,
        timer: setTimeout(function () {
          if (pending) finishSend(false, "No confirmation yet; check the thread before sending again.");
        }, 15000),
      };
    });
    form.addEventListener("input", function () {
      var now = Date.now();
      if (now - typingSentAt < TYPING_SEND_MS) return;
      var internal = form.querySelector("input[name=internal]");
      if (send({ type: "typing", internal: !!(internal && internal.checked) })) typingSentAt = now;
    });
  }

  if (!("WebSocket" in window)) {
    startPolling();
  } else {
    connect();
  }
})();

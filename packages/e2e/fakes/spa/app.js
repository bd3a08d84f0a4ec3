// Stand-in for the OpenHands frontend's flow (contract fake): start a conversation through the app API, then talk
// to the sandbox's agent-server directly, as frontend/src/utils/websocket-url.ts and
// conversation-websocket-context.tsx do in OpenHands 1.7.0 (REST with X-Session-API-Key, WebSocket with the
// session_api_key query parameter, protocol following the page), and probe the WORKER URLs without credentials.
(function () {
  var state = (window.__oh = { steps: [] });
  function show(id, text) { document.getElementById(id).textContent = text; }
  function json(response) {
    if (!response.ok) throw new Error(response.url + " answered " + response.status);
    return response.json();
  }

  fetch("/api/v1/settings").then(function (response) {
    if (response.status === 404) return show("llm-model", "not set");
    return json(response).then(function (settings) {
      var llm = (settings.agent_settings_diff && settings.agent_settings_diff.llm) || (settings.agent_settings && settings.agent_settings.llm) || {};
      show("llm-model", llm.model || "not set");
    });
  }).catch(function (error) { show("llm-model", "error: " + error.message); });

  function websocketUrl(conversationUrl, conversationId, key) {
    var url = new URL(conversationUrl);
    var prefix = url.pathname.split("/api/conversations")[0];
    var protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    return protocol + "//" + url.host + prefix + "/sockets/events/" + conversationId + "?session_api_key=" + encodeURIComponent(key);
  }

  function start() {
    state.steps.push("start");
    return fetch("/api/v1/app-conversations", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ initial_message: null }),
    })
      .then(json)
      .then(function (task) {
        state.task = task;
        show("agent-server-url", task.agent_server_url);
        return fetch("/api/v1/app-conversations?ids=" + task.app_conversation_id).then(json);
      })
      .then(function (conversations) {
        var conversation = (state.conversation = conversations[0]);
        show("conversation-url", conversation.conversation_url);
        return fetch("/api/v1/sandboxes?id=" + encodeURIComponent(conversation.sandbox_id)).then(json);
      })
      .then(function (sandboxes) {
        var sandbox = (state.sandbox = sandboxes[0]);
        var list = document.getElementById("exposed-urls");
        sandbox.exposed_urls.forEach(function (exposed) {
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.id = "link-" + exposed.name;
          link.href = exposed.url;
          link.textContent = exposed.name + ": " + exposed.url;
          item.appendChild(link);
          list.appendChild(item);
        });
        var conversation = state.conversation;
        var key = conversation.session_api_key;
        var rest = fetch(conversation.conversation_url, { headers: { "X-Session-API-Key": key } })
          .then(json)
          .then(function (info) { show("agent-rest", "ok " + info.sandbox); })
          .catch(function (error) { show("agent-rest", "error: " + error.message); });
        var worker = sandbox.exposed_urls.filter(function (exposed) { return exposed.name === "WORKER_1"; })[0];
        var probe = fetch(worker.url, { credentials: "omit" })
          .then(function (response) {
            return response.text().then(function (text) {
              show("worker-probe", "status " + response.status + (text.indexOf("WORKER_1 of") >= 0 ? ", worker content" : ", no content"));
            });
          })
          .catch(function (error) { show("worker-probe", "error: " + error.message); });
        var socket = new WebSocket(websocketUrl(conversation.conversation_url, conversation.id, key));
        state.socket = socket;
        socket.onopen = function () {
          show("ws-state", "open");
          fetch(conversation.conversation_url + "/events", {
            method: "POST",
            headers: { "content-type": "application/json", "X-Session-API-Key": key },
            body: JSON.stringify({ role: "user", content: [{ type: "text", text: "hello" }], run: true }),
          });
        };
        socket.onclose = function () { show("ws-state", "closed"); };
        socket.onerror = function () { show("ws-state", "error"); };
        socket.onmessage = function (message) {
          var event = JSON.parse(message.data);
          var item = document.createElement("li");
          item.textContent = event.source + ": " + event.text;
          document.getElementById("events").appendChild(item);
        };
        return Promise.all([rest, probe]);
      })
      .catch(function (error) { show("agent-rest", "error: " + error.message); });
  }

  document.getElementById("new-conversation").addEventListener("click", start);

  // The real SPA keeps polling the conversation list while it is open; so does this page.
  setInterval(function () {
    fetch("/api/v1/app-conversations/search").then(function (response) { state.polls = (state.polls || 0) + 1; return response.text(); }).catch(function () {});
  }, 2000);
})();

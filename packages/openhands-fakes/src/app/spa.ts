/**
 * The page the app fake serves at `/` (and, like `server/static.py`, at every unknown path): a small stand-in
 * for the OpenHands React frontend that calls the same endpoints and opens the same sandbox URLs the real one
 * does (frontend/src/utils/websocket-url.ts, conversation-websocket-context.tsx in 1.7.0). Inlined as strings so
 * the bundled entry point needs no files beside it.
 */
export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>OpenHands</title>
<style>
  body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem; color: #222; }
  h1 { font-size: 1.4rem; }
  dt { font-weight: 600; margin-top: .6rem; }
  code { background: #f3f3f3; padding: 0 .3rem; }
  #events li { font-family: monospace; }
</style>
</head>
<body>
<!-- Stand-in for the OpenHands React app (contract fake): calls the same endpoints, opens the same sandbox URLs. -->
<h1>OpenHands</h1>
<p>Sandboxes of this OpenHands are named <code id="sandbox-prefix">{{SANDBOX_PREFIX}}</code>…</p>
<p>LLM: <code id="llm-model">loading</code></p>
<button id="new-conversation">New conversation</button>
<dl>
  <dt>Start task agent_server_url</dt><dd><code id="agent-server-url"></code></dd>
  <dt>conversation_url</dt><dd><code id="conversation-url"></code></dd>
  <dt>Agent-server REST</dt><dd><code id="agent-rest"></code></dd>
  <dt>Events WebSocket</dt><dd><code id="ws-state"></code></dd>
  <dt>Worker probe (App tab)</dt><dd><code id="worker-probe"></code></dd>
  <dt>Exposed URLs</dt><dd><ul id="exposed-urls"></ul></dd>
  <dt>Events</dt><dd><ul id="events"></ul></dd>
</dl>
<script src="/assets/app.js"></script>
</body>
</html>
`;

export const APP_JS = `// Stand-in for the OpenHands frontend's flow (contract fake): start a conversation through the app API, then talk
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
      var llm =
        (settings.agent_settings_diff && settings.agent_settings_diff.llm) ||
        (settings.agent_settings && settings.agent_settings.llm) ||
        {};
      show("llm-model", llm.model || "not set");
    });
  }).catch(function (error) { show("llm-model", "error: " + error.message); });

  function websocketUrl(conversationUrl, conversationId, key) {
    var url = new URL(conversationUrl);
    var prefix = url.pathname.split("/api/conversations")[0];
    var protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    return protocol + "//" + url.host + prefix + "/sockets/events/" + conversationId + "?session_api_key=" + encodeURIComponent(key);
  }

  // POST /api/v1/app-conversations answers a WORKING start task; the frontend polls /start-tasks until READY.
  function waitReady(taskId) {
    return fetch("/api/v1/app-conversations/start-tasks?ids=" + encodeURIComponent(taskId)).then(json).then(function (tasks) {
      var task = tasks[0];
      state.steps.push(task ? task.status : "missing");
      if (task && task.status === "READY") return task;
      if (!task || task.status === "ERROR") throw new Error("start task " + (task ? "failed: " + task.detail : "missing"));
      return new Promise(function (resolve) { setTimeout(resolve, 500); }).then(function () { return waitReady(taskId); });
    });
  }

  function start() {
    state.steps.push("start");
    return fetch("/api/v1/app-conversations", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ initial_message: null }),
    })
      .then(json)
      .then(function (task) { return waitReady(task.id); })
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
          .then(function (info) {
            if (String(info.id).replace(/-/g, "") !== conversation.id) throw new Error("another conversation answered");
            show("agent-rest", "ok " + conversation.sandbox_id);
          })
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
    fetch("/api/v1/app-conversations/search")
      .then(function (response) { state.polls = (state.polls || 0) + 1; return response.text(); })
      .catch(function () {});
  }, 2000);
})();
`;

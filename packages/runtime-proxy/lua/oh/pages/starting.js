// The starting page's script (served by the proxy at /_oh/pages/starting.js; the page works without it, by
// reloading itself). It asks /_oh/start-status (the signed user's own start, nobody else's) every two seconds,
// moves the steps and the timing along in place, and goes on to the page the person asked for once the start is
// over: running, failed (the page then shows what failed, with a retry and the request id) or unknown.
(() => {
  const root = document.getElementById("oh-start");
  if (!root) return;
  // Open redirect: only a path on this host; the proxy made it safe already, and the browser checks it again here.
  const asked = new URL(root.dataset.next || "/", location.origin);
  const next = asked.origin === location.origin ? asked.pathname + asked.search + asked.hash : "/";
  const timing = document.getElementById("oh-start-timing");
  const bar = root.querySelector("progress");
  const steps = Array.from(root.querySelectorAll(".steps li"));
  let typical = Number(root.dataset.typical) || 0;
  let elapsed = Number(root.dataset.elapsed) || 0;
  let at = Date.now();
  let failures = 0;

  const duration = (ms) => {
    const seconds = Math.round(ms / 1000);
    return seconds < 90 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
  };
  const show = () => {
    const now = elapsed + (Date.now() - at);
    const usual = typical
      ? ` A start usually takes about ${duration(typical)} here.`
      : " The first start on a new server takes a minute or two.";
    timing.textContent = `Started ${duration(now)} ago.${usual}`;
    if (bar && typical) {
      bar.max = typical;
      bar.value = Math.min(now, typical);
    }
  };
  const showStage = (stage) => {
    const index = steps.findIndex((step) => step.dataset.stage === stage);
    if (index < 0) return;
    steps.forEach((step, i) => {
      step.className = i < index ? "done" : i === index ? "now" : "";
    });
  };
  const go = () => location.replace(next);

  const poll = async () => {
    try {
      const response = await fetch("/_oh/start-status", {
        credentials: "same-origin",
        cache: "no-store",
        headers: { accept: "application/json" },
      });
      // Signed out meanwhile, or a server in trouble: the page itself says what to do.
      if (response.status === 401 || response.status === 403) return go();
      if (!response.ok) throw new Error(`status ${response.status}`);
      const status = await response.json();
      if (status.state !== "starting") return go();
      failures = 0;
      if (typeof status.elapsedMs === "number") {
        elapsed = status.elapsedMs;
        at = Date.now();
      }
      if (typeof status.typicalMs === "number") typical = status.typicalMs;
      if (status.stage) showStage(status.stage);
      show();
    } catch {
      failures += 1;
      if (failures >= 5) return go();
    }
    setTimeout(poll, 2000);
  };
  setInterval(show, 1000);
  setTimeout(poll, 1000);
})();

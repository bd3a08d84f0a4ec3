-- Written from packages/contracts/src/pages.ts by the runtime-proxy build (src/page-assets.ts); do not edit.
return {
  style = [=[:root{color-scheme:light dark;--bg:#f6f7f9;--card:#fff;--text:#1d2430;--muted:#5b6472;--line:#dde1e7;--accent:#2f5bd3;--accent-text:#fff;--bad:#b42318;--ok:#177245}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--card:#1d2128;--text:#e7eaf0;--muted:#a2aab7;--line:#323844;--accent:#7d9cff;--accent-text:#0c1020;--bad:#ff8a80;--ok:#6fd39b}}
*{box-sizing:border-box}
html,body{margin:0;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
main{max-width:36rem;margin:12vh auto 2rem;padding:2rem;background:var(--card);border:1px solid var(--line);border-radius:12px}
.site{margin:0 0 .5rem;color:var(--muted);font-size:.85rem;letter-spacing:.04em;text-transform:uppercase}
h1{margin:0 0 .75rem;font-size:1.45rem;line-height:1.25}
p{margin:.5rem 0}
.muted{color:var(--muted)}
.bad{color:var(--bad)}
a{color:var(--accent)}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.25rem}
.button{display:inline-block;padding:.55rem 1.1rem;border-radius:8px;background:var(--accent);color:var(--accent-text);text-decoration:none;font-weight:600;border:0;font:inherit;cursor:pointer}
.steps{list-style:none;margin:1rem 0;padding:0}
.steps li{padding:.2rem 0 .2rem 1.6rem;position:relative;color:var(--muted)}
.steps li::before{content:"";position:absolute;left:.3rem;top:.7rem;width:.55rem;height:.55rem;border-radius:50%;border:2px solid var(--line)}
.steps li.done{color:var(--text)}
.steps li.done::before{background:var(--ok);border-color:var(--ok)}
.steps li.now{color:var(--text);font-weight:600}
.steps li.now::before{border-color:var(--accent);background:var(--accent)}
.steps li.failed{color:var(--bad);font-weight:600}
.steps li.failed::before{border-color:var(--bad);background:var(--bad)}
progress{width:100%;height:.5rem;accent-color:var(--accent)}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,monospace;background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:0 .3em;overflow-wrap:anywhere}
]=],
  layout = [=[<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><title>{{title}}</title><style>{{style}}</style>{{head}}</head><body><main><p class="site">OpenHands</p>{{main}}</main></body></html>
]=],
}

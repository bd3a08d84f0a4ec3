local check = require "check"
local cookies = require "oh.cookies"
local upstream = require "oh.upstream"

return {
  { "our cookies are stripped, others kept in order", function()
    check.eq(cookies.strip("a=1; __Host-oh-session=s; b=2; __Secure-oh-refresh=r; __Host-oh-runtime=x; c=3"), "a=1; b=2; c=3")
  end },
  { "cookie names are matched case-insensitively, with spaces around", function()
    check.eq(cookies.strip("  __host-OH-session=s ;keep=1"), "keep=1")
  end },
  { "only ours: nothing remains", function()
    check.falsy(cookies.strip("__Host-oh-session=s"))
    check.falsy(cookies.strip(""))
    check.falsy(cookies.strip(nil))
  end },
  { "repeated Cookie headers are all cleaned", function()
    check.eq(cookies.strip({ "__Host-oh-session=s; a=1", "b=2" }), "a=1; b=2")
  end },
  { "similar foreign names survive; unprefixed oh- names are ours too", function()
    check.eq(cookies.strip("__Host-other=1; oh-session=2; __Host-ohx=3; ohx=4"), "__Host-other=1; __Host-ohx=3; ohx=4")
  end },
  { "upstream: http://<IPv4>:<port> is accepted", function()
    local ip, port = upstream.parse("http://10.240.3.2:3000")
    check.eq(ip, "10.240.3.2"); check.eq(port, 3000)
    check.eq(select(2, upstream.parse("http://10.240.3.130:8000/")), 8000)
  end },
  { "upstream: names, https, userinfo, metadata service and bad numbers are refused", function()
    for _, bad in ipairs({ "http://localhost:3000", "https://10.0.0.1:3000", "http://a@10.0.0.1:3000",
      "http://169.254.169.254:80", "http://0.0.0.0:80", "http://127.0.0.1:3000", "http://127.255.0.1:80", "http://10.0.0.256:80",
      "http://10.0.0.1:0",
      "http://10.0.0.1:65536", "http://010.0.0.1:80", "http://10.0.0.1", "http://10.0.0.1:80/path", "", nil, 42 }) do
      check.falsy(upstream.parse(bad), tostring(bad))
    end
  end },
}

-- wrk script for benches/serve_stream_per_core.sh: each thread (one connection each) sends
-- the stream `s<thread>` one new bar a request, each an hour after the last (after the seed's
-- bars, which end in 2005), prices on a slow wave so the strategy trades now and then.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  k = 0
  path = string.format("/signal/streams/s%d/bars", id)
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  k = k + 1
  local c = 150 + 40 * math.sin(k / 37) + (k % 11) * 0.25
  local o = c - 0.6 + (k % 3) * 0.4
  local h = math.max(o, c) + 0.8
  local l = math.min(o, c) - 0.8
  local body = string.format("[[%d,%.4f,%.4f,%.4f,%.4f,%d]]", 1700000000 + k * 3600, o, h, l, c, 1000 + k % 500)
  return wrk.format("POST", path, headers, body)
end

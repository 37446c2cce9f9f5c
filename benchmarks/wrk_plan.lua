-- A wrk script that replays a plan file written by benchmarks/loadgen.py.
--
-- Plan lines: "method M", "header Name: value", "body TEMPLATE", "path P" (repeated),
-- "value V" (repeated), "offset N", "limit N", "idle PATH". Request k (0-based) is
-- number j = offset + k: it goes to path j mod #paths; in the body, "{n}" becomes j and
-- "{v}" becomes value (j div #paths) mod #values, so every (path, value) pair is used
-- once before any repeats, and a run with offset N continues where N requests ended. With "limit N" the thread stops after N requests and prints WRKLIMIT, on
-- which loadgen.py interrupts wrk; a request wrk asks for past the limit is a GET of
-- the idle path, so nothing past the limit is written. Run with
-- one wrk thread so k is unique across connections. done() runs in a Lua state of its
-- own (init() never ran there), so it reports only what wrk passes it.

local method, body, limit, offset, idle = "GET", nil, 0, 0, "/"
local headers, paths, values = {}, {}, {}
local k = 0
local stopped = false

function init(args)
   for line in io.lines(args[1]) do
      local key, rest = line:match("^(%S+) (.*)$")
      if key == "method" then method = rest
      elseif key == "header" then
         local name, value = rest:match("^([^:]+):%s*(.*)$")
         headers[name] = value
      elseif key == "body" then body = rest
      elseif key == "path" then paths[#paths + 1] = rest
      elseif key == "value" then values[#values + 1] = rest
      elseif key == "limit" then limit = tonumber(rest)
      elseif key == "offset" then offset = tonumber(rest)
      elseif key == "idle" then idle = rest
      end
   end
   if #paths == 0 then error("plan has no path") end
end

function request()
   if limit > 0 and k >= limit then
      if not stopped then
         -- wrk 4.1 keeps sleeping for -d after its threads stop: ask for a SIGINT.
         stopped = true
         io.write("WRKLIMIT\n")
         io.stdout:flush()
         wrk.thread:stop()
      end
      return wrk.format("GET", idle, headers, nil)
   end
   local j = offset + k
   local path = paths[(j % #paths) + 1]
   local text = nil
   if body then
      local n = string.format("%d", j)
      local v = ""
      if #values > 0 then
         v = values[(math.floor(j / #paths) % #values) + 1]
      end
      text = body:gsub("{n}", function() return n end):gsub("{v}", function() return v end)
   end
   k = k + 1
   return wrk.format(method, path, headers, text)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
      summary.requests, summary.duration,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max))
end

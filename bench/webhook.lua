-- wrk script: posts SocketLabs events with unique MessageIds, a mix of kinds, and records the
-- status (and the id in the reply) of every response, one line per response, in a file per thread.
--
-- Usage: wrk ... -s bench/webhook.lua URL -- TEMPLATES OUTDIR
--   TEMPLATES: a Lua file returning a list of {prefix, suffix} strings; the request body is
--              prefix .. MessageId .. suffix (written by bench/harness.py)
--   OUTDIR:    directory for responses-<thread>.txt ("<status> <id or ->" per line) and summary.json
-- wrk runs this file once per thread (separate Lua states) and once more for setup/done.

local threads = {}
local next_id = 0

function setup(thread)
   next_id = next_id + 1
   thread:set("thread_id", next_id)
   table.insert(threads, thread)
end

local templates, out, counter, run_tag, count

function init(args)
   templates = dofile(args[1])
   count = #templates
   out = assert(io.open(args[2] .. "/responses-" .. thread_id .. ".txt", "w"))
   counter = 0
   run_tag = os.getenv("BENCH_RUN_TAG") or "run"
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local t = templates[(counter % count) + 1]
   local body = t[1] .. run_tag .. "-" .. thread_id .. "-" .. counter .. t[2]
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   -- The bridge answers {"event_id": ...}; the baseline answers the MessageId under the same name.
   local id = body and string.match(body, '"event_id":"([^"]+)"') or "-"
   out:write(status, " ", id, "\n")
end

function done(summary, latency, requests)
   -- The per-thread response files are flushed when wrk exits; the harness checks that they
   -- hold exactly `requests` lines.
   local f = assert(io.open(os.getenv("BENCH_SUMMARY"), "w"))
   f:write(string.format(
      '{"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
      latency.max, latency.mean))
   f:close()
end

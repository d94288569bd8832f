-- Shared by every script: per-thread status and event counts, and one parseable
-- summary line printed by done(). Each wrk thread has its own Lua state; with
-- `-tN -cN` a thread drives exactly one connection, so its globals are that
-- connection's state.

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
  table.insert(threads, thread)
end

statuses = {}
counters = {}

function count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function bump(name)
  counters[name] = (counters[name] or 0) + 1
end

-- "Name: value" arguments become request headers; the rest are returned.
function split_headers(args)
  local headers, rest = {}, {}
  for _, arg in ipairs(args) do
    local name, value = arg:match("^([%w%-]+):%s*(.*)$")
    if name then headers[name] = value else table.insert(rest, arg) end
  end
  return headers, rest
end

local function merge(into, from)
  for k, v in pairs(from or {}) do into[k] = (into[k] or 0) + v end
end

local function json_counts(t)
  local parts = {}
  for k, v in pairs(t) do
    table.insert(parts, string.format('"%s":%d', tostring(k), v))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local all_statuses, all_counters = {}, {}
  for _, thread in ipairs(threads) do
    merge(all_statuses, thread:get("statuses"))
    merge(all_counters, thread:get("counters"))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"statuses":%s,"counters":%s}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout,
    json_counts(all_statuses), json_counts(all_counters)))
end

-- Heartbeats spread over many open sessions: args[1] is a Lua file returning
-- { {session_id, token}, ... }; each request goes to the next session.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local prepared = {}
local i = 0

function init(args)
  for _, s in ipairs(dofile(args[1])) do
    local path = "/api/v1/sessions/" .. s[1] .. "/heartbeat"
    table.insert(prepared, wrk.format("POST", path, { Authorization = "Bearer " .. s[2] }))
  end
  i = ((thread_id or 1) - 1) * 97
end

function request()
  i = i % #prepared + 1
  return prepared[i]
end

function response(status, headers, body)
  count_status(status)
end

-- The interaction cycle, one per connection (run with -tN -cN so each thread's
-- state is one connection's): open "Password Reset", step to "Verify", close it,
-- then the same on the thread's next session. args[1]: the sessions file (as
-- for heartbeat.lua); args[2]: the number of threads.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local sessions, stride, index
local phase, interaction = "open", nil
local OPEN_BODY = '{"flow": "Password Reset"}'
local STEP_BODY = '{"step": "Verify"}'

function init(args)
  sessions = dofile(args[1])
  stride = tonumber(args[2])
  index = thread_id
end

function request()
  local s = sessions[index]
  local base = "/api/v1/sessions/" .. s[1] .. "/interactions"
  local auth = { Authorization = "Bearer " .. s[2] }
  if phase == "open" then
    auth["Content-Type"] = "application/json"
    return wrk.format("POST", base, auth, OPEN_BODY)
  elseif phase == "step" then
    auth["Content-Type"] = "application/json"
    return wrk.format("POST", base .. "/" .. interaction .. "/steps", auth, STEP_BODY)
  end
  return wrk.format("DELETE", base .. "/" .. interaction, auth)
end

local function next_session()
  phase = "open"
  index = index + stride
  if index > #sessions then index = thread_id end
end

function response(status, headers, body)
  count_status(status)
  if phase == "open" and status == 201 then
    interaction = body:match('"interaction_id"%s*:%s*"([^"]+)"')
    phase = "step"
    bump("open")
  elseif phase == "step" and status == 200 then
    phase = "close"
    bump("step")
  elseif phase == "close" and status == 204 then
    bump("close")
    bump("cycles")
    next_session()
  else
    bump("unexpected")
    next_session()
  end
end

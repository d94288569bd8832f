-- One client per connection (run with -tN -cN): open a Guest session with the
-- application key (args[1]); on 201 log it out, on 409 try again at once.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local open_request
local session, token = nil, nil

function init(args)
  open_request = wrk.format("POST", "/api/v1/sessions", {
    Authorization = "Bearer " .. args[1],
    ["Content-Type"] = "application/json",
  }, "{}")
end

function request()
  if session then
    return wrk.format("DELETE", "/api/v1/sessions/" .. session,
                      { Authorization = "Bearer " .. token })
  end
  return open_request
end

function response(status, headers, body)
  count_status(status)
  if session then
    bump(status == 204 and "released" or "release_failed")
    session = nil
  elseif status == 201 then
    session = body:match('"session_id"%s*:%s*"([^"]+)"')
    token = body:match('"token"%s*:%s*"([^"]+)"')
    bump("claimed")
  elseif status == 409 then
    bump("refused")
  else
    bump("open_failed")
  end
end

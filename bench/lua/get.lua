-- GET with optional headers ("Name: value" arguments, e.g. an admin token or a
-- login cookie), rotating over the paths given as the other arguments (or the
-- URL's own path when there are none).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local prepared = {}
local i = 0

function init(args)
  local headers, paths = split_headers(args)
  if #paths == 0 then paths = { wrk.path } end
  for _, path in ipairs(paths) do
    table.insert(prepared, wrk.format("GET", path, headers))
  end
  i = thread_id or 0
end

function request()
  i = i % #prepared + 1
  return prepared[i]
end

function response(status, headers, body)
  count_status(status)
end

-- wrk script: POST prepared requests in turn (BENCH_REQUESTS: a file of "path<TAB>body" lines), each thread
-- starting at its own line, so concurrent requests go to different streams (projects, resources).
local headers = {["Content-Type"] = "application/json"}
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end
local requests = {}
for line in io.lines(os.getenv("BENCH_REQUESTS")) do
  local path, body = line:match("^([^\t]*)\t(.*)$")
  requests[#requests + 1] = wrk.format("POST", path, headers, body)
end
local counter = 0
local started = 0

function setup(thread)
  started = started + 1
  thread:set("offset", started * 7919)
end

function init(_args)
  counter = offset or 0
end

function request()
  counter = counter + 1
  return requests[counter % #requests + 1]
end

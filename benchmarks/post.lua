-- wrk script: POST one proposal draft per request (the same body to every target).
wrk.method = "POST"
wrk.body = '{"title":"Bench","portfolio_id":"p"}'
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

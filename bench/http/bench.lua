-- One wrk script for every page of bench/http/run.py, configured through the environment:
--
--   BENCH_MODE      get | form | api
--   BENCH_PATH      the path to request
--   BENCH_EXPECT    the status a correct answer has (200 for pages, 302 after a form POST,
--                   201 for the API); anything else is counted as an error
--   BENCH_SESSIONS  session keys, comma separated: each request takes the next one, so 20
--                   connections are 20 people's sessions rather than one session's row
--                   updated 20 times at once
--   BENCH_CSRF      the CSRF cookie value, also sent as the form's csrfmiddlewaretoken
--   BENCH_FORM      the form body without the accession number and the CSRF token
--   BENCH_JSON      the API body, with ACCESSION where the accession number goes
--   BENCH_TOKEN     the API token
--   BENCH_TAG       a tag unique to this run: every POST carries its own accession number
--                   (tag, thread, counter), so the duplicate rule refuses none of them
--
-- done() prints one line "BENCH_RESULT {json}" with p50/p95/p99 (wrk's own --latency shows
-- no p95), throughput and the errors, for run.py to read.

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local function split(text)
  local parts = {}
  for part in string.gmatch(text or "", "[^,]+") do
    table.insert(parts, part)
  end
  return parts
end

function init(args)
  mode = os.getenv("BENCH_MODE") or "get"
  path = os.getenv("BENCH_PATH") or "/"
  expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
  sessions = split(os.getenv("BENCH_SESSIONS"))
  csrf = os.getenv("BENCH_CSRF") or ""
  form = os.getenv("BENCH_FORM") or ""
  json = os.getenv("BENCH_JSON") or ""
  token = os.getenv("BENCH_TOKEN") or ""
  tag = os.getenv("BENCH_TAG") or "X"
  sent = 0
  good = 0
  wrong = 0
  wrong_status = 0
end

function request()
  sent = sent + 1
  local headers = {}
  local cookies = {}
  if #sessions > 0 then
    -- Threads start at different sessions, then take them in turn.
    table.insert(cookies, "sessionid=" .. sessions[(sent + id * 7) % #sessions + 1])
  end
  if csrf ~= "" then
    table.insert(cookies, "csrftoken=" .. csrf)
  end
  if #cookies > 0 then
    headers["Cookie"] = table.concat(cookies, "; ")
  end
  if mode == "get" then
    return wrk.format("GET", path, headers)
  end
  local accession = string.format("W%sT%dN%d", tag, id, sent)
  local body
  if mode == "form" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    body = form .. "&accession_number=" .. accession .. "&csrfmiddlewaretoken=" .. csrf
  else
    headers["Content-Type"] = "application/json"
    headers["Authorization"] = "Token " .. token
    body = string.gsub(json, "ACCESSION", accession)
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status == expect then
    good = good + 1
  else
    wrong = wrong + 1
    wrong_status = status
  end
end

function done(summary, latency, requests)
  local answered, unexpected, example = 0, 0, 0
  for _, thread in ipairs(threads) do
    answered = answered + thread:get("good")
    unexpected = unexpected + thread:get("wrong")
    local status = thread:get("wrong_status")
    if status ~= 0 then
      example = status
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_s": %.3f, "rps": %.2f, ' ..
    '"p50_ms": %.2f, "p90_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, ' ..
    '"mean_ms": %.2f, "expected": %d, "unexpected": %d, "unexpected_example": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"non_2xx_3xx": %d, "bytes": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    latency.mean / 1000, answered, unexpected, example,
    errors.connect, errors.read, errors.write, errors.timeout, errors.status, summary.bytes
  ))
end

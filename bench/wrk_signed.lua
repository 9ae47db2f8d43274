-- wrk script: POST pre-signed Typeform deliveries, each once, read from a file of
-- "signature<TAB>body" lines (bench/signed.py writes it). Thread k of n sends lines k, k+n, ...
-- Usage: wrk -t2 -c16 -d15s -s bench/wrk_signed.lua URL -- FILE THREADS
local next_id = 0
local threads = {}

function setup(thread)
  thread:set("id", next_id)
  table.insert(threads, thread)
  next_id = next_id + 1
end

function init(args)
  local every = tonumber(args[2])
  signatures, bodies, statuses = {}, {}, {}
  local line_number = 0
  for line in io.lines(args[1]) do
    if line_number % every == id then
      local tab = line:find("\t", 1, true)
      signatures[#signatures + 1] = line:sub(1, tab - 1)
      bodies[#bodies + 1] = line:sub(tab + 1)
    end
    line_number = line_number + 1
  end
  position, wrapped = 0, 0
end

function request()
  position = position + 1
  if position > #bodies then
    position, wrapped = 1, wrapped + 1
  end
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Typeform-Signature"] = signatures[position]
  return wrk.format("POST", wrk.path, headers, bodies[position])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts, wraps = {}, 0
  for _, thread in ipairs(threads) do
    wraps = wraps + thread:get("wrapped")
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    parts[#parts + 1] = string.format('"%d": %d', status, count)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "wrapped": %d, "statuses": {%s}, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, wraps, table.concat(parts, ", "),
    e.connect, e.read, e.write, e.status, e.timeout))
end

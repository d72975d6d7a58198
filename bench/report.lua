-- SPDX-License-Identifier: Apache-2.0
-- Shared wrk done() hook: one JSON line (prefixed "wrk-json ") with the figures bench/bench.py reads.
-- Latencies are in microseconds, as wrk records them.
local M = {}

function M.done(summary, latency, requests)
        local e = summary.errors
        io.write(string.format(
                'wrk-json {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
                '"mean_us":%.1f,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,' ..
                '"err_timeout":%d}\n',
                summary.requests, summary.duration, summary.bytes, latency:percentile(50),
                latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status,
                e.timeout))
end

return M

-- SPDX-License-Identifier: Apache-2.0
-- wrk script: POST /api/orders with a valid body (sample users and products, quantity 1) and an
-- Idempotency-Key unique across threads, connections and runs (run id, thread id, counter), so that
-- every request creates one order.
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")
local products = tonumber(os.getenv("BENCH_PRODUCTS") or "1200")
local users = tonumber(os.getenv("BENCH_USERS") or "120")
local run_id = os.getenv("BENCH_RUN_ID") or "run"
local threads = {}
local counter = 0
local prefix = ""

function setup(thread)
        thread:set("thread_id", #threads + 1)
        table.insert(threads, thread)
end

function init(args)
        prefix = run_id .. "-" .. tostring(thread_id) .. "-"
end

function request()
        counter = counter + 1
        local body = string.format('{"user_id":%d,"product_id":%d,"quantity":1}', 1 + counter % users,
                                   1 + (counter * 7) % products)
        return wrk.format("POST", "/api/orders",
                          {["Content-Type"] = "application/json", ["Idempotency-Key"] = prefix .. counter},
                          body)
end

done = report.done

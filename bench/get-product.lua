-- SPDX-License-Identifier: Apache-2.0
-- wrk script: GET /api/products/{id} over the sample catalogue (ids 1..PRODUCTS, a different one per
-- request so that the database does not answer one cached row).
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local report = require("report")
local products = tonumber(os.getenv("BENCH_PRODUCTS") or "1200")
local n = 0

function request()
        n = n + 1
        return wrk.format("GET", "/api/products/" .. (1 + n % products))
end

done = report.done

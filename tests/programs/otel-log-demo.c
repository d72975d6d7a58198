/* SPDX-License-Identifier: Apache-2.0 */
/* otel-log-demo: a known set of log calls through the public API, for tests/integration
 * (test_journald.py reads them back from a real journald, test_otlp_logs.py from the independent OTLP
 * decoder). Prints one JSON line on stdout describing what it logged: the span's ids, the source
 * locations of the calls and the wall-clock bounds of the logging, so that the tests can assert every
 * field exactly. Configuration comes from the OTEL_* environment the test sets. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "otel.h"

#define DEMO_SHUTDOWN_TIMEOUT_MS 10000

int main(void)
{
        static const char *const tags[] = {"blue", "green"};
        otel_attr attrs[] = {
                OTEL_ATTR_STR("order.id", "A-42"),
                OTEL_ATTR_I64("order.items", 3),
                OTEL_ATTR_F64("order.total", 12.5),
                OTEL_ATTR_BOOLV("order.retry", true),
                OTEL_ATTR_ARRAY("order.tags", OTEL_ATTR_STRING_ARRAY, tags, 2),
                OTEL_ATTR_STR("note", "two words"),
        };
        char trace_hex[OTEL_TRACE_ID_HEX + 1], span_hex[OTEL_SPAN_ID_HEX + 1];
        otel_context_token token;
        uint64_t before, after;
        int line_warn, line_err, line_plain, r;
        otel_span *span;

        r = otel_sdk_init(&(otel_sdk_options){.service_name = "otel-log-demo"});
        if (r < 0) {
                fprintf(stderr, "otel_sdk_init: %s\n", strerror(-r));
                return 1;
        }
        before = otel_time_now_ns();
        span = otel_span_start(otel_tracer_get("otel-log-demo", "1.0.0"), "demo-request",
                               OTEL_SPAN_KIND_SERVER, NULL);
        token = otel_context_attach(span, NULL);

        line_warn = __LINE__ + 1;
        otel_log_attrs(OTEL_SEVERITY_WARN, attrs, sizeof(attrs) / sizeof(attrs[0]), "order %s failed: %s",
                       "A-42", "payment declined");
        line_err = __LINE__ + 1;
        r = otel_log_errno(OTEL_SEVERITY_ERROR, -ENOENT, "Cannot open %s: %m", "/etc/oteldemo/missing.conf");
        otel_log(OTEL_SEVERITY_DEBUG, "below the default level: never written");

        otel_context_detach(token);
        line_plain = __LINE__ + 1;
        otel_log(OTEL_SEVERITY_INFO, "no span here\nsecond line");
        after = otel_time_now_ns();

        otel_trace_id_to_hex(otel_span_get_context(span)->trace_id, trace_hex);
        otel_span_id_to_hex(otel_span_get_context(span)->span_id, span_hex);
        otel_span_end(span);

        printf("{\"trace_id\": \"%s\", \"span_id\": \"%s\", \"file\": \"%s\", \"func\": \"%s\", "
               "\"line_warn\": %d, \"line_err\": %d, \"line_plain\": %d, \"errno_ret\": %d, "
               "\"before_ns\": %" PRIu64 ", \"after_ns\": %" PRIu64 "}\n",
               trace_hex, span_hex, __FILE__, __func__, line_warn, line_err, line_plain, r, before, after);
        fflush(stdout);
        r = otel_sdk_shutdown(DEMO_SHUTDOWN_TIMEOUT_MS);
        return r < 0 ? 2 : 0;
}

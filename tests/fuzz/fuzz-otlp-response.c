/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for what the OTLP exporter reads from a collector's reply: the partial-success
 * body of a 2xx (OTLP/JSON and protobuf, for each of the three signals) and the Retry-After header of
 * a 429/503. otlp-export.c is included so that its static decoders are reached as the exporter calls
 * them. Invariants: a decoded Retry-After is within OTLP_HTTP_MAX_RETRY_AFTER_S and delta-seconds
 * round-trip; a decoded error message is a non-empty C string.
 */
#include "../../src/otel/otlp-export.c"

#include <stdio.h>
#include <time.h>

#include "logs_service.pb-c.h"
#include "metrics_service.pb-c.h"
#include "otlp-http.h"
#include "trace_service.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed "now" so that an input always does the same (2026-01-01T00:00:00Z). */
#define FUZZ_NOW ((time_t)1767225600)

static void check(bool ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz-otlp-response: %s\n", what);
                abort();
        }
}

static void check_partial(int r, otlp_partial *p)
{
        check(r == 0 || r == -EBADMSG, "partial success decoding result");
        if (p->error_message)
                check(p->error_message[0] != '\0', "empty error message kept");
        free(p->error_message);
}

static void fuzz_partial(const uint8_t *data, size_t size)
{
        static const char *const json_fields[] = {"rejectedSpans", "rejectedDataPoints",
                                                  "rejectedLogRecords"};
        const ProtobufCMessageDescriptor *const descs[] = {
                &opentelemetry__proto__collector__trace__v1__export_trace_service_response__descriptor,
                &opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__descriptor,
                &opentelemetry__proto__collector__logs__v1__export_logs_service_response__descriptor,
        };

        for (size_t i = 0; i < 3; i++) {
                otlp_partial p = {0};

                check_partial(partial_from_json(data, size, json_fields[i], &p), &p);
                p = (otlp_partial){0};
                check_partial(partial_from_proto(descs[i], data, size, &p), &p);
        }
}

static void fuzz_retry_after(const uint8_t *data, size_t size)
{
        char *value = malloc(size + 1);
        uint64_t ns = UINT64_MAX;
        size_t digits;
        char *end;

        if (!value)
                abort();
        memcpy(value, data, size);
        value[size] = '\0';
        if (otlp_http_retry_after_parse(value, FUZZ_NOW, &ns) == 0) {
                check(ns <= (uint64_t)OTLP_HTTP_MAX_RETRY_AFTER_S * OTEL_NSEC_PER_SEC,
                      "Retry-After over the cap");
                check(ns % OTEL_NSEC_PER_SEC == 0, "Retry-After not whole seconds");
                digits = strspn(value, "0123456789");
                if (digits == size && digits > 0 && digits < 12) {
                        unsigned long long secs = strtoull(value, &end, 10);

                        if (secs > (unsigned long long)OTLP_HTTP_MAX_RETRY_AFTER_S)
                                secs = (unsigned long long)OTLP_HTTP_MAX_RETRY_AFTER_S; /* clamped */
                        check(*end == '\0' && ns == secs * OTEL_NSEC_PER_SEC, "delta-seconds value");
                }
        }
        free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint8_t *copy = malloc(size ? size : 1); /* exactly size bytes: ASan sees a read past the end */

        if (!copy)
                abort();
        memcpy(copy, data, size);
        fuzz_partial(copy, size);
        if (size < 256 && !memchr(copy, '\0', size))
                fuzz_retry_after(copy, size);
        free(copy);
        return 0;
}

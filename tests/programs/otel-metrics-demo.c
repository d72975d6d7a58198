/* SPDX-License-Identifier: Apache-2.0 */
/* Records a known set of measurements through the public API (otel.h) for the metrics integration
 * tests, configured by the OTEL_* environment the test sets:
 *   otel-metrics-demo serve         serves GET /metrics on 127.0.0.1 (port from the kernel), Prometheus
 *                                   text or OpenMetrics by the Accept header; prints "listening <port>"
 *                                   and runs until stdin is closed;
 *   otel-metrics-demo push [ms]     stays up ms milliseconds (default 0) so that the periodic reader
 *                                   may export, then shuts down (final export).
 * Both print one JSON line first: {"before_ns": …, "after_ns": …} around the recording, so that the
 * tests can bound the timestamps. Exit status 0, or 1 on any failure. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "otel.h"

#define DEMO_TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define DEMO_SHUTDOWN_MS 10000
#define DEMO_OM_ACCEPT   "application/openmetrics-text"

static void observe_stock(otel_observer *obs, void *userdata)
{
        otel_attr a = OTEL_ATTR_STR("product", "a"), b = OTEL_ATTR_STR("product", "b");

        (void)userdata;
        otel_observe(obs, 5, &a, 1);
        otel_observe(obs, 7, &b, 1);
}

static void observe_orders(otel_observer *obs, void *userdata)
{
        (void)userdata;
        otel_observe(obs, 42, NULL, 0);
}

static int record_known_set(void)
{
        otel_meter *m = otel_meter_get("oteldemo-metrics-demo", "1.0.0");
        otel_attr get[] = {OTEL_ATTR_STR("http.request.method", "GET"),
                           OTEL_ATTR_I64("http.response.status_code", 200)};
        otel_attr post[] = {OTEL_ATTR_STR("http.request.method", "POST"),
                            OTEL_ATTR_I64("http.response.status_code", 201)};
        otel_attr route = OTEL_ATTR_STR("http.route", "/api/products");
        otel_instrument *requests, *cart, *duration, *cpu;
        otel_context_token tok;
        otel_span_context sc;
        otel_span *remote;

        requests = otel_instrument_new(m, OTEL_INSTRUMENT_COUNTER, "http.server.requests",
                                       &(otel_instrument_opts){.unit = "{request}",
                                                               .integer = true,
                                                               .description = "HTTP requests served"});
        cart = otel_instrument_new(
                m, OTEL_INSTRUMENT_UP_DOWN_COUNTER, "shop.cart.items",
                &(otel_instrument_opts){.unit = "{item}", .description = "Items in carts"});
        duration = otel_instrument_new(
                m, OTEL_INSTRUMENT_HISTOGRAM, "http.server.request.duration",
                &(otel_instrument_opts){.unit = "s", .description = "Duration of HTTP server requests."});
        cpu = otel_instrument_new(m, OTEL_INSTRUMENT_GAUGE, "process.cpu.utilization",
                                  &(otel_instrument_opts){.unit = "1", .description = "CPU utilization"});
        (void)otel_instrument_new(m, OTEL_INSTRUMENT_OBSERVABLE_GAUGE, "shop.stock.level",
                                  &(otel_instrument_opts){.unit = "{item}",
                                                          .description = "Items in stock",
                                                          .integer = true,
                                                          .callback = observe_stock});
        (void)otel_instrument_new(m, OTEL_INSTRUMENT_OBSERVABLE_COUNTER, "shop.orders.created",
                                  &(otel_instrument_opts){.unit = "{order}",
                                                          .description = "Orders created",
                                                          .integer = true,
                                                          .callback = observe_orders});

        for (int i = 0; i < 3; i++)
                otel_instrument_add(requests, 1, get, 2);
        otel_instrument_add(requests, 1, post, 2);
        otel_instrument_add(cart, 4, NULL, 0);
        otel_instrument_add(cart, -1.5, NULL, 0);
        otel_instrument_record(duration, 0.004, &route, 1);
        otel_instrument_record(duration, 0.02, &route, 1);
        /* inside a sampled span: the exemplar of the (0.25, 0.5] bucket */
        if (otel_traceparent_parse(DEMO_TRACEPARENT, strlen(DEMO_TRACEPARENT), &sc) < 0)
                return -1;
        remote = otel_span_wrap_context(&sc, NULL);
        tok = otel_context_attach(remote, NULL);
        otel_instrument_record(duration, 0.3, &route, 1);
        otel_context_detach(tok);
        otel_span_unref(remote);
        otel_instrument_record(duration, 12, &route, 1);
        otel_instrument_record(cpu, 0.25, NULL, 0);
        return 0;
}

static enum MHD_Result demo_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                    const char *version, const char *data, size_t *size, void **ctx)
{
        const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
        bool om = accept && strstr(accept, DEMO_OM_ACCEPT);
        struct MHD_Response *resp;
        enum MHD_Result ret;
        unsigned status = MHD_HTTP_OK;
        char *text = NULL;
        size_t len = 0;

        (void)cls, (void)version, (void)data, (void)size, (void)ctx;
        if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
                status = MHD_HTTP_NOT_FOUND;
                resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        } else if (otel_metrics_render_prometheus(om, &text, &len) < 0) {
                status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        } else {
                resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                        otel_metrics_prometheus_content_type(om));
        }
        if (!resp) {
                free(text);
                return MHD_NO;
        }
        ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static int serve(void)
{
        struct MHD_Daemon *d;
        const union MHD_DaemonInfo *info;
        char buf[64];

        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, demo_handler,
                             NULL, MHD_OPTION_SOCK_ADDR,
                             (const struct sockaddr *)&(struct sockaddr_in){
                                     .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
                             MHD_OPTION_END);
        if (!d) {
                fprintf(stderr, "otel-metrics-demo: cannot start the HTTP server\n");
                return -1;
        }
        info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        printf("listening %u\n", (unsigned)info->port);
        fflush(stdout);
        while (fgets(buf, sizeof(buf), stdin)) /* until the test closes stdin */
                ;
        MHD_stop_daemon(d);
        return 0;
}

int main(int argc, char **argv)
{
        uint64_t before, after;
        int r = 0;

        if (argc < 2 || (strcmp(argv[1], "serve") != 0 && strcmp(argv[1], "push") != 0)) {
                fprintf(stderr, "usage: %s serve | push [linger-ms]\n", argv[0]);
                return 1;
        }
        if (otel_sdk_init(&(otel_sdk_options){.service_name = "metrics-demo", .service_version = "2.0.0"}) <
            0) {
                fprintf(stderr, "otel-metrics-demo: otel_sdk_init failed\n");
                return 1;
        }
        before = otel_time_now_ns();
        if (record_known_set() < 0) {
                fprintf(stderr, "otel-metrics-demo: recording failed\n");
                return 1;
        }
        after = otel_time_now_ns();
        printf("{\"before_ns\":\"%" PRIu64 "\",\"after_ns\":\"%" PRIu64 "\"}\n", before, after);
        fflush(stdout);
        if (strcmp(argv[1], "serve") == 0)
                r = serve();
        else if (argc > 2) {
                char *end;
                long ms = strtol(argv[2], &end, 10);
                struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000};

                if (end == argv[2] || *end || ms < 0) {
                        fprintf(stderr, "otel-metrics-demo: linger-ms must be a whole number >= 0\n");
                        r = -1;
                } else
                        nanosleep(&ts, NULL);
        }
        if (otel_sdk_shutdown(DEMO_SHUTDOWN_MS) < 0) {
                fprintf(stderr, "otel-metrics-demo: shutdown timed out\n");
                r = -1;
        }
        return r < 0 ? 1 : 0;
}

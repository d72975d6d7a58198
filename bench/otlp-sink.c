/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otlp-sink: the benchmark's OTLP/HTTP receiver. Accepts every POST (any path: /v1/traces, /v1/metrics,
 * /v1/logs) with 200 and an empty body, which is a valid Export*ServiceResponse (full success), and
 * decodes nothing, so that it answers as fast as a Collector would and the daemons' exporters, not the
 * sink, set the pace. Listens on 127.0.0.1 on a free port and prints "port=N" on stdout; GET /stats
 * answers "requests=N bytes=N". Runs until SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define SINK_THREADS   2 /* enough to keep up with two daemons' exporters on a 2-core machine */
#define SINK_STATS_MAX 96

static atomic_ullong sink_requests; /* POSTs answered */
static atomic_ullong sink_bytes;    /* body bytes read */

static enum MHD_Result sink_reply(struct MHD_Connection *conn, const char *body, const char *type)
{
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result r;

        if (!resp)
                return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        r = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return r;
}

static enum MHD_Result sink_access(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_size, void **con_cls)
{
        static int begun; /* any non-NULL marker: the first call only announces the request */
        char stats[SINK_STATS_MAX];

        (void)cls;
        (void)url;
        (void)version;
        (void)upload_data; /* counted, not read */
        if (!*con_cls) {
                *con_cls = &begun;
                return MHD_YES;
        }
        if (strcmp(method, "POST") == 0) {
                if (*upload_size) {
                        atomic_fetch_add(&sink_bytes, *upload_size);
                        *upload_size = 0;
                        return MHD_YES;
                }
                atomic_fetch_add(&sink_requests, 1);
                return sink_reply(conn, "", "application/x-protobuf");
        }
        snprintf(stats, sizeof(stats), "requests=%llu bytes=%llu\n", atomic_load(&sink_requests),
                 atomic_load(&sink_bytes));
        return sink_reply(conn, stats, "text/plain");
}

int main(void)
{
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        const union MHD_DaemonInfo *info;
        struct MHD_Daemon *d;
        sigset_t set;
        int sig;

        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, NULL); /* before MHD's threads: only sigwait takes them */
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, sink_access,
                             NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned)SINK_THREADS, MHD_OPTION_END);
        if (!d) {
                fprintf(stderr, "otlp-sink: cannot listen on 127.0.0.1\n");
                return 1;
        }
        info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        if (!info || !info->port) {
                fprintf(stderr, "otlp-sink: cannot tell the port\n");
                MHD_stop_daemon(d);
                return 1;
        }
        printf("port=%u\n", (unsigned)info->port);
        fflush(stdout);
        sigwait(&set, &sig);
        MHD_stop_daemon(d);
        return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The frontend's backend event loop (proxy-loop.c) against real loopback sockets, driven here as an
 * HTTP worker drives it (its epoll set, proxy_loop_event(), proxy_loop_run()): transfers run at once, a
 * kept-alive connection is reused, an abort ends every transfer exactly once (running, waiting for a
 * connection, or submitted afterwards), and events that are not the loop's are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proxy-loop.h"

#define N_CONCURRENT      10
#define SILENT_TIMEOUT_MS 300 /* transfers to the listener that never answers end after this */
#define WAIT_LIMIT_NS     (20ull * 1000 * 1000 * 1000)
#define DRIVE_EVENTS      16

typedef struct result {
        proxy_loop_transfer xfer;
        CURLcode rc;
        bool aborted;
        long status;
        int calls; /* done calls: must end up 1 */
} result;

static int n_done;

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_done(proxy_loop_transfer *t, CURLcode rc, bool aborted)
{
        result *r = t->userdata;

        if (rc == CURLE_OK)
                (void)curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->status);
        r->rc = rc;
        r->aborted = aborted;
        r->calls++;
        n_done++;
}

static size_t discard(char *data, size_t size, size_t nmemb, void *userdata)
{
        (void)data;
        (void)userdata;
        return size * nmemb;
}

/* A listening socket on 127.0.0.1; *ret_port is its port. Connections complete in the kernel's backlog
 * even when nobody accepts them: a backend that never answers. */
static int listen_loopback(int *ret_port)
{
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(sin);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
        assert_int_equal(listen(fd, 64), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
        *ret_port = ntohs(sin.sin_port);
        return fd;
}

static void submit_get(proxy_loop *l, result *r, int port, const char *path, long timeout_ms)
{
        char url[64];

        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        *r = (result){.xfer = {.done = on_done, .userdata = r}};
        r->xfer.easy = proxy_loop_easy(l);
        assert_non_null(r->xfer.easy);
        curl_easy_setopt(r->xfer.easy, CURLOPT_URL, url);
        curl_easy_setopt(r->xfer.easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(r->xfer.easy, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(r->xfer.easy, CURLOPT_WRITEFUNCTION, discard);
        proxy_loop_submit(l, &r->xfer);
}

/* Runs the loop as a worker does until n transfers have ended. */
static void drive(proxy_loop *l, int epoll_fd, int n)
{
        uint64_t deadline = now_ns() + WAIT_LIMIT_NS;
        int wait_ms = proxy_loop_run(l);

        while (n_done < n && now_ns() < deadline) {
                struct epoll_event ev[DRIVE_EVENTS];
                int k = epoll_wait(epoll_fd, ev, DRIVE_EVENTS, wait_ms < 0 || wait_ms > 100 ? 100 : wait_ms);

                for (int i = 0; i < k; i++)
                        assert_true(proxy_loop_event(l, &ev[i]));
                wait_ms = proxy_loop_run(l);
        }
        assert_true(n_done >= n);
}

static int reset(void **state)
{
        (void)state;
        n_done = 0;
        return 0;
}

/* ---- a tiny backend: one connection, two requests answered on it ------------------------------------ */

typedef struct tiny_backend {
        int listen_fd;
        int accepted; /* connections accepted */
} tiny_backend;

static void *tiny_backend_run(void *arg)
{
        static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        tiny_backend *b = arg;
        int fd = accept(b->listen_fd, NULL, NULL);
        char buf[4096];
        size_t have = 0;

        if (fd < 0)
                return NULL;
        b->accepted++;
        for (int answered = 0; answered < 2;) {
                ssize_t n = read(fd, buf + have, sizeof(buf) - have - 1);
                char *end;

                if (n <= 0)
                        break;
                have += (size_t)n;
                buf[have] = '\0';
                end = strstr(buf, "\r\n\r\n");
                if (!end)
                        continue;
                if (write(fd, reply, sizeof(reply) - 1) != (ssize_t)(sizeof(reply) - 1))
                        break;
                answered++;
                have -= (size_t)(end + 4 - buf);
                memmove(buf, end + 4, have);
        }
        close(fd);
        return NULL;
}

static void test_a_kept_alive_connection_is_reused_by_the_next_transfer(void **state)
{
        tiny_backend b = {0};
        pthread_t server;
        proxy_loop *l;
        result r1, r2;
        int port, ep = epoll_create1(EPOLL_CLOEXEC);

        (void)state;
        b.listen_fd = listen_loopback(&port);
        assert_int_equal(pthread_create(&server, NULL, tiny_backend_run, &b), 0);
        assert_int_equal(proxy_loop_new(4, ep, &l), 0);
        submit_get(l, &r1, port, "/one", 5000);
        drive(l, ep, 1);
        submit_get(l, &r2, port, "/two", 5000); /* a second connection would wait in the backlog */
        drive(l, ep, 2);
        assert_int_equal(r1.rc, CURLE_OK);
        assert_int_equal(r2.rc, CURLE_OK);
        assert_int_equal(r1.status, 200);
        assert_int_equal(r2.status, 200);
        assert_false(r1.aborted || r2.aborted);
        proxy_loop_free(l);
        pthread_join(server, NULL);
        assert_int_equal(b.accepted, 1);
        close(b.listen_fd);
        close(ep);
}

static void test_transfers_run_at_once_and_time_out_each_on_its_own(void **state)
{
        result r[N_CONCURRENT];
        proxy_loop *l;
        uint64_t t0, elapsed_ms;
        int port, fd = listen_loopback(&port), ep = epoll_create1(EPOLL_CLOEXEC);

        (void)state;
        assert_int_equal(proxy_loop_new(N_CONCURRENT, ep, &l), 0);
        t0 = now_ns();
        for (int i = 0; i < N_CONCURRENT; i++)
                submit_get(l, &r[i], port, "/silent", SILENT_TIMEOUT_MS);
        drive(l, ep, N_CONCURRENT);
        elapsed_ms = (now_ns() - t0) / 1000000u;
        for (int i = 0; i < N_CONCURRENT; i++) {
                assert_int_equal(r[i].rc, CURLE_OPERATION_TIMEDOUT);
                assert_int_equal(r[i].calls, 1);
                assert_false(r[i].aborted);
        }
        /* One after the other they would take N x the timeout. */
        assert_true(elapsed_ms >= SILENT_TIMEOUT_MS);
        assert_true(elapsed_ms < (uint64_t)N_CONCURRENT * SILENT_TIMEOUT_MS / 2);
        proxy_loop_free(l);
        close(fd);
        close(ep);
}

static void test_abort_ends_running_and_waiting_transfers_once_and_later_submits_at_once(void **state)
{
        result r[3], late;
        proxy_loop *l;
        uint64_t until;
        int port, fd = listen_loopback(&port), ep = epoll_create1(EPOLL_CLOEXEC);

        (void)state;
        assert_int_equal(proxy_loop_new(2, ep, &l), 0); /* the third waits for a connection */
        for (int i = 0; i < 3; i++)
                submit_get(l, &r[i], port, "/silent", 60000);
        /* Connected and sent: now they wait for an answer that never comes. */
        until = now_ns() + 100u * 1000 * 1000;
        while (now_ns() < until) {
                struct epoll_event ev[DRIVE_EVENTS];
                int k = epoll_wait(ep, ev, DRIVE_EVENTS, 10);

                for (int i = 0; i < k; i++)
                        (void)proxy_loop_event(l, &ev[i]);
                (void)proxy_loop_run(l);
        }
        assert_int_equal(n_done, 0);
        proxy_loop_abort(l);
        assert_int_equal(n_done, 3);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(r[i].calls, 1);
                assert_true(r[i].aborted);
                assert_int_equal(r[i].rc, CURLE_ABORTED_BY_CALLBACK);
        }
        submit_get(l, &late, port, "/late", 60000);
        assert_int_equal(late.calls, 1);
        assert_true(late.aborted);
        proxy_loop_abort(l); /* idempotent */
        assert_int_equal(n_done, 4);
        proxy_loop_free(l);
        close(fd);
        close(ep);
}

static void test_an_event_that_is_not_the_loops_is_left_alone(void **state)
{
        static const char tag[] = "not the loop's";
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)tag};
        proxy_loop *l;
        int ep = epoll_create1(EPOLL_CLOEXEC);

        (void)state;
        assert_int_equal(proxy_loop_new(1, ep, &l), 0);
        assert_false(proxy_loop_event(l, &ev));
        assert_int_equal(proxy_loop_run(l), -1); /* nothing to do, no timer */
        proxy_loop_free(l);
        close(ep);
}

static void test_new_refuses_zero_and_too_many_connections(void **state)
{
        proxy_loop *l = NULL;

        (void)state;
        assert_int_equal(proxy_loop_new(0, -1, &l), -EINVAL);
        assert_int_equal(proxy_loop_new(PROXY_LOOP_CONNECTIONS_MAX + 1, -1, &l), -EINVAL);
        assert_null(l);
        proxy_loop_free(NULL);
}

static int setup(void **state)
{
        (void)state;
        return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        curl_global_cleanup();
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_a_kept_alive_connection_is_reused_by_the_next_transfer, reset),
                cmocka_unit_test_setup(test_transfers_run_at_once_and_time_out_each_on_its_own, reset),
                cmocka_unit_test_setup(
                        test_abort_ends_running_and_waiting_transfers_once_and_later_submits_at_once, reset),
                cmocka_unit_test(test_an_event_that_is_not_the_loops_is_left_alone),
                cmocka_unit_test(test_new_refuses_zero_and_too_many_connections),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The frontend's backend event loop (proxy-loop.c) against real loopback sockets: transfers run at once
 * on the loop's thread, a kept-alive connection is reused, and stopping ends every transfer exactly once
 * (queued, running, or submitted afterwards). */
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proxy-loop.h"

#define N_CONCURRENT      10
#define SILENT_TIMEOUT_MS 300 /* transfers to the listener that never answers end after this */
#define WAIT_LIMIT_NS     (20ull * 1000 * 1000 * 1000)

typedef struct result {
        proxy_loop_transfer xfer;
        CURLcode rc;
        bool aborted;
        long status;
        int calls;        /* done calls: must end up 1 */
        pthread_t thread; /* the thread done ran on */
} result;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
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
        pthread_mutex_lock(&lock);
        r->rc = rc;
        r->aborted = aborted;
        r->calls++;
        r->thread = pthread_self();
        n_done++;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
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

static void wait_done(int n)
{
        uint64_t deadline = now_ns() + WAIT_LIMIT_NS;

        pthread_mutex_lock(&lock);
        while (n_done < n && now_ns() < deadline) {
                pthread_mutex_unlock(&lock);
                usleep(1000);
                pthread_mutex_lock(&lock);
        }
        pthread_mutex_unlock(&lock);
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
        int port;

        (void)state;
        b.listen_fd = listen_loopback(&port);
        assert_int_equal(pthread_create(&server, NULL, tiny_backend_run, &b), 0);
        assert_int_equal(proxy_loop_new(4, &l), 0);
        submit_get(l, &r1, port, "/one", 5000);
        wait_done(1);
        submit_get(l, &r2, port, "/two", 5000); /* a second connection would wait in the backlog */
        wait_done(2);
        assert_int_equal(r1.rc, CURLE_OK);
        assert_int_equal(r2.rc, CURLE_OK);
        assert_int_equal(r1.status, 200);
        assert_int_equal(r2.status, 200);
        assert_false(r1.aborted || r2.aborted);
        assert_false(pthread_equal(r1.thread, pthread_self()));
        proxy_loop_free(l);
        pthread_join(server, NULL);
        assert_int_equal(b.accepted, 1);
        close(b.listen_fd);
}

static void test_transfers_run_at_once_and_time_out_each_on_its_own(void **state)
{
        result r[N_CONCURRENT];
        proxy_loop *l;
        uint64_t t0, elapsed_ms;
        int port, fd = listen_loopback(&port);

        (void)state;
        assert_int_equal(proxy_loop_new(N_CONCURRENT, &l), 0);
        t0 = now_ns();
        for (int i = 0; i < N_CONCURRENT; i++)
                submit_get(l, &r[i], port, "/silent", SILENT_TIMEOUT_MS);
        wait_done(N_CONCURRENT);
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
}

static void test_stop_aborts_running_transfers_once_and_later_submits_at_once(void **state)
{
        result r[3], late;
        proxy_loop *l;
        int port, fd = listen_loopback(&port);

        (void)state;
        assert_int_equal(proxy_loop_new(2, &l), 0); /* the third waits for a connection */
        for (int i = 0; i < 3; i++)
                submit_get(l, &r[i], port, "/silent", 60000);
        usleep(100 * 1000);
        proxy_loop_stop(l);
        assert_int_equal(n_done, 3);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(r[i].calls, 1);
                assert_true(r[i].aborted);
                assert_int_equal(r[i].rc, CURLE_ABORTED_BY_CALLBACK);
        }
        submit_get(l, &late, port, "/late", 60000);
        assert_int_equal(late.calls, 1);
        assert_true(late.aborted);
        assert_true(pthread_equal(late.thread, pthread_self()));
        proxy_loop_stop(l); /* idempotent */
        proxy_loop_free(l);
        close(fd);
}

static void test_new_refuses_zero_and_too_many_connections(void **state)
{
        proxy_loop *l = NULL;

        (void)state;
        assert_int_equal(proxy_loop_new(0, &l), -EINVAL);
        assert_int_equal(proxy_loop_new(PROXY_LOOP_CONNECTIONS_MAX + 1, &l), -EINVAL);
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
                cmocka_unit_test_setup(test_stop_aborts_running_transfers_once_and_later_submits_at_once,
                                       reset),
                cmocka_unit_test(test_new_refuses_zero_and_too_many_connections),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}

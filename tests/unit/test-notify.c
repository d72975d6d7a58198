/* SPDX-License-Identifier: Apache-2.0 */
/* notify.c: messages reach a real $NOTIFY_SOCKET, and no send blocks while nobody reads it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "notify.h"

/* More than any net.unix.max_dgram_qlen we meet (the default is 10; 512 on some distributions). */
#define FLOOD 600

static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

/* A datagram socket bound at path (a leading '@' is the abstract namespace), set as $NOTIFY_SOCKET. */
static int manager_socket(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t len = strlen(path);
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_true(len < sizeof(sa.sun_path));
        memcpy(sa.sun_path, path, len);
        if (path[0] == '@')
                sa.sun_path[0] = '\0';
        assert_int_equal(
                bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
                0);
        assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
        return fd;
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void recv_text(int fd, char *buf, size_t size)
{
        ssize_t n = recv(fd, buf, size - 1, MSG_DONTWAIT);

        assert_true(n > 0);
        buf[n] = '\0';
}

static void test_messages_reach_a_path_socket(void **state)
{
        char buf[512];
        int fd;

        (void)state;
        snprintf(sock_path, sizeof(sock_path), "/tmp/test-notify-%ld.sock", (long)getpid());
        (void)unlink(sock_path);
        fd = manager_socket(sock_path);
        if (notify_ready() == 0) {
                close(fd);
                unlink(sock_path);
                skip(); /* built without libsystemd: every call is a no-op */
        }
        recv_text(fd, buf, sizeof(buf));
        assert_string_equal(buf, "READY=1");
        assert_int_equal(notify_status("a\nb"), 1);
        recv_text(fd, buf, sizeof(buf));
        assert_string_equal(buf, "STATUS=a b");
        close(fd);
        unlink(sock_path);
}

static void test_messages_reach_an_abstract_socket(void **state)
{
        char name[64], buf[512];
        int fd;

        (void)state;
        snprintf(name, sizeof(name), "@test-notify-%ld", (long)getpid());
        fd = manager_socket(name);
        if (notify_watchdog() == 0) {
                close(fd);
                skip();
        }
        recv_text(fd, buf, sizeof(buf));
        assert_string_equal(buf, "WATCHDOG=1");
        close(fd);
}

/* The hang this guards against: sd_notify(3)'s sendmsg blocked the main loop on a full queue, so a
 * pending SIGTERM was never taken. */
static void test_nobody_reading_costs_no_more_than_the_bounded_wait(void **state)
{
        double start;
        int fd, dropped = 0;
        char buf[512];

        (void)state;
        snprintf(sock_path, sizeof(sock_path), "/tmp/test-notify-%ld.sock", (long)getpid());
        (void)unlink(sock_path);
        fd = manager_socket(sock_path);
        if (notify_watchdog() == 0) {
                close(fd);
                unlink(sock_path);
                skip();
        }
        start = now_s();
        for (int i = 0; i < FLOOD; i++) {
                int r = notify_watchdog();

                assert_true(r == 1 || r == -EAGAIN);
                dropped += r == -EAGAIN;
                assert_true(notify_status("i=%d", i) == 1 || dropped > 0);
        }
        assert_true(dropped > 0);
        assert_true(now_s() - start < 2.0); /* periodic messages never wait */

        start = now_s();
        assert_int_equal(notify_stopping(), -EAGAIN); /* a state change waits, but boundedly */
        assert_true(now_s() - start >= 0.5 && now_s() - start < 3.0);

        recv_text(fd, buf, sizeof(buf)); /* room for one: the state change gets through */
        assert_int_equal(notify_stopping(), 1);
        close(fd);
        unlink(sock_path);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_messages_reach_a_path_socket),
                cmocka_unit_test(test_messages_reach_an_abstract_socket),
                cmocka_unit_test(test_nobody_reading_costs_no_more_than_the_bounded_wait),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

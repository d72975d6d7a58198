/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The watchdog's liveness check: a real GET /healthz over a new connection to our own listening
 * socket, so that WATCHDOG=1 is only sent while the accept path and a worker thread answer. A hung
 * worker pool, a full connection table or a deadlock in the request path all make it fail.
 */
#include "http-private.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTP_PROBE_REPLY_MAX  512u
#define HTTP_PROBE_STATUS_LEN 13u /* the status line is all we need: "HTTP/1.1 200 " */

static const char http_probe_request[] = "GET /healthz HTTP/1.1\r\n"
                                         "Host: localhost\r\n"
                                         "User-Agent: " HTTP_PROBE_USER_AGENT "\r\n"
                                         "Connection: close\r\n\r\n";

static int64_t http_probe_remaining_ms(uint64_t deadline_ns)
{
        uint64_t now = otel_mono_ns();

        return now >= deadline_ns ? 0 : (int64_t)((deadline_ns - now) / 1000000u);
}

static int http_probe_wait(int fd, short events, uint64_t deadline_ns)
{
        struct pollfd p = {.fd = fd, .events = events};
        int64_t ms = http_probe_remaining_ms(deadline_ns);
        int r;

        if (ms <= 0)
                return -ETIMEDOUT;
        r = poll(&p, 1, (int)ms);
        if (r < 0)
                return -errno;
        return r == 0 ? -ETIMEDOUT : 0;
}

/* The address to connect to: the bound one, with a wildcard replaced by loopback. */
static int http_probe_target(int listen_fd, struct sockaddr_storage *ss, socklen_t *len)
{
        *len = sizeof(*ss);
        if (getsockname(listen_fd, (struct sockaddr *)ss, len) < 0)
                return -errno;
        if (ss->ss_family == AF_INET) {
                struct sockaddr_in *sin = (struct sockaddr_in *)ss;

                if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
                        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        } else if (ss->ss_family == AF_INET6) {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

                if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
                        sin6->sin6_addr = in6addr_loopback;
        }
        return 0;
}

int http_probe_healthz(int listen_fd, const http_tls *tls, unsigned timeout_ms)
{
        struct sockaddr_storage ss;
        uint64_t deadline_ns;
        char reply[HTTP_PROBE_REPLY_MAX + 1];
        size_t sent = 0, got = 0;
        socklen_t len;
        int fd, r;

        r = http_probe_target(listen_fd, &ss, &len);
        if (r < 0)
                return r;
        deadline_ns = otel_mono_ns() + (uint64_t)timeout_ms * 1000000u;

        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
                if (errno != EINPROGRESS) {
                        r = -errno;
                        goto out;
                }
                r = http_probe_wait(fd, POLLOUT, deadline_ns);
                if (r < 0)
                        goto out;
        }
        if (tls) {
                r = http_tls_probe(tls, fd, http_probe_request, sizeof(http_probe_request) - 1, reply,
                                   sizeof(reply), HTTP_PROBE_STATUS_LEN, deadline_ns);
                if (r < 0)
                        goto out;
                got = (size_t)r;
        }
        while (!tls && sent < sizeof(http_probe_request) - 1) {
                ssize_t n = send(fd, http_probe_request + sent, sizeof(http_probe_request) - 1 - sent,
                                 MSG_NOSIGNAL);

                if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                        r = http_probe_wait(fd, POLLOUT, deadline_ns);
                        if (r < 0)
                                goto out;
                        continue;
                }
                if (n < 0) {
                        r = -errno;
                        goto out;
                }
                sent += (size_t)n;
        }
        while (!tls && got < HTTP_PROBE_STATUS_LEN) {
                ssize_t n = recv(fd, reply + got, HTTP_PROBE_REPLY_MAX - got, 0);

                if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                        r = http_probe_wait(fd, POLLIN, deadline_ns);
                        if (r < 0)
                                goto out;
                        continue;
                }
                if (n <= 0) {
                        r = n < 0 ? -errno : -ECONNRESET;
                        goto out;
                }
                got += (size_t)n;
        }
        reply[got] = '\0';
        if (got < HTTP_PROBE_STATUS_LEN) {
                r = -ECONNRESET;
                goto out;
        }
        r = strncmp(reply, "HTTP/1.", 7) == 0 && strncmp(reply + 8, " 200 ", 5) == 0 ? 0 : -EIO;
out:
        close(fd);
        return r;
}

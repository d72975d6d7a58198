/* SPDX-License-Identifier: Apache-2.0 */
/* Bearer-token checks of requests (see http-auth.h). */
#include "http-auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "access-log.h"

#define HTTP_AUTH_CHALLENGE_MAX 128u /* the WWW-Authenticate value */
#define HTTP_AUTH_DETAIL_MAX    512u /* method, path and realm of a rejected request, for the log */

bool http_auth_token_equal(const char *given, const char *expected)
{
        size_t lg = strlen(given), le = strlen(expected);
        unsigned char diff = lg != le;

        /* Every byte of the expected token is looked at whatever the input; given is read only within
         * its own length. */
        for (size_t i = 0; i < le; i++)
                diff |= (unsigned char)(expected[i] ^ (i < lg ? given[i] : 0));
        return diff == 0;
}

int http_auth_require(http_request *req, const char *expected, const char *realm)
{
        static const char scheme[] = "Bearer "; /* RFC 6750 2.1; the scheme is case-insensitive */
        const char *auth = http_request_header(req, "Authorization");
        char challenge[HTTP_AUTH_CHALLENGE_MAX];

        if (!auth || strncasecmp(auth, scheme, sizeof(scheme) - 1) != 0 ||
            auth[sizeof(scheme) - 1] == '\0') {
                snprintf(challenge, sizeof(challenge), "Bearer realm=\"%s\"", realm);
                (void)http_reply_header(req, "WWW-Authenticate", challenge);
                http_reply_error(req, 401, "bearer token required");
                return -EACCES;
        }
        if (!expected || !http_auth_token_equal(auth + sizeof(scheme) - 1, expected)) {
                char detail[HTTP_AUTH_DETAIL_MAX];

                /* Anyone can cause this line: rate-limited like the other rejections. */
                snprintf(detail, sizeof(detail), "%s %s (realm %s)", http_request_method(req),
                         http_request_path(req), realm);
                access_log_limit("Rejected a wrong bearer token", detail);
                http_reply_error(req, 403, "forbidden");
                return -EPERM;
        }
        return 0;
}

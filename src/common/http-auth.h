/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bearer tokens on requests (RFC 6750), for every route that needs one (the backend's /admin and writes,
 * the frontend's optional client token): 401 with WWW-Authenticate when the Authorization header is
 * missing or not "Bearer <token>", 403 when the token is wrong; tokens compared in constant time.
 */
#pragma once

#include <stdbool.h>

#include "http-server.h"

/* true when given equals expected, in a time that depends only on expected's length (never on where
 * the first difference is, nor on given's length). */
bool http_auth_token_equal(const char *given, const char *expected);

/* 0 when req carries "Authorization: Bearer <expected>". Otherwise replies (401 + WWW-Authenticate:
 * Bearer realm="<realm>" for missing or malformed credentials, 403 for a wrong token or when expected
 * is NULL, i.e. nothing can be right) and returns -EACCES (401) or -EPERM (403). The token is never
 * logged. */
int http_auth_require(http_request *req, const char *expected, const char *realm);

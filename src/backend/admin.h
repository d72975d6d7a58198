/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admin.h - the backend's admin endpoint: GET/PUT /admin/faults behind a bearer token (the systemd
 * credential or [admin] token).
 */
#pragma once

#include <stdbool.h>

#include "http-server.h"

void admin_faults_get(http_request *req, void *userdata);
void admin_faults_put(http_request *req, void *userdata);
/* The bearer token: systemd credential first, then [admin] token; *ret NULL when neither exists. */
int admin_token_resolve(const char *credential, const char *config_token, char **ret);
/* Compares without leaking where the first difference is through timing. */
bool admin_token_equal(const char *given, const char *expected);

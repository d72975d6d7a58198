/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admin.h - the backend's admin endpoint: GET/PUT /admin/faults behind a bearer token (the systemd
 * credential, a root-only file or [admin] token).
 */
#pragma once

#include "http-server.h"

void admin_faults_get(http_request *req, void *userdata);
void admin_faults_put(http_request *req, void *userdata);

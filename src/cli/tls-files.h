/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CLI's TLS files (--cacert, --cert, --key), checked once before any request, so that a typo is one
 * usage line naming the file rather than a TLS error from the first connection.
 */
#pragma once

#include "cli.h"

/* src[0..2] say where the CA, certificate and key came from ("--cacert" or "$OTELDEMO_CA_FILE"…), for
 * the message. Returns OTELDEMO_EXIT_OK, or OTELDEMO_EXIT_USAGE after one line on stderr: a certificate
 * without its key (or the reverse), or a file cli_check_pem_file() refuses. */
int cli_tls_files_check(const cli_tls_files *tls, const char *const src[3]);

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The web UI's static files, served from www_dir: Content-Type by extension, ETag/Last-Modified with
 * conditional GETs (304), gzip for clients that accept it (compressed copies cached in memory, bounded)
 * and Cache-Control. Only regular files strictly below www_dir are ever opened: dot segments, encoded
 * separators and symlinks (anywhere in the path) are refused.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "http-server.h"

#define STATIC_FILE_MAX_BYTES  (8u * 1024u * 1024u)  /* larger files are not served (the UI is ~50 KiB) */
#define STATIC_CACHE_MAX_BYTES (16u * 1024u * 1024u) /* all cached copies, plain + gzip */
#define STATIC_PATH_MAX        1024u                 /* longest relative path looked up */

typedef struct static_site static_site;

/* Opens www_dir (which must exist and be a directory). -ENOENT, -ENOTDIR, -EACCES, -ENOMEM. */
int static_site_new(const char *www_dir, static_site **ret) OTEL_WUR;
void static_site_free(static_site *site);
/* The canonical directory served (for log lines). */
const char *static_site_root(const static_site *site);

/* Route handler for GET (and HEAD) of every path; userdata is the static_site. */
void static_site_handle(http_request *req, void *userdata);

/* Exposed for the unit tests. */
/* 0 when path (percent-decoded, starting with '/') names a file below the root; writes the relative
 * path ("index.html" for "/" and for a trailing '/') into ret (STATIC_PATH_MAX bytes). -EINVAL for
 * dot segments, backslashes, '%', control characters; -ENAMETOOLONG. */
int static_path_normalize(const char *path, char *ret) OTEL_WUR;
/* true when the Accept-Encoding value allows gzip (a "gzip" or "*" member whose q is not 0). */
bool static_accepts_gzip(const char *accept_encoding);
/* true when an If-None-Match value matches etag (weak comparison, "*" matches anything). */
bool static_etag_matches(const char *if_none_match, const char *etag);
/* The Content-Type for a file name, by extension; "application/octet-stream" when unknown. */
const char *static_content_type(const char *name);

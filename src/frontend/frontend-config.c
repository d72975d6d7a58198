/* SPDX-License-Identifier: Apache-2.0 */
/* Reads frontend.conf into a frontend_config (see frontend-config.h); every key is checked here so that
 * a bad value stops the start with one clear line. */
#include "frontend-config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char frontend_config_help[] =
        "Configuration (INI; defaults in brackets):\n"
        "  [server]    listen [" FRONTEND_DEFAULT_LISTEN "], www_dir [" FRONTEND_DEFAULT_WWW "],\n"
        "              threads [one per CPU, at least " FRONTEND_THREADS_MIN_TEXT "],\n"
        "              max_connections [8192], max_connections_per_client [256], health_connections [32],\n"
        "              request_head_timeout_s [10], request_body_timeout_s [30],\n"
        "              connection_timeout_s [30], max_body_bytes [1048576], max_header_bytes [16384],\n"
        "              drain_timeout_ms [10000], access_log [true],\n"
        "              tls_cert, tls_key, tls_client_ca (credentials tls-cert, tls-key, tls-client-ca win)\n"
        "  [backend]   url [http://127.0.0.1:8081], timeout_ms [10000], connect_timeout_ms [1000],\n"
        "              max_connections [128], max_in_flight [512],\n"
        "              https only: ca_file, client_cert, client_key (credentials backend-ca,\n"
        "              backend-client-cert, backend-client-key win),\n"
        "              token_credential [" PROXY_TOKEN_CREDENTIAL "], token_file, token (write token)\n"
        "  [auth]      client_token_credential, client_token_file, client_token: when set, /api requests\n"
        "              other than GET and HEAD need \"Authorization: Bearer <it>\" (off by default)\n"
        "  [ui]        jaeger_url (e.g. http://localhost:16686: the footer links each trace there)\n"
        "  [telemetry] service_name [" FRONTEND_SERVICE_NAME "]" TELEMETRY_CONFIG_HELP_KEYS
        "SIGHUP reloads log_level, sampler, sampler_arg and the TLS certificate.\n";

static int frontend_config_ui(config_file *cfg, frontend_config *c)
{
        const char *www, *jaeger;
        size_t len;
        int fd, r;

        if ((r = config_get_string(cfg, "server", "www_dir", FRONTEND_DEFAULT_WWW, &www)) < 0 ||
            (r = config_get_string(cfg, "ui", "jaeger_url", NULL, &jaeger)) < 0)
                return r;
        if (www[0] == '\0')
                return config_reject(cfg, "server", "www_dir", "must not be empty");
        /* What start-up needs of it, so that --check-config does not pass a file start-up rejects. */
        fd = open(www, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return config_reject(cfg, "server", "www_dir", "cannot serve '%s': %s", www,
                                     strerror(errno));
        close(fd);
        if (jaeger && jaeger[0] == '\0')
                jaeger = NULL;
        if (jaeger) {
                /* It becomes a link in every page: only plain web URLs, nothing a browser would run. */
                if (strncasecmp(jaeger, "http://", 7) != 0 && strncasecmp(jaeger, "https://", 8) != 0)
                        return config_reject(cfg, "ui", "jaeger_url",
                                             "expected an http:// or https:// URL, got '%s'", jaeger);
                for (const char *p = jaeger; *p; p++)
                        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' ||
                            *p == '\\')
                                return config_reject(cfg, "ui", "jaeger_url",
                                                     "contains a character not allowed in a URL");
        }
        if ((r = config_strdup(www, &c->www_dir)) < 0 || (r = config_strdup(jaeger, &c->jaeger_url)) < 0)
                return r;
        /* The UI appends "/trace/<id>". */
        len = c->jaeger_url ? strlen(c->jaeger_url) : 0;
        while (len > 0 && c->jaeger_url[len - 1] == '/')
                c->jaeger_url[--len] = '\0';
        return 0;
}

/* No server thread of the frontend waits for the backend (the proxy defers its requests), so one
 * thread per CPU keeps every core busy without context switches to spare; at least
 * FRONTEND_THREADS_MIN, because a /readyz probe does wait for the backend on its thread. Measured on
 * the 2-core machine (GET and POST through the frontend, wrk -c50): 1, 2, 4 and 8 threads gave the
 * same req/s and CPU per request within the machine's noise; 4 and 8 cost ~5 MB more RSS. */
static unsigned frontend_default_threads(void)
{
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        if (n < (long)FRONTEND_THREADS_MIN)
                return FRONTEND_THREADS_MIN;
        return n > (long)HTTP_THREADS_MAX ? HTTP_THREADS_MAX : (unsigned)n;
}

static int frontend_config_read(config_file *cfg, void *userdata)
{
        frontend_config *c = userdata;
        int r;

        if ((r = http_server_config_load(cfg, FRONTEND_DEFAULT_LISTEN, frontend_default_threads(),
                                         &c->server)) < 0 ||
            (r = frontend_config_ui(cfg, c)) < 0 || (r = proxy_config_load(cfg, &c->backend)) < 0 ||
            (r = telemetry_config_load(cfg, FRONTEND_SERVICE_NAME, &c->telemetry)) < 0)
                return r;
        return 0;
}

int frontend_config_load(const char *path, frontend_config *ret, char *ret_error)
{
        frontend_config c = {0};
        int r;

        r = config_read(path, frontend_config_read, &c, ret_error);
        if (r < 0) {
                frontend_config_free(&c);
                return r;
        }
        *ret = c;
        return 0;
}

void frontend_config_free(frontend_config *c)
{
        free(c->www_dir);
        free(c->jaeger_url);
        proxy_config_free(&c->backend);
        telemetry_config_free(&c->telemetry);
        *c = (frontend_config){0};
}

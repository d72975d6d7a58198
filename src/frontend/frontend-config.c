/* SPDX-License-Identifier: Apache-2.0 */
/* Reads frontend.conf into a frontend_config (see frontend-config.h); every key is checked here so that
 * a bad value stops the start with one clear line. */
#include "frontend-config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char frontend_config_help[] =
        "Configuration (INI; defaults in brackets):\n"
        "  [server]    listen [" FRONTEND_DEFAULT_LISTEN "], www_dir [" FRONTEND_DEFAULT_WWW
        "], threads [4],\n"
        "              max_connections [1024], connection_timeout_s [60], max_body_bytes [1048576],\n"
        "              max_header_bytes [32768], drain_timeout_ms [10000]\n"
        "  [backend]   url [http://127.0.0.1:8081], timeout_ms [10000], connect_timeout_ms [1000]\n"
        "  [ui]        jaeger_url (e.g. http://localhost:16686: the footer links each trace there)\n"
        "  [telemetry] service_name [" FRONTEND_SERVICE_NAME "], log_level [info], sampler, sampler_arg\n"
        "              (OTEL_* environment variables win)\n"
        "SIGHUP reloads log_level.\n";

static int frontend_strdup(const char *s, char **ret)
{
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int frontend_config_ui(config_file *cfg, frontend_config *c)
{
        const char *www, *jaeger;
        size_t len;
        int r;

        if ((r = config_get_string(cfg, "server", "www_dir", FRONTEND_DEFAULT_WWW, &www)) < 0 ||
            (r = config_get_string(cfg, "ui", "jaeger_url", NULL, &jaeger)) < 0)
                return r;
        if (www[0] == '\0')
                return config_reject(cfg, "server", "www_dir", "must not be empty");
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
        if ((r = frontend_strdup(www, &c->www_dir)) < 0 || (r = frontend_strdup(jaeger, &c->jaeger_url)) < 0)
                return r;
        /* The UI appends "/trace/<id>". */
        len = c->jaeger_url ? strlen(c->jaeger_url) : 0;
        while (len > 0 && c->jaeger_url[len - 1] == '/')
                c->jaeger_url[--len] = '\0';
        return 0;
}

static int frontend_config_telemetry(config_file *cfg, frontend_config *c)
{
        const char *name, *level, *sampler, *arg;
        int r;

        if ((r = config_get_string(cfg, "telemetry", "service_name", FRONTEND_SERVICE_NAME, &name)) < 0 ||
            (r = config_get_string(cfg, "telemetry", "log_level", "info", &level)) < 0 ||
            (r = config_get_string(cfg, "telemetry", "sampler", NULL, &sampler)) < 0 ||
            (r = config_get_string(cfg, "telemetry", "sampler_arg", NULL, &arg)) < 0)
                return r;
        if (name[0] == '\0')
                return config_reject(cfg, "telemetry", "service_name", "must not be empty");
        if (otel_severity_from_string(level, &c->log_level) < 0)
                return config_reject(cfg, "telemetry", "log_level",
                                     "expected trace, debug, info, warn, error or fatal, got '%s'", level);
        if ((r = frontend_strdup(name, &c->service_name)) < 0 ||
            (r = frontend_strdup(sampler, &c->sampler)) < 0 ||
            (r = frontend_strdup(arg, &c->sampler_arg)) < 0)
                return r;
        return 0;
}

int frontend_config_load(const char *path, frontend_config *ret, char *ret_error)
{
        frontend_config c = {0};
        config_file *cfg = NULL;
        int r;

        r = config_load(path, &cfg, ret_error);
        if (r < 0)
                return r;
        if ((r = http_server_config_load(cfg, FRONTEND_DEFAULT_LISTEN, &c.server)) < 0 ||
            (r = frontend_config_ui(cfg, &c)) < 0 || (r = proxy_config_load(cfg, &c.backend)) < 0 ||
            (r = frontend_config_telemetry(cfg, &c)) < 0 || (r = config_check_unknown(cfg)) < 0) {
                snprintf(ret_error, CONFIG_ERROR_MAX, "%s",
                         r == -ENOMEM ? "out of memory" : config_error(cfg));
                frontend_config_free(&c);
                config_free(cfg);
                return r;
        }
        config_free(cfg);
        *ret = c;
        return 0;
}

void frontend_config_free(frontend_config *c)
{
        free(c->www_dir);
        free(c->jaeger_url);
        free(c->service_name);
        free(c->sampler);
        free(c->sampler_arg);
        *c = (frontend_config){0};
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The [telemetry] section both daemons share: which service name, log level and sampler they start
 * with, how that starts the SDK, and what a SIGHUP reload may change (log level and sampler). The
 * OTEL_* environment set by the operator wins over the file, at start and at every reload.
 */
#pragma once

#include "config-file.h"
#include "otel.h"

/* For a daemon's --help: follows "  [telemetry] service_name [<its default>]". */
#define TELEMETRY_CONFIG_HELP_KEYS                                                                          \
        ", log_level [info], sampler, sampler_arg\n"                                                        \
        "              (OTEL_* environment variables win)\n"

typedef struct telemetry_config {
        char *service_name;      /* service_name (OTEL_SERVICE_NAME wins) */
        otel_severity log_level; /* log_level */
        char *sampler;           /* sampler (OTEL_TRACES_SAMPLER wins), NULL = SDK default */
        char *sampler_arg;       /* sampler_arg (OTEL_TRACES_SAMPLER_ARG wins) */
} telemetry_config;

/* Reads and checks [telemetry]; -EINVAL with config_error(cfg) set, or -ENOMEM. */
int telemetry_config_load(config_file *cfg, const char *default_service_name,
                          telemetry_config *ret) OTEL_WUR;
void telemetry_config_free(telemetry_config *t);

/* The config's sampler as OTEL_* defaults (the environment wins), the log level, otel_sdk_init(). */
int telemetry_start(const telemetry_config *t) OTEL_WUR;
/* SIGHUP: applies fresh's log level, and its sampler when it differs from current's and the
 * environment does not name one; logs what changed. current then holds what is in force. */
void telemetry_reload(telemetry_config *current, telemetry_config *fresh);

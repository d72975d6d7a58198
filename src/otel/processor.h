/* SPDX-License-Identifier: Apache-2.0 */
/* Span processors (SDK spec "SpanProcessor"): the provider hands every ended recording span to each
 * processor. The batch processor queues without blocking and exports on its own thread; the simple
 * processor exports synchronously (console exporter, tests). Deadlines are CLOCK_MONOTONIC ns. */
#pragma once

#include <stdint.h>

#include "batch-worker.h"
#include "exporter.h"
#include "otel.h"

typedef struct otel_span_processor otel_span_processor;

struct otel_span_processor {
        /* Called once per ended recording span; takes its own reference if it keeps the span. Must not
         * block. */
        void (*on_end)(otel_span_processor *p, otel_span *span);
        /* Export everything queued before the call; 0, or -ETIMEDOUT past the deadline. */
        int (*force_flush)(otel_span_processor *p, uint64_t deadline_ns);
        /* Flush, stop threads, free the exporter and the processor. 0, or -ETIMEDOUT. Called once. */
        int (*shutdown)(otel_span_processor *p, uint64_t deadline_ns);
};

/* Spec defaults (Batch Span Processor): queue 2048, batch 512, delay 5000 ms, export timeout 30000 ms. */
#define OTEL_BSP_DEFAULT_MAX_QUEUE_SIZE    2048
#define OTEL_BSP_DEFAULT_MAX_EXPORT_BATCH  512
#define OTEL_BSP_DEFAULT_SCHEDULE_DELAY_MS 5000
#define OTEL_BSP_DEFAULT_EXPORT_TIMEOUT_MS 30000

/* Reads OTEL_BSP_*; invalid values are warned about and replaced by the defaults. */
void otel_batch_config_from_env(otel_batch_config *ret);
/* Takes ownership of exporter (also on failure). */
int otel_batch_processor_new(const otel_batch_config *cfg, otel_span_exporter *exporter,
                             otel_span_processor **ret) OTEL_WUR;
int otel_simple_processor_new(otel_span_exporter *exporter, otel_span_processor **ret) OTEL_WUR;

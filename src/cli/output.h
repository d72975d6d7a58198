/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rendering API replies for people (aligned tables, "key  value" records) or machines (JSON, pretty
 * printed, exactly the fields the API sent).
 */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#define OUTPUT_CELL_MAX 96 /* a longer cell is cut with "…" so a table stays readable */
#define OUTPUT_COLS_MAX 12

typedef enum output_kind {
        OUTPUT_TEXT,  /* the value as the API sent it */
        OUTPUT_MONEY, /* an integer number of cents, shown as 12.34 with the object's "currency" */
        OUTPUT_COUNT, /* the length of an array */
        _OUTPUT_KIND_MAX,
        _OUTPUT_KIND_INVALID = -EINVAL,
} output_kind;

typedef struct output_column {
        const char *key;    /* field of each object */
        const char *header; /* column title */
        output_kind kind;
} output_column;

/* Pretty JSON and a newline. */
void output_json(FILE *f, json_object *obj);
/* One row per object of the array items, under a header line. */
int output_table(FILE *f, json_object *items, const output_column *cols, size_t n_cols);
/* One "header  value" line per column, for a single object. */
int output_record(FILE *f, json_object *obj, const output_column *cols, size_t n_cols);
/* The text of one cell (what output_table prints), for the tests. */
void output_cell(json_object *obj, const output_column *col, char *ret, size_t ret_size);

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Table and record rendering (see output.h). Widths count UTF-8 characters, not bytes, so that names
 * such as "Café" keep their columns aligned.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define OUTPUT_ELLIPSIS "\xe2\x80\xa6" /* U+2026 */

void output_json(FILE *f, json_object *obj)
{
        fputs(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE),
              f);
        fputc('\n', f);
}

static size_t utf8_width(const char *s)
{
        size_t w = 0;

        for (; *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        w++;
        return w;
}

/* Copies s into ret, cut at a character boundary with an ellipsis when longer than the cell cap. */
static void cell_copy(const char *s, char *ret, size_t ret_size)
{
        size_t chars = 0, i = 0, cap = ret_size - sizeof(OUTPUT_ELLIPSIS);

        for (; s[i]; i++) {
                if (((unsigned char)s[i] & 0xc0) != 0x80 && ++chars > OUTPUT_CELL_MAX - 1)
                        break;
                if (i >= cap)
                        break;
                /* Control characters would break the table: show them as '?'. */
                ret[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
        }
        if (s[i]) {
                while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
                        i--;
                memcpy(ret + i, OUTPUT_ELLIPSIS, sizeof(OUTPUT_ELLIPSIS));
                return;
        }
        ret[i] = '\0';
}

void output_cell(json_object *obj, const output_column *col, char *ret, size_t ret_size)
{
        json_object *v = NULL;

        if (!json_object_object_get_ex(obj, col->key, &v) || !v) {
                (void)snprintf(ret, ret_size, "-");
                return;
        }
        switch (col->kind) {
        case OUTPUT_MONEY: {
                json_object *cur = NULL;
                int64_t cents = json_object_get_int64(v);
                const char *sign = cents < 0 ? "-" : "";
                uint64_t abs_cents = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

                (void)json_object_object_get_ex(obj, "currency", &cur);
                (void)snprintf(ret, ret_size, "%s%" PRIu64 ".%02" PRIu64 "%s%s", sign, abs_cents / 100,
                               abs_cents % 100, cur ? " " : "", cur ? json_object_get_string(cur) : "");
                return;
        }
        case OUTPUT_COUNT:
                (void)snprintf(ret, ret_size, "%zu",
                               json_object_is_type(v, json_type_array) ? json_object_array_length(v)
                                                                       : (size_t)0);
                return;
        default:
                cell_copy(json_object_get_string(v), ret, ret_size);
                return;
        }
}

#define OUTPUT_CELL_BYTES (OUTPUT_CELL_MAX * 4 + 1)

static void print_padded(FILE *f, const char *s, size_t width, bool last)
{
        fputs(s, f);
        if (!last)
                for (size_t w = utf8_width(s); w < width + 2; w++)
                        fputc(' ', f);
}

int output_table(FILE *f, json_object *items, const output_column *cols, size_t n_cols)
{
        size_t widths[OUTPUT_COLS_MAX], n;
        char cell[OUTPUT_CELL_BYTES];

        if (!json_object_is_type(items, json_type_array) || n_cols > OUTPUT_COLS_MAX)
                return -EINVAL;
        n = json_object_array_length(items);
        for (size_t c = 0; c < n_cols; c++)
                widths[c] = utf8_width(cols[c].header);
        for (size_t i = 0; i < n; i++)
                for (size_t c = 0; c < n_cols; c++) {
                        size_t w;

                        output_cell(json_object_array_get_idx(items, i), &cols[c], cell, sizeof(cell));
                        w = utf8_width(cell);
                        if (w > widths[c])
                                widths[c] = w;
                }
        for (size_t c = 0; c < n_cols; c++)
                print_padded(f, cols[c].header, widths[c], c + 1 == n_cols);
        fputc('\n', f);
        for (size_t i = 0; i < n; i++) {
                for (size_t c = 0; c < n_cols; c++) {
                        output_cell(json_object_array_get_idx(items, i), &cols[c], cell, sizeof(cell));
                        print_padded(f, cell, widths[c], c + 1 == n_cols);
                }
                fputc('\n', f);
        }
        return 0;
}

int output_record(FILE *f, json_object *obj, const output_column *cols, size_t n_cols)
{
        char cell[OUTPUT_CELL_BYTES];
        size_t width = 0;

        if (!json_object_is_type(obj, json_type_object))
                return -EINVAL;
        for (size_t c = 0; c < n_cols; c++)
                if (utf8_width(cols[c].header) > width)
                        width = utf8_width(cols[c].header);
        for (size_t c = 0; c < n_cols; c++) {
                output_cell(obj, &cols[c], cell, sizeof(cell));
                print_padded(f, cols[c].header, width, false);
                fputs(cell, f);
                fputc('\n', f);
        }
        return 0;
}

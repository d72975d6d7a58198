/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The project's one cleanup idiom: a local that owns a resource is declared with a _cleanup_…_
 * attribute (GCC/Clang __attribute__((cleanup))), so every return path releases it; ownership leaves
 * the scope only through TAKE_PTR(). Chosen over a goto fail/out ladder because the early returns of
 * the query and parsing code then cannot forget a PQclear/release. Destructors accept NULL. A module
 * with its own resource type declares its helper next to that type with DEFINE_CLEANUP_FUNC (the pool:
 * _cleanup_pgresult_, _cleanup_conn_ in db-pool.h), so this header needs no library beyond json-c.
 */
#pragma once

#include <json-c/json.h>
#include <stdlib.h>

#define _cleanup_(fn) __attribute__((cleanup(fn)))

/* Defines static inline void name(type *p) that calls fn(*p) when *p is not NULL. */
#define DEFINE_CLEANUP_FUNC(name, type, fn)                                                                 \
        static inline void name(type *p)                                                                    \
        {                                                                                                   \
                if (*p)                                                                                     \
                        fn(*p);                                                                             \
        }

/* Hands the value of a _cleanup_ pointer to someone else: returns it and leaves NULL behind. */
#define TAKE_PTR(ptr)                                                                                       \
        ({                                                                                                  \
                __typeof__(ptr) _taken = (ptr);                                                             \
                (ptr) = NULL;                                                                               \
                _taken;                                                                                     \
        })

static inline void cleanup_freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(cleanup_freep)

DEFINE_CLEANUP_FUNC(cleanup_json_putp, json_object *, json_object_put)
#define _cleanup_json_ _cleanup_(cleanup_json_putp)

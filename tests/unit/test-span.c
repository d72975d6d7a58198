/* SPDX-License-Identifier: Apache-2.0 */
/* Span lifecycle, recording rules and limits (API/SDK spec "Span", "Span Limits"). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"

static capture *cap;
static otel_tracer *tracer;

static int setup(void **state)
{
        (void)state;
        setenv("OTEL_TRACES_EXPORTER", "none", 1);
        setenv("OTEL_TRACES_SAMPLER", "always_on", 1);
        cap = capture_install();
        tracer = otel_tracer_get("test-span", "1.2.3");
        return 0;
}

static int setup_limits(void **state)
{
        setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2", 1);
        setenv("OTEL_SPAN_EVENT_COUNT_LIMIT", "1", 1);
        setenv("OTEL_SPAN_LINK_COUNT_LIMIT", "1", 1);
        setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4", 1);
        return setup(state);
}

static int teardown(void **state)
{
        (void)state;
        assert_int_equal(otel_sdk_shutdown(1000), 0);
        unsetenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT");
        unsetenv("OTEL_SPAN_EVENT_COUNT_LIMIT");
        unsetenv("OTEL_SPAN_LINK_COUNT_LIMIT");
        unsetenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT");
        unsetenv("OTEL_TRACES_SAMPLER");
        unsetenv("OTEL_SDK_DISABLED");
        return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

static void test_span_start_end_hands_span_to_processor(void **state)
{
        otel_span *s = otel_span_start(tracer, "GET /x", OTEL_SPAN_KIND_SERVER, NULL);

        (void)state;
        assert_true(otel_span_is_recording(s));
        assert_int_equal(cap->n, 0);
        otel_span_end(s);
        assert_int_equal(cap->n, 1);
        assert_string_equal(cap->spans[0]->name, "GET /x");
        assert_int_equal(cap->spans[0]->kind, OTEL_SPAN_KIND_SERVER);
        assert_ptr_equal(cap->spans[0]->tracer, tracer);
        assert_false(cap->spans[0]->has_parent);
        assert_true(cap->spans[0]->end_ns >= cap->spans[0]->start_ns);
        assert_false(all_zero(cap->spans[0]->context.trace_id, OTEL_TRACE_ID_SIZE));
        assert_false(all_zero(cap->spans[0]->context.span_id, OTEL_SPAN_ID_SIZE));
        assert_int_equal(cap->spans[0]->context.trace_flags, OTEL_TRACE_FLAG_SAMPLED);
}

static void test_span_explicit_times_are_kept(void **state)
{
        otel_span *s = otel_span_start(tracer, "t", OTEL_SPAN_KIND_INTERNAL,
                                       &(otel_span_start_opts){.start_time_ns = 1000000000123});

        (void)state;
        otel_span_end_at(s, 1000000000999);
        assert_int_equal(cap->spans[0]->start_ns, 1000000000123);
        assert_int_equal(cap->spans[0]->end_ns, 1000000000999);
}

static void test_span_child_of_current_span_shares_trace_and_links_parent(void **state)
{
        otel_span *parent = otel_span_start(tracer, "parent", OTEL_SPAN_KIND_SERVER, NULL);
        otel_context_token tok = otel_context_attach(parent, NULL);
        otel_span *child = otel_span_start(tracer, "child", OTEL_SPAN_KIND_CLIENT, NULL);

        (void)state;
        assert_ptr_equal(otel_context_span(), parent);
        assert_memory_equal(child->context.trace_id, parent->context.trace_id, OTEL_TRACE_ID_SIZE);
        assert_memory_not_equal(child->context.span_id, parent->context.span_id, OTEL_SPAN_ID_SIZE);
        assert_true(child->has_parent);
        assert_false(child->parent_is_remote);
        assert_memory_equal(child->parent_span_id, parent->context.span_id, OTEL_SPAN_ID_SIZE);
        otel_span_end(child);
        otel_context_detach(tok);
        assert_null(otel_context_span());
        otel_span_end(parent);
        assert_int_equal(cap->n, 2);
}

static void test_span_root_option_ignores_current_span(void **state)
{
        otel_span *parent = otel_span_start(tracer, "parent", OTEL_SPAN_KIND_SERVER, NULL);
        otel_context_token tok = otel_context_attach(parent, NULL);
        otel_span *root = otel_span_start(tracer, "root", OTEL_SPAN_KIND_INTERNAL,
                                          &(otel_span_start_opts){.root = true});

        (void)state;
        assert_false(root->has_parent);
        assert_memory_not_equal(root->context.trace_id, parent->context.trace_id, OTEL_TRACE_ID_SIZE);
        otel_span_end(root);
        otel_context_detach(tok);
        otel_span_end(parent);
}

static void test_span_remote_parent_marks_parent_remote(void **state)
{
        otel_span_context sc = {.trace_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
                                .span_id = {1, 2, 3, 4, 5, 6, 7, 8},
                                .trace_flags = OTEL_TRACE_FLAG_SAMPLED,
                                .is_remote = true};
        otel_span *remote = otel_span_wrap_context(&sc, NULL);
        otel_span *s = otel_span_start(tracer, "server", OTEL_SPAN_KIND_SERVER,
                                       &(otel_span_start_opts){.parent = remote});

        (void)state;
        assert_false(otel_span_is_recording(remote));
        assert_true(s->has_parent);
        assert_true(s->parent_is_remote);
        assert_memory_equal(s->context.trace_id, sc.trace_id, OTEL_TRACE_ID_SIZE);
        assert_memory_equal(s->parent_span_id, sc.span_id, OTEL_SPAN_ID_SIZE);
        assert_false(s->context.is_remote);
        otel_span_end(s);
        otel_span_end(remote);
}

static void test_span_attributes_of_every_type_are_copied(void **state)
{
        char key[] = "mutable.key", val[] = "mutable";
        const char *strs[] = {"a", "b"};
        const int64_t ints[] = {1, -2, 3};
        otel_span *s = otel_span_start(tracer, "attrs", OTEL_SPAN_KIND_INTERNAL, NULL);
        const otel_attr *a;

        (void)state;
        otel_span_set_str(s, key, val);
        otel_span_set_int(s, "i", -42);
        otel_span_set_double(s, "d", 2.5);
        otel_span_set_bool(s, "b", true);
        otel_span_set_attr(s, &OTEL_ATTR_ARRAY("sa", OTEL_ATTR_STRING_ARRAY, strs, 2));
        otel_span_set_attr(s, &OTEL_ATTR_ARRAY("ia", OTEL_ATTR_INT_ARRAY, ints, 3));
        key[0] = 'X';
        val[0] = 'X';
        otel_span_end(s);
        s = cap->spans[0];
        assert_int_equal(s->attrs.n, 6);
        a = otel_attr_list_find(&s->attrs, "mutable.key");
        assert_non_null(a);
        assert_string_equal(a->v.s, "mutable");
        assert_int_equal(otel_attr_list_find(&s->attrs, "i")->v.i, -42);
        assert_true(otel_attr_list_find(&s->attrs, "d")->v.d == 2.5);
        assert_true(otel_attr_list_find(&s->attrs, "b")->v.b);
        a = otel_attr_list_find(&s->attrs, "sa");
        assert_int_equal(a->v.array.n, 2);
        assert_string_equal(((const char *const *)a->v.array.items)[1], "b");
        a = otel_attr_list_find(&s->attrs, "ia");
        assert_int_equal(((const int64_t *)a->v.array.items)[1], -2);
}

static void test_span_setting_a_key_again_replaces_its_value(void **state)
{
        otel_span *s = otel_span_start(tracer, "attrs", OTEL_SPAN_KIND_INTERNAL, NULL);

        (void)state;
        otel_span_set_str(s, "k", "first");
        otel_span_set_int(s, "k", 7);
        otel_span_end(s);
        assert_int_equal(cap->spans[0]->attrs.n, 1);
        assert_int_equal(cap->spans[0]->attrs.items[0].type, OTEL_ATTR_INT);
        assert_int_equal(cap->spans[0]->attrs.items[0].v.i, 7);
}

static void test_span_rejects_empty_attribute_key(void **state)
{
        otel_span *s = otel_span_start(tracer, "attrs", OTEL_SPAN_KIND_INTERNAL, NULL);

        (void)state;
        otel_span_set_str(s, "", "v");
        otel_span_set_str(s, NULL, "v");
        otel_span_set_str(s, "k", NULL);
        otel_span_end(s);
        assert_int_equal(cap->spans[0]->attrs.n, 0);
}

static void test_span_many_attributes_beyond_inline_storage_are_kept(void **state)
{
        otel_span *s = otel_span_start(tracer, "attrs", OTEL_SPAN_KIND_INTERNAL, NULL);
        char key[16];

        (void)state;
        for (int i = 0; i < 100; i++) {
                snprintf(key, sizeof(key), "k%d", i);
                otel_span_set_int(s, key, i);
        }
        otel_span_end(s);
        assert_int_equal(cap->spans[0]->attrs.n, 100);
        assert_int_equal(otel_attr_list_find(&cap->spans[0]->attrs, "k99")->v.i, 99);
        assert_int_equal(cap->spans[0]->attrs.dropped, 0);
}

static void test_span_attribute_count_limit_drops_and_counts(void **state)
{
        otel_span *s = otel_span_start(tracer, "attrs", OTEL_SPAN_KIND_INTERNAL, NULL);

        (void)state;
        otel_span_set_int(s, "a", 1);
        otel_span_set_int(s, "b", 2);
        otel_span_set_int(s, "c", 3);
        otel_span_set_int(s, "a", 10); /* replacing an existing key is not a new attribute */
        otel_span_end(s);
        assert_int_equal(cap->spans[0]->attrs.n, 2);
        assert_int_equal(cap->spans[0]->attrs.dropped, 1);
        assert_int_equal(otel_attr_list_find(&cap->spans[0]->attrs, "a")->v.i, 10);
}

static void test_span_value_length_limit_truncates_on_utf8_boundary(void **state)
{
        otel_span *s = otel_span_start(tracer, "attrs", OTEL_SPAN_KIND_INTERNAL, NULL);

        (void)state;
        otel_span_set_str(s, "ascii", "abcdef");
        otel_span_set_str(s, "utf8", "abc\xc3\xa9"); /* "abcé": 4 bytes would end inside é */
        otel_span_end(s);
        assert_string_equal(otel_attr_list_find(&cap->spans[0]->attrs, "ascii")->v.s, "abcd");
        assert_string_equal(otel_attr_list_find(&cap->spans[0]->attrs, "utf8")->v.s, "abc");
}

static void test_utf8_truncate_never_splits_a_sequence(void **state)
{
        const char *s = "a\xe2\x82\xac"; /* "a€" */

        (void)state;
        assert_int_equal(otel_utf8_truncate(s, 4, 4), 4);
        assert_int_equal(otel_utf8_truncate(s, 4, 3), 1);
        assert_int_equal(otel_utf8_truncate(s, 4, 2), 1);
        assert_int_equal(otel_utf8_truncate(s, 4, 1), 1);
        assert_int_equal(otel_utf8_truncate(s, 4, 0), 0);
}

static void test_span_event_limit_drops_and_counts(void **state)
{
        otel_span *s = otel_span_start(tracer, "ev", OTEL_SPAN_KIND_INTERNAL, NULL);

        (void)state;
        otel_span_add_event(s, "one", NULL, 0);
        otel_span_add_event(s, "two", NULL, 0);
        otel_span_end(s);
        assert_int_equal(cap->spans[0]->n_events, 1);
        assert_int_equal(cap->spans[0]->dropped_events, 1);
        assert_string_equal(cap->spans[0]->events->name, "one");
}

static void test_span_events_keep_order_time_and_attributes(void **state)
{
        otel_attr attrs[] = {OTEL_ATTR_STR("k", "v"), OTEL_ATTR_I64("n", 5)};
        otel_span *s = otel_span_start(tracer, "ev", OTEL_SPAN_KIND_INTERNAL, NULL);
        const otel_event *e;

        (void)state;
        otel_span_add_event_at(s, "first", 1111, attrs, 2);
        otel_span_add_event(s, "second", NULL, 0);
        otel_span_end(s);
        e = cap->spans[0]->events;
        assert_string_equal(e->name, "first");
        assert_int_equal(e->time_ns, 1111);
        assert_int_equal(e->attrs.n, 2);
        assert_string_equal(otel_attr_list_find(&e->attrs, "k")->v.s, "v");
        assert_string_equal(e->next->name, "second");
        assert_true(e->next->time_ns > 1111);
        assert_null(e->next->next);
        assert_ptr_equal(cap->spans[0]->events_tail, e->next);
}

static void test_span_record_exception_adds_exception_event(void **state)
{
        otel_span *s = otel_span_start(tracer, "ex", OTEL_SPAN_KIND_INTERNAL, NULL);
        const otel_event *e;

        (void)state;
        otel_span_record_exception(s, "ECONNREFUSED", "connect() failed", NULL);
        otel_span_end(s);
        e = cap->spans[0]->events;
        assert_string_equal(e->name, "exception");
        assert_int_equal(e->attrs.n, 2);
        assert_string_equal(otel_attr_list_find(&e->attrs, "exception.type")->v.s, "ECONNREFUSED");
        assert_string_equal(otel_attr_list_find(&e->attrs, "exception.message")->v.s, "connect() failed");
}

static void test_span_links_are_recorded_and_invalid_ones_ignored(void **state)
{
        otel_span_context other = {.trace_id = {9}, .span_id = {8}, .trace_flags = 1, .is_remote = true};
        otel_attr la[] = {OTEL_ATTR_STR("link.kind", "batch")};
        otel_link links[] = {{.context = other, .attrs = la, .n_attrs = 1}, {.context = {{0}}}};
        otel_span *s = otel_span_start(tracer, "links", OTEL_SPAN_KIND_CONSUMER,
                                       &(otel_span_start_opts){.links = links, .n_links = 2});

        (void)state;
        otel_span_end(s);
        assert_int_equal(cap->spans[0]->n_links, 1);
        assert_memory_equal(cap->spans[0]->links->context.trace_id, other.trace_id, OTEL_TRACE_ID_SIZE);
        assert_string_equal(otel_attr_list_find(&cap->spans[0]->links->attrs, "link.kind")->v.s, "batch");
}

static void test_span_link_limit_drops_and_counts(void **state)
{
        otel_span_context a = {.trace_id = {1}, .span_id = {1}}, b = {.trace_id = {2}, .span_id = {2}};
        otel_span *s = otel_span_start(tracer, "links", OTEL_SPAN_KIND_INTERNAL, NULL);

        (void)state;
        otel_span_add_link(s, &(otel_link){.context = a});
        otel_span_add_link(s, &(otel_link){.context = b});
        otel_span_end(s);
        assert_int_equal(cap->spans[0]->n_links, 1);
        assert_int_equal(cap->spans[0]->dropped_links, 1);
}

static void test_span_status_ok_is_final_and_description_only_with_error(void **state)
{
        otel_span *s = otel_span_start(tracer, "st", OTEL_SPAN_KIND_INTERNAL, NULL);
        otel_span *t = otel_span_start(tracer, "st2", OTEL_SPAN_KIND_INTERNAL, NULL);

        (void)state;
        otel_span_set_status(s, OTEL_STATUS_OK, "ignored");
        otel_span_set_status(s, OTEL_STATUS_ERROR, "too late");
        otel_span_end(s);
        assert_int_equal(cap->spans[0]->status, OTEL_STATUS_OK);
        assert_null(cap->spans[0]->status_message);

        otel_span_set_status(t, OTEL_STATUS_ERROR, "boom");
        otel_span_set_status(t, OTEL_STATUS_UNSET, NULL);
        otel_span_end(t);
        assert_int_equal(cap->spans[1]->status, OTEL_STATUS_ERROR);
        assert_string_equal(cap->spans[1]->status_message, "boom");
}

static void test_span_changes_after_end_are_ignored(void **state)
{
        otel_span *s = otel_span_start(tracer, "late", OTEL_SPAN_KIND_INTERNAL, NULL);
        otel_span *kept = otel_span_ref(s);

        (void)state;
        otel_span_end(s);
        assert_false(otel_span_is_recording(kept));
        otel_span_set_int(kept, "late", 1);
        otel_span_update_name(kept, "renamed");
        otel_span_end(otel_span_ref(kept)); /* a second end is a no-op for the processor */
        assert_int_equal(cap->n, 1);
        assert_int_equal(kept->attrs.n, 0);
        assert_string_equal(kept->name, "late");
        otel_span_unref(kept);
}

static void test_span_update_name_renames(void **state)
{
        otel_span *s = otel_span_start(tracer, "GET", OTEL_SPAN_KIND_SERVER, NULL);

        (void)state;
        otel_span_update_name(s, "GET /api/users/{id}");
        otel_span_end(s);
        assert_string_equal(cap->spans[0]->name, "GET /api/users/{id}");
}

static void test_unsampled_span_is_not_recorded_but_propagates_ids(void **state)
{
        otel_span_context sc = {.trace_id = {7}, .span_id = {6}, .trace_flags = 0, .is_remote = true};
        otel_span *remote = otel_span_wrap_context(&sc, NULL);
        otel_span *s;

        (void)state;
        /* Default sampler is parentbased_always_on; the setup chose always_on, so use a fresh SDK. */
        assert_int_equal(otel_sdk_shutdown(1000), 0);
        setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on", 1);
        cap = capture_install();
        tracer = otel_tracer_get("test-span", NULL);
        s = otel_span_start(tracer, "child", OTEL_SPAN_KIND_SERVER,
                            &(otel_span_start_opts){.parent = remote});
        assert_false(otel_span_is_recording(s));
        assert_memory_equal(otel_span_get_context(s)->trace_id, sc.trace_id, OTEL_TRACE_ID_SIZE);
        assert_memory_not_equal(otel_span_get_context(s)->span_id, sc.span_id, OTEL_SPAN_ID_SIZE);
        assert_int_equal(otel_span_get_context(s)->trace_flags & OTEL_TRACE_FLAG_SAMPLED, 0);
        otel_span_set_int(s, "ignored", 1);
        otel_span_end(s);
        otel_span_end(remote);
        assert_int_equal(cap->n, 0);
}

static void test_disabled_sdk_returns_nonrecording_spans_with_parent_context(void **state)
{
        otel_span_context sc = {.trace_id = {7}, .span_id = {6}, .trace_flags = 1, .is_remote = true};
        otel_span *remote = otel_span_wrap_context(&sc, NULL);
        otel_tracer *t;
        otel_span *s;

        (void)state;
        assert_int_equal(otel_sdk_shutdown(1000), 0);
        setenv("OTEL_SDK_DISABLED", "true", 1);
        assert_int_equal(otel_sdk_init(NULL), 0);
        assert_false(otel_sdk_enabled());
        t = otel_tracer_get("disabled", NULL);
        s = otel_span_start(t, "x", OTEL_SPAN_KIND_SERVER, &(otel_span_start_opts){.parent = remote});
        assert_false(otel_span_is_recording(s));
        assert_memory_equal(otel_span_get_context(s)->span_id, sc.span_id, OTEL_SPAN_ID_SIZE);
        otel_span_end(s);
        otel_span_end(remote);
        /* teardown shuts down again: a no-op; re-install so that it has something to stop. */
        unsetenv("OTEL_SDK_DISABLED");
        cap = capture_install();
}

static void test_set_sampler_applies_to_spans_started_afterwards(void **state)
{
        otel_span *before = otel_span_start(tracer, "before", OTEL_SPAN_KIND_INTERNAL, NULL);
        otel_span *after;

        (void)state;
        assert_int_equal(otel_sdk_set_sampler("always_off", NULL), 0);
        after = otel_span_start(tracer, "after", OTEL_SPAN_KIND_INTERNAL, NULL);
        assert_true(otel_span_is_recording(before));
        assert_false(otel_span_is_recording(after));
        otel_span_end(after);
        otel_span_end(before);
        assert_int_equal(cap->n, 1);
        assert_string_equal(cap->spans[0]->name, "before");
}

static void test_set_sampler_rejects_bad_values_and_keeps_the_old_one(void **state)
{
        otel_span *s;

        (void)state;
        assert_int_equal(otel_sdk_set_sampler("traceidratio", "2"), -EINVAL);
        assert_int_equal(otel_sdk_set_sampler("nope", NULL), -EINVAL);
        s = otel_span_start(tracer, "still-on", OTEL_SPAN_KIND_INTERNAL, NULL);
        assert_true(otel_span_is_recording(s));
        otel_span_end(s);
}

static void test_tracer_get_returns_same_tracer_per_scope(void **state)
{
        (void)state;
        assert_ptr_equal(otel_tracer_get("test-span", "1.2.3"), tracer);
        assert_ptr_not_equal(otel_tracer_get("test-span", "2.0"), tracer);
        assert_ptr_not_equal(otel_tracer_get("other", "1.2.3"), tracer);
        assert_string_equal(tracer->scope_name, "test-span");
        assert_string_equal(tracer->scope_version, "1.2.3");
}

static void test_trace_stats_count_started_and_ended(void **state)
{
        otel_trace_stats before, after;

        (void)state;
        otel_trace_stats_get(&before);
        otel_span_end(otel_span_start(tracer, "a", OTEL_SPAN_KIND_INTERNAL, NULL));
        otel_span_end(otel_span_start(tracer, "b", OTEL_SPAN_KIND_INTERNAL, NULL));
        otel_trace_stats_get(&after);
        assert_int_equal(after.spans_started - before.spans_started, 2);
        assert_int_equal(after.spans_ended - before.spans_ended, 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_span_start_end_hands_span_to_processor, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_span_explicit_times_are_kept, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_span_child_of_current_span_shares_trace_and_links_parent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_span_root_option_ignores_current_span, setup, teardown),
                cmocka_unit_test_setup_teardown(test_span_remote_parent_marks_parent_remote, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_span_attributes_of_every_type_are_copied, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_span_setting_a_key_again_replaces_its_value, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_span_rejects_empty_attribute_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_span_many_attributes_beyond_inline_storage_are_kept,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_span_attribute_count_limit_drops_and_counts,
                                                setup_limits, teardown),
                cmocka_unit_test_setup_teardown(test_span_value_length_limit_truncates_on_utf8_boundary,
                                                setup_limits, teardown),
                cmocka_unit_test(test_utf8_truncate_never_splits_a_sequence),
                cmocka_unit_test_setup_teardown(test_span_event_limit_drops_and_counts, setup_limits,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_span_events_keep_order_time_and_attributes, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_span_record_exception_adds_exception_event, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_span_links_are_recorded_and_invalid_ones_ignored, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_span_link_limit_drops_and_counts, setup_limits,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_span_status_ok_is_final_and_description_only_with_error,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_span_changes_after_end_are_ignored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_span_update_name_renames, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unsampled_span_is_not_recorded_but_propagates_ids,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_disabled_sdk_returns_nonrecording_spans_with_parent_context, setup, teardown),
                cmocka_unit_test_setup_teardown(test_set_sampler_applies_to_spans_started_afterwards, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_set_sampler_rejects_bad_values_and_keeps_the_old_one,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_tracer_get_returns_same_tracer_per_scope, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_trace_stats_count_started_and_ended, setup, teardown),
        };
        return cmocka_run_group_tests_name("span", tests, NULL, NULL);
}

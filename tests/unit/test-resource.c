/* SPDX-License-Identifier: Apache-2.0 */
/* Resource detection and precedence (SDK spec "Resource", env OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_SERVICE_NAME). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "resource.h"

static const char *res_str(const otel_resource *r, const char *key)
{
        const otel_attr *a = otel_attr_list_find(&r->attrs, key);
        return a && a->type == OTEL_ATTR_STRING ? a->v.s : NULL;
}

static int clean_env(void **state)
{
        (void)state;
        unsetenv("OTEL_SERVICE_NAME");
        unsetenv("OTEL_RESOURCE_ATTRIBUTES");
        return 0;
}

static void test_resource_has_sdk_host_and_process_attributes(void **state)
{
        otel_resource *r;
        char host[256];

        (void)state;
        assert_int_equal(otel_resource_new(NULL, &r), 0);
        assert_string_equal(res_str(r, "telemetry.sdk.language"), "c");
        assert_string_equal(res_str(r, "telemetry.sdk.name"), OTEL_SDK_NAME);
        assert_string_equal(res_str(r, "telemetry.sdk.version"), OTEL_SDK_VERSION);
        assert_string_equal(res_str(r, "os.type"), "linux");
        gethostname(host, sizeof(host));
        assert_string_equal(res_str(r, "host.name"), host);
        assert_int_equal(otel_attr_list_find(&r->attrs, "process.pid")->v.i, getpid());
        assert_int_equal(strlen(res_str(r, "service.instance.id")), 32);
        otel_resource_free(r);
}

static void test_resource_default_service_name_names_the_executable(void **state)
{
        otel_resource *r;

        (void)state;
        assert_int_equal(otel_resource_new(NULL, &r), 0);
        assert_string_equal(otel_resource_service_name(r), "unknown_service:test-resource");
        otel_resource_free(r);
}

static void test_resource_env_service_name_wins_over_everything(void **state)
{
        otel_attr extra[] = {OTEL_ATTR_STR("service.name", "from-attrs")};
        otel_sdk_options o = {
                .service_name = "from-options", .resource_attrs = extra, .n_resource_attrs = 1};
        otel_resource *r;

        (void)state;
        setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource-env", 1);
        setenv("OTEL_SERVICE_NAME", "from-service-env", 1);
        assert_int_equal(otel_resource_new(&o, &r), 0);
        assert_string_equal(otel_resource_service_name(r), "from-service-env");
        otel_resource_free(r);
}

static void test_resource_attributes_env_is_parsed_and_percent_decoded(void **state)
{
        otel_resource *r;

        (void)state;
        setenv("OTEL_RESOURCE_ATTRIBUTES", " deployment.environment = prod , team=a%20b%2Cc,", 1);
        assert_int_equal(otel_resource_new(&(otel_sdk_options){.service_version = "9.9"}, &r), 0);
        assert_string_equal(res_str(r, "deployment.environment"), "prod");
        assert_string_equal(res_str(r, "team"), "a b,c");
        assert_string_equal(res_str(r, "service.version"), "9.9");
        otel_resource_free(r);
}

static void test_resource_attributes_env_invalid_is_ignored_whole(void **state)
{
        otel_resource *r;

        (void)state;
        setenv("OTEL_RESOURCE_ATTRIBUTES", "good=1,bad-member-without-equals", 1);
        assert_int_equal(otel_resource_new(NULL, &r), 0);
        assert_null(res_str(r, "good"));
        otel_resource_free(r);
        setenv("OTEL_RESOURCE_ATTRIBUTES", "k=%zz", 1);
        assert_int_equal(otel_resource_new(NULL, &r), 0);
        assert_null(res_str(r, "k"));
        otel_resource_free(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_resource_has_sdk_host_and_process_attributes, clean_env),
                cmocka_unit_test_setup(test_resource_default_service_name_names_the_executable, clean_env),
                cmocka_unit_test_setup(test_resource_env_service_name_wins_over_everything, clean_env),
                cmocka_unit_test_setup(test_resource_attributes_env_is_parsed_and_percent_decoded,
                                       clean_env),
                cmocka_unit_test_setup(test_resource_attributes_env_invalid_is_ignored_whole, clean_env),
        };
        return cmocka_run_group_tests_name("resource", tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The checks of --cacert, --cert and --key (see tls-files.h). */
#include "tls-files.h"

#include <string.h>

#include "cli-args.h"
#include "usage.h"

/* One TLS file given as src ("--cacert" or the variable it came from): OTELDEMO_EXIT_OK or a usage error
 * that names the file and what is wrong with it. */
static int check_pem_file(const char *src, const char *path, bool private_key)
{
        const char *holds = private_key ? "private key" : "certificate";
        int r;

        r = cli_check_pem_file(path, private_key);
        if (r == -EPERM)
                return cli_usage_error(NULL, "%s %s may be read by others (chmod 600 it)", src, path);
        if (r == -EBADMSG)
                return cli_usage_error(NULL, "%s %s is not a PEM file with a %s", src, path, holds);
        if (r == -EFBIG)
                return cli_usage_error(NULL, "%s %s is larger than %u bytes", src, path, CLI_PEM_FILE_MAX);
        if (r < 0)
                return cli_usage_error(NULL, "cannot read %s %s: %s", src, path, strerror(-r));
        return OTELDEMO_EXIT_OK;
}

int cli_tls_files_check(const cli_tls_files *tls, const char *const src[3])
{
        int code = OTELDEMO_EXIT_OK;

        if (!tls->cert_file != !tls->key_file)
                return cli_usage_error(NULL, "%s needs %s too: a client certificate goes with its key",
                                       tls->cert_file ? src[1] : src[2],
                                       tls->cert_file ? "--key (or $OTELDEMO_KEY_FILE)"
                                                      : "--cert (or $OTELDEMO_CERT_FILE)");
        if (tls->ca_file)
                code = check_pem_file(src[0], tls->ca_file, false);
        if (code == OTELDEMO_EXIT_OK && tls->cert_file)
                code = check_pem_file(src[1], tls->cert_file, false);
        if (code == OTELDEMO_EXIT_OK && tls->key_file)
                code = check_pem_file(src[2], tls->key_file, true);
        return code;
}

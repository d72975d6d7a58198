/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Static files of the web UI. Each request re-checks the file with fstat(), so an upgraded package is
 * served at once; the bytes (and their gzip copy) are cached in memory per file version, within
 * STATIC_CACHE_MAX_BYTES. Paths are opened one component at a time below a directory fd with
 * O_NOFOLLOW, so no symlink and no ".." can lead outside www_dir, whatever the decoded path holds.
 */
#include "static.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "otel.h"

#define STATIC_GZIP_MIN_BYTES 256u /* below this gzip's header eats the gain */
#define STATIC_ETAG_MAX       64u
#define STATIC_HTTP_DATE_MAX  40u
#define STATIC_INDEX          "index.html"

/* HTML is not fingerprinted and names the assets: always revalidate it (cheap with the ETag). Assets
 * may be reused for a while without asking; a new release is picked up within that time at most. */
#define STATIC_CACHE_CONTROL_HTML  "no-cache"
#define STATIC_CACHE_CONTROL_ASSET "public, max-age=600"
/* Defence in depth against XSS: the UI needs nothing but its own origin. */
#define STATIC_CSP                                                                                          \
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "                    \
        "frame-ancestors 'none'; form-action 'self'"

/* One file version and the copies made from it. */
typedef struct static_entry {
        char *rel; /* relative path below the root (the key) */
        dev_t dev; /* identity of the version the copies were made from */
        ino_t ino;
        off_t size;
        struct timespec mtime;
        char etag[STATIC_ETAG_MAX];    /* strong ETag of the identity encoding, quoted */
        char etag_gz[STATIC_ETAG_MAX]; /* of the gzip encoding */
        char last_modified[STATIC_HTTP_DATE_MAX];
        char *data; /* the file's bytes */
        size_t len;
        char *gz; /* gzip copy, NULL when not made (yet) or not smaller */
        size_t gz_len;
        bool gz_tried; /* compression was attempted for this version */
        bool cached;   /* in the site's list (else owned by one request) */
        struct static_entry *next;
} static_entry;

struct static_site {
        int root_fd;          /* O_PATH directory fd of www_dir */
        char *root;           /* canonical path of www_dir */
        pthread_mutex_t lock; /* protects entries and cached_bytes */
        static_entry *entries;
        size_t cached_bytes; /* data + gz of all cached entries */
};

static const struct {
        const char *ext;
        const char *type;
} static_types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"map", "application/json"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"ico", "image/x-icon"},
        {"txt", "text/plain; charset=utf-8"},
        {"woff2", "font/woff2"},
        {"webmanifest", "application/manifest+json"},
};

const char *static_content_type(const char *name)
{
        const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');

        if (dot && (!slash || dot > slash))
                for (size_t i = 0; i < sizeof(static_types) / sizeof(static_types[0]); i++)
                        if (strcasecmp(dot + 1, static_types[i].ext) == 0)
                                return static_types[i].type;
        return "application/octet-stream";
}

static bool static_compressible(const char *type)
{
        return strncmp(type, "text/", 5) == 0 || strstr(type, "json") || strstr(type, "svg") ||
               strstr(type, "xml");
}

int static_path_normalize(const char *path, char *ret)
{
        const char *seg;
        size_t len;

        if (path[0] != '/')
                return -EINVAL;
        path++;
        len = strlen(path);
        if (len + sizeof(STATIC_INDEX) > STATIC_PATH_MAX)
                return -ENAMETOOLONG;
        /* '%' after decoding means double encoding ("%252e%252e"): nothing of ours is named so. */
        for (const char *p = path; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '%')
                        return -EINVAL;
        for (seg = path; *seg;) {
                const char *end = strchrnul(seg, '/');
                size_t n = (size_t)(end - seg);

                if (n == 0 && *end == '/')
                        return -EINVAL; /* "//": an empty segment */
                if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                        return -EINVAL;
                if (n > 0 && seg[0] == '.')
                        return -ENOENT; /* hidden files (.git, .htaccess) are never part of the site */
                seg = *end ? end + 1 : end;
        }
        memcpy(ret, path, len + 1);
        if (len == 0 || path[len - 1] == '/')
                memcpy(ret + len, STATIC_INDEX, sizeof(STATIC_INDEX));
        return 0;
}

/* Opens rel below dir_fd one component at a time, refusing symlinks anywhere (O_NOFOLLOW on each). */
static int static_open_beneath(int dir_fd, const char *rel)
{
        char buf[STATIC_PATH_MAX];
        char *comp, *slash;
        int fd = dir_fd;

        if (strlen(rel) >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, rel, strlen(rel) + 1);
        for (comp = buf; (slash = strchr(comp, '/')); comp = slash + 1) {
                int next;

                *slash = '\0';
                next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd != dir_fd)
                        close(fd);
                if (next < 0)
                        return -errno;
                fd = next;
        }
        {
                int file = openat(fd, comp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
                int r = file < 0 ? -errno : file;

                if (fd != dir_fd)
                        close(fd);
                return r;
        }
}

bool static_accepts_gzip(const char *accept_encoding)
{
        double gzip_q = -1, star_q = -1;
        const char *p = accept_encoding;

        if (!p)
                return false;
        while (*p) {
                const char *end = strchrnul(p, ','), *tok, *semi;
                size_t tlen;
                double q = 1.0;

                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                tok = p;
                semi = memchr(p, ';', (size_t)(end - p));
                tlen = (size_t)((semi ? semi : end) - tok);
                while (tlen > 0 && (tok[tlen - 1] == ' ' || tok[tlen - 1] == '\t'))
                        tlen--;
                if (semi) {
                        const char *qp = semi + 1;

                        while (qp < end && (*qp == ' ' || *qp == '\t'))
                                qp++;
                        if (end - qp >= 2 && (qp[0] == 'q' || qp[0] == 'Q') && qp[1] == '=') {
                                char num[8] = {0}, *qend;
                                size_t nlen = (size_t)(end - qp - 2);

                                memcpy(num, qp + 2, nlen < sizeof(num) - 1 ? nlen : sizeof(num) - 1);
                                q = strtod(num, &qend);
                                while (*qend == ' ' || *qend == '\t')
                                        qend++;
                                if (qend == num || *qend) /* not a qvalue: not acceptable */
                                        q = 0;
                        }
                }
                if ((tlen == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
                    (tlen == 6 && strncasecmp(tok, "x-gzip", 6) == 0))
                        gzip_q = q;
                else if (tlen == 1 && tok[0] == '*')
                        star_q = q;
                p = *end ? end + 1 : end;
        }
        /* An explicit "gzip;q=0" wins over "*". */
        return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}

bool static_etag_matches(const char *if_none_match, const char *etag)
{
        const char *p = if_none_match;
        size_t elen = strlen(etag);

        while (*p) {
                const char *close;

                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (*p == '*')
                        return true;
                if (p[0] == 'W' && p[1] == '/')
                        p += 2; /* weak comparison (RFC 9110 13.1.2) */
                if (*p != '"')
                        return false;
                close = strchr(p + 1, '"');
                if (!close)
                        return false;
                if ((size_t)(close + 1 - p) == elen && memcmp(p, etag, elen) == 0)
                        return true;
                p = close + 1;
        }
        return false;
}

static void static_entry_free(static_entry *e)
{
        if (!e)
                return;
        free(e->rel);
        free(e->data);
        free(e->gz);
        free(e);
}

static bool static_entry_current(const static_entry *e, const struct stat *st)
{
        return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
               e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Reads a version of the file into a new entry. */
static int static_entry_load(int fd, const struct stat *st, const char *rel, static_entry **ret)
{
        static_entry *e = calloc(1, sizeof(*e));
        size_t have = 0, want = (size_t)st->st_size;
        struct tm tm;

        if (!e)
                return -ENOMEM;
        e->rel = strdup(rel);
        e->data = malloc(want ? want : 1);
        if (!e->rel || !e->data) {
                static_entry_free(e);
                return -ENOMEM;
        }
        while (have < want) {
                ssize_t n = read(fd, e->data + have, want - have);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = errno > 0 ? -errno : -EIO; /* never 0: the caller reads *ret on 0 */

                        static_entry_free(e);
                        return r;
                }
                if (n == 0)
                        break; /* truncated while we read: serve what is there */
                have += (size_t)n;
        }
        e->len = have;
        e->dev = st->st_dev;
        e->ino = st->st_ino;
        e->size = st->st_size;
        e->mtime = st->st_mtim;
        snprintf(e->etag, sizeof(e->etag), "\"%llx-%llx%09lx\"", (unsigned long long)st->st_size,
                 (unsigned long long)st->st_mtim.tv_sec, (unsigned long)st->st_mtim.tv_nsec);
        snprintf(e->etag_gz, sizeof(e->etag_gz), "\"%llx-%llx%09lx-gz\"", (unsigned long long)st->st_size,
                 (unsigned long long)st->st_mtim.tv_sec, (unsigned long)st->st_mtim.tv_nsec);
        if (gmtime_r(&st->st_mtim.tv_sec, &tm))
                strftime(e->last_modified, sizeof(e->last_modified), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        *ret = e;
        return 0;
}

/* gzip (RFC 1952) copy of data; kept only when it is smaller. */
static void static_entry_compress(static_entry *e)
{
        z_stream zs = {0};
        uLong bound;
        char *out;

        e->gz_tried = true;
        if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return;
        bound = deflateBound(&zs, (uLong)e->len);
        out = malloc(bound);
        if (!out) {
                deflateEnd(&zs);
                return;
        }
        zs.next_in = (Bytef *)e->data;
        zs.avail_in = (uInt)e->len;
        zs.next_out = (Bytef *)out;
        zs.avail_out = (uInt)bound;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END || zs.total_out >= e->len) {
                deflateEnd(&zs);
                free(out);
                return;
        }
        e->gz = out;
        e->gz_len = zs.total_out;
        deflateEnd(&zs);
}

int static_site_new(const char *www_dir, static_site **ret)
{
        static_site *site;
        struct stat st;
        int r;

        site = calloc(1, sizeof(*site));
        if (!site)
                return -ENOMEM;
        site->root_fd = -1;
        site->root = realpath(www_dir, NULL);
        if (!site->root) {
                r = -errno;
                goto fail;
        }
        site->root_fd = open(site->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (site->root_fd < 0 || fstat(site->root_fd, &st) < 0) {
                r = -errno;
                goto fail;
        }
        r = -pthread_mutex_init(&site->lock, NULL);
        if (r < 0)
                goto fail;
        *ret = site;
        return 0;
fail:
        if (site->root_fd >= 0)
                close(site->root_fd);
        free(site->root);
        free(site);
        return r;
}

void static_site_free(static_site *site)
{
        if (!site)
                return;
        while (site->entries) {
                static_entry *e = site->entries;

                site->entries = e->next;
                static_entry_free(e);
        }
        pthread_mutex_destroy(&site->lock);
        close(site->root_fd);
        free(site->root);
        free(site);
}

const char *static_site_root(const static_site *site)
{
        return site->root;
}

static size_t static_entry_bytes(const static_entry *e)
{
        return e->len + e->gz_len;
}

/* Under the lock: the cached entry for this version of rel, loading (and caching, space permitting)
 * it when needed. A returned entry with !cached belongs to the caller. */
static int static_site_get(static_site *site, const char *rel, int fd, const struct stat *st,
                           static_entry **ret)
{
        static_entry **pp, *e, *fresh;
        int r;

        for (pp = &site->entries; (e = *pp); pp = &e->next)
                if (strcmp(e->rel, rel) == 0)
                        break;
        if (e && static_entry_current(e, st)) {
                *ret = e;
                return 0;
        }
        if (e) {
                /* A new version replaced the file: forget the old copies. */
                *pp = e->next;
                site->cached_bytes -= static_entry_bytes(e);
                static_entry_free(e);
        }
        r = static_entry_load(fd, st, rel, &fresh);
        if (r < 0)
                return r;
        if (site->cached_bytes + fresh->len <= STATIC_CACHE_MAX_BYTES) {
                fresh->cached = true;
                fresh->next = site->entries;
                site->entries = fresh;
                site->cached_bytes += fresh->len;
        }
        *ret = fresh;
        return 0;
}

/* If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2). */
static bool static_not_modified(http_request *req, const static_entry *e, const char *etag)
{
        const char *inm = http_request_header(req, "If-None-Match");
        const char *ims = http_request_header(req, "If-Modified-Since");
        struct tm tm = {0};
        const char *end;

        if (inm)
                return static_etag_matches(inm, etag);
        if (!ims)
                return false;
        end = strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        if (!end || *end != '\0')
                return false;
        return e->mtime.tv_sec <= timegm(&tm);
}

static void static_reply_entry(http_request *req, static_site *site, static_entry *e, const char *type)
{
        bool compressible = static_compressible(type), use_gz = false;
        const char *etag = e->etag;

        if (compressible && e->len >= STATIC_GZIP_MIN_BYTES &&
            static_accepts_gzip(http_request_header(req, "Accept-Encoding"))) {
                if (!e->gz_tried) {
                        static_entry_compress(e);
                        if (e->cached && e->gz) {
                                if (site->cached_bytes + e->gz_len <= STATIC_CACHE_MAX_BYTES) {
                                        site->cached_bytes += e->gz_len;
                                } else {
                                        /* No room to keep it: compress again next time rather than grow. */
                                        free(e->gz);
                                        e->gz = NULL;
                                        e->gz_len = 0;
                                        e->gz_tried = false;
                                        use_gz = false;
                                }
                        }
                }
                use_gz = e->gz != NULL;
        }
        if (use_gz)
                etag = e->etag_gz;

        (void)http_reply_header(req, "ETag", etag);
        if (e->last_modified[0])
                (void)http_reply_header(req, "Last-Modified", e->last_modified);
        (void)http_reply_header(req, "Cache-Control",
                                strncmp(type, "text/html", 9) == 0 ? STATIC_CACHE_CONTROL_HTML
                                                                   : STATIC_CACHE_CONTROL_ASSET);
        if (compressible)
                (void)http_reply_header(req, "Vary", "Accept-Encoding");
        (void)http_reply_header(req, "X-Content-Type-Options", "nosniff");
        if (strncmp(type, "text/html", 9) == 0)
                (void)http_reply_header(req, "Content-Security-Policy", STATIC_CSP);

        if (static_not_modified(req, e, etag)) {
                (void)http_reply(req, 304, NULL, "", 0);
                return;
        }
        if (use_gz) {
                (void)http_reply_header(req, "Content-Encoding", "gzip");
                (void)http_reply(req, 200, type, e->gz, e->gz_len);
        } else {
                (void)http_reply(req, 200, type, e->data, e->len);
        }
}

void static_site_handle(http_request *req, void *userdata)
{
        static_site *site = userdata;
        char rel[STATIC_PATH_MAX];
        const char *type;
        static_entry *e;
        struct stat st;
        int fd, r;

        r = static_path_normalize(http_request_path(req), rel);
        if (r == -EINVAL) {
                (void)http_reply_error(req, 400, "invalid path");
                return;
        }
        if (r < 0) {
                (void)http_reply_error(req, 404, "not found");
                return;
        }
        fd = static_open_beneath(site->root_fd, rel);
        if (fd < 0) {
                /* ENOENT, and ELOOP/ENOTDIR for symlinks: the same answer, nothing to learn from it. */
                (void)http_reply_error(req, 404, "not found");
                return;
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                (void)http_reply_error(req, 404, "not found");
                return;
        }
        if ((uint64_t)st.st_size > STATIC_FILE_MAX_BYTES) {
                close(fd);
                otel_log(OTEL_SEVERITY_WARN, "Not serving %s/%s: %lld bytes is over the limit of %u",
                         site->root, rel, (long long)st.st_size, STATIC_FILE_MAX_BYTES);
                (void)http_reply_error(req, 404, "not found");
                return;
        }
        type = static_content_type(rel);

        pthread_mutex_lock(&site->lock);
        r = static_site_get(site, rel, fd, &st, &e);
        if (r >= 0) {
                static_reply_entry(req, site, e, type);
                if (!e->cached)
                        static_entry_free(e);
        }
        pthread_mutex_unlock(&site->lock);
        close(fd);
        if (r < 0) {
                otel_log_errno(OTEL_SEVERITY_ERROR, r, "Failed to read %s/%s", site->root, rel);
                (void)http_reply_error(req, 500, "could not read the file");
        }
}

/*
 * pixrpc: transport, framing and call plumbing of the PixEcom RPC protocol over OpenSSL.
 * See pixrpc.h.
 *
 * The socket is non-blocking; every TLS operation that would block waits with poll() against a
 * deadline, so nothing here can hang longer than the caller allows.
 */
#define _POSIX_C_SOURCE 200809L

#include "pixrpc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct pixrpc_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int64_t io_timeout_ms;
    bool verbose;
    /* The TLS session is usable (handshake done, no fatal error since): close_notify may be sent. */
    bool tls_usable;
    uint64_t next_call_id;
    /* The server sent GoAway: no new calls on this connection. */
    bool draining;
    uint64_t last_call_id;
    /* We sent GoAway (acknowledgement or closing): no Request may follow it. */
    bool sent_go_away;
    /* Call named by the last refused frame (0: none). */
    uint64_t refused_call_id;
};

/* ---- Errors and clocks ------------------------------------------------------------------------ */

static char error_text[2048];

const char *pixrpc_error(void) { return error_text; }

__attribute__((format(printf, 1, 2))) static void set_error(const char *format, ...) {
    va_list args;
    va_start(args, format);
    int written = vsnprintf(error_text, sizeof error_text, format, args);
    va_end(args);
    if (written < 0) {
        snprintf(error_text, sizeof error_text, "(error message could not be formatted)");
    }
}

/* Appends the queued OpenSSL errors to the current message and clears the queue. */
static void append_openssl_errors(void) {
    unsigned long code;
    while ((code = ERR_get_error()) != 0) {
        size_t used = strlen(error_text);
        if (used + 4 >= sizeof error_text) {
            continue; /* keep draining the queue */
        }
        char reason[256];
        ERR_error_string_n(code, reason, sizeof reason);
        snprintf(error_text + used, sizeof error_text - used, " [%s]", reason);
    }
}

static int64_t monotonic_ns(void) {
    struct timespec now;
    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
        /* Cannot happen on Linux; without a clock no deadline can be honoured. */
        perror("pixrpc: clock_gettime(CLOCK_MONOTONIC)");
        abort();
    }
    return (int64_t)now.tv_sec * 1000000000 + (int64_t)now.tv_nsec;
}

int64_t pixrpc_now_ms(void) { return monotonic_ns() / 1000000; }
int64_t pixrpc_now_us(void) { return monotonic_ns() / 1000; }

#define VLOG(conn, ...)                                                                            \
    do {                                                                                           \
        if ((conn)->verbose) {                                                                     \
            fprintf(stderr, "pixrpc: " __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* ---- Waiting ---------------------------------------------------------------------------------- */

/* Waits until `fd` is ready for `events` or `deadline_ms` passes. */
static pixrpc_result wait_fd(int fd, short events, int64_t deadline_ms) {
    for (;;) {
        int64_t left = deadline_ms - pixrpc_now_ms();
        if (left <= 0) {
            return PIXRPC_TIMEOUT;
        }
        struct pollfd pfd = {.fd = fd, .events = events, .revents = 0};
        int ready = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (ready > 0) {
            return PIXRPC_OK; /* readiness, or POLLERR/POLLHUP that the next call will report */
        }
        if (ready < 0 && errno != EINTR) {
            set_error("poll: %s", strerror(errno));
            return PIXRPC_ERROR;
        }
    }
}

/* Turns a failed TLS operation into a result and message. `saved_errno` is errno right after it. */
static pixrpc_result tls_failure(pixrpc_conn *conn, const char *operation, int ssl_error, int saved_errno) {
    unsigned long first = ERR_peek_error();
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
        set_error("%s: the server closed the connection", operation);
        ERR_clear_error();
        return PIXRPC_EOF; /* a clean TLS close; the session may still send close_notify */
    }
    conn->tls_usable = false;
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
    if (ssl_error == SSL_ERROR_SSL && ERR_GET_LIB(first) == ERR_LIB_SSL &&
        ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        set_error("%s: the server closed the connection (without TLS close_notify)", operation);
        ERR_clear_error();
        return PIXRPC_EOF;
    }
#endif
    if (ssl_error == SSL_ERROR_SYSCALL && first == 0) {
        if (saved_errno == 0) {
            set_error("%s: the server closed the connection", operation);
            return PIXRPC_EOF;
        }
        set_error("%s: %s", operation, strerror(saved_errno));
        return PIXRPC_ERROR;
    }
    int reason = ERR_GET_REASON(first);
    if (ssl_error == SSL_ERROR_SSL && ERR_GET_LIB(first) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET &&
        reason < SSL_AD_REASON_OFFSET + 256) {
        /* With TLS 1.3 the server checks the client certificate after the client's handshake is
         * done, so its refusal arrives here, as an alert, on the first read. */
        set_error("%s: the server ended the TLS session with alert \"%s\"%s", operation,
                  SSL_alert_desc_string_long(reason - SSL_AD_REASON_OFFSET),
                  strcmp(operation, "reading") == 0 ? " (was the client certificate refused?)" : "");
    } else {
        set_error("%s: TLS error", operation);
    }
    append_openssl_errors();
    return PIXRPC_ERROR;
}

/* ---- Reading and writing ---------------------------------------------------------------------- */

/* Reads exactly `length` bytes. With `frame_start`, waiting for the first byte ends at
 * `first_deadline_ms` with PIXRPC_TIMEOUT (nothing consumed) and a close before the first byte is
 * PIXRPC_EOF; any other stall longer than the I/O timeout, or a close, is an error. */
static pixrpc_result read_exact(pixrpc_conn *conn, uint8_t *buffer, size_t length, bool frame_start,
                                int64_t first_deadline_ms) {
    size_t done = 0;
    int64_t deadline = frame_start ? first_deadline_ms : pixrpc_now_ms() + conn->io_timeout_ms;
    while (done < length) {
        size_t count = 0;
        ERR_clear_error();
        errno = 0;
        int ok = SSL_read_ex(conn->ssl, buffer + done, length - done, &count);
        int saved_errno = errno;
        if (ok == 1) {
            done += count;
            deadline = pixrpc_now_ms() + conn->io_timeout_ms;
            continue;
        }
        int ssl_error = SSL_get_error(conn->ssl, ok);
        if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
            pixrpc_result waited = wait_fd(conn->fd, ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline);
            if (waited == PIXRPC_TIMEOUT) {
                if (frame_start && done == 0) {
                    set_error("no frame arrived before the deadline");
                    return PIXRPC_TIMEOUT;
                }
                set_error("reading: nothing arrived for %lld ms in the middle of a frame",
                          (long long)conn->io_timeout_ms);
                return PIXRPC_ERROR;
            }
            if (waited != PIXRPC_OK) {
                return waited;
            }
            continue;
        }
        pixrpc_result failure = tls_failure(conn, "reading", ssl_error, saved_errno);
        if (failure == PIXRPC_EOF && !(frame_start && done == 0)) {
            set_error("reading: the server closed the connection in the middle of a frame (%zu of %zu bytes)",
                      done, length);
            return PIXRPC_ERROR;
        }
        return failure;
    }
    return PIXRPC_OK;
}

static pixrpc_result write_all(pixrpc_conn *conn, const uint8_t *buffer, size_t length) {
    size_t done = 0;
    int64_t deadline = pixrpc_now_ms() + conn->io_timeout_ms;
    while (done < length) {
        size_t count = 0;
        ERR_clear_error();
        errno = 0;
        /* After WANT_READ/WANT_WRITE the retry passes the same buffer and length, as OpenSSL
         * requires. */
        int ok = SSL_write_ex(conn->ssl, buffer + done, length - done, &count);
        int saved_errno = errno;
        if (ok == 1) {
            done += count;
            deadline = pixrpc_now_ms() + conn->io_timeout_ms;
            continue;
        }
        int ssl_error = SSL_get_error(conn->ssl, ok);
        if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
            pixrpc_result waited = wait_fd(conn->fd, ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline);
            if (waited == PIXRPC_TIMEOUT) {
                set_error("writing: the server accepted no data for %lld ms", (long long)conn->io_timeout_ms);
                return PIXRPC_ERROR;
            }
            if (waited != PIXRPC_OK) {
                return waited;
            }
            continue;
        }
        tls_failure(conn, "writing", ssl_error, saved_errno);
        return PIXRPC_ERROR;
    }
    return PIXRPC_OK;
}

static const char *kind_name(Pixecom__Rpc__V1__Frame__KindCase kind) {
    switch (kind) {
    case PIXECOM__RPC__V1__FRAME__KIND_REQUEST: return "request";
    case PIXECOM__RPC__V1__FRAME__KIND_RESPONSE: return "response";
    case PIXECOM__RPC__V1__FRAME__KIND_CANCEL: return "cancel";
    case PIXECOM__RPC__V1__FRAME__KIND_GO_AWAY: return "go_away";
    case PIXECOM__RPC__V1__FRAME__KIND_PING: return "ping";
    case PIXECOM__RPC__V1__FRAME__KIND_PONG: return "pong";
    case PIXECOM__RPC__V1__FRAME__KIND_WINDOW_UPDATE: return "window_update";
    case PIXECOM__RPC__V1__FRAME__KIND__NOT_SET: return "unknown kind";
    default: return "unknown kind";
    }
}

pixrpc_result pixrpc_send_frame(pixrpc_conn *conn, const Pixecom__Rpc__V1__Frame *frame) {
    size_t size = pixecom__rpc__v1__frame__get_packed_size(frame);
    if (size > PIXRPC_MAX_FRAME_SIZE) {
        set_error("a %s frame of %zu bytes exceeds the maximum frame size of %u bytes", kind_name(frame->kind_case),
                  size, PIXRPC_MAX_FRAME_SIZE);
        return PIXRPC_ERROR;
    }
    uint8_t *buffer = malloc(4 + size);
    if (buffer == NULL) {
        set_error("out of memory for a frame of %zu bytes", size);
        return PIXRPC_ERROR;
    }
    buffer[0] = (uint8_t)(size >> 24);
    buffer[1] = (uint8_t)(size >> 16);
    buffer[2] = (uint8_t)(size >> 8);
    buffer[3] = (uint8_t)size;
    size_t packed = pixecom__rpc__v1__frame__pack(frame, buffer + 4);
    pixrpc_result result;
    if (packed != size) {
        set_error("internal error: packed %zu bytes, expected %zu", packed, size);
        result = PIXRPC_ERROR;
    } else {
        VLOG(conn, "-> call %llu %s (%zu bytes)", (unsigned long long)frame->call_id, kind_name(frame->kind_case), size);
        result = write_all(conn, buffer, 4 + size);
    }
    free(buffer);
    return result;
}

/* Field 1 (call_id, varint, tag 0x08) when it opens the body: at most a tag and 10 varint bytes. */
static uint64_t peek_call_id(const uint8_t *body, size_t length) {
    size_t count = length < 11 ? length : 11;
    if (count < 2 || body[0] != 0x08) {
        return 0;
    }
    uint64_t value = 0;
    for (size_t i = 1; i < count; i++) {
        value |= (uint64_t)(body[i] & 0x7f) << (7 * (i - 1));
        if ((body[i] & 0x80) == 0) {
            return value;
        }
    }
    return 0;
}

/* A frame over the limit: its call id is read from the first bytes, the rest is read and
 * dropped piecemeal, never buffered whole, so framing stays in sync. */
static pixrpc_result skip_oversized(pixrpc_conn *conn, uint32_t length) {
    uint8_t chunk[16384];
    uint32_t prefix = length < 11 ? length : 11;
    pixrpc_result result = read_exact(conn, chunk, prefix, false, 0);
    if (result != PIXRPC_OK) {
        return result;
    }
    conn->refused_call_id = peek_call_id(chunk, prefix);
    for (uint32_t left = length - prefix; left > 0;) {
        uint32_t part = left < sizeof chunk ? left : (uint32_t)sizeof chunk;
        result = read_exact(conn, chunk, part, false, 0);
        if (result != PIXRPC_OK) {
            return result;
        }
        left -= part;
    }
    set_error("the server sent a frame of %u bytes, more than the maximum frame size of %u bytes", length,
              PIXRPC_MAX_FRAME_SIZE);
    VLOG(conn, "<- refused frame: %s", pixrpc_error());
    return PIXRPC_REFUSED;
}

uint64_t pixrpc_refused_call_id(const pixrpc_conn *conn) { return conn->refused_call_id; }

pixrpc_result pixrpc_recv_frame(pixrpc_conn *conn, int64_t deadline_ms, Pixecom__Rpc__V1__Frame **out) {
    *out = NULL;
    conn->refused_call_id = 0;
    uint8_t header[4];
    pixrpc_result result = read_exact(conn, header, sizeof header, true, deadline_ms);
    if (result != PIXRPC_OK) {
        return result;
    }
    uint32_t length = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 | header[3];
    if (length > PIXRPC_MAX_FRAME_SIZE) {
        return skip_oversized(conn, length);
    }
    static const uint8_t empty[1] = {0};
    uint8_t *body = NULL;
    if (length > 0) {
        body = malloc(length);
        if (body == NULL) {
            set_error("out of memory for a frame of %u bytes", length);
            return PIXRPC_ERROR;
        }
        result = read_exact(conn, body, length, false, 0);
        if (result != PIXRPC_OK) {
            free(body);
            return result;
        }
    }
    Pixecom__Rpc__V1__Frame *frame = pixecom__rpc__v1__frame__unpack(NULL, length, body != NULL ? body : empty);
    if (frame == NULL) {
        conn->refused_call_id = peek_call_id(body, length);
        free(body);
        set_error("the server sent a malformed frame (%u bytes that are not a pixecom.rpc.v1.Frame)", length);
        VLOG(conn, "<- refused frame: %s", pixrpc_error());
        return PIXRPC_REFUSED;
    }
    free(body);
    VLOG(conn, "<- call %llu %s (%u bytes)", (unsigned long long)frame->call_id, kind_name(frame->kind_case), length);
    *out = frame;
    return PIXRPC_OK;
}

/* ---- Connecting ------------------------------------------------------------------------------- */

static pixrpc_result tcp_connect(pixrpc_conn *conn, const pixrpc_options *options, int64_t deadline_ms) {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *addresses = NULL;
    int status = getaddrinfo(options->host, options->port, &hints, &addresses);
    if (status != 0) {
        set_error("cannot resolve %s port %s: %s", options->host, options->port,
                  status == EAI_SYSTEM ? strerror(errno) : gai_strerror(status));
        return PIXRPC_ERROR;
    }
    char last_problem[256] = "no address";
    for (struct addrinfo *address = addresses; address != NULL; address = address->ai_next) {
        int fd = socket(address->ai_family, address->ai_socktype, address->ai_protocol);
        if (fd < 0) {
            snprintf(last_problem, sizeof last_problem, "socket: %s", strerror(errno));
            continue;
        }
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
            snprintf(last_problem, sizeof last_problem, "fcntl: %s", strerror(errno));
            (void)close(fd);
            continue;
        }
        if (connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
            if (errno != EINPROGRESS && errno != EINTR) {
                snprintf(last_problem, sizeof last_problem, "%s", strerror(errno));
                (void)close(fd);
                continue;
            }
            pixrpc_result waited = wait_fd(fd, POLLOUT, deadline_ms);
            if (waited != PIXRPC_OK) {
                snprintf(last_problem, sizeof last_problem, "%.200s",
                         waited == PIXRPC_TIMEOUT ? "timed out" : pixrpc_error());
                (void)close(fd);
                continue;
            }
            int socket_error = 0;
            socklen_t size = sizeof socket_error;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &socket_error, &size) != 0) {
                socket_error = errno;
            }
            if (socket_error != 0) {
                snprintf(last_problem, sizeof last_problem, "%s", strerror(socket_error));
                (void)close(fd);
                continue;
            }
        }
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
            snprintf(last_problem, sizeof last_problem, "setsockopt(TCP_NODELAY): %s", strerror(errno));
            (void)close(fd);
            continue;
        }
        conn->fd = fd;
        break;
    }
    freeaddrinfo(addresses);
    if (conn->fd < 0) {
        set_error("cannot connect to %s port %s: %s", options->host, options->port, last_problem);
        return PIXRPC_ERROR;
    }
    return PIXRPC_OK;
}

static pixrpc_result tls_setup(pixrpc_conn *conn, const pixrpc_options *options) {
    static const unsigned char alpn[] = {8, 'p', 'i', 'x', 'r', 'p', 'c', '/', '1'};
    ERR_clear_error();
    conn->ctx = SSL_CTX_new(TLS_client_method());
    if (conn->ctx == NULL) {
        set_error("SSL_CTX_new failed");
        goto openssl_failure;
    }
    if (SSL_CTX_set_min_proto_version(conn->ctx, TLS1_3_VERSION) != 1) {
        set_error("cannot require TLS 1.3");
        goto openssl_failure;
    }
    if (SSL_CTX_load_verify_locations(conn->ctx, options->ca_path, NULL) != 1) {
        set_error("cannot load the CA certificate %s", options->ca_path);
        goto openssl_failure;
    }
    if (SSL_CTX_use_certificate_chain_file(conn->ctx, options->cert_path) != 1) {
        set_error("cannot load the client certificate %s", options->cert_path);
        goto openssl_failure;
    }
    if (SSL_CTX_use_PrivateKey_file(conn->ctx, options->key_path, SSL_FILETYPE_PEM) != 1) {
        set_error("cannot load the private key %s", options->key_path);
        goto openssl_failure;
    }
    if (SSL_CTX_check_private_key(conn->ctx) != 1) {
        set_error("the private key %s does not belong to the certificate %s", options->key_path, options->cert_path);
        goto openssl_failure;
    }
    SSL_CTX_set_verify(conn->ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_set_alpn_protos(conn->ctx, alpn, sizeof alpn) != 0) { /* 0 is success here */
        set_error("cannot offer ALPN %s", PIXRPC_ALPN);
        goto openssl_failure;
    }
    conn->ssl = SSL_new(conn->ctx);
    if (conn->ssl == NULL) {
        set_error("SSL_new failed");
        goto openssl_failure;
    }
    if (SSL_set_fd(conn->ssl, conn->fd) != 1) {
        set_error("SSL_set_fd failed");
        goto openssl_failure;
    }
    if (SSL_set_tlsext_host_name(conn->ssl, options->server_name) != 1) {
        set_error("cannot send SNI %s", options->server_name);
        goto openssl_failure;
    }
    /* The server's certificate must name the service (DNS subjectAltName), whatever was dialled. */
    SSL_set_hostflags(conn->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(conn->ssl, options->server_name) != 1) {
        set_error("cannot set the expected server name %s", options->server_name);
        goto openssl_failure;
    }
    return PIXRPC_OK;

openssl_failure:
    append_openssl_errors();
    return PIXRPC_ERROR;
}

static pixrpc_result tls_handshake(pixrpc_conn *conn, const pixrpc_options *options, int64_t deadline_ms) {
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int ok = SSL_connect(conn->ssl);
        int saved_errno = errno;
        if (ok == 1) {
            break;
        }
        int ssl_error = SSL_get_error(conn->ssl, ok);
        if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
            pixrpc_result waited = wait_fd(conn->fd, ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline_ms);
            if (waited == PIXRPC_TIMEOUT) {
                set_error("the TLS handshake with %s did not complete within %lld ms", options->server_name,
                          (long long)options->io_timeout_ms);
                return PIXRPC_ERROR;
            }
            if (waited != PIXRPC_OK) {
                return PIXRPC_ERROR;
            }
            continue;
        }
        long verify = SSL_get_verify_result(conn->ssl);
        if (verify != X509_V_OK) {
            set_error("TLS handshake: the server certificate was rejected for %s: %s", options->server_name,
                      X509_verify_cert_error_string(verify));
            append_openssl_errors();
            conn->tls_usable = false;
            return PIXRPC_ERROR;
        }
        pixrpc_result failure = tls_failure(conn, "TLS handshake", ssl_error, saved_errno);
        (void)failure;
        conn->tls_usable = false;
        return PIXRPC_ERROR;
    }
    conn->tls_usable = true;
    if (SSL_version(conn->ssl) != TLS1_3_VERSION) {
        set_error("TLS handshake: negotiated %s, but the protocol requires TLS 1.3", SSL_get_version(conn->ssl));
        return PIXRPC_ERROR;
    }
    const unsigned char *selected = NULL;
    unsigned int selected_length = 0;
    SSL_get0_alpn_selected(conn->ssl, &selected, &selected_length);
    if (selected == NULL || selected_length != strlen(PIXRPC_ALPN) ||
        memcmp(selected, PIXRPC_ALPN, selected_length) != 0) {
        set_error("TLS handshake: the server did not agree on ALPN %s", PIXRPC_ALPN);
        return PIXRPC_ERROR;
    }
    X509 *peer = SSL_get1_peer_certificate(conn->ssl);
    if (peer == NULL) {
        set_error("TLS handshake: the server presented no certificate");
        return PIXRPC_ERROR;
    }
    X509_free(peer);
    VLOG(conn, "connected to %s port %s: %s, %s, ALPN %s, server %s verified", options->host, options->port,
         SSL_get_version(conn->ssl), SSL_get_cipher_name(conn->ssl), PIXRPC_ALPN, options->server_name);
    return PIXRPC_OK;
}

static void conn_free(pixrpc_conn *conn) {
    if (conn->ssl != NULL) {
        SSL_free(conn->ssl);
    }
    if (conn->ctx != NULL) {
        SSL_CTX_free(conn->ctx);
    }
    if (conn->fd >= 0) {
        (void)close(conn->fd);
    }
    free(conn);
}

pixrpc_conn *pixrpc_connect(const pixrpc_options *options) {
    pixrpc_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        set_error("out of memory");
        return NULL;
    }
    conn->fd = -1;
    conn->io_timeout_ms = options->io_timeout_ms;
    conn->verbose = options->verbose;
    conn->next_call_id = 1;
    int64_t deadline = pixrpc_now_ms() + options->io_timeout_ms;
    if (tcp_connect(conn, options, deadline) != PIXRPC_OK || tls_setup(conn, options) != PIXRPC_OK ||
        tls_handshake(conn, options, deadline) != PIXRPC_OK) {
        conn_free(conn);
        return NULL;
    }
    return conn;
}

void pixrpc_close(pixrpc_conn *conn) {
    if (conn == NULL) {
        return;
    }
    if (conn->tls_usable) {
        /* Tell the server no call follows (it may then close as soon as its calls are done), then
         * send close_notify; do not wait for the server's. */
        if (pixrpc_send_go_away(conn, "client closing") != PIXRPC_OK) {
            VLOG(conn, "could not send GoAway before closing: %s", pixrpc_error());
        }
        int64_t deadline = pixrpc_now_ms() + 1000;
        for (;;) {
            ERR_clear_error();
            int done = SSL_shutdown(conn->ssl);
            if (done >= 0) {
                break;
            }
            int ssl_error = SSL_get_error(conn->ssl, done);
            if (ssl_error != SSL_ERROR_WANT_WRITE || wait_fd(conn->fd, POLLOUT, deadline) != PIXRPC_OK) {
                ERR_clear_error();
                break;
            }
        }
    }
    conn_free(conn);
}

/* ---- Calls ------------------------------------------------------------------------------------ */

pixrpc_result pixrpc_next_call_id(pixrpc_conn *conn, uint64_t *call_id) {
    if (conn->draining) {
        set_error("the server sent GoAway: this connection takes no new calls");
        return PIXRPC_ERROR;
    }
    if (conn->sent_go_away) {
        set_error("this client sent GoAway: no new calls on this connection");
        return PIXRPC_ERROR;
    }
    *call_id = conn->next_call_id;
    conn->next_call_id += 2;
    return PIXRPC_OK;
}

pixrpc_result pixrpc_send_request(pixrpc_conn *conn, uint64_t call_id, const pixrpc_request *request) {
    Pixecom__Rpc__V1__Request__MetadataEntry *entries = NULL;
    Pixecom__Rpc__V1__Request__MetadataEntry **entry_pointers = NULL;
    if (request->n_metadata > 0) {
        entries = calloc(request->n_metadata, sizeof *entries);
        entry_pointers = calloc(request->n_metadata, sizeof *entry_pointers);
        if (entries == NULL || entry_pointers == NULL) {
            free(entries);
            free(entry_pointers);
            set_error("out of memory");
            return PIXRPC_ERROR;
        }
        for (size_t i = 0; i < request->n_metadata; i++) {
            pixecom__rpc__v1__request__metadata_entry__init(&entries[i]);
            entries[i].key = (char *)request->metadata[i].key;
            entries[i].value = (char *)request->metadata[i].value;
            entry_pointers[i] = &entries[i];
        }
    }
    Pixecom__Rpc__V1__Request message = PIXECOM__RPC__V1__REQUEST__INIT;
    message.method = (char *)request->method;
    message.n_metadata = request->n_metadata;
    message.metadata = entry_pointers;
    message.timeout_micros = request->timeout_micros;
    message.payload.len = request->payload_len;
    message.payload.data = (uint8_t *)request->payload;
    message.initial_window = request->initial_window;

    Pixecom__Rpc__V1__Frame frame = PIXECOM__RPC__V1__FRAME__INIT;
    frame.call_id = call_id;
    frame.kind_case = PIXECOM__RPC__V1__FRAME__KIND_REQUEST;
    frame.request = &message;
    pixrpc_result result = pixrpc_send_frame(conn, &frame);
    free(entry_pointers);
    free(entries);
    return result;
}

pixrpc_result pixrpc_send_cancel(pixrpc_conn *conn, uint64_t call_id) {
    Pixecom__Rpc__V1__Cancel cancel = PIXECOM__RPC__V1__CANCEL__INIT;
    Pixecom__Rpc__V1__Frame frame = PIXECOM__RPC__V1__FRAME__INIT;
    frame.call_id = call_id;
    frame.kind_case = PIXECOM__RPC__V1__FRAME__KIND_CANCEL;
    frame.cancel = &cancel;
    return pixrpc_send_frame(conn, &frame);
}

pixrpc_result pixrpc_send_window_update(pixrpc_conn *conn, uint64_t call_id, uint32_t messages) {
    Pixecom__Rpc__V1__WindowUpdate update = PIXECOM__RPC__V1__WINDOW_UPDATE__INIT;
    update.messages = messages;
    Pixecom__Rpc__V1__Frame frame = PIXECOM__RPC__V1__FRAME__INIT;
    frame.call_id = call_id;
    frame.kind_case = PIXECOM__RPC__V1__FRAME__KIND_WINDOW_UPDATE;
    frame.window_update = &update;
    return pixrpc_send_frame(conn, &frame);
}

pixrpc_result pixrpc_send_go_away(pixrpc_conn *conn, const char *reason) {
    if (conn->sent_go_away) {
        return PIXRPC_OK;
    }
    Pixecom__Rpc__V1__GoAway go_away = PIXECOM__RPC__V1__GO_AWAY__INIT;
    go_away.last_call_id = 0; /* ignored from a client */
    go_away.reason = (char *)reason;
    Pixecom__Rpc__V1__Frame frame = PIXECOM__RPC__V1__FRAME__INIT;
    frame.kind_case = PIXECOM__RPC__V1__FRAME__KIND_GO_AWAY;
    frame.go_away = &go_away;
    conn->sent_go_away = true;
    VLOG(conn, "sending GoAway (%s)", reason);
    return pixrpc_send_frame(conn, &frame);
}

static pixrpc_result send_pong(pixrpc_conn *conn, uint64_t opaque) {
    Pixecom__Rpc__V1__Pong pong = PIXECOM__RPC__V1__PONG__INIT;
    pong.opaque = opaque;
    Pixecom__Rpc__V1__Frame frame = PIXECOM__RPC__V1__FRAME__INIT;
    frame.kind_case = PIXECOM__RPC__V1__FRAME__KIND_PONG;
    frame.pong = &pong;
    return pixrpc_send_frame(conn, &frame);
}

pixrpc_result pixrpc_await_response(pixrpc_conn *conn, uint64_t call_id, int64_t deadline_ms,
                                    Pixecom__Rpc__V1__Frame **out) {
    *out = NULL;
    for (;;) {
        Pixecom__Rpc__V1__Frame *frame = NULL;
        pixrpc_result result = pixrpc_recv_frame(conn, deadline_ms, &frame);
        if (result == PIXRPC_EOF) {
            set_error("the server closed the connection before call %llu ended", (unsigned long long)call_id);
            return PIXRPC_ERROR;
        }
        if (result == PIXRPC_REFUSED) {
            uint64_t named = conn->refused_call_id;
            if (named != 0 && named != call_id) {
                continue; /* another call's problem; framing is intact */
            }
            if (named == call_id) {
                char reason[sizeof error_text];
                snprintf(reason, sizeof reason, "%s", error_text);
                (void)pixrpc_send_cancel(conn, call_id);
                set_error("call %llu: %s", (unsigned long long)call_id, reason);
            }
            return PIXRPC_ERROR;
        }
        if (result != PIXRPC_OK) {
            return result;
        }
        switch (frame->kind_case) {
        case PIXECOM__RPC__V1__FRAME__KIND_RESPONSE:
            if (frame->call_id == call_id && frame->response != NULL) {
                *out = frame;
                return PIXRPC_OK;
            }
            VLOG(conn, "ignoring a response for call %llu", (unsigned long long)frame->call_id);
            break;
        case PIXECOM__RPC__V1__FRAME__KIND_PING:
            result = send_pong(conn, frame->ping != NULL ? frame->ping->opaque : 0);
            break;
        case PIXECOM__RPC__V1__FRAME__KIND_GO_AWAY: {
            uint64_t last = frame->go_away != NULL ? frame->go_away->last_call_id : 0;
            const char *reason = frame->go_away != NULL ? frame->go_away->reason : "";
            conn->draining = true;
            conn->last_call_id = last;
            VLOG(conn, "server sent GoAway: last call id %llu, reason \"%s\"", (unsigned long long)last, reason);
            /* Acknowledge: every Request this client sent is ahead of this frame. */
            result = pixrpc_send_go_away(conn, "acknowledged");
            if (result == PIXRPC_OK && call_id > last) {
                set_error("the server sent GoAway (last call id %llu, reason \"%s\"): call %llu was not processed "
                          "and may be retried on another connection",
                          (unsigned long long)last, reason, (unsigned long long)call_id);
                result = PIXRPC_ERROR;
            }
            break;
        }
        default:
            /* Pong, frames only a server receives, and kinds of a newer protocol: ignored. */
            VLOG(conn, "ignoring a %s frame", kind_name(frame->kind_case));
            break;
        }
        pixecom__rpc__v1__frame__free_unpacked(frame, NULL);
        if (result != PIXRPC_OK) {
            return result;
        }
    }
}

const char *pixrpc_code_name(int code) {
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if (code < 0 || (size_t)code >= sizeof names / sizeof names[0]) {
        return NULL;
    }
    return names[code];
}

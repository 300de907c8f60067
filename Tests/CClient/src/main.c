/*
 * pixrpc-client: an independent C client of the PixEcom RPC protocol, for conformance tests
 * against pixecom.testing.v1.EchoService. Prints line-oriented results on standard output:
 *
 *   payload: <text>                 the response message of a unary call
 *   message <sequence>: <text>      one message of a server stream
 *   status: <NAME> (<number>)       the status that ended a call
 *   message: <text>                 its message, when not empty
 *   violation: <field>: <text>      each field violation of the status
 *   retry-delay-ms: <n>             its retry info, when present
 *   not-processed: true             the server refused the call before any handler ran
 *   cancelled: call <id>            the cancel scenario cancelled that call
 *   peer_service: <name>            inspect: what the server saw (also request_id, one
 *                                   "metadata: K=V" line per entry sorted by key,
 *                                   deadline_given, remaining_micros)
 *
 * Bytes outside printable ASCII, and the backslash, are written as \xNN.
 *
 * Exit status: 0 when the calls ended the way the protocol says (whatever their status), 1 on a
 * protocol, TLS or I/O failure (described on standard error), 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pixecom/testing/v1/echo.pb-c.h"
#include "pixrpc.h"

#define PROGRAM "pixrpc-client"
#define EXIT_FAILURE_PROTOCOL 1
#define EXIT_USAGE 2
#define MAX_METADATA 32

#define ECHO_SERVICE "pixecom.testing.v1.EchoService"

typedef struct {
    pixrpc_options options;
    char server_name[256];
    pixrpc_metadata metadata[MAX_METADATA];
    size_t n_metadata;
    /* expand: credit granted in the Request (0: the protocol default). */
    uint32_t window;
    uint32_t interval_micros;
    /* expand: pause before the first WindowUpdate: with its credit used up the server must wait,
     * and a server ignoring credit is caught sending beyond the window. */
    uint32_t hold_ms;
    /* expand: with --hold-until, the first WindowUpdate waits until this file exists (hold_ms,
     * default 60 s, is then the longest wait): the caller decides when the credit comes. */
    const char *hold_until;
    /* How long after a call's deadline to wait for the server's answer (DEADLINE_EXCEEDED at the
     * latest) before giving up on the client side. */
    uint32_t grace_ms;
    /* --deadline-ms: the deadline sent with every call but sleep's; 0 when not given (then unary
     * calls use the I/O timeout and streams have none). */
    uint64_t deadline_ms;
    /* --no-deadline: inspect sends timeout_micros 0. */
    int no_deadline;
} config;

static const uint8_t no_bytes[1] = {0};

/* ---- Output ----------------------------------------------------------------------------------- */

static void print_bytes(const uint8_t *data, size_t length) {
    for (size_t i = 0; i < length; i++) {
        uint8_t byte = data[i];
        if (byte >= 0x20 && byte < 0x7f && byte != '\\') {
            putchar(byte);
        } else {
            printf("\\x%02x", byte);
        }
    }
}

static void print_string(const char *text) { print_bytes((const uint8_t *)text, strlen(text)); }

/* Status.not_processed (a bool, field 5), looked up by name so that this also builds from an
 * envelope.proto without it. */
static bool status_not_processed(const Pixecom__Rpc__V1__Status *status) {
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name(&pixecom__rpc__v1__status__descriptor, "not_processed");
    if (field == NULL || field->type != PROTOBUF_C_TYPE_BOOL || field->label == PROTOBUF_C_LABEL_REPEATED) {
        return false;
    }
    protobuf_c_boolean value = 0;
    memcpy(&value, (const char *)status + field->offset, sizeof value);
    return value != 0;
}

static void print_status(const Pixecom__Rpc__V1__Status *status) {
    int code = (int)status->code;
    const char *name = pixrpc_code_name(code);
    printf("status: %s (%d)\n", name != NULL ? name : "UNKNOWN_CODE", code);
    if (status->message != NULL && status->message[0] != '\0') {
        fputs("message: ", stdout);
        print_string(status->message);
        putchar('\n');
    }
    for (size_t i = 0; i < status->n_field_violations; i++) {
        const Pixecom__Rpc__V1__FieldViolation *violation = status->field_violations[i];
        fputs("violation: ", stdout);
        print_string(violation->field);
        fputs(": ", stdout);
        print_string(violation->description);
        putchar('\n');
    }
    if (status->retry_info != NULL) {
        printf("retry-delay-ms: %" PRIu64 "\n", (uint64_t)status->retry_info->retry_delay_millis);
    }
    if (status_not_processed(status)) {
        printf("not-processed: true\n");
    }
}

static int failure(const char *what) {
    fflush(stdout);
    fprintf(stderr, "%s: %s: %s\n", PROGRAM, what, pixrpc_error());
    return EXIT_FAILURE_PROTOCOL;
}

/* A protocol violation by the server on `call_id`: the call is cancelled (best effort). */
static int violation(pixrpc_conn *conn, uint64_t call_id, const char *problem) {
    fflush(stdout);
    fprintf(stderr, "%s: protocol violation by the server on call %" PRIu64 ": %s\n", PROGRAM, call_id, problem);
    (void)pixrpc_send_cancel(conn, call_id);
    return EXIT_FAILURE_PROTOCOL;
}

/* ---- Calls ------------------------------------------------------------------------------------ */

/* Serializes a request message; NULL (with a message on stderr) on failure. */
static uint8_t *pack_message(const ProtobufCMessage *message, size_t *length) {
    size_t size = protobuf_c_message_get_packed_size(message);
    uint8_t *buffer = malloc(size > 0 ? size : 1);
    if (buffer == NULL) {
        fprintf(stderr, "%s: out of memory\n", PROGRAM);
        return NULL;
    }
    if (protobuf_c_message_pack(message, buffer) != size) {
        fprintf(stderr, "%s: internal error: could not serialize %s\n", PROGRAM, message->descriptor->name);
        free(buffer);
        return NULL;
    }
    *length = size;
    return buffer;
}

/* Opens a call of `method` with `message` as request. */
static int start_call(pixrpc_conn *conn, const config *cfg, const char *method, const ProtobufCMessage *message,
                      uint64_t timeout_micros, uint32_t initial_window, uint64_t *call_id) {
    size_t length = 0;
    uint8_t *payload = pack_message(message, &length);
    if (payload == NULL) {
        return EXIT_FAILURE_PROTOCOL;
    }
    pixrpc_request request = {
        .method = method,
        .metadata = cfg->metadata,
        .n_metadata = cfg->n_metadata,
        .timeout_micros = timeout_micros,
        .payload = payload,
        .payload_len = length,
        .initial_window = initial_window,
    };
    int status = 0;
    if (pixrpc_next_call_id(conn, call_id) != PIXRPC_OK) {
        status = failure("cannot start a call");
    } else if (pixrpc_send_request(conn, *call_id, &request) != PIXRPC_OK) {
        status = failure("cannot send the request");
    }
    free(payload);
    return status;
}

/* Prints the answer of a unary EchoService call (an EchoResponse when OK) and its status. A
 * payload that comes with a status other than OK is ignored, as the protocol says. */
static int report_unary(pixrpc_conn *conn, uint64_t call_id, const Pixecom__Rpc__V1__Frame *frame) {
    const Pixecom__Rpc__V1__Response *response = frame->response;
    if (response->status == NULL) {
        return violation(conn, call_id, "a unary call was answered with a message but no status");
    }
    if (response->status->code == PIXECOM__RPC__V1__CODE__OK) {
        Pixecom__Testing__V1__EchoResponse *message = pixecom__testing__v1__echo_response__unpack(
            NULL, response->payload.len, response->payload.len > 0 ? response->payload.data : no_bytes);
        if (message == NULL) {
            return violation(conn, call_id, "the response payload is not a pixecom.testing.v1.EchoResponse");
        }
        fputs("payload: ", stdout);
        print_bytes(message->payload.data, message->payload.len);
        putchar('\n');
        pixecom__testing__v1__echo_response__free_unpacked(message, NULL);
    }
    print_status(response->status);
    return 0;
}

/* The deadline of a unary call: --deadline-ms, else the I/O timeout. */
static uint64_t unary_deadline_ms(const config *cfg) {
    return cfg->deadline_ms > 0 ? cfg->deadline_ms : (uint64_t)cfg->options.io_timeout_ms;
}

/* A unary call with deadline `deadline_ms`, whose answer is printed. The server must answer by
 * then, with DEADLINE_EXCEEDED at the latest: no answer `grace_ms` later is a failure (the call is
 * cancelled). `*elapsed_us`, when given, receives the time from sending the request to reading the
 * answer. */
static int unary_call(pixrpc_conn *conn, const config *cfg, const char *method, const ProtobufCMessage *message,
                      uint64_t deadline_ms, int64_t *elapsed_us) {
    uint64_t call_id = 0;
    int64_t started = pixrpc_now_us();
    int status = start_call(conn, cfg, method, message, deadline_ms * 1000, 0, &call_id);
    if (status != 0) {
        return status;
    }
    Pixecom__Rpc__V1__Frame *frame = NULL;
    pixrpc_result result =
        pixrpc_await_response(conn, call_id, started / 1000 + (int64_t)deadline_ms + cfg->grace_ms, &frame);
    if (elapsed_us != NULL) {
        *elapsed_us = pixrpc_now_us() - started;
    }
    if (result == PIXRPC_TIMEOUT) {
        (void)pixrpc_send_cancel(conn, call_id);
        fprintf(stderr,
                "%s: call %" PRIu64 " of %s: no answer from the server %" PRIu32 " ms after its %" PRIu64
                " ms deadline; cancelled\n",
                PROGRAM, call_id, method, cfg->grace_ms, deadline_ms);
        return EXIT_FAILURE_PROTOCOL;
    }
    if (result != PIXRPC_OK) {
        return failure("waiting for the answer");
    }
    status = report_unary(conn, call_id, frame);
    pixecom__rpc__v1__frame__free_unpacked(frame, NULL);
    return status;
}

static int unary(pixrpc_conn *conn, const config *cfg, const char *method, const ProtobufCMessage *message) {
    return unary_call(conn, cfg, method, message, unary_deadline_ms(cfg), NULL);
}

static void sleep_ms(uint32_t milliseconds) {
    struct timespec left = {.tv_sec = milliseconds / 1000, .tv_nsec = (long)(milliseconds % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
}

/* The pause before expand's first WindowUpdate: --hold-ms, or until the --hold-until file exists
 * (at most --hold-ms, default 60 s). */
static void hold_credit(const config *cfg) {
    if (cfg->hold_until == NULL) {
        sleep_ms(cfg->hold_ms);
        return;
    }
    uint32_t limit = cfg->hold_ms > 0 ? cfg->hold_ms : 60000;
    for (uint32_t waited = 0; waited < limit && access(cfg->hold_until, F_OK) != 0; waited += 5) {
        sleep_ms(5);
    }
}

/* ---- Scenarios -------------------------------------------------------------------------------- */

/* echo TEXT...: one unary Echo call per text, on one connection. */
static int scenario_echo(pixrpc_conn *conn, const config *cfg, char **texts, int count) {
    for (int i = 0; i < count; i++) {
        Pixecom__Testing__V1__EchoRequest request = PIXECOM__TESTING__V1__ECHO_REQUEST__INIT;
        request.payload.data = (uint8_t *)texts[i];
        request.payload.len = strlen(texts[i]);
        int status = unary(conn, cfg, ECHO_SERVICE "/Echo", &request.base);
        if (status != 0) {
            return status;
        }
    }
    return 0;
}

/* fail CODE MESSAGE [FIELD]: the server ends the call with that status. */
static int scenario_fail(pixrpc_conn *conn, const config *cfg, int32_t code, char *message, char *field) {
    Pixecom__Testing__V1__FailRequest request = PIXECOM__TESTING__V1__FAIL_REQUEST__INIT;
    request.code = code;
    request.message = message;
    request.field = field;
    return unary(conn, cfg, ECHO_SERVICE "/Fail", &request.base);
}

static int compare_entries(const void *a, const void *b) {
    const Pixecom__Testing__V1__InspectResponse__MetadataEntry *x =
        *(const Pixecom__Testing__V1__InspectResponse__MetadataEntry *const *)a;
    const Pixecom__Testing__V1__InspectResponse__MetadataEntry *y =
        *(const Pixecom__Testing__V1__InspectResponse__MetadataEntry *const *)b;
    return strcmp(x->key, y->key);
}

/* inspect: what the server saw of the call (Inspect), one field per line, metadata sorted by key. */
static int scenario_inspect(pixrpc_conn *conn, const config *cfg) {
    Pixecom__Testing__V1__InspectRequest request = PIXECOM__TESTING__V1__INSPECT_REQUEST__INIT;
    uint64_t call_id = 0;
    uint64_t deadline_ms = unary_deadline_ms(cfg);
    int64_t started = pixrpc_now_us();
    /* --deadline-ms 0 is refused by the option parser; --no-deadline sends timeout_micros 0. */
    int status = start_call(conn, cfg, ECHO_SERVICE "/Inspect", &request.base, cfg->no_deadline ? 0 : deadline_ms * 1000,
                            0, &call_id);
    if (status != 0) {
        return status;
    }
    Pixecom__Rpc__V1__Frame *frame = NULL;
    pixrpc_result result = pixrpc_await_response(conn, call_id, started / 1000 + (int64_t)deadline_ms + cfg->grace_ms, &frame);
    if (result != PIXRPC_OK) {
        return failure("waiting for the answer");
    }
    const Pixecom__Rpc__V1__Response *response = frame->response;
    if (response->status == NULL) {
        pixecom__rpc__v1__frame__free_unpacked(frame, NULL);
        return violation(conn, call_id, "a unary call was answered with a message but no status");
    }
    if (response->status->code == PIXECOM__RPC__V1__CODE__OK) {
        Pixecom__Testing__V1__InspectResponse *seen = pixecom__testing__v1__inspect_response__unpack(
            NULL, response->payload.len, response->payload.len > 0 ? response->payload.data : no_bytes);
        if (seen == NULL) {
            pixecom__rpc__v1__frame__free_unpacked(frame, NULL);
            return violation(conn, call_id, "the response payload is not a pixecom.testing.v1.InspectResponse");
        }
        printf("peer_service: %s\n", seen->peer_service);
        printf("request_id: %s\n", seen->request_id);
        qsort(seen->metadata, seen->n_metadata, sizeof *seen->metadata, compare_entries);
        for (size_t i = 0; i < seen->n_metadata; i++) {
            printf("metadata: %s=%s\n", seen->metadata[i]->key, seen->metadata[i]->value);
        }
        printf("deadline_given: %s\n", seen->deadline_given ? "true" : "false");
        printf("remaining_micros: %" PRIu64 "\n", seen->remaining_micros);
        pixecom__testing__v1__inspect_response__free_unpacked(seen, NULL);
    }
    print_status(response->status);
    pixecom__rpc__v1__frame__free_unpacked(frame, NULL);
    return 0;
}

/* expand TEXT COUNT: a server stream read with a small window, returning credit as it reads. */
static int scenario_expand(pixrpc_conn *conn, const config *cfg, char *text, uint32_t count) {
    Pixecom__Testing__V1__ExpandRequest request = PIXECOM__TESTING__V1__EXPAND_REQUEST__INIT;
    request.payload.data = (uint8_t *)text;
    request.payload.len = strlen(text);
    request.count = count;
    request.interval_micros = cfg->interval_micros;
    uint64_t call_id = 0;
    int status = start_call(conn, cfg, ECHO_SERVICE "/Expand", &request.base, cfg->deadline_ms * 1000, cfg->window,
                            &call_id);
    if (status != 0) {
        return status;
    }
    const uint32_t window = cfg->window != 0 ? cfg->window : PIXRPC_DEFAULT_WINDOW;
    /* Credit goes back in batches of half the window (at least one message). */
    const uint32_t batch = window / 2 > 0 ? window / 2 : 1;
    uint64_t credit = window; /* messages the server may still send */
    uint32_t unreturned = 0;  /* messages consumed and not yet granted back */
    bool held = false;
    for (;;) {
        Pixecom__Rpc__V1__Frame *frame = NULL;
        pixrpc_result result =
            pixrpc_await_response(conn, call_id, pixrpc_now_ms() + cfg->options.io_timeout_ms, &frame);
        if (result == PIXRPC_TIMEOUT) {
            (void)pixrpc_send_cancel(conn, call_id);
            fprintf(stderr, "%s: the stream sent nothing for %lld ms\n", PROGRAM, (long long)cfg->options.io_timeout_ms);
            return EXIT_FAILURE_PROTOCOL;
        }
        if (result != PIXRPC_OK) {
            return failure("reading the stream");
        }
        const Pixecom__Rpc__V1__Response *response = frame->response;
        if (response->status != NULL) {
            /* The end of the stream; a payload in this frame is ignored, as the protocol says. */
            print_status(response->status);
            pixecom__rpc__v1__frame__free_unpacked(frame, NULL);
            return 0;
        }
        if (credit == 0) {
            char problem[128];
            snprintf(problem, sizeof problem, "a stream message arrived beyond the granted window of %" PRIu32, window);
            pixecom__rpc__v1__frame__free_unpacked(frame, NULL);
            return violation(conn, call_id, problem);
        }
        credit--;
        Pixecom__Testing__V1__EchoResponse *message = pixecom__testing__v1__echo_response__unpack(
            NULL, response->payload.len, response->payload.len > 0 ? response->payload.data : no_bytes);
        pixecom__rpc__v1__frame__free_unpacked(frame, NULL);
        if (message == NULL) {
            return violation(conn, call_id, "a stream message is not a pixecom.testing.v1.EchoResponse");
        }
        printf("message %" PRIu64 ": ", (uint64_t)message->sequence);
        print_bytes(message->payload.data, message->payload.len);
        putchar('\n');
        pixecom__testing__v1__echo_response__free_unpacked(message, NULL);
        unreturned++;
        if (unreturned >= batch) {
            if (!held) {
                hold_credit(cfg);
                held = true;
            }
            if (pixrpc_send_window_update(conn, call_id, unreturned) != PIXRPC_OK) {
                return failure("cannot send a window update");
            }
            credit += unreturned;
            unreturned = 0;
        }
    }
}

/* sleep MICROS DEADLINE_MS: a call with a deadline shorter than the sleep, which the server must
 * end with DEADLINE_EXCEEDED (and stop its handler). Standard error gets "elapsed-us: N", the time
 * from sending the request to reading the answer. */
static int scenario_sleep(pixrpc_conn *conn, const config *cfg, uint64_t micros, uint64_t deadline_ms) {
    Pixecom__Testing__V1__SleepRequest request = PIXECOM__TESTING__V1__SLEEP_REQUEST__INIT;
    request.micros = micros;
    int64_t elapsed = 0;
    int status = unary_call(conn, cfg, ECHO_SERVICE "/Sleep", &request.base, deadline_ms, &elapsed);
    fprintf(stderr, "elapsed-us: %lld\n", (long long)elapsed);
    return status;
}

/* cancel MICROS AFTER_MS: a Sleep call cancelled after AFTER_MS, then an Echo on the same
 * connection, which must still serve calls. */
static int scenario_cancel(pixrpc_conn *conn, const config *cfg, uint64_t micros, uint32_t after_ms) {
    Pixecom__Testing__V1__SleepRequest request = PIXECOM__TESTING__V1__SLEEP_REQUEST__INIT;
    request.micros = micros;
    uint64_t call_id = 0;
    int status = start_call(conn, cfg, ECHO_SERVICE "/Sleep", &request.base, unary_deadline_ms(cfg) * 1000, 0, &call_id);
    if (status != 0) {
        return status;
    }
    Pixecom__Rpc__V1__Frame *frame = NULL;
    pixrpc_result result = pixrpc_await_response(conn, call_id, pixrpc_now_ms() + after_ms, &frame);
    if (result == PIXRPC_OK) {
        /* It ended before we cancelled it. */
        status = report_unary(conn, call_id, frame);
        pixecom__rpc__v1__frame__free_unpacked(frame, NULL);
        return status;
    }
    if (result != PIXRPC_TIMEOUT) {
        return failure("waiting before the cancel");
    }
    if (pixrpc_send_cancel(conn, call_id) != PIXRPC_OK) {
        return failure("cannot send the cancel");
    }
    printf("cancelled: call %" PRIu64 "\n", call_id);
    /* A late answer to the cancelled call is allowed and skipped by pixrpc_await_response. */
    Pixecom__Testing__V1__EchoRequest echo = PIXECOM__TESTING__V1__ECHO_REQUEST__INIT;
    static char after[] = "after-cancel";
    echo.payload.data = (uint8_t *)after;
    echo.payload.len = strlen(after);
    return unary(conn, cfg, ECHO_SERVICE "/Echo", &echo.base);
}

/* ---- Command line ----------------------------------------------------------------------------- */

static void usage(FILE *out) {
    fprintf(out,
            "usage: " PROGRAM " --port PORT --ca CA.pem --cert CERT.pem --key CERT.key --service NAME\n"
            "                     [options] SCENARIO [ARGS]\n"
            "\n"
            "Scenarios (pixecom.testing.v1.EchoService):\n"
            "  echo TEXT...               one unary Echo call per TEXT\n"
            "  expand TEXT COUNT          server stream of COUNT messages, read with --window credit\n"
            "  fail CODE MESSAGE [FIELD]  the server ends the call with that status (and field violation)\n"
            "  sleep MICROS DEADLINE_MS   Sleep with a deadline (DEADLINE_EXCEEDED when shorter than MICROS)\n"
            "  cancel MICROS AFTER_MS     Sleep cancelled after AFTER_MS, then an Echo on the same connection\n"
            "  inspect                    Inspect: what the server saw (peer, request id, metadata, deadline)\n"
            "\n"
            "Options:\n"
            "  --host HOST            server address (default 127.0.0.1)\n"
            "  --port PORT            server port\n"
            "  --ca FILE              CA certificate (PEM) the server must chain to\n"
            "  --cert FILE --key FILE client certificate and key (PEM)\n"
            "  --service NAME         service the server must prove: NAME" PIXRPC_IDENTITY_DOMAIN " (SNI too)\n"
            "  --server-name DNS      expect this full DNS name instead\n"
            "  -m, --metadata K=V     request metadata (repeatable; keys are lower-cased)\n"
            "  --raw-metadata K=V     request metadata sent exactly as given (repeatable; a key may repeat)\n"
            "  --no-deadline          inspect: send timeout_micros 0 (no deadline)\n"
            "  --timeout-ms N         connect, handshake and I/O timeout; the deadline of unary calls\n"
            "                         unless --deadline-ms is given (default 10000)\n"
            "  --deadline-ms N        deadline sent with every call but sleep's (streams: none unless given)\n"
            "  --window N             expand: initial window (default 2; 0 = protocol default 16)\n"
            "  --interval-micros N    expand: pause between the server's messages (default 0)\n"
            "  --hold-ms N            expand: wait N ms before the first window update (default 0)\n"
            "  --hold-until FILE      expand: wait until FILE exists before the first window update\n"
            "                         (at most --hold-ms, default 60000)\n"
            "  --grace-ms N           wait for the server's answer this long after a call's deadline\n"
            "                         (default 1000)\n"
            "  -v, --verbose          log frames and TLS details on standard error\n"
            "\n"
            "Exit status: 0 when the calls ended as the protocol says (any status), 1 on a protocol,\n"
            "TLS or I/O failure, 2 on a usage error.\n");
}

static int usage_error(const char *format, const char *detail) {
    fprintf(stderr, "%s: ", PROGRAM);
    fprintf(stderr, format, detail);
    fprintf(stderr, "\n(run with --help for usage)\n");
    return EXIT_USAGE;
}

static int parse_u64(const char *text, uint64_t max, uint64_t *out) {
    if (text == NULL || !isdigit((unsigned char)text[0])) {
        return 0;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || value > max) {
        return 0;
    }
    *out = (uint64_t)value;
    return 1;
}

static int parse_u32(const char *text, uint32_t *out) {
    uint64_t value = 0;
    if (!parse_u64(text, UINT32_MAX, &value)) {
        return 0;
    }
    *out = (uint32_t)value;
    return 1;
}

static int parse_i32(const char *text, int32_t *out) {
    if (text == NULL || text[0] == '\0') {
        return 0;
    }
    errno = 0;
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < INT32_MIN || value > INT32_MAX) {
        return 0;
    }
    *out = (int32_t)value;
    return 1;
}

static int valid_service(const char *name) {
    if (name[0] == '\0') {
        return 0;
    }
    for (const char *c = name; *c != '\0'; c++) {
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-')) {
            return 0;
        }
    }
    return 1;
}

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_CA,
    OPT_CERT,
    OPT_KEY,
    OPT_SERVICE,
    OPT_SERVER_NAME,
    OPT_TIMEOUT,
    OPT_WINDOW,
    OPT_INTERVAL,
    OPT_HOLD,
    OPT_HOLD_UNTIL,
    OPT_GRACE,
    OPT_DEADLINE,
    OPT_RAW_METADATA,
    OPT_NO_DEADLINE,
};

int main(int argc, char **argv) {
    static const struct option long_options[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"ca", required_argument, NULL, OPT_CA},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"service", required_argument, NULL, OPT_SERVICE},
        {"server-name", required_argument, NULL, OPT_SERVER_NAME},
        {"metadata", required_argument, NULL, 'm'},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"interval-micros", required_argument, NULL, OPT_INTERVAL},
        {"hold-ms", required_argument, NULL, OPT_HOLD},
        {"hold-until", required_argument, NULL, OPT_HOLD_UNTIL},
        {"grace-ms", required_argument, NULL, OPT_GRACE},
        {"deadline-ms", required_argument, NULL, OPT_DEADLINE},
        {"raw-metadata", required_argument, NULL, OPT_RAW_METADATA},
        {"no-deadline", no_argument, NULL, OPT_NO_DEADLINE},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.options.host = "127.0.0.1";
    cfg.options.io_timeout_ms = 10000;
    cfg.window = 2;
    cfg.grace_ms = 1000;
    const char *service = NULL;
    const char *server_name = NULL;
    uint64_t number = 0;

    int option;
    /* "+": options end at the scenario name, so that texts may start with '-'. */
    while ((option = getopt_long(argc, argv, "+m:vh", long_options, NULL)) != -1) {
        switch (option) {
        case OPT_HOST: cfg.options.host = optarg; break;
        case OPT_PORT:
            if (!parse_u64(optarg, 65535, &number) || number == 0) {
                return usage_error("--port must be 1 to 65535, got '%s'", optarg);
            }
            cfg.options.port = optarg;
            break;
        case OPT_CA: cfg.options.ca_path = optarg; break;
        case OPT_CERT: cfg.options.cert_path = optarg; break;
        case OPT_KEY: cfg.options.key_path = optarg; break;
        case OPT_SERVICE: service = optarg; break;
        case OPT_SERVER_NAME: server_name = optarg; break;
        case 'm':
        case OPT_RAW_METADATA: {
            char *equals = strchr(optarg, '=');
            if (equals == NULL || equals == optarg) {
                return usage_error("--metadata needs KEY=VALUE, got '%s'", optarg);
            }
            if (cfg.n_metadata == MAX_METADATA) {
                return usage_error("at most 32 metadata entries%s", "");
            }
            *equals = '\0';
            for (char *c = optarg; option == 'm' && *c != '\0'; c++) {
                *c = (char)tolower((unsigned char)*c);
            }
            cfg.metadata[cfg.n_metadata].key = optarg;
            cfg.metadata[cfg.n_metadata].value = equals + 1;
            cfg.n_metadata++;
            break;
        }
        case OPT_TIMEOUT:
            if (!parse_u64(optarg, 24u * 3600u * 1000u, &number) || number == 0) {
                return usage_error("--timeout-ms must be a positive number of milliseconds, got '%s'", optarg);
            }
            cfg.options.io_timeout_ms = (int64_t)number;
            break;
        case OPT_WINDOW:
            if (!parse_u32(optarg, &cfg.window)) {
                return usage_error("--window must be a number of messages, got '%s'", optarg);
            }
            break;
        case OPT_INTERVAL:
            if (!parse_u32(optarg, &cfg.interval_micros)) {
                return usage_error("--interval-micros must be a number, got '%s'", optarg);
            }
            break;
        case OPT_HOLD:
            if (!parse_u32(optarg, &cfg.hold_ms) || cfg.hold_ms > 600000) {
                return usage_error("--hold-ms must be 0 to 600000, got '%s'", optarg);
            }
            break;
        case OPT_HOLD_UNTIL:
            if (optarg[0] == '\0') {
                return usage_error("--hold-until needs a file path%s", "");
            }
            cfg.hold_until = optarg;
            break;
        case OPT_GRACE:
            if (!parse_u32(optarg, &cfg.grace_ms) || cfg.grace_ms > 600000) {
                return usage_error("--grace-ms must be 0 to 600000, got '%s'", optarg);
            }
            break;
        case OPT_NO_DEADLINE: cfg.no_deadline = 1; break;
        case OPT_DEADLINE:
            if (!parse_u64(optarg, 24u * 3600u * 1000u, &cfg.deadline_ms) || cfg.deadline_ms == 0) {
                return usage_error("--deadline-ms must be a positive number of milliseconds, got '%s'", optarg);
            }
            break;
        case 'v': cfg.options.verbose = true; break;
        case 'h': usage(stdout); return 0;
        default: return usage_error("%s", "invalid option");
        }
    }
    if (cfg.options.port == NULL || cfg.options.ca_path == NULL || cfg.options.cert_path == NULL ||
        cfg.options.key_path == NULL) {
        return usage_error("%s", "--port, --ca, --cert and --key are required");
    }
    if (server_name != NULL) {
        if (strlen(server_name) >= sizeof cfg.server_name) {
            return usage_error("--server-name is too long: '%s'", server_name);
        }
        snprintf(cfg.server_name, sizeof cfg.server_name, "%s", server_name);
    } else if (service != NULL) {
        if (!valid_service(service) || strlen(service) + strlen(PIXRPC_IDENTITY_DOMAIN) >= sizeof cfg.server_name) {
            return usage_error("--service must be a service name like 'stats' (a-z, 0-9, '-'), got '%s'", service);
        }
        snprintf(cfg.server_name, sizeof cfg.server_name, "%s%s", service, PIXRPC_IDENTITY_DOMAIN);
    } else {
        return usage_error("%s", "--service (or --server-name) is required");
    }
    cfg.options.server_name = cfg.server_name;
    if (optind >= argc) {
        return usage_error("%s", "no scenario given");
    }
    const char *scenario = argv[optind];
    char **args = argv + optind + 1;
    int n_args = argc - optind - 1;

    /* Check the scenario's arguments before touching the network. */
    uint32_t count = 0, after_ms = 0;
    uint64_t micros = 0, deadline_ms = 0;
    int32_t code = 0;
    if (strcmp(scenario, "echo") == 0) {
        if (n_args < 1) {
            return usage_error("%s", "echo needs at least one TEXT");
        }
    } else if (strcmp(scenario, "expand") == 0) {
        if (n_args != 2 || !parse_u32(args[1], &count)) {
            return usage_error("%s", "expand needs TEXT COUNT (COUNT a number)");
        }
    } else if (strcmp(scenario, "fail") == 0) {
        if ((n_args != 2 && n_args != 3) || !parse_i32(args[0], &code)) {
            return usage_error("%s", "fail needs CODE MESSAGE [FIELD] (CODE a number, e.g. 3)");
        }
    } else if (strcmp(scenario, "sleep") == 0) {
        if (n_args != 2 || !parse_u64(args[0], UINT64_MAX, &micros) ||
            !parse_u64(args[1], 24u * 3600u * 1000u, &deadline_ms) || deadline_ms == 0) {
            return usage_error("%s", "sleep needs MICROS DEADLINE_MS (numbers, DEADLINE_MS > 0)");
        }
    } else if (strcmp(scenario, "inspect") == 0) {
        if (n_args != 0) {
            return usage_error("%s", "inspect takes no arguments");
        }
    } else if (strcmp(scenario, "cancel") == 0) {
        if (n_args != 2 || !parse_u64(args[0], UINT64_MAX, &micros) || !parse_u32(args[1], &after_ms)) {
            return usage_error("%s", "cancel needs MICROS AFTER_MS (numbers)");
        }
    } else {
        return usage_error("unknown scenario '%s'", scenario);
    }

    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        perror(PROGRAM ": signal(SIGPIPE)");
        return EXIT_FAILURE_PROTOCOL;
    }
    pixrpc_conn *conn = pixrpc_connect(&cfg.options);
    if (conn == NULL) {
        return failure("cannot connect");
    }
    int status;
    if (strcmp(scenario, "echo") == 0) {
        status = scenario_echo(conn, &cfg, args, n_args);
    } else if (strcmp(scenario, "expand") == 0) {
        status = scenario_expand(conn, &cfg, args[0], count);
    } else if (strcmp(scenario, "fail") == 0) {
        static char no_field[] = "";
        status = scenario_fail(conn, &cfg, code, args[1], n_args == 3 ? args[2] : no_field);
    } else if (strcmp(scenario, "sleep") == 0) {
        status = scenario_sleep(conn, &cfg, micros, deadline_ms);
    } else if (strcmp(scenario, "inspect") == 0) {
        status = scenario_inspect(conn, &cfg);
    } else {
        status = scenario_cancel(conn, &cfg, micros, after_ms);
    }
    pixrpc_close(conn);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: cannot write to standard output: %s\n", PROGRAM, strerror(errno));
        return EXIT_FAILURE_PROTOCOL;
    }
    return status;
}

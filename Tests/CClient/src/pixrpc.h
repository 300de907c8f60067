/*
 * pixrpc: a minimal, independent client side of the PixEcom RPC protocol (RPCKit, ALPN pixrpc/1).
 *
 * Transport: TCP, TLS 1.3 only, mutual authentication against the internal CA, ALPN "pixrpc/1",
 * SNI and certificate name check against "<service>.pixecom.internal".
 * Framing: a 4-byte big-endian body length, then one serialized pixecom.rpc.v1.Frame.
 *
 * Single-threaded. Every function that can fail returns a pixrpc_result and leaves a description
 * of the failure in pixrpc_error().
 */
#ifndef PIXRPC_H
#define PIXRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pixecom/rpc/v1/envelope.pb-c.h"

#define PIXRPC_ALPN "pixrpc/1"
#define PIXRPC_IDENTITY_DOMAIN ".pixecom.internal"
/* The largest frame body accepted or sent, in bytes (the protocol's default limit). */
#define PIXRPC_MAX_FRAME_SIZE (4u * 1024u * 1024u)
/* Server-streaming credit the protocol assumes when a Request names none. */
#define PIXRPC_DEFAULT_WINDOW 16u

typedef enum {
    PIXRPC_OK = 0,
    /* The deadline passed before anything arrived (nothing was consumed). */
    PIXRPC_TIMEOUT,
    /* The peer closed the connection at a frame boundary. */
    PIXRPC_EOF,
    /* A frame was read but refused: over the size limit (its body skipped, never buffered) or
     * not a Frame. pixrpc_refused_call_id() names its call when its first bytes did. The
     * connection stays usable. */
    PIXRPC_REFUSED,
    /* I/O, TLS or protocol failure; see pixrpc_error(). */
    PIXRPC_ERROR,
} pixrpc_result;

typedef struct {
    const char *host;
    const char *port;
    const char *ca_path;
    const char *cert_path;
    const char *key_path;
    /* The DNS name the server's certificate must carry; also sent as SNI. */
    const char *server_name;
    /* Bound on connecting, the handshake, and on every read or write that has started. */
    int64_t io_timeout_ms;
    bool verbose;
} pixrpc_options;

typedef struct pixrpc_conn pixrpc_conn;

/* Milliseconds and microseconds of a monotonic clock. */
int64_t pixrpc_now_ms(void);
int64_t pixrpc_now_us(void);

/* The description of the last failure (connection or not). */
const char *pixrpc_error(void);

/* Connects, completes the TLS handshake and checks TLS version, peer name and ALPN. NULL on
 * failure. */
pixrpc_conn *pixrpc_connect(const pixrpc_options *options);

/* Closes the connection (TLS close_notify, best effort) and frees it. NULL is allowed. */
void pixrpc_close(pixrpc_conn *conn);

/* Writes one frame (length prefix and body). */
pixrpc_result pixrpc_send_frame(pixrpc_conn *conn, const Pixecom__Rpc__V1__Frame *frame);

/* Reads one frame. Returns PIXRPC_TIMEOUT when no byte of a frame arrived before `deadline_ms`
 * (pixrpc_now_ms() clock); once a frame has begun, the rest must arrive within the I/O timeout.
 * On PIXRPC_OK, `*out` must be freed with pixecom__rpc__v1__frame__free_unpacked(*out, NULL). */
pixrpc_result pixrpc_recv_frame(pixrpc_conn *conn, int64_t deadline_ms, Pixecom__Rpc__V1__Frame **out);

/* The call id of the last PIXRPC_REFUSED frame, 0 when its first bytes named none. */
uint64_t pixrpc_refused_call_id(const pixrpc_conn *conn);

/* Sends GoAway{last_call_id: 0}: this client sends no further Request on the connection (at most
 * once per connection; later calls do nothing). */
pixrpc_result pixrpc_send_go_away(pixrpc_conn *conn, const char *reason);

/* ---- Calls ------------------------------------------------------------------------------------ */

typedef struct {
    const char *key;
    const char *value;
} pixrpc_metadata;

typedef struct {
    const char *method;
    const pixrpc_metadata *metadata;
    size_t n_metadata;
    uint64_t timeout_micros;
    const uint8_t *payload;
    size_t payload_len;
    uint32_t initial_window;
} pixrpc_request;

/* The next odd call id of this connection (1, 3, 5, ...). Fails when the server sent GoAway. */
pixrpc_result pixrpc_next_call_id(pixrpc_conn *conn, uint64_t *call_id);

pixrpc_result pixrpc_send_request(pixrpc_conn *conn, uint64_t call_id, const pixrpc_request *request);
pixrpc_result pixrpc_send_cancel(pixrpc_conn *conn, uint64_t call_id);
pixrpc_result pixrpc_send_window_update(pixrpc_conn *conn, uint64_t call_id, uint32_t messages);

/* Waits for the next Response frame of `call_id`, serving the connection meanwhile: answers Ping
 * with Pong; on GoAway stops new calls and acknowledges with its own GoAway (an error when the
 * GoAway says this call was not processed); skips frames of other calls and kinds a client does
 * not expect. A refused frame (oversized, malformed) for this call, or naming no call, is an
 * error; the call is cancelled first when named. PIXRPC_TIMEOUT when nothing arrived for the call
 * before `deadline_ms`; a closed connection is an error. On PIXRPC_OK `*out` is a frame whose kind
 * is RESPONSE, to be freed with pixecom__rpc__v1__frame__free_unpacked(*out, NULL). */
pixrpc_result pixrpc_await_response(pixrpc_conn *conn, uint64_t call_id, int64_t deadline_ms,
                                    Pixecom__Rpc__V1__Frame **out);

/* The canonical name of a status code ("INVALID_ARGUMENT"), or NULL when unknown. */
const char *pixrpc_code_name(int code);

#endif

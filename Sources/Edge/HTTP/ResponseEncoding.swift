import HTTPTypes
import NIOCore

/// HTTP/1.1 response heads, written straight into the buffer that carries the body: no
/// intermediate `HTTPHeaders` of string pairs and no encoder handler per response. Field names
/// and values come from `HTTPFields`, which validates names and legalizes values when they are
/// made, so nothing here can split a header.
enum ResponseEncoding {
    /// Writes `HTTP/1.1 <status>`, the fields, `date`, `content-length` (not for 1xx, 204 and
    /// 304, which have no body), `connection: close` unless kept alive, and the blank line.
    /// `contentLength` nil: the body follows in chunks (`transfer-encoding: chunked`, RFC 9112
    /// section 7.1), each written by `writeChunk`, and ends with `writeLastChunk`; or, with
    /// `chunked` false (an HTTP/1.0 client, which knows no chunks), as it is, ended by closing the
    /// connection.
    static func writeHead(
        status: HTTPResponse.Status, headers: HTTPFields, contentLength: Int?, chunked: Bool = true, keepAlive: Bool,
        into buffer: inout ByteBuffer
    ) {
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(status.code))
        buffer.writeStaticString(" ")
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        for field in headers {
            // These four are the server's to write, from what it does.
            if field.name == .contentLength || field.name == .date || field.name == .connection || field.name == .transferEncoding {
                continue
            }
            buffer.writeString(field.name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("date: ")
        buffer.writeString(HTTPDate.now)
        buffer.writeStaticString("\r\n")
        if status.kind != .informational, status.code != 204, status.code != 304 {
            if let contentLength {
                buffer.writeStaticString("content-length: ")
                buffer.writeString(String(contentLength))
                buffer.writeStaticString("\r\n")
            } else if chunked {
                buffer.writeStaticString("transfer-encoding: chunked\r\n")
            }
        }
        if !keepAlive {
            buffer.writeStaticString("connection: close\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    /// One chunk of a chunked body: its size in hex, the bytes, CRLF. Empty data writes nothing
    /// (an empty chunk would end the body).
    static func writeChunk(_ data: ByteBuffer, into buffer: inout ByteBuffer) {
        guard data.readableBytes > 0 else { return }
        buffer.writeString(String(data.readableBytes, radix: 16))
        buffer.writeStaticString("\r\n")
        buffer.writeImmutableBuffer(data)
        buffer.writeStaticString("\r\n")
    }

    /// The end of a chunked body: the zero-size chunk and no trailers.
    static func writeLastChunk(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("0\r\n\r\n")
    }
}

/// Bytes as the transport holds them: what frames are decoded from and encoded into, and what a
/// payload is. RPCCore does no I/O and knows no buffer type; the transport conforms its own
/// (RPCKit: NIO's `ByteBuffer`), so that a decoded payload stays a slice of the bytes received,
/// never a copy.
///
/// The codec is generic over this protocol and `@inlinable`, so that the transport's module
/// specialises it for its own type: the hot path makes no protocol-witness calls. It is `public`,
/// not `package`, for that reason: Swift 6.3 does not inline or specialise an `@inlinable package`
/// declaration in another module (it calls the unspecialised generic code, which cost the transport
/// a quarter of its calls per second), while it does for `public` ones. The same holds for
/// `DeadlineQueue`. The codec itself
/// reads and writes raw memory (`ProtobufReader`, `ProtobufWriter`); it needs from the buffer only
/// its readable bytes, slices of them and writable memory. The requirements are spelled as
/// `ByteBuffer` spells them, so that it conforms by adding `slice(_:)` alone.
public protocol WireBytes: Sendable {
    /// No bytes.
    init()

    /// How many bytes are readable.
    var readableBytes: Int { get }

    /// Calls `body` with the readable bytes; the pointer is valid only during the call.
    func withUnsafeReadableBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T

    /// Consumes the first `offset` readable bytes.
    mutating func moveReaderIndex(forwardBy offset: Int)

    /// The readable bytes in `range` (offsets from the first readable byte), sharing their storage.
    /// `range` must lie within the readable bytes.
    func slice(_ range: Range<Int>) -> Self

    /// Appends bytes in place: calls `body` with at least `minimumWritableBytes` of writable memory
    /// after the last byte; `body` returns how many bytes it wrote there.
    @discardableResult
    mutating func writeWithUnsafeMutableBytes(
        minimumWritableBytes: Int,
        _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) rethrows -> Int
}

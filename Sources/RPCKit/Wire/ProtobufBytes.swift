internal import NIOCore
internal import SwiftProtobuf

/// A `ByteBuffer` that swift-protobuf can serialize into, so a message is encoded straight into
/// NIO memory: one allocation, no intermediate array.
struct ProtobufBytes: SwiftProtobufContiguousBytes {
    var buffer: ByteBuffer

    init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    init(repeating: UInt8, count: Int) {
        self.buffer = ByteBufferAllocator().buffer(repeating: repeating, count: count)
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        self.buffer = ByteBuffer(bytes: sequence)
    }

    var count: Int { self.buffer.readableBytes }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try self.buffer.withUnsafeReadableBytes(body)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try self.buffer.withUnsafeMutableReadableBytes(body)
    }
}

extension SwiftProtobuf.Message {
    /// The message's binary form in a `ByteBuffer`.
    func serializedBuffer() throws -> ByteBuffer {
        let bytes: ProtobufBytes = try self.serializedBytes()
        return bytes.buffer
    }

    /// Decodes the message from the readable bytes of `buffer`, without copying them.
    init(buffer: ByteBuffer) throws {
        self = try buffer.withUnsafeReadableBytes { pointer in
            try Self(serializedBytes: ProtobufBytesView(pointer: pointer))
        }
    }
}

/// Read-only view of bytes for decoding; swift-protobuf only reads through `withUnsafeBytes`.
private struct ProtobufBytesView: SwiftProtobufContiguousBytes {
    let pointer: UnsafeRawBufferPointer

    init(pointer: UnsafeRawBufferPointer) {
        self.pointer = pointer
    }

    init(repeating: UInt8, count: Int) {
        preconditionFailure("ProtobufBytesView is read-only")
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        preconditionFailure("ProtobufBytesView is read-only")
    }

    var count: Int { self.pointer.count }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(self.pointer)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        preconditionFailure("ProtobufBytesView is read-only")
    }
}

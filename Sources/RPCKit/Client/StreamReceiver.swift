internal import NIOCore
internal import Synchronization

/// The messages of one server-streaming call, between the event loop that receives them and the
/// task that reads them. Holds at most the window the client granted (the connection enforces
/// it), so memory stays bounded however slow the reader. Thread-safe.
final class StreamReceiver: Sendable {
    private struct State: ~Copyable {
        var messages = CircularBuffer<ByteBuffer>()
        var end: Result<Void, any Error>?
        var waiter: CheckedContinuation<ByteBuffer?, any Error>?
    }

    private let state = Mutex(State())

    /// A message arrived (event loop).
    func deliver(_ message: ByteBuffer) {
        let waiter = self.state.withLock { state -> CheckedContinuation<ByteBuffer?, any Error>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.messages.append(message)
            return nil
        }
        waiter?.resume(returning: message)
    }

    /// The call ended: OK (`error` nil) or with an error. Messages already received are still read
    /// first.
    func finish(_ error: (any Error)?) {
        let waiter = self.state.withLock { state -> CheckedContinuation<ByteBuffer?, any Error>? in
            guard state.end == nil else { return nil }
            state.end = error.map { .failure($0) } ?? .success(())
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        if let waiter {
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
        }
    }

    var isFinished: Bool { self.state.withLock { $0.end != nil } }

    /// The next message, nil at a successful end; throws the call's error.
    func next() async throws -> ByteBuffer? {
        enum Immediate { case message(ByteBuffer), end(Result<Void, any Error>), wait }
        let immediate = self.state.withLock { state -> Immediate in
            if let message = state.messages.popFirst() { return .message(message) }
            if let end = state.end { return .end(end) }
            return .wait
        }
        switch immediate {
        case .message(let message):
            return message
        case .end(let end):
            try end.get()
            return nil
        case .wait:
            return try await withCheckedThrowingContinuation { continuation in
                let resumeNow = self.state.withLock { state -> Immediate in
                    if let message = state.messages.popFirst() { return .message(message) }
                    if let end = state.end { return .end(end) }
                    state.waiter = continuation
                    return .wait
                }
                switch resumeNow {
                case .message(let message): continuation.resume(returning: message)
                case .end(.success): continuation.resume(returning: nil)
                case .end(.failure(let error)): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        }
    }
}

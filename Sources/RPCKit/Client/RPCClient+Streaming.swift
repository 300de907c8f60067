internal import NIOCore
internal import RPCCore
public import SwiftProtobuf

extension RPCClient {
    /// Makes a server-streaming call and hands its messages to `body`. The call ends when the
    /// server ends it (the sequence finishes, or throws the status) or when `body` returns or
    /// throws first, which cancels it on the server.
    ///
    /// Flow control: the server sends at most `RPCClientConfiguration.streamWindow` messages ahead
    /// of `body`'s reading, so a slow reader slows the server instead of filling memory.
    ///
    /// - Parameter timeout: a deadline for the whole stream; nil means none (besides one inherited
    ///   from the call being served).
    public func serverStreaming<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message, Result: Sendable>(
        _ method: String,
        _ request: Request,
        as: Response.Type = Response.self,
        metadata: [String: String] = [:],
        timeout: Duration? = nil,
        _ body: (RPCResponseStream<Response>) async throws -> Result
    ) async throws -> Result {
        let payload: ByteBuffer
        do {
            payload = try request.serializedBuffer()
        } catch {
            throw RPCError(.invalidArgument, "request could not be serialized: \(error)")
        }
        var deadline: ContinuousClock.Instant?
        if let timeout {
            deadline = try self.deadline(for: method, timeout: timeout)
        } else if let inherited = ServerContext.current?.deadline {
            deadline = try self.deadline(for: method, timeout: inherited - .now)
        }
        let call = ClientCall(method: method, metadata: self.outgoingMetadata(metadata), service: self.configuration.serverService)
        let window = max(1, self.configuration.streamWindow)
        return try await self.intercepted(call) { call in
            var attempt = 1
            var avoiding: Set<Endpoint> = []
            var lastError: RPCError?
            while true {
                let endpoint = try self.pick(avoiding: avoiding, now: .now, lastError: lastError)
                let connection: ClientConnection
                do {
                    connection = try await self.connection(to: endpoint)
                } catch let unprocessed as UnprocessedCallError {
                    self.record(endpoint, .notProcessed)
                    lastError = unprocessed.error
                    guard attempt < self.configuration.retryPolicy.maxAttempts, !Task.isCancelled else { throw unprocessed.error }
                    attempt += 1
                    avoiding.insert(endpoint)
                    continue
                }
                let request = WireRequest(method: call.method, metadata: call.metadata, payload: payload)
                let (id, receiver) = connection.startStream(request, window: window, deadline: deadline)
                let stream = RPCResponseStream<Response>(receiver: receiver, connection: connection, callID: id)
                do {
                    let result = try await body(stream)
                    if !receiver.isFinished { connection.cancel(id) }
                    self.record(endpoint, .success)
                    return result
                } catch {
                    if !receiver.isFinished { connection.cancel(id) }
                    if let unprocessed = error as? UnprocessedCallError {
                        // Not retried: `body` may have acted already. It says nothing about the
                        // endpoint either.
                        self.record(endpoint, .notProcessed)
                        throw unprocessed.error
                    }
                    if let code = (error as? RPCError)?.code {
                        self.record(endpoint, LoadBalancer.Outcome(endingWith: code), chargesRetryBudget: code.chargesRetryThrottle)
                    } else {
                        self.record(endpoint, .neutral)
                    }
                    throw error
                }
            }
        }
    }
}

/// The messages of a server-streaming call, in order. Iterating ends when the server ends the
/// call with OK and throws its `RPCError` otherwise. Reading a message returns credit to the
/// server (flow control).
public struct RPCResponseStream<Message: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    let receiver: StreamReceiver
    let connection: ClientConnection
    let callID: UInt64

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: RPCResponseStream

        public mutating func next() async throws -> Message? {
            let payload: ByteBuffer?
            do {
                payload = try await self.stream.receiver.next()
            } catch let failure as any CallFailure {
                throw failure.error
            }
            guard let payload else { return nil }
            self.stream.connection.consumed(self.stream.callID)
            do {
                return try Message(buffer: payload)
            } catch {
                throw RPCError(.internal, "stream message is not a valid \(Message.protoMessageName)")
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(stream: self)
    }
}

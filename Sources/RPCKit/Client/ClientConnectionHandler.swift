internal import Logging
internal import NIOCore
internal import NIOSSL
internal import NIOTLS
internal import RPCCore

/// A failure of a call that provably never reached a handler: the connection refused it (GOAWAY,
/// closing) or it could not be sent. Safe to retry anywhere, whatever the method.
struct UnprocessedCallError: CallFailure {
    let error: RPCError
}

/// A call failed because its connection ended. One connection loss fails every call on it; only
/// the first of them charges the client's retry budget, so that a replica dying with many calls in
/// flight counts as the one event it is and their retries on other replicas go ahead.
struct ConnectionLostError: CallFailure {
    let error: RPCError
    let chargesRetryBudget: Bool
}

/// A failure RPCKit classifies internally; callers only ever see its `error`.
protocol CallFailure: Error {
    var error: RPCError { get }
}

/// Client side of one connection on its event loop: drives the `ClientConnectionStateMachine`,
/// matches responses to calls, enforces deadlines with one timer, keeps the connection alive and
/// fails every pending call when the connection ends.
///
/// Confined to its channel's event loop.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Pending {
        case unary(UnsafeContinuation<ByteBuffer, any Error>)
        case stream(StreamReceiver)
    }

    private var stateMachine = ClientConnectionStateMachine()
    private var liveness: ConnectionLivenessStateMachine
    private var reader: FrameReader
    private var pending: [UInt64: Pending] = [:]
    private var deadlines = DeadlineQueue<UInt64>()
    private var deadlineTimer: Scheduled<Void>?
    private var deadlineTimerFires: ContinuousClock.Instant?
    private var livenessTimer: RepeatedTask?
    /// Ids cancelled before their start reached the loop (the cancel hop overtook the start hop).
    private var cancelledEarly: [UInt64] = []
    private var context: ChannelHandlerContext?
    private var writer = FrameWriter()
    private let flags: ConnectionFlags
    private let handshake: EventLoopPromise<Void>
    private var handshakeSettled = false

    init(
        liveness: ConnectionLivenessStateMachine.Configuration, maxFrameSize: Int, flags: ConnectionFlags, handshake: EventLoopPromise<Void>
    ) {
        self.liveness = ConnectionLivenessStateMachine(configuration: liveness, now: .now)
        self.reader = FrameReader(maxFrameSize: maxFrameSize)
        self.flags = flags
        self.handshake = handshake
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.cancelTimers()
        // A connection that never came up (refused, timed out) still completes its promise.
        self.settleHandshake(RPCError(.unavailable, "connection closed before the TLS handshake completed"))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted(let negotiated) = event {
            guard negotiated == RPCTLS.alpn else {
                self.settleHandshake(RPCError(.unavailable, "server did not agree on protocol \(RPCTLS.alpn)"))
                context.close(promise: nil)
                return
            }
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let interval = TimeAmount(self.liveness.tickInterval)
            self.livenessTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                loopBound.value.livenessTick()
            }
            self.settleHandshake(nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    var handshakeFuture: EventLoopFuture<Void> { self.handshake.futureResult }

    private func settleHandshake(_ error: RPCError?) {
        guard !self.handshakeSettled else { return }
        self.handshakeSettled = true
        if let error { self.handshake.fail(error) } else { self.handshake.succeed(()) }
    }

    // MARK: - Starting and ending calls

    func startUnary(
        _ id: UInt64, _ request: WireRequest<ByteBuffer>, deadline: ContinuousClock.Instant?,
        continuation: UnsafeContinuation<ByteBuffer, any Error>
    ) {
        if let index = self.cancelledEarly.firstIndex(of: id) {
            self.cancelledEarly.remove(at: index)
            continuation.resume(throwing: RPCError(.cancelled, "call cancelled"))
            return
        }
        guard self.context != nil, self.stateMachine.startCall(id, isStream: false, window: 0) == .send else {
            continuation.resume(throwing: UnprocessedCallError(error: RPCError(.unavailable, "connection takes no new calls")))
            return
        }
        self.pending[id] = .unary(continuation)
        self.send(id, request, deadline: deadline)
    }

    func startStream(
        _ id: UInt64, _ request: WireRequest<ByteBuffer>, window: Int, deadline: ContinuousClock.Instant?, receiver: StreamReceiver
    ) {
        if let index = self.cancelledEarly.firstIndex(of: id) {
            self.cancelledEarly.remove(at: index)
            receiver.finish(RPCError(.cancelled, "call cancelled"))
            return
        }
        guard self.context != nil, self.stateMachine.startCall(id, isStream: true, window: window) == .send else {
            receiver.finish(UnprocessedCallError(error: RPCError(.unavailable, "connection takes no new calls")))
            return
        }
        var request = request
        request.initialWindow = UInt32(window)
        self.pending[id] = .stream(receiver)
        self.send(id, request, deadline: deadline)
    }

    private func send(_ id: UInt64, _ request: WireRequest<ByteBuffer>, deadline: ContinuousClock.Instant?) {
        var request = request
        if let deadline {
            let remaining = deadline - .now
            guard remaining > .zero else {
                self.fail(id, RPCError(.deadlineExceeded, "deadline exceeded before the call was sent"))
                _ = self.stateMachine.cancel(callID: id)
                return
            }
            request.timeoutMicros = UInt64(max(1, remaining.nanoseconds / 1000))
            self.deadlines.compactIfNeeded(openCount: self.pending.count) { self.pending[$0] != nil }
            self.deadlines.insert(id, deadline: deadline)
            self.armDeadlineTimer()
        }
        self.liveness.openCallsChanged(to: self.stateMachine.openCalls, now: .now)
        self.write(.request(callID: id, request))
    }

    /// Abandons a call: fails it locally and tells the server to stop its handler.
    func cancel(_ id: UInt64, error: RPCError = RPCError(.cancelled, "call cancelled")) {
        guard self.pending[id] != nil else {
            // Either already finished, or its start has not reached the loop yet.
            if self.cancelledEarly.count >= 1024 { self.cancelledEarly.removeFirst(512) }
            self.cancelledEarly.append(id)
            return
        }
        self.fail(id, error)
        if case .sendCancel(let close) = self.stateMachine.cancel(callID: id) {
            self.write(.cancel(callID: id))
            if close { self.closeAfterFlush() }
        }
    }

    /// The reader of a stream took a message: return credit when due.
    func consumed(_ id: UInt64) {
        if let messages = self.stateMachine.messageConsumed(callID: id) {
            self.write(.windowUpdate(callID: id, messages: messages))
        }
    }

    /// The client shuts down: no new calls; close once the open ones end.
    func drain() {
        self.flags.markDraining()
        let closeNow = self.stateMachine.beginDrain()
        self.write(.goAway(lastCallID: 0, reason: "client closing"))
        if closeNow { self.closeAfterFlush() } else { self.flushNow() }
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.writer.reading = true
        self.liveness.receivedData(now: .now)
        self.reader.append(Self.unwrapInboundIn(data))
        while context.channel.isActive, let inbound = self.reader.next() {
            self.received(inbound, context: context)
        }
    }

    private func received(_ inbound: InboundFrame<ByteBuffer>, context: ChannelHandlerContext) {
        switch inbound {
        case .frame(let frame):
            self.received(frame)
        case .oversized(let callID, let length, let limit):
            guard let callID else {
                context.close(promise: nil)
                return
            }
            self.cancel(
                callID,
                error: RPCError(.resourceExhausted, "response frame of \(length) bytes exceeds the maximum frame size of \(limit) bytes"))
        case .malformed(let callID):
            guard let callID else {
                context.close(promise: nil)
                return
            }
            self.cancel(callID, error: RPCError(.internal, "malformed response frame"))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.writer.reading = false
        self.flushNow()
        context.fireChannelReadComplete()
    }

    private func received(_ frame: WireFrame<ByteBuffer>) {
        switch frame {
        case .response(let id, let payload, let status):
            switch self.stateMachine.receivedResponse(callID: id, hasStatus: status != nil) {
            case .ignore:
                break
            case .deliverMessage:
                if case .stream(let receiver) = self.pending[id] { receiver.deliver(payload) }
            case .finish(let close):
                switch self.pending.removeValue(forKey: id) {
                case .unary(let continuation):
                    if let status, status.code == .ok {
                        continuation.resume(returning: payload)
                    } else if let status, status.notProcessed {
                        continuation.resume(throwing: UnprocessedCallError(error: status.error))
                    } else {
                        continuation.resume(
                            throwing: (status ?? RPCStatus(code: .unknown, message: "", fieldViolations: [], retryDelayMillis: nil)).error)
                    }
                case .stream(let receiver):
                    if let status, status.notProcessed {
                        receiver.finish(UnprocessedCallError(error: status.error))
                    } else {
                        receiver.finish(status.flatMap { $0.code == .ok ? nil : $0.error })
                    }
                case nil:
                    break
                }
                self.liveness.openCallsChanged(to: self.stateMachine.openCalls, now: .now)
                if close { self.closeAfterFlush() }
            case .violation(let problem):
                self.fail(id, RPCError(.internal, "protocol violation by the server: \(problem)"))
                self.write(.cancel(callID: id))
            }
        case .goAway(let lastCallID, _):
            self.flags.markDraining()
            let (unprocessed, closeNow) = self.stateMachine.receivedGoAway(lastCallID: lastCallID)
            for id in unprocessed {
                self.fail(id, UnprocessedCallError(error: RPCError(.unavailable, "server is draining; call was not processed")))
            }
            // Acknowledge: every call this connection will ever send is now ahead of this frame.
            self.write(.goAway(lastCallID: 0, reason: "acknowledged"))
            if closeNow { self.closeAfterFlush() } else { self.flushNow() }
        case .ping(let opaque):
            self.write(.pong(opaque: opaque))
        case .pong, .request, .cancel, .windowUpdate, .unknown:
            break
        }
    }

    private func fail(_ id: UInt64, _ error: any Error) {
        switch self.pending.removeValue(forKey: id) {
        case .unary(let continuation): continuation.resume(throwing: error)
        case .stream(let receiver): receiver.finish(error)
        case nil: break
        }
    }

    // MARK: - Timers

    private func armDeadlineTimer() {
        guard let earliest = self.deadlines.earliest, let context = self.context else { return }
        if let fires = self.deadlineTimerFires, fires <= earliest { return }
        self.deadlineTimer?.cancel()
        self.deadlineTimerFires = earliest
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.deadlineTimer = context.eventLoop.scheduleTask(in: TimeAmount(max(.zero, earliest - .now))) {
            loopBound.value.deadlineTimerFired()
        }
    }

    private func deadlineTimerFired() {
        self.deadlineTimer = nil
        self.deadlineTimerFires = nil
        let expired = self.deadlines.popExpired(now: .now) { self.pending[$0] != nil }
        for id in expired {
            self.cancel(id, error: RPCError(.deadlineExceeded, "deadline exceeded"))
        }
        self.deadlines.compactIfNeeded(openCount: self.pending.count) { self.pending[$0] != nil }
        self.deadlines.trim { self.pending[$0] != nil }
        self.armDeadlineTimer()
    }

    private func livenessTick() {
        switch self.liveness.tick(now: .now) {
        case .none:
            break
        case .sendPing(let opaque):
            self.write(.ping(opaque: opaque))
        case .closeDeadPeer:
            self.flags.markClosed()
            self.context?.close(promise: nil)
        case .closeIdle:
            self.drain()
        }
    }

    private func cancelTimers() {
        self.deadlineTimer?.cancel()
        self.deadlineTimer = nil
        self.deadlineTimerFires = nil
        self.livenessTimer?.cancel()
        self.livenessTimer = nil
    }

    // MARK: - Connection end

    func channelInactive(context: ChannelHandlerContext) {
        self.flags.markClosed()
        self.settleHandshake(RPCError(.unavailable, "connection closed during the TLS handshake"))
        for (index, id) in self.stateMachine.closed().enumerated() {
            let error = RPCError(.unavailable, "connection closed before the call completed")
            self.fail(id, ConnectionLostError(error: error, chargesRetryBudget: index == 0))
        }
        self.pending.removeAll()
        self.cancelTimers()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.flags.markClosed()
        self.settleHandshake(RPCError(.unavailable, "connection failed: \(error)"))
        for (index, id) in self.stateMachine.closed().enumerated() {
            let failure = RPCError(.unavailable, "connection failed: \(error)")
            self.fail(id, ConnectionLostError(error: failure, chargesRetryBudget: index == 0))
        }
        context.close(promise: nil)
    }

    // MARK: - Writing

    private func write(_ frame: WireFrame<ByteBuffer>) {
        guard let context = self.context else { return }
        let next = self.writer.append(frame, allocator: context.channel.allocator)
        if let chunk = next.chunk {
            context.write(Self.wrapOutboundOut(chunk), promise: nil)
        }
        if next.scheduleFlush {
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute { loopBound.value.flushNow() }
        }
    }

    private func flushNow() {
        guard let flush = self.writer.flush(), let context = self.context else { return }
        if let bytes = flush.bytes {
            context.write(Self.wrapOutboundOut(bytes), promise: nil)
        }
        context.flush()
    }

    private func closeAfterFlush() {
        self.flags.markClosed()
        self.flushNow()
        self.context?.close(promise: nil)
    }
}

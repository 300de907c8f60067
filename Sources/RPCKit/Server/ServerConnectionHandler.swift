internal import Logging
internal import NIOCore
internal import NIOSSL
internal import NIOTLS
internal import RPCCore

/// A call accepted by a connection, handed to the task that serves the connection's calls.
struct IncomingCall: Sendable {
    let id: UInt64
    let request: WireRequest<ByteBuffer>
    let route: RPCRouter.Route
    let receivedAt: ContinuousClock.Instant
    let control: CallControl
    let connection: ServerConnection
}

/// The sending side of one server connection, usable from any task. Work hops to the event loop
/// unless the caller already runs there (handlers normally do: see `EventLoopTaskExecutor`).
struct ServerConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ServerConnectionHandler>
    let peerService: String?

    /// Sends the final frame of a call (nothing if the call already ended).
    func finish(callID: UInt64, payload: ByteBuffer, status: RPCStatus) {
        if self.channel.eventLoop.inEventLoop {
            self.handler.value.finish(callID: callID, payload: payload, status: status)
        } else {
            let handler = self.handler
            self.channel.eventLoop.execute {
                handler.value.finish(callID: callID, payload: payload, status: status)
            }
        }
    }
}

/// The writing side of one server-streaming call.
struct RawResponseWriter: Sendable {
    let callID: UInt64
    let connection: ServerConnection

    func write(_ payload: ByteBuffer) async throws {
        try Task.checkCancellation()
        let loop = self.connection.channel.eventLoop
        let handler = self.connection.handler
        let callID = self.callID
        // Fast path: on the loop with credit, the message is written without suspending.
        if loop.inEventLoop, handler.value.trySendStreamMessage(callID: callID, payload: payload) {
            return
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                loop.execute {
                    handler.value.sendStreamMessage(callID: callID, payload: payload, continuation: continuation)
                }
            }
        } onCancel: {
            loop.execute { handler.value.abandonCreditWait(callID: callID) }
        }
    }
}

/// Per-connection protocol I/O on the event loop: decodes frames, drives the
/// `ServerConnectionStateMachine` and the liveness rules, hands accepted calls to the serving task,
/// writes answers with flushes coalesced per event-loop tick, enforces deadlines with one timer.
///
/// Confined to its channel's event loop.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Configuration: Sendable {
        var stateMachine: ServerConnectionStateMachine.Configuration
        var liveness: ConnectionLivenessStateMachine.Configuration
        var handshakeTimeout: Duration
        /// How long a draining connection may take: calls still open then are cut off.
        var drainTimeout: Duration
        /// The largest frame accepted.
        var maxFrameSize: Int
    }

    private struct OpenCall {
        let control: CallControl
        var creditWaiter: CheckedContinuation<Void, any Error>?
        var pendingMessage: ByteBuffer?
    }

    private let configuration: Configuration
    private let router: RPCRouter
    private let calls: CallStarter
    private let logger: Logger
    private var stateMachine: ServerConnectionStateMachine
    private var liveness: ConnectionLivenessStateMachine
    private var open: [UInt64: OpenCall] = [:]
    private var deadlines = DeadlineQueue<UInt64>()
    private var deadlineTimer: Scheduled<Void>?
    private var deadlineTimerFires: ContinuousClock.Instant?
    private var livenessTimer: RepeatedTask?
    private var handshakeTimer: Scheduled<Void>?
    private var drainTimer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private var peerService: String?
    private var writer = FrameWriter()
    /// The connection failed a check (ALPN) and is closing.
    private var refused = false
    private var reader: FrameReader

    init(configuration: Configuration, router: RPCRouter, calls: CallStarter, logger: Logger) {
        self.configuration = configuration
        self.router = router
        self.calls = calls
        self.logger = logger
        self.stateMachine = ServerConnectionStateMachine(configuration: configuration.stateMachine)
        self.reader = FrameReader(maxFrameSize: configuration.maxFrameSize, methods: router.methodNames)
        self.liveness = ConnectionLivenessStateMachine(configuration: configuration.liveness, now: .now)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.handshakeTimer = context.eventLoop.scheduleTask(in: TimeAmount(self.configuration.handshakeTimeout)) {
            loopBound.value.handshakeTimedOut()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.cancelTimers()
    }

    private var connection: ServerConnection? {
        guard let context = self.context else { return nil }
        return ServerConnection(
            channel: context.channel,
            handler: NIOLoopBound(self, eventLoop: context.eventLoop),
            peerService: self.peerService
        )
    }

    // MARK: - Inbound

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted(let negotiated) = event {
            self.handshakeTimer?.cancel()
            self.handshakeTimer = nil
            guard negotiated == RPCTLS.alpn else {
                self.refused = true
                self.logger.warning("rpc.connection.refused", metadata: ["reason": "alpn mismatch"])
                context.close(promise: nil)
                return
            }
            if let ssl = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self),
                let certificate = ssl.peerCertificate
            {
                self.peerService = RPCTLS.serviceIdentity(of: certificate)
            }
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let interval = TimeAmount(self.liveness.tickInterval)
            self.livenessTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                loopBound.value.livenessTick()
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Bytes that arrived with the handshake of a refused connection are never served.
        guard !self.refused else { return }
        self.writer.reading = true
        let now = ContinuousClock.now
        self.liveness.receivedData(now: now)
        self.reader.append(Self.unwrapInboundIn(data))
        while context.channel.isActive, let inbound = self.reader.next() {
            self.received(inbound, now: now)
        }
    }

    private func received(_ inbound: InboundFrame<ByteBuffer>, now: ContinuousClock.Instant) {
        switch inbound {
        case .frame(let frame):
            self.received(frame, now: now)
        case .oversized(let callID, let length, let limit):
            if let callID, callID == 0 || callID % 2 == 0 {
                self.protocolViolation("oversized frame names call id \(callID), which is not a client call id (odd, non-zero)")
                return
            }
            guard let callID else {
                self.goAway(reason: "oversized frame without call id", closeNow: true)
                return
            }
            self.refuseFrame(
                callID: callID,
                RPCError(.resourceExhausted, "frame of \(length) bytes exceeds the maximum frame size of \(limit) bytes")
            )
        case .malformed(let callID):
            if let callID, callID == 0 || callID % 2 == 0 {
                self.protocolViolation("malformed frame names call id \(callID), which is not a client call id (odd, non-zero)")
                return
            }
            guard let callID else {
                self.goAway(reason: "malformed frame", closeNow: true)
                return
            }
            self.refuseFrame(callID: callID, RPCError(.invalidArgument, "malformed frame: not a pixecom.rpc.v1.Frame"))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.writer.reading = false
        self.flushNow()
        context.fireChannelReadComplete()
    }

    private func received(_ frame: WireFrame<ByteBuffer>, now: ContinuousClock.Instant) {
        switch frame {
        case .request(let id, let request):
            self.receivedRequest(id: id, request: request, now: now)
        case .cancel(let id):
            self.interrupt(id, .cancelledByClient, action: self.stateMachine.cancel(callID: id))
        case .windowUpdate(let id, let messages):
            if self.stateMachine.receivedWindowUpdate(callID: id, messages: messages) {
                self.resumeCreditWaiter(id)
            }
        case .ping(let opaque):
            self.write(.pong(opaque: opaque))
        case .goAway:
            if self.stateMachine.receivedGoAway() {
                self.flushNow()
                self.context?.close(promise: nil)
            }
        case .pong, .response, .unknown:
            break
        }
    }

    /// The route of the last request: calls on a connection mostly repeat a method, and
    /// comparing the router's own name instance is cheaper than hashing it.
    private var lastRoute: (method: String, route: RPCRouter.Route)?

    private func route(for method: String) -> RPCRouter.Route? {
        if let last = self.lastRoute, last.method == method { return last.route }
        guard let route = self.router.route(for: method) else { return nil }
        self.lastRoute = (method, route)
        return route
    }

    private func receivedRequest(id: UInt64, request: WireRequest<ByteBuffer>, now: ContinuousClock.Instant) {
        guard let route = self.route(for: request.method) else {
            if let problem = self.stateMachine.problem(withNewCallID: id) {
                self.protocolViolation(problem)
            } else {
                self.write(
                    .response(
                        callID: id, payload: ByteBuffer(), status: RPCStatus(RPCError(.unimplemented, "unknown method \(request.method)"))))
            }
            return
        }
        switch self.stateMachine.receivedRequest(callID: id, isStream: route.isStream, initialWindow: request.initialWindow) {
        case .refuse(let error):
            var status = RPCStatus(error)
            status.notProcessed = true
            self.write(.response(callID: id, payload: ByteBuffer(), status: status))
        case .protocolViolation(let problem):
            self.protocolViolation(problem)
        case .accept:
            guard let connection = self.connection else { return }
            let control = CallControl()
            self.open[id] = OpenCall(control: control)
            self.liveness.openCallsChanged(to: self.stateMachine.openCalls, now: now)
            if request.timeoutMicros > 0 {
                let deadline = now.advanced(by: .microseconds(Int64(clamping: request.timeoutMicros)))
                self.deadlines.compactIfNeeded(openCount: self.open.count) { self.open[$0] != nil }
                self.deadlines.insert(id, deadline: deadline)
                self.armDeadlineTimer()
            }
            // Last: the handler may run (and finish the call) before `start` returns.
            self.calls.start(
                IncomingCall(id: id, request: request, route: route, receivedAt: now, control: control, connection: connection)
            )
        }
    }

    /// A frame for `callID` could not be accepted: answer that call, end it if it was open.
    private func refuseFrame(callID: UInt64, _ error: RPCError) {
        _ = self.stateMachine.cancel(callID: callID)
        if let call = self.open.removeValue(forKey: callID) {
            call.control.interrupt(.cancelledByClient)
            call.creditWaiter?.resume(throwing: error)
        }
        self.write(.response(callID: callID, payload: ByteBuffer(), status: RPCStatus(error)))
    }

    // MARK: - Answers from handlers

    /// The final frame of a call.
    func finish(callID: UInt64, payload: ByteBuffer, status: RPCStatus) {
        switch self.stateMachine.finish(callID: callID) {
        case .drop:
            return
        case .send:
            self.open.removeValue(forKey: callID)
            self.write(.response(callID: callID, payload: payload, status: status))
        case .sendAndClose:
            self.open.removeValue(forKey: callID)
            self.write(.response(callID: callID, payload: payload, status: status))
            self.flushNow()
            self.context?.close(promise: nil)
        }
        self.liveness.openCallsChanged(to: self.stateMachine.openCalls, now: .now)
    }

    /// Writes a stream message when the call has credit; false when the caller must wait.
    func trySendStreamMessage(callID: UInt64, payload: ByteBuffer) -> Bool {
        guard self.open[callID]?.creditWaiter == nil, self.stateMachine.credit(of: callID).map({ $0 > 0 }) == true else {
            return false
        }
        guard self.stateMachine.sendMessage(callID: callID) == .send else { return false }
        self.write(.response(callID: callID, payload: payload, status: nil))
        return true
    }

    /// Writes a stream message now, or parks it until the client grants credit.
    func sendStreamMessage(callID: UInt64, payload: ByteBuffer, continuation: CheckedContinuation<Void, any Error>) {
        guard var call = self.open[callID] else {
            continuation.resume(throwing: RPCError(.cancelled, "the call has ended"))
            return
        }
        switch self.stateMachine.sendMessage(callID: callID) {
        case .send:
            self.write(.response(callID: callID, payload: payload, status: nil))
            continuation.resume()
        case .wait:
            call.creditWaiter = continuation
            call.pendingMessage = payload
            self.open[callID] = call
        case .callEnded:
            continuation.resume(throwing: RPCError(.cancelled, "the call has ended"))
        }
    }

    /// The writer's task was cancelled while waiting for credit.
    func abandonCreditWait(callID: UInt64) {
        guard var call = self.open[callID], let waiter = call.creditWaiter else { return }
        call.creditWaiter = nil
        call.pendingMessage = nil
        self.open[callID] = call
        waiter.resume(throwing: CancellationError())
    }

    private func resumeCreditWaiter(_ callID: UInt64) {
        guard var call = self.open[callID], let waiter = call.creditWaiter, let message = call.pendingMessage else { return }
        guard self.stateMachine.sendMessage(callID: callID) == .send else { return }
        call.creditWaiter = nil
        call.pendingMessage = nil
        self.open[callID] = call
        self.write(.response(callID: callID, payload: message, status: nil))
        waiter.resume()
    }

    // MARK: - Interruptions

    private func interrupt(_ callID: UInt64, _ reason: CallInterruption, action: ServerConnectionStateMachine.CancelAction) {
        guard action != .none, let call = self.open.removeValue(forKey: callID) else { return }
        call.control.interrupt(reason)
        call.creditWaiter?.resume(throwing: reason.error)
        self.liveness.openCallsChanged(to: self.stateMachine.openCalls, now: .now)
        if action == .interruptAndClose {
            self.flushNow()
            self.context?.close(promise: nil)
        }
    }

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
        let expired = self.deadlines.popExpired(now: .now) { self.open[$0] != nil }
        for id in expired {
            let error = CallInterruption.deadlineExceeded.error
            if self.stateMachine.finish(callID: id) != .drop, let call = self.open.removeValue(forKey: id) {
                call.control.interrupt(.deadlineExceeded)
                call.creditWaiter?.resume(throwing: error)
                self.write(.response(callID: id, payload: ByteBuffer(), status: RPCStatus(error)))
            }
        }
        self.deadlines.compactIfNeeded(openCount: self.open.count) { self.open[$0] != nil }
        self.deadlines.trim { self.open[$0] != nil }
        self.liveness.openCallsChanged(to: self.stateMachine.openCalls, now: .now)
        if self.stateMachine.shouldClose {
            self.flushNow()
            self.context?.close(promise: nil)
        }
        self.armDeadlineTimer()
    }

    // MARK: - Connection life

    /// Stops accepting calls; open calls finish, then the connection closes.
    func beginDrain(_ reason: ServerConnectionStateMachine.DrainReason) {
        guard case .sendGoAway(let last, let closeNow) = self.stateMachine.beginDrain(reason) else { return }
        self.write(.goAway(lastCallID: last, reason: reason == .idle ? "idle" : "server shutting down"))
        self.flushNow()
        if closeNow {
            self.context?.close(promise: nil)
        } else if self.drainTimer == nil, let context = self.context {
            let channel = context.channel
            self.drainTimer = context.eventLoop.scheduleTask(in: TimeAmount(self.configuration.drainTimeout)) {
                channel.close(promise: nil)
            }
        }
    }

    /// The client broke the protocol: its calls cannot be told apart any more. Tell it why, close.
    private func protocolViolation(_ problem: String) {
        self.logger.warning(
            "rpc.connection.protocol_violation", metadata: ["problem": "\(problem)", "rpc.peer": "\(self.peerService ?? "unknown")"])
        self.goAway(reason: "protocol violation: \(problem)", closeNow: true)
    }

    private func goAway(reason: String, closeNow: Bool) {
        _ = self.stateMachine.beginDrain(.failure)
        self.write(.goAway(lastCallID: self.stateMachine.lastAcceptedCallID, reason: reason))
        self.flushNow()
        if closeNow { self.context?.close(promise: nil) }
    }

    private func livenessTick() {
        switch self.liveness.tick(now: .now) {
        case .none:
            break
        case .sendPing(let opaque):
            self.write(.ping(opaque: opaque))
            self.flushNow()
        case .closeDeadPeer:
            self.logger.info("rpc.connection.dead_peer", metadata: ["rpc.peer": "\(self.peerService ?? "unknown")"])
            self.context?.close(promise: nil)
        case .closeIdle:
            self.beginDrain(.idle)
        }
    }

    private func handshakeTimedOut() {
        self.logger.info("rpc.connection.handshake_timeout")
        self.context?.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        for id in self.stateMachine.closed() {
            if let call = self.open.removeValue(forKey: id) {
                call.control.interrupt(.connectionClosed)
                call.creditWaiter?.resume(throwing: CallInterruption.connectionClosed.error)
            }
        }
        self.open.removeAll()
        self.cancelTimers()
        self.calls.connectionClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("rpc.connection.error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func cancelTimers() {
        self.deadlineTimer?.cancel()
        self.deadlineTimer = nil
        self.deadlineTimerFires = nil
        self.livenessTimer?.cancel()
        self.livenessTimer = nil
        self.handshakeTimer?.cancel()
        self.handshakeTimer = nil
        self.drainTimer?.cancel()
        self.drainTimer = nil
    }

    // MARK: - Writing

    /// Writes a frame; the flush happens once per event-loop tick (or at the end of the current
    /// read), so answers produced together leave in one system call.
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
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(duration.nanoseconds)
    }
}

import Foundation
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import PixEcomProtos

/// A call accepted by a connection, handed to the task that serves the connection.
struct IncomingCall: Sendable {
    let id: UInt64
    let request: Pixecom_Rpc_V1_Request
    let receivedAt: ContinuousClock.Instant
    let control: CallControl
    let connection: ServerConnection
}

/// The sending side of one server connection, usable from any task. Writes hop to the event loop.
struct ServerConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<ServerConnectionHandler>
    let peerService: String?

    /// Sends the final frame of a call and forgets the call.
    func finish(callID: UInt64, frame: Pixecom_Rpc_V1_Frame) {
        let handler = self.handler
        self.channel.eventLoop.execute {
            handler.value.finish(callID: callID, frame: frame)
        }
    }
}

/// Per-connection protocol logic on the event loop: accepts requests, enforces limits, answers
/// oversized and malformed frames, handles cancellation, pings and GOAWAY drain.
///
/// Confined to its channel's event loop.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = Pixecom_Rpc_V1_Frame

    private let maxConcurrentCalls: Int
    private let maxFrameSize: Int
    private let calls: AsyncStream<IncomingCall>.Continuation
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var active: [UInt64: CallControl] = [:]
    private var lastAcceptedCallID: UInt64 = 0
    private var draining = false
    private var peerService: String?
    private var handshakeDone = false

    init(
        maxConcurrentCalls: Int,
        maxFrameSize: Int,
        calls: AsyncStream<IncomingCall>.Continuation,
        logger: Logger
    ) {
        self.maxConcurrentCalls = maxConcurrentCalls
        self.maxFrameSize = maxFrameSize
        self.calls = calls
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted(let negotiated) = event {
            guard negotiated == RPCTLS.alpn else {
                self.logger.warning("rpc.connection.refused", metadata: ["reason": "alpn mismatch"])
                context.close(promise: nil)
                return
            }
            self.handshakeDone = true
            if let ssl = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self),
                let certificate = ssl.peerCertificate
            {
                self.peerService = RPCTLS.serviceIdentity(of: certificate)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .frame(let frame):
            self.received(frame, context: context)
        case .oversized(let callID, let length, let limit):
            guard let callID else {
                self.goAway(context: context, reason: "oversized frame without call id")
                return
            }
            let error = RPCError(
                .resourceExhausted,
                "frame of \(length) bytes exceeds the maximum frame size of \(limit) bytes"
            )
            self.active.removeValue(forKey: callID)?.interrupt(.cancelledByClient)
            context.writeAndFlush(Self.wrapOutboundOut(.status(callID: callID, error)), promise: nil)
        case .malformed(let callID):
            guard let callID else {
                self.goAway(context: context, reason: "malformed frame")
                return
            }
            let error = RPCError(.invalidArgument, "malformed frame: not a pixecom.rpc.v1.Frame")
            context.writeAndFlush(Self.wrapOutboundOut(.status(callID: callID, error)), promise: nil)
        }
    }

    private func received(_ frame: Pixecom_Rpc_V1_Frame, context: ChannelHandlerContext) {
        switch frame.kind {
        case .request(let request):
            let id = frame.callID
            if self.draining {
                self.reject(id, RPCError(.unavailable, "server is shutting down; retry elsewhere"), context)
            } else if self.active[id] != nil {
                self.reject(id, RPCError(.invalidArgument, "call id \(id) is already in use"), context)
            } else if self.active.count >= self.maxConcurrentCalls {
                self.reject(
                    id,
                    RPCError(
                        .resourceExhausted,
                        "too many concurrent calls on this connection (limit \(self.maxConcurrentCalls))",
                        retryDelayMillis: 10
                    ),
                    context
                )
            } else {
                let control = CallControl()
                self.active[id] = control
                self.lastAcceptedCallID = max(self.lastAcceptedCallID, id)
                let connection = ServerConnection(
                    channel: context.channel,
                    handler: NIOLoopBound(self, eventLoop: context.eventLoop),
                    peerService: self.peerService
                )
                self.calls.yield(
                    IncomingCall(
                        id: id,
                        request: request,
                        receivedAt: .now,
                        control: control,
                        connection: connection
                    )
                )
            }
        case .cancel:
            self.active.removeValue(forKey: frame.callID)?.interrupt(.cancelledByClient)
        case .ping(let ping):
            var pong = Pixecom_Rpc_V1_Frame()
            pong.pong.opaque = ping.opaque
            context.writeAndFlush(Self.wrapOutboundOut(pong), promise: nil)
        case .goAway:
            self.draining = true
            self.closeIfDrained(context: context)
        case .response, .pong, .none:
            break
        }
    }

    private func reject(_ id: UInt64, _ error: RPCError, _ context: ChannelHandlerContext) {
        context.writeAndFlush(Self.wrapOutboundOut(.status(callID: id, error)), promise: nil)
    }

    /// Sends the final frame of a call. A call already ended (interrupted, cancelled) sends nothing.
    func finish(callID: UInt64, frame: Pixecom_Rpc_V1_Frame) {
        guard let context = self.context else { return }
        if self.active.removeValue(forKey: callID) != nil {
            context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
        }
        self.closeIfDrained(context: context)
    }

    /// Stops accepting calls: tells the peer which calls will still be served and closes once
    /// they are done.
    func beginDrain(reason: String) {
        guard let context = self.context, !self.draining else { return }
        self.goAway(context: context, reason: reason)
    }

    private func goAway(context: ChannelHandlerContext, reason: String) {
        self.draining = true
        var frame = Pixecom_Rpc_V1_Frame()
        frame.goAway.lastCallID = self.lastAcceptedCallID
        frame.goAway.reason = reason
        context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
        self.closeIfDrained(context: context)
    }

    private func closeIfDrained(context: ChannelHandlerContext) {
        if self.draining && self.active.isEmpty {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        for control in self.active.values {
            control.interrupt(.connectionClosed)
        }
        self.active.removeAll()
        self.calls.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("rpc.connection.error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}

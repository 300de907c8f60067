import Foundation
import NIOCore
import NIOSSL
import PixEcomProtos

/// Client side of one connection on its event loop: assigns call ids, matches responses to calls,
/// enforces deadlines and fails every pending call when the connection ends.
///
/// Confined to its channel's event loop.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = Pixecom_Rpc_V1_Frame

    private struct Pending {
        let promise: EventLoopPromise<Pixecom_Rpc_V1_Response>
        let timer: Scheduled<Void>?
    }

    private var context: ChannelHandlerContext?
    private var pending: [UInt64: Pending] = [:]
    private let state: ClientConnectionState

    init(state: ClientConnectionState) {
        self.state = state
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Sends a request; the promise completes with the final response or fails with `RPCError`.
    func start(
        _ id: UInt64,
        _ request: Pixecom_Rpc_V1_Request,
        timeout: Duration?,
        promise: EventLoopPromise<Pixecom_Rpc_V1_Response>
    ) {
        guard let context = self.context, context.channel.isActive, !self.state.isDraining else {
            promise.fail(RPCError(.unavailable, "connection is closed"))
            return
        }
        var timer: Scheduled<Void>?
        if let timeout {
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: .nanoseconds(max(0, timeout.nanoseconds))) {
                handler.value.expire(id)
            }
        }
        self.pending[id] = Pending(promise: promise, timer: timer)
        var frame = Pixecom_Rpc_V1_Frame()
        frame.callID = id
        frame.request = request
        context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
    }

    /// Abandons a call: fails it locally and tells the server to stop its handler.
    func cancel(_ id: UInt64, error: RPCError = RPCError(.cancelled, "call cancelled")) {
        guard let pending = self.pending.removeValue(forKey: id) else { return }
        pending.timer?.cancel()
        pending.promise.fail(error)
        if let context = self.context {
            var frame = Pixecom_Rpc_V1_Frame()
            frame.callID = id
            frame.cancel = Pixecom_Rpc_V1_Cancel()
            context.writeAndFlush(Self.wrapOutboundOut(frame), promise: nil)
        }
    }

    private func expire(_ id: UInt64) {
        self.cancel(id, error: RPCError(.deadlineExceeded, "deadline exceeded"))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .frame(let frame):
            switch frame.kind {
            case .response(let response) where response.hasStatus:
                if let pending = self.pending.removeValue(forKey: frame.callID) {
                    pending.timer?.cancel()
                    pending.promise.succeed(response)
                }
            case .goAway(let goAway):
                self.state.markDraining()
                // Calls the server will not serve were never processed: safe to retry elsewhere.
                for id in self.pending.keys where id > goAway.lastCallID {
                    self.fail(id, RPCError(.unavailable, "server is draining; call was not processed"))
                }
                if self.pending.isEmpty { context.close(promise: nil) }
            case .ping(let ping):
                var pong = Pixecom_Rpc_V1_Frame()
                pong.pong.opaque = ping.opaque
                context.writeAndFlush(Self.wrapOutboundOut(pong), promise: nil)
            default:
                break
            }
        case .oversized(let callID, let length, let limit):
            if let callID {
                self.fail(
                    callID,
                    RPCError(.resourceExhausted, "response frame of \(length) bytes exceeds the maximum frame size of \(limit) bytes")
                )
            } else {
                context.close(promise: nil)
            }
        case .malformed(let callID):
            if let callID {
                self.fail(callID, RPCError(.internal, "malformed response frame"))
            } else {
                context.close(promise: nil)
            }
        }
        if self.state.isDraining && self.pending.isEmpty {
            context.close(promise: nil)
        }
    }

    private func fail(_ id: UInt64, _ error: RPCError) {
        guard let pending = self.pending.removeValue(forKey: id) else { return }
        pending.timer?.cancel()
        pending.promise.fail(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.state.markClosed()
        let pending = self.pending
        self.pending.removeAll()
        for entry in pending.values {
            entry.timer?.cancel()
            entry.promise.fail(RPCError(.unavailable, "connection closed before the call completed"))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.state.markClosed()
        let reason = RPCError(.unavailable, "connection failed: \(error)")
        let pending = self.pending
        self.pending.removeAll()
        for entry in pending.values {
            entry.timer?.cancel()
            entry.promise.fail(reason)
        }
        context.close(promise: nil)
    }
}

/// The protocol logic of one client connection, without I/O: call ids, open calls, stream credit
/// and GOAWAY handling. The NIO handler feeds it events and performs the actions it returns; tests
/// drive it directly.
///
/// Call ids are allocated by the connection (odd, from an atomic counter, so callers on any thread
/// can name their call before it reaches the event loop) and never reused. Invariants: every
/// started call ends exactly once (final response, failure, cancellation or connection loss); a stream never holds more
/// unconsumed messages than the window it granted.
package struct ClientConnectionStateMachine {
    private struct Call {
        var isStream: Bool
        /// Messages the server may still send before it needs a window update.
        var credit: Int
        /// Messages consumed by the caller and not yet granted back.
        var consumedSinceUpdate: Int
        var window: Int
    }

    private enum State: Equatable {
        case active
        /// The server sent GOAWAY: no new calls here.
        case draining
        case closed
    }

    private var calls: [UInt64: Call] = [:]
    private var state = State.active

    package init() {}

    package var openCalls: Int { self.calls.count }
    package var acceptsCalls: Bool { self.state == .active }
    package func isOpen(_ callID: UInt64) -> Bool { self.calls[callID] != nil }

    package enum StartAction: Equatable {
        case send
        /// Not sent: the connection takes no new calls (safe to retry elsewhere).
        case refuse
    }

    package mutating func startCall(_ callID: UInt64, isStream: Bool, window: Int) -> StartAction {
        guard self.state == .active, self.calls[callID] == nil else { return .refuse }
        self.calls[callID] = Call(isStream: isStream, credit: window, consumedSinceUpdate: 0, window: window)
        return .send
    }

    package enum ResponseAction: Equatable {
        /// One message of a stream: hand it to the reader.
        case deliverMessage
        /// The call's final frame: complete the call. `close` when the connection drained.
        case finish(close: Bool)
        /// A frame for a call that already ended locally (cancelled, expired): ignore it.
        case ignore
        /// The server broke the protocol for this call (a unary call answered without status,
        /// a stream message beyond the granted window): fail the call, cancel it on the server.
        case violation(String)
    }

    package mutating func receivedResponse(callID: UInt64, hasStatus: Bool) -> ResponseAction {
        guard var call = self.calls[callID] else { return .ignore }
        if hasStatus {
            self.calls.removeValue(forKey: callID)
            return .finish(close: self.shouldClose)
        }
        guard call.isStream else {
            self.calls.removeValue(forKey: callID)
            return .violation("a unary call was answered with a message but no status")
        }
        guard call.credit > 0 else {
            self.calls.removeValue(forKey: callID)
            return .violation("the server sent more stream messages than the window allowed")
        }
        call.credit -= 1
        self.calls[callID] = call
        return .deliverMessage
    }

    /// The reader took one message of a stream. Returns the window update to send, if one is due:
    /// credit is returned in batches of half the window, so a fast reader costs one WindowUpdate
    /// per half window, not one per message.
    package mutating func messageConsumed(callID: UInt64) -> UInt32? {
        guard var call = self.calls[callID], call.isStream else { return nil }
        call.consumedSinceUpdate += 1
        var update: UInt32?
        if call.consumedSinceUpdate >= max(1, call.window / 2) {
            update = UInt32(call.consumedSinceUpdate)
            call.credit += call.consumedSinceUpdate
            call.consumedSinceUpdate = 0
        }
        self.calls[callID] = call
        return update
    }

    package enum CancelAction: Equatable {
        /// Tell the server with a Cancel frame.
        case sendCancel(close: Bool)
        /// The call had already ended.
        case none
    }

    /// The caller gave up (cancellation, deadline) or the call failed locally.
    package mutating func cancel(callID: UInt64) -> CancelAction {
        guard self.calls.removeValue(forKey: callID) != nil else { return .none }
        return .sendCancel(close: self.shouldClose)
    }

    /// The server sent GOAWAY. Calls with ids above `lastCallID` were never processed: they are
    /// returned to be failed as retryable; the rest finish normally.
    package mutating func receivedGoAway(lastCallID: UInt64) -> (unprocessed: [UInt64], closeNow: Bool) {
        if self.state == .active { self.state = .draining }
        let unprocessed = self.calls.keys.filter { $0 > lastCallID }.sorted()
        for id in unprocessed { self.calls.removeValue(forKey: id) }
        return (unprocessed, self.calls.isEmpty)
    }

    /// We stop sending calls (client shutting down); returns whether to close now.
    package mutating func beginDrain() -> Bool {
        if self.state == .active { self.state = .draining }
        return self.calls.isEmpty
    }

    /// The connection is gone: every open call fails. Returns their ids.
    package mutating func closed() -> [UInt64] {
        self.state = .closed
        let open = self.calls.keys.sorted()
        self.calls.removeAll()
        return open
    }

    private var shouldClose: Bool {
        self.state == .draining && self.calls.isEmpty
    }
}

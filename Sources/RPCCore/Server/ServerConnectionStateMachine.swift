/// The protocol logic of one server connection, without I/O: which calls are open, how much
/// stream credit each has, whether the connection drains. The NIO handler feeds it events and
/// performs the actions it returns; tests drive it directly.
///
/// Invariants: a call id is open at most once; every open call ends exactly once (`finish`
/// returns `.send` once per call, `.drop` after); after draining begins no call above the GOAWAY's
/// last call id is accepted; the connection closes only when draining, no call is open and the
/// client has acknowledged the GOAWAY with its own (or the drain timeout, kept by the handler,
/// runs out).
package struct ServerConnectionStateMachine {
    package struct Configuration: Sendable {
        package var maxConcurrentCalls: Int
        /// Stream credit when the client asks for none.
        package var defaultWindow: Int = 16
        /// The most stream credit a call may hold (initial window plus updates).
        package var maxWindow: Int = 1 << 16

        package init(maxConcurrentCalls: Int, defaultWindow: Int = 16, maxWindow: Int = 1 << 16) {
            self.maxConcurrentCalls = maxConcurrentCalls
            self.defaultWindow = defaultWindow
            self.maxWindow = maxWindow
        }
    }

    private struct Call {
        var isStream: Bool
        var credit: Int
    }

    /// Why the server stopped taking calls on a connection; it names the GOAWAY and the refusals.
    package enum DrainReason: Equatable, Sendable {
        /// The server is shutting down (graceful shutdown).
        case shutdown
        /// The connection had no call for the idle timeout.
        case idle
        /// An unreadable frame or a protocol violation: the connection closes at once.
        case failure

        /// The refusal of a call arriving after the GOAWAY.
        package var refusal: String {
            switch self {
            case .shutdown: "server is shutting down; call not processed, retry elsewhere"
            case .idle: "connection closing after being idle; call not processed, retry on a new connection"
            case .failure: "connection closing after a protocol failure; call not processed, retry on a new connection"
            }
        }
    }

    private enum State: Equatable {
        case active
        /// GOAWAY sent or received. Calls up to `lastCallID` are served, even when they arrive
        /// after the GOAWAY (the client may have written them before it read it); higher ids are
        /// refused as not processed. `peerDone`: the client sent its own GOAWAY, so no call can
        /// still be on its way; only then does an empty connection close. `reason`: why the
        /// server sent its GOAWAY, nil while only the client has sent one.
        case draining(lastCallID: UInt64, peerDone: Bool, reason: DrainReason?)
        case closed
    }

    package let configuration: Configuration
    private var calls: [UInt64: Call] = [:]
    private var state = State.active
    package private(set) var lastAcceptedCallID: UInt64 = 0

    package init(configuration: Configuration) {
        self.configuration = configuration
    }

    package var openCalls: Int { self.calls.count }
    package var isDraining: Bool { self.state != .active }

    // MARK: - Calls

    package enum RequestAction: Equatable {
        /// Start the handler.
        case accept
        /// Answer the call with this status at once, marked not processed: no handler ran, the
        /// client may send it again anywhere.
        case refuse(RPCError)
        /// The client broke the protocol (a call id that is zero, even, or already open): the
        /// connection cannot be trusted to name calls; GOAWAY and close.
        case protocolViolation(String)
    }

    package mutating func receivedRequest(callID: UInt64, isStream: Bool, initialWindow: UInt32) -> RequestAction {
        if let problem = self.problem(withNewCallID: callID) { return .protocolViolation(problem) }
        switch self.state {
        case .draining(let lastCallID, let peerDone, let reason) where peerDone || callID > lastCallID:
            let message = reason?.refusal ?? "the client sent GoAway on this connection; call not processed, retry on a new connection"
            return .refuse(RPCError(.unavailable, message))
        case .closed:
            return .refuse(RPCError(.unavailable, "connection closed; call not processed, retry elsewhere"))
        case .active, .draining:
            break
        }
        if self.calls.count >= self.configuration.maxConcurrentCalls {
            return .refuse(
                RPCError(
                    .resourceExhausted,
                    "too many concurrent calls on this connection (limit \(self.configuration.maxConcurrentCalls)); call not processed",
                    retryDelayMillis: 10
                )
            )
        }
        let window = initialWindow == 0 ? self.configuration.defaultWindow : min(Int(initialWindow), self.configuration.maxWindow)
        self.calls[callID] = Call(isStream: isStream, credit: window)
        if self.state == .active { self.lastAcceptedCallID = max(self.lastAcceptedCallID, callID) }
        return .accept
    }

    /// What is wrong with `callID` as the id of a new call, if anything.
    package func problem(withNewCallID callID: UInt64) -> String? {
        if callID == 0 || callID % 2 == 0 { return "call id \(callID) is not a client call id (odd, non-zero)" }
        if self.calls[callID] != nil { return "call id \(callID) is already in use" }
        return nil
    }

    package enum FinishAction: Equatable {
        /// Send the final frame.
        case send
        /// Send the final frame, then close: the connection drained.
        case sendAndClose
        /// The call already ended (cancelled, failed); send nothing.
        case drop
    }

    /// A handler produced its final status.
    package mutating func finish(callID: UInt64) -> FinishAction {
        guard self.calls.removeValue(forKey: callID) != nil else { return .drop }
        return self.shouldClose ? .sendAndClose : .send
    }

    package enum CancelAction: Equatable {
        /// Stop the handler; send nothing.
        case interrupt
        case none
        /// The connection drained with this: close it.
        case interruptAndClose
    }

    /// The client cancelled a call (or a frame for it was refused): the call ends without a
    /// response from the handler.
    package mutating func cancel(callID: UInt64) -> CancelAction {
        guard self.calls.removeValue(forKey: callID) != nil else { return .none }
        return self.shouldClose ? .interruptAndClose : .interrupt
    }

    // MARK: - Stream flow control

    package enum SendMessageAction: Equatable {
        /// Credit taken: write the message.
        case send
        /// No credit: wait for a window update.
        case wait
        /// The call has ended: the handler should stop.
        case callEnded
    }

    /// A stream handler wants to send one message.
    package mutating func sendMessage(callID: UInt64) -> SendMessageAction {
        guard var call = self.calls[callID] else { return .callEnded }
        guard call.credit > 0 else { return .wait }
        call.credit -= 1
        self.calls[callID] = call
        return .send
    }

    /// The client granted more messages. Returns whether a waiting writer may go on.
    package mutating func receivedWindowUpdate(callID: UInt64, messages: UInt32) -> Bool {
        guard var call = self.calls[callID], call.isStream, messages > 0 else { return false }
        call.credit = min(call.credit + Int(messages), self.configuration.maxWindow)
        self.calls[callID] = call
        return true
    }

    package func credit(of callID: UInt64) -> Int? { self.calls[callID]?.credit }

    // MARK: - Drain

    package enum DrainAction: Equatable {
        /// Send GOAWAY naming the last call that will be served; close when `closeNow`.
        case sendGoAway(lastCallID: UInt64, closeNow: Bool)
        case none
    }

    /// Stop accepting new calls; open calls, and calls up to the last accepted id still on their
    /// way, finish. The connection closes once the client acknowledged and no call is open.
    package mutating func beginDrain(_ reason: DrainReason = .shutdown) -> DrainAction {
        switch self.state {
        case .active:
            self.state = .draining(lastCallID: self.lastAcceptedCallID, peerDone: false, reason: reason)
            return .sendGoAway(lastCallID: self.lastAcceptedCallID, closeNow: false)
        case .draining(let lastCallID, peerDone: true, reason: nil):
            // The client already said it sends nothing more; tell it we are going too.
            self.state = .draining(lastCallID: lastCallID, peerDone: true, reason: reason)
            return .sendGoAway(lastCallID: lastCallID, closeNow: self.calls.isEmpty)
        case .draining, .closed:
            return .none
        }
    }

    /// The peer sent GOAWAY (its acknowledgement of ours, or its own shutdown): it sends no more
    /// calls. Returns whether to close now.
    package mutating func receivedGoAway() -> Bool {
        switch self.state {
        case .active:
            self.state = .draining(lastCallID: self.lastAcceptedCallID, peerDone: true, reason: nil)
        case .draining(let lastCallID, _, let reason):
            self.state = .draining(lastCallID: lastCallID, peerDone: true, reason: reason)
        case .closed:
            break
        }
        return self.shouldClose
    }

    /// The connection closed: every open call is interrupted. Returns their ids.
    package mutating func closed() -> [UInt64] {
        self.state = .closed
        let open = Array(self.calls.keys)
        self.calls.removeAll()
        return open
    }

    /// Draining, acknowledged by the client, and no call open: the connection may close.
    package var shouldClose: Bool {
        if case .draining(_, peerDone: true, _) = self.state { return self.calls.isEmpty }
        return false
    }
}

public import Logging
internal import RPCCore

/// One log line per served call, `rpc.call`, with its status code and duration, on the context's
/// logger (so it carries request id, method, peer and trace). OK calls log at `successLevel`,
/// failures at `failureLevel` (server faults: INTERNAL, UNKNOWN, DATA_LOSS at error).
public struct LoggingServerInterceptor: RPCServerInterceptor {
    public var successLevel: Logger.Level
    public var failureLevel: Logger.Level

    public init(successLevel: Logger.Level = .info, failureLevel: Logger.Level = .info) {
        self.successLevel = successLevel
        self.failureLevel = failureLevel
    }

    public func intercept(
        context: ServerContext,
        next: (ServerContext) async throws -> RPCResponsePayload
    ) async throws -> RPCResponsePayload {
        let start = ContinuousClock.now
        do {
            let response = try await next(context)
            self.log(context, code: .ok, message: nil, since: start)
            return response
        } catch {
            let status = RPCError.from(error)
            self.log(context, code: status.code, message: status.message, since: start)
            throw error
        }
    }

    private func log(_ context: ServerContext, code: RPCError.Code, message: String?, since start: ContinuousClock.Instant) {
        var level = code == .ok ? self.successLevel : self.failureLevel
        if code == .internal || code == .unknown || code == .dataLoss { level = .error }
        // The level first: the call's logger is built with its metadata only when it will log.
        guard context.baseLogger.logLevel <= level else { return }
        let logger = context.logger
        let elapsed = ContinuousClock.now - start
        var metadata: Logger.Metadata = [
            "rpc.code": "\(code.name)",
            "rpc.duration_ms": "\(Double(elapsed.nanoseconds) / 1_000_000)",
        ]
        if let message, !message.isEmpty { metadata["rpc.message"] = "\(message)" }
        logger.log(level: level, "rpc.call", metadata: metadata)
    }
}

extension RPCError {
    /// The status an error ends a call with, as the server answers it.
    static func from(_ error: any Error) -> RPCError {
        switch error {
        case let error as RPCError: error
        case let error as any RPCErrorConvertible where error.rpcError != nil: error.rpcError!
        case is CancellationError: RPCError(.cancelled, "call cancelled")
        default: RPCError(.internal, "internal error")
        }
    }
}

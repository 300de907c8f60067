import RPCKit

extension AdPlatformError {
    /// The one mapping of ad platform failures to RPC statuses. The message carries the
    /// platform's codes and trace id when it gave them, for the seller's support requests.
    var rpcError: RPCError {
        guard let graph = self.graph else { return self.statusError }
        var error = self.statusError
        let trace = "\(graph.codes), fbtrace_id \(graph.fbtraceID)"
        error.message += " [\(trace)]"
        for index in error.fieldViolations.indices { error.fieldViolations[index].description += " [\(trace)]" }
        return error
    }

    private var statusError: RPCError {
        switch self.code {
        case .invalidParameter:
            if let field = self.field {
                return RPCError.invalidArgument(field: field, "refused by the ad platform: \(self.message)")
            }
            return RPCError(.invalidArgument, "refused by the ad platform: \(self.message)")
        case .invalidState:
            return RPCError(.failedPrecondition, "refused by the ad platform: \(self.message)")
        case .objectNotFound:
            // A platform id the request named (an account to connect): the caller's to fix.
            if let field = self.field {
                return RPCError(.notFound, "\(field): the ad platform has no such object: \(self.message)")
            }
            // The service has the object but the platform does not: not the caller's mistake.
            return RPCError(.internal, "the ad platform lost an object: \(self.message)")
        case .rateLimited:
            let millis = self.retryAfter.map { UInt64(max(0, $0.components.seconds)) * 1000 } ?? 60_000
            return RPCError(.resourceExhausted, "the ad platform throttled the change: \(self.message)", retryDelayMillis: millis)
        case .invalidToken:
            return RPCError.invalidArgument(
                field: self.field ?? "access_token", "refused by the ad platform: \(self.message); connect the platform again")
        case .unavailable:
            return RPCError(.unavailable, "the ad platform is unavailable: \(self.message)")
        }
    }
}

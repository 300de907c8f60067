import RPCKit

extension AdPlatformError {
    /// The one mapping of ad platform failures to RPC statuses.
    var rpcError: RPCError {
        switch self.code {
        case .invalidParameter:
            if let field = self.field {
                return RPCError.invalidArgument(field: field, "refused by the ad platform: \(self.message)")
            }
            return RPCError(.invalidArgument, "refused by the ad platform: \(self.message)")
        case .invalidState:
            return RPCError(.failedPrecondition, "refused by the ad platform: \(self.message)")
        case .objectNotFound:
            // The service has the object but the platform does not: not the caller's mistake.
            return RPCError(.internal, "the ad platform lost an object: \(self.message)")
        case .rateLimited:
            let millis = self.retryAfter.map { UInt64(max(0, $0.components.seconds)) * 1000 } ?? 60_000
            return RPCError(.resourceExhausted, "the ad platform throttled the change: \(self.message)", retryDelayMillis: millis)
        case .unavailable:
            return RPCError(.unavailable, "the ad platform is unavailable: \(self.message)")
        }
    }
}

import PostgresNIO
import RPCKit

/// `withTransaction` wraps what its body throws; an `RPCError` thrown inside a transaction keeps
/// its status (the transaction is rolled back either way).
extension PostgresTransactionError: RPCErrorConvertible {
    public var rpcError: RPCError? {
        switch self.closureError {
        case let error as RPCError: error
        case let error as any RPCErrorConvertible: error.rpcError
        default: nil
        }
    }
}

import RPCKit

/// Collects every bad field of a request, so one INVALID_ARGUMENT names them all.
public struct FieldViolations: Sendable {
    /// Enough to fix a request; a 5000-row batch with one systematic mistake need not list 5000.
    public static let limit = 50

    public private(set) var violations: [RPCError.FieldViolation] = []

    public init() {}

    public var isEmpty: Bool { self.violations.isEmpty }

    public mutating func add(field: String, _ problem: String) {
        guard self.violations.count < Self.limit else { return }
        self.violations.append(RPCError.FieldViolation(field: field, description: problem))
    }

    /// Runs one field check; an INVALID_ARGUMENT it throws is recorded and nil returned. Any other
    /// error propagates.
    public mutating func check<T>(_ parse: () throws -> T) throws -> T? {
        do {
            return try parse()
        } catch let error as RPCError where error.code == .invalidArgument {
            for violation in error.fieldViolations {
                self.add(field: violation.field, violation.description)
            }
            return nil
        }
    }

    /// Throws INVALID_ARGUMENT naming every recorded field, if any.
    public func throwIfAny() throws {
        guard !self.violations.isEmpty else { return }
        throw RPCError.invalidArgument(self.violations)
    }
}

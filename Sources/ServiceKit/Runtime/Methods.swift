// The method names, contracts and access tables of the four services are generated from the
// .proto files' method options into ServiceKit/Generated (Sources/ContractGen); what is derived
// from them for the clients lives here.

/// Methods that can run twice with the same effect as once, so a client may retry them after a
/// failure that may have reached the server (`idempotency: IDEMPOTENT` in the .proto).
public enum IdempotentMethods {
    public static let all: Set<String> = Set(ServiceContracts.all.filter { $0.idempotency == .idempotent }.map(\.name))
}

/// Methods that apply a call carrying an `idempotency-key` at most once per key
/// (`idempotency: WITH_KEY`): with a non-empty key they may be retried like idempotent methods.
public enum KeyedIdempotentMethods {
    public static let all: Set<String> = Set(ServiceContracts.all.filter { $0.idempotency == .withKey }.map(\.name))
}

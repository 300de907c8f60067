import Crypto
import Foundation
import RPCKit
import ServiceKit

/// Seals and opens the ad platforms' access tokens with AES-256-GCM under numbered keys
/// (docs/OPERATIONS.md, "Platform token keys").
///
/// `PIXECOM_PLATFORM_TOKEN_KEYS` (or `_FILE`) lists the keys as `<version>:<base64 of 32 bytes>`,
/// separated by commas or new lines. The highest version seals; every listed version opens. A
/// token is bound to its row: the seller id and connection id are the authenticated data.
struct PlatformTokenVault: Sendable {
    static let variable = "PIXECOM_PLATFORM_TOKEN_KEYS"

    /// The keys' bytes (`SymmetricKey` is not Sendable; one is made per use).
    private let keys: [Int: Data]
    /// The version new seals use: the highest listed.
    let currentVersion: Int

    init(keys: [Int: SymmetricKey]) throws {
        guard let newest = keys.keys.max() else {
            throw ConfigurationError(variable: Self.variable, problem: "lists no key")
        }
        self.keys = keys.mapValues { key in key.withUnsafeBytes { Data($0) } }
        self.currentVersion = newest
    }

    /// The keys of `text`, e.g. "1:q83v...=,2:Zm9v...=".
    init(parsing text: String) throws {
        var keys: [Int: SymmetricKey] = [:]
        let entries = text.split(whereSeparator: { $0 == "," || $0.isNewline }).map { $0.trimmingCharacters(in: .whitespaces) }
        for (index, entry) in entries.enumerated() where !entry.isEmpty {
            let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let version = Int(parts[0]), version > 0 else {
                throw ConfigurationError(
                    variable: Self.variable, problem: "entry \(index + 1) must read <version>:<base64 key> with a version from 1")
            }
            guard let bytes = Data(base64Encoded: parts[1]), bytes.count == 32 else {
                throw ConfigurationError(
                    variable: Self.variable, problem: "key version \(version) must be 32 bytes in base64 (openssl rand -base64 32)")
            }
            guard keys[version] == nil else {
                throw ConfigurationError(variable: Self.variable, problem: "key version \(version) is listed twice")
            }
            keys[version] = SymmetricKey(data: bytes)
        }
        try self.init(keys: keys)
    }

    /// The vault of the service's environment; the variable (or its `_FILE`) is required.
    init(environment: EnvironmentReader) throws {
        try self.init(parsing: try environment.secret(Self.variable, minimumLength: 46))
    }

    /// A vault with one random key, for tests.
    static func random(version: Int = 1) throws -> PlatformTokenVault {
        try PlatformTokenVault(keys: [version: SymmetricKey(size: .bits256)])
    }

    /// The variable's value for `keys` (tests, scripts).
    static func text(_ keys: [(version: Int, key: SymmetricKey)]) -> String {
        keys.map { "\($0.version):\($0.key.withUnsafeBytes { Data($0).base64EncodedString() })" }.joined(separator: ",")
    }

    /// `token` sealed under the current key: nonce || ciphertext || tag.
    func seal(_ token: String, sellerID: UUID, connectionID: UUID) throws -> SealedToken {
        let key = SymmetricKey(data: self.keys[self.currentVersion]!)
        let box = try AES.GCM.seal(Data(token.utf8), using: key, authenticating: Self.binding(sellerID, connectionID))
        guard let combined = box.combined else {
            throw RPCError(.internal, "AES-GCM produced no combined box")
        }
        return SealedToken(bytes: combined, keyVersion: self.currentVersion)
    }

    /// The token of `sealed`. INTERNAL when its key version is no longer listed or it does not
    /// open (a wrong key, or a row it was not sealed for).
    func open(_ sealed: SealedToken, sellerID: UUID, connectionID: UUID) throws -> String {
        guard let key = self.keys[sealed.keyVersion].map(SymmetricKey.init(data:)) else {
            throw RPCError(
                .internal,
                "a platform token is sealed under key version \(sealed.keyVersion), which \(Self.variable) no longer lists")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.bytes)
            let plain = try AES.GCM.open(box, using: key, authenticating: Self.binding(sellerID, connectionID))
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw RPCError(.internal, "a platform token does not open under key version \(sealed.keyVersion) (wrong key or row)")
        }
    }

    /// `sealed` under the current key, or nil when it is already.
    func resealed(_ sealed: SealedToken, sellerID: UUID, connectionID: UUID) throws -> SealedToken? {
        guard sealed.keyVersion != self.currentVersion else { return nil }
        return try self.seal(
            self.open(sealed, sellerID: sellerID, connectionID: connectionID), sellerID: sellerID, connectionID: connectionID)
    }

    private static func binding(_ sellerID: UUID, _ connectionID: UUID) -> Data {
        Data("pixecom.platform-token.v1|\(sellerID.wireText)|\(connectionID.wireText)".utf8)
    }
}

/// A sealed access token as stored: `platform_connections.token_sealed` and `token_key_version`.
struct SealedToken: Sendable, Equatable {
    var bytes: Data
    var keyVersion: Int
}

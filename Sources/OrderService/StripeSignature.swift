import Crypto
import Foundation
import RPCKit
import ServiceKit

/// Verifies Stripe's webhook signatures: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=...]`,
/// where each v1 is HMAC-SHA256 of `"<t>.<raw body>"` under an endpoint secret. Any v1 under any
/// configured secret passes (secrets rotate); a timestamp more than `tolerance` from now fails, so
/// a captured delivery cannot be replayed later. Pure: the caller passes the time.
struct StripeSignature: Sendable {
    let secrets: [String]
    var tolerance: TimeInterval = 300

    enum Failure: Error, Equatable, CustomStringConvertible {
        case missingHeader
        case malformedHeader
        case stale(seconds: Int)
        case noMatch

        var description: String {
            switch self {
            case .missingHeader: "no Stripe-Signature header"
            case .malformedHeader: "Stripe-Signature is not t=...,v1=..."
            case .stale(let seconds): "the signature is \(seconds) s from now (at most 300 s allowed)"
            case .noMatch: "no v1 signature matches the body under the configured secrets"
            }
        }
    }

    func verify(header: String?, body: [UInt8], now: Date) throws(Failure) {
        guard let header, !header.isEmpty else { throw .missingHeader }
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        for item in header.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            if key == "t" { timestamp = Int64(value) }
            if key == "v1", let bytes = Self.hex(value) { signatures.append(bytes) }
        }
        guard let timestamp, !signatures.isEmpty else { throw .malformedHeader }
        let skew = now.timeIntervalSince1970 - Double(timestamp)
        guard abs(skew) <= self.tolerance else { throw .stale(seconds: Int(skew.rounded())) }
        let payload = Array("\(timestamp).".utf8) + body
        for secret in self.secrets {
            let mac = Array(HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: Array(secret.utf8))))
            for signature in signatures where ConstantTime.equal(mac, signature) {
                return
            }
        }
        throw .noMatch
    }

    /// The header a sender with `secret` would attach (for tests and local stand-ins).
    static func header(for body: [UInt8], secret: String, timestamp: Int64) -> String {
        let payload = Array("\(timestamp).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: Array(secret.utf8)))
        return "t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    private static func hex(_ text: String) -> [UInt8]? {
        guard text.count == 64 else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
